// The outgoing side of one watch stream: the events waiting for it, written one at a
// time to its sink, and where each followed document (target) stands in it.
//
// Events are queued per stream (bounded) and written one at a time: a slow reader only
// fills its own queue, and when that overflows the stream ends with RESOURCE_EXHAUSTED
// (ErrorInfo WATCH_TOO_SLOW) saying where to resume: "resume_after_revision" for a stream
// of one target (WatchDocument), "target.<id>" for each target of a sync stream. Changes
// are accepted strictly in revision order per target: a duplicate is dropped, a gap makes
// the hub catch the target up from the revision log.
//
//   auto stream = std::make_shared<WatchStream>(&sink, queue_limit, WatchStream::Kind::kSync);
//   sink.Bind(stream);
//   stream->AddTarget(1, start_revision);
//   stream->OfferChange(1, 8, event);              // kQueued, kDuplicate, kGap, ...
//   stream->EndTarget(1, absl::NotFoundError(""));  // that target only (sync streams)
//   stream->End(absl::UnavailableError(""));       // the whole stream, after the write in flight
#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "coplan/v1/editing_service.pb.h"
#include "server/live/event_sink.h"

namespace coplan {

class WatchStream : public SinkListener {
 public:
  using Event = std::shared_ptr<const coplan::v1::WatchEvent>;
  // A followed document within the stream (the client's target id on a sync stream).
  using Target = int;

  enum class Kind {
    kSingle,  // WatchDocument: one target; its end is the stream's end
    kSync,    // SyncService.Sync: many targets, each ending on its own
  };

  // Result of offering a change.
  enum class Offer { kQueued, kDuplicate, kGap, kFull, kClosed };

  WatchStream(EventSink* sink, size_t queue_limit, Kind kind = Kind::kSingle);
  ~WatchStream() override;

  Kind kind() const { return kind_; }
  // A target whose reader already has everything up to `start_revision`. False if the
  // stream has ended or the id is in use.
  bool AddTarget(Target target, int64_t start_revision);
  // How many targets are live.
  size_t target_count() const;

  // Queues change `revision` of `target` if it is the next one. A live (pushed) change
  // that finds the queue full ends the stream (RESOURCE_EXHAUSTED); a catch-up change
  // read from the log at the reader's own pace gets kFull instead and is read again later.
  Offer OfferChange(Target target, int64_t revision, Event event, bool catch_up = false);
  // Queues an event of `target` that is not a change (snapshot, agreement).
  bool OfferOther(Target target, Event event);
  // Queues a presence update for `target`, replacing one still waiting (only the latest
  // matters), so that presence churn cannot fill the queue.
  bool OfferPresence(Target target, Event event);

  // Tells the reader of a sync stream how the target starts: the revision that makes
  // their copy current, and when their access ends by time alone, so that their device
  // stops showing its copy then (nothing on a single-target stream).
  bool OfferStart(Target target, TargetStart start);

  // The revision `target` has queued up to; changes after it are wanted next.
  int64_t last_queued(Target target) const;
  // Room left in the queue for catch-up changes. A quarter of the queue is kept back for
  // what is not a change (a target's start, presence, a snapshot), so that a catch-up
  // that fills its share cannot make the next presence event overflow the stream.
  size_t free_slots() const;
  // Called once, outside any lock, when the queue has drained to half (catch-up pacing).
  void CallWhenDrained(std::function<void()> callback);

  // Only one catch-up runs per target at a time. BeginCatchUp is false when one is
  // running already; that one is then asked to read once more before it stops.
  bool BeginCatchUp(Target target);
  // False (and the catch-up must go on) if it was asked to read once more meanwhile.
  bool FinishCatchUp(Target target);
  // Stops the catch-up whatever was asked (the stream ended, or it waits for the queue).
  void AbandonCatchUp(Target target);

  // Ends one target with `status`: on a sync stream its queued events are dropped and
  // the reader is told (TargetEnded); a single-target stream ends as a whole.
  void EndTarget(Target target, const absl::Status& status);
  // Forgets a target the reader no longer follows (no word is sent of it).
  void RemoveTarget(Target target);
  // True once the target has ended or been removed (or the stream has).
  bool TargetEnded(Target target) const;
  // The revisions of `target` written to the reader since the last call, first and last
  // (kept after the target ends); nullopt when none were. The read audit takes them.
  std::optional<std::pair<int64_t, int64_t>> TakeDelivered(Target target);
  // Ends the stream with `status` after what is already being written.
  void End(const absl::Status& status);
  bool ended() const;
  // Runs once when the call is over (after the sink's OnDone); at once if it is.
  void OnClosed(std::function<void()> callback);

  // SinkListener.
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  struct TargetState {
    int64_t last_queued = 0;
    int64_t last_written = 0;  // the reader has it: where a resume starts
    bool catching_up = false;
    bool catch_up_again = false;
  };
  struct Queued {
    Target target = 0;
    Event event;                       // or...
    std::optional<absl::Status> end;   // ... the end of the target, or...
    std::optional<TargetStart> start;  // ... how it starts
    int64_t revision = 0;              // of a change; 0 otherwise
  };
  // What to do with the sink once the lock is released: a reaction may run inline from
  // Send or Close, and must not find the lock held.
  struct Action {
    EventSink* sink = nullptr;
    bool write = false;
    StreamItem item;
    bool finish = false;
    absl::Status status;
  };
  Action PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  bool QueueLocked(Queued queued) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void OverflowLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // How full a catch-up may make the queue (see free_slots); at least one.
  size_t CatchUpLimitLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return std::max<size_t>(1, queue_limit_ - queue_limit_ / 4);
  }
  absl::Status OverflowStatusLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void DropQueuedLocked(Target target) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  static void Run(const Action& action);

  const size_t queue_limit_;
  const Kind kind_;
  mutable absl::Mutex mutex_;
  EventSink* sink_ ABSL_GUARDED_BY(mutex_);  // null once the call is over
  std::map<Target, TargetState> targets_ ABSL_GUARDED_BY(mutex_);
  // Per target, the first and last revision written since TakeDelivered last took them.
  std::map<Target, std::pair<int64_t, int64_t>> delivered_ ABSL_GUARDED_BY(mutex_);
  std::deque<Queued> queue_ ABSL_GUARDED_BY(mutex_);
  Queued in_flight_ ABSL_GUARDED_BY(mutex_);
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
  bool ending_ ABSL_GUARDED_BY(mutex_) = false;
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
  bool overflowed_ ABSL_GUARDED_BY(mutex_) = false;  // ends for being too slow
  absl::Status end_status_ ABSL_GUARDED_BY(mutex_);
  std::function<void()> on_drained_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::function<void()>> on_closed_ ABSL_GUARDED_BY(mutex_);
  bool closed_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace coplan
