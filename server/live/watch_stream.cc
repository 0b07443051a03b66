#include "server/live/watch_stream.h"

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "server/common/errors.h"

namespace coplan {

WatchStream::WatchStream(EventSink* sink, size_t queue_limit, Kind kind)
    : queue_limit_(queue_limit), kind_(kind), sink_(sink) {}

WatchStream::~WatchStream() = default;

bool WatchStream::AddTarget(Target target, int64_t start_revision) {
  absl::MutexLock lock(&mutex_);
  if (ending_ || finished_ || targets_.count(target) > 0) return false;
  TargetState& state = targets_[target];
  state.last_queued = state.last_written = start_revision;
  return true;
}

size_t WatchStream::target_count() const {
  absl::MutexLock lock(&mutex_);
  return targets_.size();
}

void WatchStream::Run(const Action& action) {
  // The sink stays valid until its OnDone, which cannot come before this Close.
  if (action.sink == nullptr) return;
  if (action.write) {
    action.sink->Send(action.item);
  } else if (action.finish) {
    action.sink->Close(action.status);
  }
}

bool WatchStream::QueueLocked(Queued queued) {
  if (queue_.size() >= queue_limit_) {
    OverflowLocked();
    return false;
  }
  queue_.push_back(std::move(queued));
  return true;
}

WatchStream::Offer WatchStream::OfferChange(Target target, int64_t revision, Event event,
                                            bool catch_up) {
  Action action;
  Offer result;
  {
    absl::MutexLock lock(&mutex_);
    auto found = targets_.find(target);
    if (ending_ || finished_ || found == targets_.end()) return Offer::kClosed;
    TargetState& state = found->second;
    if (revision <= state.last_queued) return Offer::kDuplicate;
    if (revision > state.last_queued + 1) return Offer::kGap;
    if (catch_up && queue_.size() >= CatchUpLimitLocked()) return Offer::kFull;
    if (QueueLocked({target, std::move(event), std::nullopt, std::nullopt, revision})) {
      state.last_queued = revision;
      result = Offer::kQueued;
    } else {
      result = Offer::kClosed;
    }
    action = PumpLocked();
  }
  Run(action);
  return result;
}

bool WatchStream::OfferOther(Target target, Event event) {
  Action action;
  bool queued = false;
  {
    absl::MutexLock lock(&mutex_);
    if (ending_ || finished_ || targets_.count(target) == 0) return false;
    queued = QueueLocked({target, std::move(event), std::nullopt, std::nullopt, 0});
    action = PumpLocked();
  }
  Run(action);
  return queued;
}

bool WatchStream::OfferPresence(Target target, Event event) {
  Action action;
  {
    absl::MutexLock lock(&mutex_);
    if (ending_ || finished_ || targets_.count(target) == 0) return false;
    for (Queued& queued : queue_) {
      if (queued.target == target && queued.event != nullptr && queued.event->has_presence()) {
        queued.event = std::move(event);
        return true;
      }
    }
    QueueLocked({target, std::move(event), std::nullopt, std::nullopt, 0});
    action = PumpLocked();
  }
  Run(action);
  return true;
}

bool WatchStream::OfferStart(Target target, TargetStart start) {
  if (kind_ == Kind::kSingle) return false;
  Action action;
  bool queued;
  {
    absl::MutexLock lock(&mutex_);
    if (ending_ || finished_ || targets_.count(target) == 0) return false;
    queued = QueueLocked({target, nullptr, std::nullopt, std::move(start), 0});
    action = PumpLocked();
  }
  Run(action);
  return queued;
}

int64_t WatchStream::last_queued(Target target) const {
  absl::MutexLock lock(&mutex_);
  auto found = targets_.find(target);
  return found == targets_.end() ? 0 : found->second.last_queued;
}

size_t WatchStream::free_slots() const {
  absl::MutexLock lock(&mutex_);
  const size_t limit = CatchUpLimitLocked();
  return queue_.size() >= limit ? 0 : limit - queue_.size();
}

void WatchStream::CallWhenDrained(std::function<void()> callback) {
  {
    absl::MutexLock lock(&mutex_);
    if (ending_ || finished_) return;
    if (queue_.size() > queue_limit_ / 2) {
      on_drained_ = std::move(callback);
      return;
    }
  }
  callback();  // room already
}

bool WatchStream::BeginCatchUp(Target target) {
  absl::MutexLock lock(&mutex_);
  auto found = targets_.find(target);
  if (found == targets_.end()) return false;
  TargetState& state = found->second;
  if (state.catching_up) {
    state.catch_up_again = true;
    return false;
  }
  state.catching_up = true;
  state.catch_up_again = false;
  return true;
}

bool WatchStream::FinishCatchUp(Target target) {
  absl::MutexLock lock(&mutex_);
  auto found = targets_.find(target);
  if (found == targets_.end()) return true;
  TargetState& state = found->second;
  if (state.catch_up_again) {
    state.catch_up_again = false;
    return false;
  }
  state.catching_up = false;
  return true;
}

void WatchStream::AbandonCatchUp(Target target) {
  absl::MutexLock lock(&mutex_);
  auto found = targets_.find(target);
  if (found == targets_.end()) return;
  found->second.catching_up = found->second.catch_up_again = false;
}

bool WatchStream::ended() const {
  absl::MutexLock lock(&mutex_);
  return ending_ || finished_;
}

bool WatchStream::TargetEnded(Target target) const {
  absl::MutexLock lock(&mutex_);
  return ending_ || finished_ || targets_.count(target) == 0;
}

void WatchStream::DropQueuedLocked(Target target) {
  for (auto it = queue_.begin(); it != queue_.end();) {
    it = it->target == target ? queue_.erase(it) : it + 1;
  }
}

void WatchStream::EndTarget(Target target, const absl::Status& status) {
  if (kind_ == Kind::kSingle) {
    End(status);
    return;
  }
  Action action;
  {
    absl::MutexLock lock(&mutex_);
    if (ending_ || finished_ || targets_.erase(target) == 0) return;
    DropQueuedLocked(target);
    // The end always fits: the target's own events just made room or there were none;
    // at worst the queue holds one more than its limit.
    queue_.push_back({target, nullptr, status, std::nullopt, 0});
    action = PumpLocked();
  }
  Run(action);
}

void WatchStream::RemoveTarget(Target target) {
  absl::MutexLock lock(&mutex_);
  if (targets_.erase(target) > 0) DropQueuedLocked(target);
}

void WatchStream::OverflowLocked() {
  // Nothing more is queued: what is waiting is dropped and resumed from the log. Where
  // the reader resumes is settled when the stream closes, after the write in flight.
  queue_.clear();
  ending_ = true;
  overflowed_ = true;
}

absl::Status WatchStream::OverflowStatusLocked() const {
  std::map<std::string, std::string> metadata;
  std::string where;
  if (kind_ == Kind::kSingle) {
    const int64_t resume = targets_.empty() ? 0 : targets_.begin()->second.last_written;
    metadata["resume_after_revision"] = absl::StrCat(resume);
    where = absl::StrCat("watch again with resume_after_revision=", resume);
  } else {
    for (const auto& [target, state] : targets_) {
      metadata[absl::StrCat("target.", target)] = absl::StrCat(state.last_written);
    }
    where = "sync again, adding each target after the revision its \"target.<id>\" entry gives";
  }
  absl::Status status =
      absl::ResourceExhaustedError(absl::StrCat("this watcher fell too far behind; ", where));
  AttachErrorInfo(status, reason::kWatchTooSlow, metadata);
  google::rpc::RetryInfo retry;
  retry.mutable_retry_delay()->set_nanos(100000000);
  AttachDetail(status, retry);
  return status;
}

void WatchStream::End(const absl::Status& status) {
  Action action;
  {
    absl::MutexLock lock(&mutex_);
    if (ending_ || finished_) return;
    ending_ = true;
    end_status_ = status;
    queue_.clear();
    action = PumpLocked();
  }
  Run(action);
}

WatchStream::Action WatchStream::PumpLocked() {
  Action action;
  if (sink_ == nullptr || finished_ || writing_) return action;
  if (!queue_.empty()) {
    in_flight_ = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    action.sink = sink_;
    action.write = true;
    action.item.target = in_flight_.target;
    action.item.event = in_flight_.event.get();
    action.item.target_end = in_flight_.end ? &*in_flight_.end : nullptr;
    action.item.target_start = in_flight_.start ? &*in_flight_.start : nullptr;
    return action;
  }
  if (ending_) {
    finished_ = true;
    action.sink = sink_;
    action.finish = true;
    action.status = overflowed_ ? OverflowStatusLocked() : end_status_;
  }
  return action;
}

std::optional<std::pair<int64_t, int64_t>> WatchStream::TakeDelivered(Target target) {
  absl::MutexLock lock(&mutex_);
  auto found = delivered_.find(target);
  if (found == delivered_.end()) return std::nullopt;
  const std::pair<int64_t, int64_t> range = found->second;
  delivered_.erase(found);
  return range;
}

void WatchStream::OnWriteDone(bool ok) {
  Action action;
  Queued written;  // released outside the lock
  std::function<void()> drained;
  {
    absl::MutexLock lock(&mutex_);
    written = std::move(in_flight_);
    in_flight_ = Queued{};
    writing_ = false;
    if (written.revision > 0 && ok) {
      auto target = targets_.find(written.target);
      if (target != targets_.end()) target->second.last_written = written.revision;
      auto [range, first] =
          delivered_.try_emplace(written.target, written.revision, written.revision);
      if (!first) range->second.second = written.revision;
    }
    if (!ok) {
      // The client went away; finish so that OnDone comes.
      queue_.clear();
      if (!ending_) {
        ending_ = true;
        end_status_ = absl::CancelledError("the client went away");
      }
    }
    if (on_drained_ && queue_.size() <= queue_limit_ / 2) drained = std::move(on_drained_);
    action = PumpLocked();
  }
  Run(action);
  if (drained) drained();
}

void WatchStream::OnCancel() { End(absl::CancelledError("cancelled")); }

void WatchStream::OnClosed(std::function<void()> callback) {
  {
    absl::MutexLock lock(&mutex_);
    if (!closed_) {
      on_closed_.push_back(std::move(callback));
      return;
    }
  }
  callback();  // over already
}

void WatchStream::OnDone() {
  std::function<void()> drained;  // destroyed outside the lock
  std::vector<std::function<void()>> closed;
  {
    absl::MutexLock lock(&mutex_);
    sink_ = nullptr;
    finished_ = true;
    closed_ = true;
    queue_.clear();
    drained = std::move(on_drained_);
    closed.swap(on_closed_);
  }
  for (auto& callback : closed) callback();
}

}  // namespace coplan
