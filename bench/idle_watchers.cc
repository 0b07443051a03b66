// Measure 5: what an open, idle watch stream costs the server in memory. Streams are
// opened on instance b, spread over all plans (many people each looking at their own
// plan), multiplexed `streams_per_channel` to a connection. Once every stream has its
// snapshot and the presence updates of the joins have passed, the growth of b's
// resident set is divided by the number of streams.
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/measures.h"
#include "bench/watch_stream.h"

namespace coplan::bench {
namespace {

using std::chrono::milliseconds;

constexpr int kOpeningWindow = 500;

}  // namespace

absl::StatusOr<IdleResult> MeasureIdleWatchers(const Settings& settings, const BenchEnvironment& env) {
  IdleResult result;
  const std::string bearer = "Bearer " + env.token();
  const int per_channel = std::max(1, settings.streams_per_channel);
  const std::vector<std::string>& plans = env.plans();

  // The baseline after b has been idle for a moment (nothing else uses b before this).
  std::this_thread::sleep_for(milliseconds(500));
  auto before = ReadVmRssKiB(env.pid_b());
  if (!before.ok()) return before.status();
  result.rss_before_kib = *before;

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<v1::EditingService::Stub>> stubs;
  WatchGroup group;
  std::vector<std::unique_ptr<WatchStream>> streams;
  streams.reserve(settings.idle_watchers);
  const milliseconds open_timeout(120000 + 20LL * settings.idle_watchers);
  const absl::Time opening = absl::Now();
  for (int i = 0; i < settings.idle_watchers && !Interrupted(); ++i) {
    if (i % per_channel == 0) {
      channels.push_back(NewDedicatedChannel(env.target_b(), 20000 + i / per_channel));
      stubs.push_back(v1::EditingService::NewStub(channels.back()));
    }
    group.WaitFor([&] { return i - group.snapshots.load() - group.finished.load() < kOpeningWindow; },
                  open_timeout);
    auto stream = std::make_unique<WatchStream>(&group, /*record_changes=*/false);
    stream->Start(stubs.back().get(), bearer, plans[i % plans.size()]);
    streams.push_back(std::move(stream));
  }
  const int opened = static_cast<int>(streams.size());
  group.WaitFor([&] { return group.snapshots.load() + group.finished.load() >= opened; }, open_timeout);
  result.seconds_to_open = absl::ToDoubleSeconds(absl::Now() - opening);
  // Every join broadcasts presence to the plan's watchers: wait until that has passed,
  // so that the figure is the steady state of idle streams, not queued events.
  group.WaitQuiet(milliseconds(2000), milliseconds(120000));
  result.streams = group.snapshots.load();
  for (const auto& stream : streams) {
    if (stream->failed()) {
      if (result.stream_failures++ == 0) {
        result.first_failure = absl::StrCat("watch ended: ", stream->status().error_code(), " ",
                                            stream->status().error_message());
      }
    }
  }
  auto after = ReadVmRssKiB(env.pid_b());
  if (!after.ok()) return after.status();
  result.rss_after_kib = *after;

  for (const auto& stream : streams) stream->Cancel();
  if (!group.WaitFor([&] { return group.finished.load() >= opened; }, milliseconds(120000))) {
    LeakUntilExit(std::move(streams), std::move(channels));
    return absl::DeadlineExceededError("idle watch streams did not end after being cancelled");
  }
  streams.clear();
  stubs.clear();
  channels.clear();
  std::this_thread::sleep_for(milliseconds(2000));
  auto closed = ReadVmRssKiB(env.pid_b());
  if (closed.ok()) result.rss_after_close_kib = *closed;
  return result;
}

}  // namespace coplan::bench
