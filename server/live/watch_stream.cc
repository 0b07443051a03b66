#include "server/live/watch_stream.h"

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/common/errors.h"

namespace coplan {

void Watcher::Run(const Action& action) {
  if (action.reactor == nullptr) return;
  if (action.write != nullptr) {
    action.reactor->StartWrite(action.write);
  } else if (action.finish) {
    action.reactor->Finish(action.status);
  }
}

bool Watcher::OfferPresence(Event event) {
  Action action;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (ending_ || finished_) return false;
    for (auto& queued : queue_) {
      if (queued->has_presence()) {
        queued = std::move(event);
        return true;
      }
    }
    if (queue_.size() >= queue_limit_) {
      OverflowLocked();
    } else {
      queue_.push_back(std::move(event));
    }
    action = PumpLocked();
  }
  Run(action);
  return true;
}

bool Watcher::BeginCatchUp() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (catching_up_) {
    catch_up_again_ = true;
    return false;
  }
  catching_up_ = true;
  catch_up_again_ = false;
  return true;
}

bool Watcher::FinishCatchUp() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (catch_up_again_) {
    catch_up_again_ = false;
    return false;
  }
  catching_up_ = false;
  return true;
}

void Watcher::AbandonCatchUp() {
  std::lock_guard<std::mutex> lock(mutex_);
  catching_up_ = catch_up_again_ = false;
}

size_t Watcher::free_slots() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size() >= queue_limit_ ? 0 : queue_limit_ - queue_.size();
}

void Watcher::CallWhenDrained(std::function<void()> callback) {
  bool now = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (ending_ || finished_) return;
    if (queue_.size() <= queue_limit_ / 2) {
      now = true;
    } else {
      on_drained_ = std::move(callback);
    }
  }
  if (now) callback();
}

Watcher::Offer Watcher::OfferChange(int64_t revision, Event event, bool catch_up) {
  Action action;
  Offer result;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (ending_ || finished_) return Offer::kClosed;
    if (revision <= last_queued_) return Offer::kDuplicate;
    if (revision > last_queued_ + 1) return Offer::kGap;
    if (catch_up && queue_.size() >= queue_limit_) return Offer::kFull;
    if (queue_.size() >= queue_limit_) {
      OverflowLocked();
      result = Offer::kClosed;
    } else {
      queue_.push_back(std::move(event));
      last_queued_ = revision;
      result = Offer::kQueued;
    }
    action = PumpLocked();
  }
  Run(action);
  return result;
}

bool Watcher::OfferOther(Event event) {
  Action action;
  bool queued = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (ending_ || finished_) return false;
    if (queue_.size() >= queue_limit_) {
      OverflowLocked();
    } else {
      queue_.push_back(std::move(event));
      queued = true;
    }
    action = PumpLocked();
  }
  Run(action);
  return queued;
}

int64_t Watcher::last_queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_queued_;
}

void Watcher::SetStartRevision(int64_t revision) {
  std::lock_guard<std::mutex> lock(mutex_);
  last_queued_ = last_written_ = revision;
}

bool Watcher::ended() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return ending_ || finished_;
}

void Watcher::OverflowLocked() {
  absl::Status status = absl::ResourceExhaustedError(absl::StrCat(
      "this watcher fell too far behind; watch again with resume_after_revision=",
      last_written_));
  AttachErrorInfo(status, reason::kWatchTooSlow,
                  {{"resume_after_revision", absl::StrCat(last_written_)}});
  google::rpc::RetryInfo retry;
  retry.mutable_retry_delay()->set_nanos(100000000);
  AttachDetail(status, retry);
  google::rpc::Status details;
  details.set_code(static_cast<int>(status.code()));
  details.set_message(std::string(status.message()));
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    auto* any = details.add_details();
    any->set_type_url(std::string(url));
    any->set_value(std::string(payload));
  });
  // Nothing more is written: what is queued is dropped and resumed from the log.
  queue_.clear();
  ending_ = true;
  end_status_ = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, std::string(status.message()),
                             details.SerializeAsString());
}

void Watcher::End(const grpc::Status& status) {
  Action action;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (ending_ || finished_) return;
    ending_ = true;
    end_status_ = status;
    queue_.clear();
    action = PumpLocked();
  }
  Run(action);
}

void Watcher::Bind(WatchReactor* reactor) {
  std::lock_guard<std::mutex> lock(mutex_);
  reactor_ = reactor;
}

Watcher::Action Watcher::PumpLocked() {
  Action action;
  if (reactor_ == nullptr || finished_ || in_flight_ != nullptr) return action;
  if (!queue_.empty()) {
    in_flight_ = std::move(queue_.front());
    queue_.pop_front();
    in_flight_revision_ = in_flight_->has_change() ? in_flight_->change().revision() : 0;
    action.reactor = reactor_;
    action.write = in_flight_.get();
    return action;
  }
  if (ending_) {
    finished_ = true;
    action.reactor = reactor_;
    action.finish = true;
    action.status = end_status_;
  }
  return action;
}

void Watcher::OnWriteDone(bool ok) {
  Action action;
  Event written;  // released outside the lock
  std::function<void()> drained;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (in_flight_revision_ > 0 && ok) last_written_ = in_flight_revision_;
    written = std::move(in_flight_);
    in_flight_revision_ = 0;
    if (!ok) {
      // The client went away; finish so that OnDone comes.
      queue_.clear();
      if (!ending_) {
        ending_ = true;
        end_status_ = grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
      }
    }
    if (on_drained_ && queue_.size() <= queue_limit_ / 2) drained = std::move(on_drained_);
    action = PumpLocked();
  }
  Run(action);
  if (drained) drained();
}

void Watcher::OnReactorDone() {
  std::function<void()> drained;  // destroyed outside the lock
  std::lock_guard<std::mutex> lock(mutex_);
  reactor_ = nullptr;
  finished_ = true;
  queue_.clear();
  drained = std::move(on_drained_);
}

WatchReactor::WatchReactor(std::shared_ptr<Watcher> watcher, std::function<void()> on_done)
    : watcher_(std::move(watcher)), on_done_(std::move(on_done)) {
  watcher_->Bind(this);
}

void WatchReactor::OnWriteDone(bool ok) { watcher_->OnWriteDone(ok); }

void WatchReactor::OnCancel() {
  watcher_->End(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
}

void WatchReactor::OnDone() {
  watcher_->OnReactorDone();
  if (on_done_) on_done_();
  delete this;
}

}  // namespace coplan
