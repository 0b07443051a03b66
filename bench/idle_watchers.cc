// Measure 5: what an open, idle watch stream costs the server in memory. Streams are
// opened on instance b, spread over all plans (many people each looking at their own
// plan), multiplexed `streams_per_channel` to a connection. Once every stream has its
// snapshot and the presence updates of the joins have passed, the growth of b's
// resident set is divided by the number of streams.
//
// The baseline holds the same number of streams, with the same connections and a
// first message of the same size, in the echo server: gRPC's own share of the cost.
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/measures.h"
#include "bench/watch_stream.h"

namespace coplan::bench {
namespace {

using std::chrono::milliseconds;

constexpr int kOpeningWindow = 500;

struct Held {
  int streams = 0;
  int connections = 0;
  int64_t rss_before_kib = 0;
  int64_t rss_after_kib = 0;
  int64_t rss_after_close_kib = 0;
  double seconds_to_open = 0;
  int64_t presence_events = 0;
  int64_t resumes = 0;
  int64_t failures = 0;
  std::string first_failure;
};

// Opens `count` streams on `target` (served by process `pid`), reads its VmRSS before
// and once they are all open and quiet, then closes them.
absl::StatusOr<Held> HoldStreams(const Settings& settings, const std::string& target, pid_t pid,
                                 const std::string& bearer,
                                 const std::vector<std::string>& documents) {
  Held held;
  // The baseline after the server has been idle for a moment.
  std::this_thread::sleep_for(milliseconds(500));
  auto before = ReadVmRssKiB(pid);
  if (!before.ok()) return before.status();
  held.rss_before_kib = *before;

  WatchFleet fleet(settings.streams_per_channel, kOpeningWindow, /*record_changes=*/false, 0);
  WatchGroup& group = fleet.group();
  const absl::Time opening = absl::Now();
  for (int i = 0; i < settings.idle_watchers && !Interrupted(); ++i) {
    if (!fleet.Open(target, bearer, documents[i % documents.size()])) break;
  }
  fleet.WaitJoined(milliseconds(120000 + 20LL * settings.idle_watchers));
  held.seconds_to_open = absl::ToDoubleSeconds(absl::Now() - opening);
  // Every join broadcasts presence to the plan's watchers: wait until that has passed,
  // so that the figure is the steady state of idle streams, not queued events.
  group.WaitQuiet(milliseconds(2000), milliseconds(120000));
  auto after = ReadVmRssKiB(pid);
  if (!after.ok()) return after.status();
  held.rss_after_kib = *after;
  held.streams = group.snapshots.load();
  held.connections = fleet.connections();
  held.presence_events = group.presence_events.load();
  held.resumes = group.resumes.load();
  for (const auto& stream : fleet.streams()) {
    if (!stream->failed()) continue;
    if (held.failures++ == 0) {
      held.first_failure = absl::StrCat("watch ended: ", stream->status().error_code(), " ",
                                        stream->status().error_message());
    }
  }

  if (!fleet.CloseAll(milliseconds(120000))) {
    return absl::DeadlineExceededError("idle watch streams did not end after being cancelled");
  }
  fleet.DropChannels();
  std::this_thread::sleep_for(milliseconds(2000));
  auto closed = ReadVmRssKiB(pid);
  if (closed.ok()) held.rss_after_close_kib = *closed;
  return held;
}

}  // namespace

absl::StatusOr<IdleResult> MeasureIdleWatchers(const Settings& settings,
                                               const BenchEnvironment& env) {
  IdleResult result;
  const std::string bearer = "Bearer " + env.token();

  // Snapshots are WatchEvents of about a plan's size, as Coplan's.
  auto echo = StartEchoServer(env.work_dir(), env.plan_response_bytes());
  if (!echo.ok()) return echo.status();
  auto baseline = HoldStreams(settings, echo->target, echo->process->pid(), bearer, {"held"});
  echo->process->Terminate(absl::Seconds(5));
  if (!baseline.ok()) return baseline.status();
  result.baseline_streams = baseline->streams;
  if (baseline->streams > 0) {
    result.baseline_kib_per_stream =
        static_cast<double>(baseline->rss_after_kib - baseline->rss_before_kib) / baseline->streams;
  }

  auto held = HoldStreams(settings, env.target_b(), env.pid_b(), bearer, env.plans());
  if (!held.ok()) return held.status();
  result.streams = held->streams;
  result.connections = held->connections;
  result.rss_before_kib = held->rss_before_kib;
  result.rss_after_kib = held->rss_after_kib;
  result.rss_after_close_kib = held->rss_after_close_kib;
  result.seconds_to_open = held->seconds_to_open;
  result.presence_events = held->presence_events;
  result.resumes = held->resumes;
  result.stream_failures = held->failures;
  result.first_failure = held->first_failure;
  return result;
}

}  // namespace coplan::bench
