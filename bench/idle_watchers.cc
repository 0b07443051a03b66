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

  WatchFleet fleet(per_channel, kOpeningWindow, /*record_changes=*/false, 0);
  WatchGroup& group = fleet.group();
  const milliseconds open_timeout(120000 + 20LL * settings.idle_watchers);
  const absl::Time opening = absl::Now();
  for (int i = 0; i < settings.idle_watchers && !Interrupted(); ++i) {
    fleet.Open(env.target_b(), bearer, plans[i % plans.size()]);
  }
  fleet.WaitJoined(open_timeout);
  result.seconds_to_open = absl::ToDoubleSeconds(absl::Now() - opening);
  // Every join broadcasts presence to the plan's watchers: wait until that has passed,
  // so that the figure is the steady state of idle streams, not queued events.
  group.WaitQuiet(milliseconds(2000), milliseconds(120000));
  auto after = ReadVmRssKiB(env.pid_b());
  if (!after.ok()) return after.status();
  result.rss_after_kib = *after;
  result.streams = group.snapshots.load();
  result.connections = fleet.connections();
  result.presence_events = group.presence_events.load();
  result.resumes = group.resumes.load();
  for (const auto& stream : fleet.streams()) {
    if (!stream->failed()) continue;
    if (result.stream_failures++ == 0) {
      result.first_failure = absl::StrCat("watch ended: ", stream->status().error_code(), " ",
                                          stream->status().error_message());
    }
  }

  if (!fleet.CloseAll(milliseconds(120000))) {
    return absl::DeadlineExceededError("idle watch streams did not end after being cancelled");
  }
  fleet.DropChannels();
  std::this_thread::sleep_for(milliseconds(2000));
  auto closed = ReadVmRssKiB(env.pid_b());
  if (closed.ok()) result.rss_after_close_kib = *closed;
  return result;
}

}  // namespace coplan::bench
