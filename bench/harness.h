// The shared load harness: a fixed number of closed-loop workers, each timing its own
// calls into its own vector (no locks or atomics on the hot path); percentiles are
// computed once at the end. Echo, reads and edits all go through RunClosedLoop so that
// their figures are comparable.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace coplan::bench {

// Set by SIGINT/SIGTERM: measures stop early and main cleans up.
bool Interrupted();
void InstallInterruptHandler();

struct LatencySummary {
  size_t count = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};

// Nearest-rank percentiles of latencies in nanoseconds (sorts `nanos`).
LatencySummary Summarize(std::vector<int64_t>& nanos);

struct LoadResult {
  int64_t calls = 0;   // completed without error inside the measured window
  int64_t errors = 0;  // failed calls (any time)
  std::string first_error;
  double seconds = 0;  // length of the measured window
  LatencySummary latency;
  double rate() const { return seconds > 0 ? calls / seconds : 0; }
};

// One call of a worker; returns its outcome.
using Call = std::function<absl::Status()>;
// Builds worker `index`'s call (its own channel, stub and state), before timing starts.
using WorkerFactory = std::function<absl::StatusOr<Call>(int index)>;

// Runs `concurrency` threads, each calling its Call back to back for `warmup` (not
// recorded, to fill connection pools and caches) and then `duration` (recorded: calls
// started inside the window). Fails without running if a worker cannot be built.
absl::StatusOr<LoadResult> RunClosedLoop(int concurrency, absl::Duration warmup,
                                         absl::Duration duration, const WorkerFactory& factory);

// A channel that gets its own TCP connection: gRPC would otherwise share one
// subchannel (connection) between channels with identical arguments.
std::shared_ptr<grpc::Channel> NewDedicatedChannel(const std::string& target, int index);

// Waits until `channel` is connected (or the timeout passes).
bool WaitConnected(const std::shared_ptr<grpc::Channel>& channel, absl::Duration timeout);

}  // namespace coplan::bench
