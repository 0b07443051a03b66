// Measure 4: live fan-out. Watchers of ONE plan, half on instance a and half on b; an
// editor on a edits at a fixed rate. The latency of a (revision, watcher) pair is the
// time the watcher read the change minus the time the editor sent the EditDocument that
// made it: both clocks are this process's steady clock. Watchers on b see changes
// through the database notification between instances, so they include that hop.
#include <iostream>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/edit_ops.h"
#include "bench/measures.h"
#include "bench/watch_stream.h"

namespace coplan::bench {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// Streams opened but not yet answered with a snapshot.
constexpr int kOpeningWindow = 200;

}  // namespace

absl::StatusOr<FanoutResult> MeasureFanout(const Settings& settings, const BenchEnvironment& env) {
  FanoutResult result;
  const std::string plan = env.plans().front();
  const std::string bearer = "Bearer " + env.token();
  const int per_channel = std::max(1, settings.streams_per_channel);
  const int on_a = settings.watchers - settings.watchers / 2;
  const size_t expected_revisions =
      static_cast<size_t>(settings.edit_rate * absl::ToDoubleSeconds(settings.duration)) + 16;

  WatchFleet fleet(per_channel, kOpeningWindow, /*record_changes=*/true, expected_revisions);
  WatchGroup& group = fleet.group();
  for (int i = 0; i < settings.watchers && !Interrupted(); ++i) {
    if (!fleet.Open(i < on_a ? env.target_a() : env.target_b(), bearer, plan)) break;
  }
  const milliseconds join_timeout(120000 + 20LL * settings.watchers);
  fleet.WaitJoined(join_timeout);
  // Joining watchers make presence updates (and may be resumed when those overflow
  // their queues); let that pass before measuring changes.
  group.WaitQuiet(milliseconds(1000), milliseconds(60000));
  result.watchers = group.snapshots.load();
  result.resumes_while_joining = group.resumes.load();
  const int64_t presence_while_joining = group.presence_events.load();

  std::cerr << "fan-out: " << result.watchers << " watchers joined; editing for "
            << absl::FormatDuration(settings.duration) << std::endl;

  // The editor: its own connection to instance a.
  auto editor_channel = NewDedicatedChannel(env.target_a(), 9999);
  auto editor = v1::EditingService::NewStub(editor_channel);
  WaitConnected(editor_channel, absl::Seconds(10));
  absl::StatusOr<int64_t> revision = env.CurrentRevision(plan);
  if (!revision.ok()) return revision.status();
  std::map<int64_t, int64_t> sent_ns;  // revision -> when its EditDocument was sent
  std::vector<int64_t> edit_latencies;
  int64_t edit_errors = 0;
  const auto interval =
      std::chrono::nanoseconds(static_cast<int64_t>(1e9 / std::max(0.1, settings.edit_rate)));
  const auto start = Clock::now();
  const auto end = start + absl::ToChronoNanoseconds(settings.duration);
  for (int64_t batch = 0; !Interrupted(); ++batch) {
    const auto due = start + batch * interval;
    if (due >= end) break;
    std::this_thread::sleep_until(due);
    v1::EditDocumentRequest request;
    request.set_name(plan);
    request.set_base_revision(*revision);
    *request.add_operations() = SmallEdit(0, batch, env.item_ids().front());
    request.set_idempotency_key(
        absl::StrCat("fanout-", start.time_since_epoch().count(), "-", batch));
    grpc::ClientContext context;
    context.AddMetadata("authorization", bearer);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::EditDocumentResponse response;
    const int64_t sent = NowNs();
    grpc::Status status = editor->EditDocument(&context, request, &response);
    if (!status.ok()) {
      if (edit_errors++ == 0) {
        result.first_failure = absl::StrCat("EditDocument: ", status.error_message());
      }
      auto current = env.CurrentRevision(plan);
      if (current.ok()) revision = current;
      continue;
    }
    sent_ns[response.revision()] = sent;
    edit_latencies.push_back(NowNs() - sent);
    *revision = response.revision();
  }
  result.revisions = static_cast<int>(sent_ns.size());

  // Every live stream should get the last revision; then end them all.
  const int64_t last = *revision;
  const auto& streams = fleet.streams();
  group.WaitFor(
      [&] {
        for (const auto& stream : streams) {
          if (!stream->finished() && stream->last_revision() < last) return false;
        }
        return true;
      },
      milliseconds(30000));
  result.resumes_while_editing = group.resumes.load() - result.resumes_while_joining;
  result.presence_while_editing = group.presence_events.load() - presence_while_joining;
  result.presence_while_joining = presence_while_joining;
  for (const auto& stream : streams) {
    if (stream->resumes() > 0 && result.first_resume_reason.empty()) {
      result.first_resume_reason = absl::StrCat(stream->last_resumed_status().error_code(), " ",
                                                stream->last_resumed_status().error_message());
    }
    if (!stream->failed()) continue;
    if (result.stream_failures++ == 0 && result.first_failure.empty()) {
      result.first_failure = absl::StrCat("watch ended: ", stream->status().error_code(), " ",
                                          stream->status().error_message());
    }
  }
  if (!fleet.CloseAll(milliseconds(60000))) {
    return absl::DeadlineExceededError("watch streams did not end after being cancelled");
  }

  std::vector<int64_t> latencies;
  std::vector<int64_t> latencies_by_instance[2];
  latencies.reserve(sent_ns.size() * streams.size());
  for (size_t index = 0; index < streams.size(); ++index) {
    const auto& stream = streams[index];
    // Streams were opened in order: the first `on_a` on instance a.
    auto& by_instance = latencies_by_instance[index < static_cast<size_t>(on_a) ? 0 : 1];
    result.gaps += stream->gaps();
    result.duplicates += stream->duplicates();
    size_t seen = 0;
    for (const auto& received : stream->received()) {
      auto sent = sent_ns.find(received.revision);
      if (sent == sent_ns.end()) continue;
      latencies.push_back(received.steady_ns - sent->second);
      by_instance.push_back(received.steady_ns - sent->second);
      ++seen;
    }
    if (stream->got_snapshot()) {
      result.missing += static_cast<int64_t>(sent_ns.size() - std::min(seen, sent_ns.size()));
    }
  }
  result.deliveries = static_cast<int64_t>(latencies.size());
  result.latency = Summarize(latencies);
  result.latency_a = Summarize(latencies_by_instance[0]);
  result.latency_b = Summarize(latencies_by_instance[1]);
  result.edit_latency = Summarize(edit_latencies);
  result.edit_errors = edit_errors;
  return result;
}

}  // namespace coplan::bench
