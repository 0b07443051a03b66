// One watch stream: the gRPC write reactor, and the state the hub feeds.
//
// Events are queued per watcher (bounded) and written one at a time: a slow watcher only
// fills its own queue, and when that overflows its stream ends with RESOURCE_EXHAUSTED
// (ErrorInfo WATCH_TOO_SLOW, metadata resume_after_revision) so the client watches again
// from its last revision. Changes are accepted strictly in revision order: a duplicate
// is dropped, a gap makes the watcher ask the hub for a catch-up from the revision log.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include "coplan/v1/editing_service.pb.h"
#include "server/common/resource_names.h"
#include "server/domain/access_policy.h"
#include "server/service/caller.h"

namespace coplan {

class WatchReactor;

class Watcher {
 public:
  using Event = std::shared_ptr<const coplan::v1::WatchEvent>;

  explicit Watcher(size_t queue_limit) : queue_limit_(queue_limit) {}

  // Set once the watch is authorised (before the watcher is attached to the hub).
  DocumentName name;
  int64_t document_key = 0;
  bool editing = false;
  bool see_withholdings = false;
  Relationship via = Relationship::kNone;
  const Caller& reader() const { return reader_; }
  void SetReader(Caller reader) { reader_ = std::move(reader); }
  // Set by the hub under its lock: attached once it joined a channel (its fields are
  // then settled), detached once the call is over.
  void MarkAttached() { attached_ = true; }
  bool attached() const { return attached_; }
  void MarkDetached() { detached_ = true; }
  bool detached() const { return detached_; }

  // Result of offering a change.
  enum class Offer { kQueued, kDuplicate, kGap, kFull, kClosed };
  // Queues change `revision` if it is the next one. A live (pushed) change that finds
  // the queue full ends the stream (RESOURCE_EXHAUSTED); a catch-up change read from the
  // log at the watcher's own pace gets kFull instead and is read again later.
  Offer OfferChange(int64_t revision, Event event, bool catch_up = false);
  // Room left in the queue.
  size_t free_slots() const;
  // Called once, outside any lock, when the queue has drained to half (catch-up pacing).
  void CallWhenDrained(std::function<void()> callback);
  // Only one catch-up runs per watcher at a time. BeginCatchUp is false when one is
  // running already; that one is then asked to read once more before it stops.
  bool BeginCatchUp();
  // False (and the catch-up must go on) if it was asked to read once more meanwhile.
  bool FinishCatchUp();
  // Stops the catch-up whatever was asked (the stream ended, or it waits for the queue).
  void AbandonCatchUp();
  // Queues an event that is not a change (snapshot, agreement).
  bool OfferOther(Event event);
  // Queues a presence update, replacing one still waiting in the queue (only the latest
  // matters), so that presence churn cannot fill the queue.
  bool OfferPresence(Event event);
  // The revision the watcher has queued up to; changes after it are wanted next.
  int64_t last_queued() const;
  void SetStartRevision(int64_t revision);
  // Ends the stream with `status` after what is already being written.
  void End(const grpc::Status& status);
  bool ended() const;

  // Reactor side.
  void Bind(WatchReactor* reactor);
  void OnWriteDone(bool ok);
  void OnReactorDone();

 private:
  // What to do with the reactor once the lock is released: gRPC may run a reaction
  // inline from StartWrite or Finish, which must not find the lock held.
  struct Action {
    WatchReactor* reactor = nullptr;
    const coplan::v1::WatchEvent* write = nullptr;
    bool finish = false;
    grpc::Status status;
  };
  Action PumpLocked();
  void OverflowLocked();
  static void Run(const Action& action);

  Caller reader_;  // set before the watcher is shared
  const size_t queue_limit_;
  std::atomic<bool> attached_{false};
  std::atomic<bool> detached_{false};
  bool catching_up_ = false;         // guarded by mutex_
  bool catch_up_again_ = false;      // guarded by mutex_
  std::function<void()> on_drained_;  // guarded by mutex_
  mutable std::mutex mutex_;
  WatchReactor* reactor_ = nullptr;  // guarded by mutex_; null once done
  std::deque<Event> queue_;          // guarded by mutex_
  Event in_flight_;                  // guarded by mutex_
  int64_t last_queued_ = 0;          // guarded by mutex_
  int64_t last_written_ = 0;         // guarded by mutex_
  int64_t in_flight_revision_ = 0;   // guarded by mutex_
  bool ending_ = false;              // guarded by mutex_
  bool finished_ = false;            // guarded by mutex_
  grpc::Status end_status_;          // guarded by mutex_
};

class WatchReactor : public grpc::ServerWriteReactor<coplan::v1::WatchEvent> {
 public:
  // `on_done` runs once the call is over (the hub detaches the watcher).
  WatchReactor(std::shared_ptr<Watcher> watcher, std::function<void()> on_done);
  const std::shared_ptr<Watcher>& watcher() const { return watcher_; }

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  std::shared_ptr<Watcher> watcher_;
  std::function<void()> on_done_;
};

}  // namespace coplan
