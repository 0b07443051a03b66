#include "bench/harness.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

namespace coplan::bench {
namespace {

std::atomic<bool> g_interrupted{false};

void OnInterrupt(int) { g_interrupted.store(true); }

}  // namespace

bool Interrupted() { return g_interrupted.load(std::memory_order_relaxed); }

void InstallInterruptHandler() {
  struct sigaction action = {};
  action.sa_handler = OnInterrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

LatencySummary Summarize(std::vector<int64_t>& nanos) {
  LatencySummary summary;
  summary.count = nanos.size();
  if (nanos.empty()) return summary;
  std::sort(nanos.begin(), nanos.end());
  auto rank = [&](double p) {
    // Nearest rank: the smallest value with at least p of the samples at or below it.
    const size_t index = static_cast<size_t>(std::ceil(p * nanos.size()));
    return nanos[std::min(nanos.size() - 1, index == 0 ? 0 : index - 1)] / 1e6;
  };
  summary.p50_ms = rank(0.50);
  summary.p99_ms = rank(0.99);
  summary.max_ms = nanos.back() / 1e6;
  return summary;
}

absl::StatusOr<LoadResult> RunClosedLoop(int concurrency, absl::Duration warmup,
                                         absl::Duration duration, const WorkerFactory& factory) {
  using Clock = std::chrono::steady_clock;
  struct WorkerState {
    Call call;
    std::vector<int64_t> latencies;
    int64_t errors = 0;
    std::string first_error;
  };
  std::vector<WorkerState> workers(concurrency);
  for (int i = 0; i < concurrency; ++i) {
    absl::StatusOr<Call> call = factory(i);
    if (!call.ok()) return call.status();
    workers[i].call = *std::move(call);
  }

  const Clock::time_point start = Clock::now() + std::chrono::milliseconds(50);
  const Clock::time_point window_start = start + absl::ToChronoNanoseconds(warmup);
  const Clock::time_point window_end = window_start + absl::ToChronoNanoseconds(duration);
  std::vector<std::thread> threads;
  for (auto& worker : workers) {
    // Room for the expected samples up front, so that growing the vector does not
    // show up as latency.
    worker.latencies.reserve(1 << 16);
    threads.emplace_back([&worker, start, window_start, window_end] {
      std::this_thread::sleep_until(start);
      for (;;) {
        const Clock::time_point begin = Clock::now();
        if (begin >= window_end || Interrupted()) break;
        const absl::Status status = worker.call();
        const Clock::time_point end = Clock::now();
        if (!status.ok()) {
          if (worker.errors++ == 0) worker.first_error = status.ToString();
          continue;
        }
        if (begin >= window_start) {
          worker.latencies.push_back(
              std::chrono::duration_cast<std::chrono::nanoseconds>(end - begin).count());
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();

  LoadResult result;
  result.seconds = absl::ToDoubleSeconds(duration);
  std::vector<int64_t> all;
  for (auto& worker : workers) {
    all.insert(all.end(), worker.latencies.begin(), worker.latencies.end());
    result.errors += worker.errors;
    if (result.first_error.empty()) result.first_error = worker.first_error;
  }
  result.calls = static_cast<int64_t>(all.size());
  result.latency = Summarize(all);
  return result;
}

std::shared_ptr<grpc::Channel> NewDedicatedChannel(const std::string& target, int index) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // A distinct argument per channel keeps gRPC from deduplicating the subchannels.
  args.SetInt("coplan.bench.channel_index", index);
  args.SetMaxReceiveMessageSize(16 * 1024 * 1024);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

bool WaitConnected(const std::shared_ptr<grpc::Channel>& channel, absl::Duration timeout) {
  return channel->WaitForConnected(absl::ToChronoTime(absl::Now() + timeout));
}

}  // namespace coplan::bench
