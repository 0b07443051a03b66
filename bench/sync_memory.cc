// Measure 8: what following a document costs the server in memory on the devices' sync
// streams. `sync_devices` devices each open one SyncService.Sync stream on instance b and
// first follow nothing (a probe proves the server holds the stream); b's VmRSS then. Then
// every device follows 3 of the plans (spread over all of them) from a snapshot; once
// every target has started, its snapshot arrived and the presence updates of the joins
// have passed, VmRSS again. The growth divided by the number of followed documents is the
// marginal cost of one; the stream itself is gRPC's (the idle measure's floor).
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/measures.h"
#include "bench/sync_stream.h"

namespace coplan::bench {
namespace {

using std::chrono::milliseconds;

constexpr int kDocumentsPerDevice = 3;
// At most this many probes or targets waiting for their first answer.
constexpr int kOpeningWindow = 1500;

}  // namespace

absl::StatusOr<SyncMemoryResult> MeasureSyncMemory(const Settings& settings,
                                                   const BenchEnvironment& env) {
  SyncMemoryResult result;
  const std::string bearer = "Bearer " + env.token();
  const pid_t pid = env.pid_b();
  std::this_thread::sleep_for(milliseconds(500));
  auto before = ReadVmRssKiB(pid);
  if (!before.ok()) return before.status();
  result.rss_before_kib = *before;

  SyncFleet fleet(settings.streams_per_channel);
  WatchGroup& group = fleet.group();
  SyncCounters& counters = fleet.counters();
  const absl::Time opening = absl::Now();
  for (int i = 0; i < settings.sync_devices && !Interrupted(); ++i) {
    if (!group.WaitFor(
            [&] {
              return i - counters.probes_answered.load() - group.finished.load() < kOpeningWindow;
            },
            milliseconds(60000))) {
      return absl::DeadlineExceededError("sync streams stopped answering their probes");
    }
    fleet.Open(env.target_b(), bearer).Probe();
  }
  const int devices = static_cast<int>(fleet.devices().size());
  group.WaitFor([&] { return counters.probes_answered.load() + group.finished.load() >= devices; },
                milliseconds(120000));
  group.WaitQuiet(milliseconds(2000), milliseconds(60000));
  auto none = ReadVmRssKiB(pid);
  if (!none.ok()) return none.status();
  result.rss_none_kib = *none;
  result.devices = counters.probes_answered.load();
  result.seconds_to_open = absl::ToDoubleSeconds(absl::Now() - opening);

  const absl::Time following = absl::Now();
  const auto& plans = env.plans();
  int64_t requested = 0;
  for (int i = 0; i < devices && !Interrupted(); ++i) {
    for (int d = 0; d < kDocumentsPerDevice; ++d) {
      if (!group.WaitFor(
              [&] {
                return requested - group.snapshots.load() - counters.targets_ended.load() <
                       kOpeningWindow;
              },
              milliseconds(60000))) {
        return absl::DeadlineExceededError("sync targets stopped starting");
      }
      fleet.devices()[i]->Follow(d + 1, plans[(i + d) % plans.size()]);
      ++requested;
    }
  }
  group.WaitFor(
      [&] {
        return group.snapshots.load() + counters.targets_ended.load() >= requested ||
               group.finished.load() > 0;
      },
      milliseconds(300000));
  group.WaitQuiet(milliseconds(2000), milliseconds(300000));
  auto three = ReadVmRssKiB(pid);
  if (!three.ok()) return three.status();
  result.rss_following_kib = *three;
  result.seconds_to_follow = absl::ToDoubleSeconds(absl::Now() - following);
  result.followed = group.snapshots.load();
  result.targets_started = counters.targets_started.load();
  result.targets_ended = counters.targets_ended.load();
  result.first_ended_code = static_cast<int>(counters.first_ended_code.load());
  result.presence_events = group.presence_events.load();
  result.connections = fleet.connections();
  for (const auto& device : fleet.devices()) {
    if (!device->finished()) continue;
    if (result.stream_failures++ == 0) {
      result.first_failure = absl::StrCat("sync ended: ", device->status().error_code(), " ",
                                          device->status().error_message());
    }
  }
  if (!fleet.CloseAll(milliseconds(120000))) {
    return absl::DeadlineExceededError("sync streams did not end after being cancelled");
  }
  return result;
}

}  // namespace coplan::bench
