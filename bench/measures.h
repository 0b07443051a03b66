// The measures of `coplan-bench all`, one per file, and what they report.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/environment.h"
#include "bench/harness.h"
#include "bench/process.h"

namespace coplan::bench {

struct Settings {
  absl::Duration duration = absl::Seconds(10);
  int concurrency = 16;
  int payload_bytes = 2000;
  int plans = 100;
  int watchers = 1000;
  int idle_watchers = 10000;
  // Devices on the sync stream (memory per followed document), and cold opens timed.
  int sync_devices = 10000;
  int cold_opens = 50;
  double edit_rate = 20;
  // Watch streams multiplexed on one connection (fan-out and idle watchers).
  int streams_per_channel = 100;
  std::string server_binary;
  bool smoke = false;
  // Which measures to run (--measures=reads,edits to profile one); all by default.
  std::set<std::string> measures = {"echo", "reads", "edits", "fanout", "idle", "sync", "device"};
  bool Runs(const std::string& measure) const { return measures.count(measure) > 0; }
};

// 1. gRPC alone: EchoService.Echo with a payload the size of a GetPlan response, served
//    by `coplan-bench echo-server` in its own process.
absl::StatusOr<LoadResult> MeasureEcho(const Settings& settings, const std::string& work_dir,
                                       size_t payload_bytes);
// The `echo-server` subcommand; other methods than Echo are answered with one message
// of `first_message_bytes` and held open (the idle-stream baseline).
int RunEchoServer(const std::string& listen, size_t first_message_bytes);
struct EchoServer {
  std::unique_ptr<Subprocess> process;
  std::string target;
};
absl::StatusOr<EchoServer> StartEchoServer(const std::string& work_dir, size_t first_message_bytes);

// 2. GetPlan of random plans with the bearer token (authenticated, authorized, audited).
absl::StatusOr<LoadResult> MeasureReads(const Settings& settings, const BenchEnvironment& env);

// 3. EditDocument batches, each client on its own plan.
absl::StatusOr<LoadResult> MeasureEdits(const Settings& settings, const BenchEnvironment& env);

// 3'. pgbench -N on its own database of the same cluster: the durable-write baseline.
struct PgbenchResult {
  double tps = 0;
  int scale = 0;
  LatencySummary latency;  // from pgbench's per-transaction log
  std::string command;
};
absl::StatusOr<PgbenchResult> MeasurePgbench(const Settings& settings, const BenchEnvironment& env);

// 4. Changes of one plan fanned out to watchers on both instances.
struct FanoutResult {
  int watchers = 0;
  int revisions = 0;       // edits made
  int64_t deliveries = 0;  // (revision, watcher) pairs received
  int64_t missing = 0;     // (revision, watcher) pairs never received
  int64_t gaps = 0;
  int64_t duplicates = 0;
  int64_t presence_while_joining = 0;
  int64_t presence_while_editing = 0;
  // Streams ended by the server for a passing reason (e.g. WATCH_TOO_SLOW) and resumed.
  int64_t resumes_while_joining = 0;
  int64_t resumes_while_editing = 0;
  std::string first_resume_reason;
  int64_t edit_errors = 0;
  int64_t stream_failures = 0;  // streams that ended by themselves (not cancelled by us)
  std::string first_failure;
  LatencySummary latency;
  // The same, split by the watcher's instance (b learns of a's commits through the
  // database), and the editor's own EditDocument round trip.
  LatencySummary latency_a;
  LatencySummary latency_b;
  LatencySummary edit_latency;
};
absl::StatusOr<FanoutResult> MeasureFanout(const Settings& settings, const BenchEnvironment& env);

// 5. Memory of idle watch streams on instance b.
struct IdleResult {
  int streams = 0;
  // The same streams held by gRPC alone (echo-server): VmRSS growth per stream.
  int baseline_streams = 0;
  double baseline_kib_per_stream = 0;
  int64_t rss_before_kib = 0;
  int64_t rss_after_kib = 0;
  int64_t rss_after_close_kib = 0;
  double seconds_to_open = 0;
  int connections = 0;
  int64_t presence_events = 0;
  int64_t resumes = 0;
  int64_t stream_failures = 0;
  std::string first_failure;
  double kib_per_stream() const {
    return streams > 0 ? static_cast<double>(rss_after_kib - rss_before_kib) / streams : 0;
  }
};
absl::StatusOr<IdleResult> MeasureIdleWatchers(const Settings& settings,
                                               const BenchEnvironment& env);

// 6 and 7. The phone: cold open of a cached crisis plan with the server down (process
//    start → plan in hand), and 100 batches queued offline drained on reconnect.
struct DeviceCacheResult {
  LatencySummary cold_open;
  // Of which: fork, exec, loading and static initialisation, until main runs.
  LatencySummary process_start;
  double drain_seconds = 0;
  int batches_queued = 0;
  int64_t revisions_added = 0;  // on the server: must equal batches_queued
  int batches_left = 0;         // in the device's queue after the drain: must be 0
};
absl::StatusOr<DeviceCacheResult> MeasureDeviceCache(const Settings& settings,
                                                     const BenchEnvironment& env);
// The cold-open program (bench/cold_open_main.cc), next to coplan-bench.
std::string ColdOpenBinary();

// 8. Memory per followed document on the sync stream, on instance b.
struct SyncMemoryResult {
  int devices = 0;   // streams the server held (probes answered)
  int followed = 0;  // targets with their snapshot
  int64_t targets_started = 0;
  int64_t targets_ended = 0;  // other than the probes: a failure
  int first_ended_code = 0;
  int64_t presence_events = 0;
  int connections = 0;
  int64_t rss_before_kib = 0;     // before any stream
  int64_t rss_none_kib = 0;       // every device's stream open, following nothing
  int64_t rss_following_kib = 0;  // every device following 3 documents
  double seconds_to_open = 0;
  double seconds_to_follow = 0;
  int stream_failures = 0;
  std::string first_failure;
  double kib_per_followed() const {
    return followed > 0 ? static_cast<double>(rss_following_kib - rss_none_kib) / followed : 0;
  }
  double kib_per_stream() const {
    return devices > 0 ? static_cast<double>(rss_none_kib - rss_before_kib) / devices : 0;
  }
};
absl::StatusOr<SyncMemoryResult> MeasureSyncMemory(const Settings& settings,
                                                   const BenchEnvironment& env);

}  // namespace coplan::bench
