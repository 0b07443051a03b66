#include "server/live/watch_stream.h"

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "server/common/errors.h"

namespace coplan {

WatchStream::WatchStream(EventSink* sink, size_t queue_limit)
    : queue_limit_(queue_limit), sink_(sink) {}

WatchStream::~WatchStream() = default;

WatchStream::Target WatchStream::AddTarget(int64_t start_revision) {
  absl::MutexLock lock(&mutex_);
  const Target target = targets_.empty() ? 0 : targets_.rbegin()->first + 1;
  TargetState& state = targets_[target];
  state.last_queued = state.last_written = start_revision;
  return target;
}

void WatchStream::Run(const Action& action) {
  // The sink stays valid until its OnDone, which cannot come before this Close.
  if (action.sink == nullptr) return;
  if (action.write != nullptr) {
    action.sink->Send(action.write);
  } else if (action.finish) {
    action.sink->Close(action.status);
  }
}

WatchStream::Offer WatchStream::OfferChange(Target target, int64_t revision, Event event,
                                            bool catch_up) {
  Action action;
  Offer result;
  {
    absl::MutexLock lock(&mutex_);
    if (ending_ || finished_) return Offer::kClosed;
    TargetState& state = targets_[target];
    if (revision <= state.last_queued) return Offer::kDuplicate;
    if (revision > state.last_queued + 1) return Offer::kGap;
    if (catch_up && queue_.size() >= queue_limit_) return Offer::kFull;
    if (queue_.size() >= queue_limit_) {
      OverflowLocked();
      result = Offer::kClosed;
    } else {
      queue_.push_back({std::move(event), target, revision});
      state.last_queued = revision;
      result = Offer::kQueued;
    }
    action = PumpLocked();
  }
  Run(action);
  return result;
}

bool WatchStream::OfferOther(Event event) {
  Action action;
  bool queued = false;
  {
    absl::MutexLock lock(&mutex_);
    if (ending_ || finished_) return false;
    if (queue_.size() >= queue_limit_) {
      OverflowLocked();
    } else {
      queue_.push_back({std::move(event), -1, 0});
      queued = true;
    }
    action = PumpLocked();
  }
  Run(action);
  return queued;
}

bool WatchStream::OfferPresence(Target target, Event event) {
  Action action;
  {
    absl::MutexLock lock(&mutex_);
    if (ending_ || finished_) return false;
    for (Queued& queued : queue_) {
      if (queued.target == target && queued.event->has_presence()) {
        queued.event = std::move(event);
        return true;
      }
    }
    if (queue_.size() >= queue_limit_) {
      OverflowLocked();
    } else {
      queue_.push_back({std::move(event), target, 0});
    }
    action = PumpLocked();
  }
  Run(action);
  return true;
}

int64_t WatchStream::last_queued(Target target) const {
  absl::MutexLock lock(&mutex_);
  auto found = targets_.find(target);
  return found == targets_.end() ? 0 : found->second.last_queued;
}

size_t WatchStream::free_slots() const {
  absl::MutexLock lock(&mutex_);
  return queue_.size() >= queue_limit_ ? 0 : queue_limit_ - queue_.size();
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
  TargetState& state = targets_[target];
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
  TargetState& state = targets_[target];
  if (state.catch_up_again) {
    state.catch_up_again = false;
    return false;
  }
  state.catching_up = false;
  return true;
}

void WatchStream::AbandonCatchUp(Target target) {
  absl::MutexLock lock(&mutex_);
  TargetState& state = targets_[target];
  state.catching_up = state.catch_up_again = false;
}

bool WatchStream::ended() const {
  absl::MutexLock lock(&mutex_);
  return ending_ || finished_;
}

void WatchStream::OverflowLocked() {
  // Nothing more is queued: what is waiting is dropped and resumed from the log. Where
  // the reader resumes is settled when the stream closes, after the write in flight.
  queue_.clear();
  ending_ = true;
  overflowed_ = true;
}

absl::Status WatchStream::OverflowStatusLocked() const {
  // The last change the reader was sent whole of its (only) target.
  const int64_t resume = targets_.empty() ? 0 : targets_.begin()->second.last_written;
  absl::Status status = absl::ResourceExhaustedError(absl::StrCat(
      "this watcher fell too far behind; watch again with resume_after_revision=", resume));
  AttachErrorInfo(status, reason::kWatchTooSlow, {{"resume_after_revision", absl::StrCat(resume)}});
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
  if (sink_ == nullptr || finished_ || in_flight_.event != nullptr) return action;
  if (!queue_.empty()) {
    in_flight_ = std::move(queue_.front());
    queue_.pop_front();
    action.sink = sink_;
    action.write = in_flight_.event.get();
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

void WatchStream::OnWriteDone(bool ok) {
  Action action;
  Queued written;  // released outside the lock
  std::function<void()> drained;
  {
    absl::MutexLock lock(&mutex_);
    written = std::move(in_flight_);
    in_flight_ = Queued{};
    if (written.revision > 0 && ok) targets_[written.target].last_written = written.revision;
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
      on_closed_ = std::move(callback);
      return;
    }
  }
  callback();  // over already
}

void WatchStream::OnDone() {
  std::function<void()> drained;  // destroyed outside the lock
  std::function<void()> closed;
  {
    absl::MutexLock lock(&mutex_);
    sink_ = nullptr;
    finished_ = true;
    closed_ = true;
    queue_.clear();
    drained = std::move(on_drained_);
    closed = std::move(on_closed_);
  }
  if (closed) closed();
}

}  // namespace coplan
