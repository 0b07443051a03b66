#include "remote/watch_reader.h"

#include <random>

namespace coplan::client::remote {
namespace {

// The server asks for 100 ms (RetryInfo); doubling up to 2 s, with jitter so that
// watchers ended together do not all come back together.
absl::Duration ResumeDelay(int resumes) {
  thread_local std::mt19937 random(std::random_device{}());
  const int64_t base_ms = std::min<int64_t>(2000, 100LL << std::min(resumes - 1, 5));
  std::uniform_real_distribution<double> spread(0.5, 1.5);
  return absl::Milliseconds(base_ms * spread(random));
}

int64_t SnapshotRevision(const v1::Document& document) {
  return document.has_plan() ? document.plan().revision() : document.decision_record().revision();
}

}  // namespace

DelayedRunner::DelayedRunner() {
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mutex_);
    for (;;) {
      // Wake for the next due function, a new one, or the end.
      const absl::Time next = due_.empty() ? absl::InfiniteFuture() : due_.begin()->first;
      auto wake = [this, next]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return stopping_ || (!due_.empty() && due_.begin()->first < next);
      };
      mutex_.AwaitWithDeadline(absl::Condition(&wake), next);
      if (stopping_) return;
      if (due_.empty() || due_.begin()->first > absl::Now()) continue;
      std::function<void()> fn = std::move(due_.begin()->second);
      due_.erase(due_.begin());
      mutex_.Unlock();
      fn();
      mutex_.Lock();
    }
  });
}

DelayedRunner::~DelayedRunner() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  thread_.join();
}

void DelayedRunner::After(absl::Duration delay, std::function<void()> fn) {
  absl::MutexLock lock(&mutex_);
  due_.emplace(absl::Now() + delay, std::move(fn));
}

WatchReader::Attempt::Attempt(WatchReader* owner, int64_t resume_after) : owner_(owner) {
  request.set_name(owner->options_.document);
  request.set_resume_after_revision(resume_after);
  request.set_editing(owner->options_.editing);
  context.AddMetadata("authorization", owner->authorization_);
}

void WatchReader::Attempt::OnReadDone(bool ok) {
  if (!ok) return;  // the call is over; OnDone follows
  owner_->Record(event);
  StartRead(&event);
}

void WatchReader::Attempt::OnDone(const grpc::Status& status) { owner_->AttemptDone(this, status); }

WatchReader::WatchReader(v1::EditingService::Stub* stub, std::string authorization,
                         WatchReaderOptions options)
    : stub_(stub), authorization_(std::move(authorization)), options_(std::move(options)) {
  read_ = options_.read;
  last_revision_ = options_.resume_after_revision;
}

WatchReader::~WatchReader() = default;

void WatchReader::Start() { Open(); }

grpc::Status WatchReader::status() const {
  absl::MutexLock lock(&mutex_);
  return status_;
}

void WatchReader::Open() {
  Attempt* attempt;
  bool read;
  std::function<void(const grpc::Status&)> end;
  {
    absl::MutexLock lock(&mutex_);
    if (done_) return;
    if (cancelled_) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled while waiting to resume"),
                   &end);
    } else {
      // After the first snapshot, resume after the last revision read: no snapshot, and
      // the server catches this reader up from its revision log.
      const int64_t resume_after = got_snapshot_ || !attempts_.empty()
                                       ? last_revision_.load()
                                       : options_.resume_after_revision;
      attempts_.push_back(std::make_unique<Attempt>(this, resume_after));
      attempt = current_ = attempts_.back().get();
      read = read_;
      attempt->reading = read;
    }
  }
  if (end) {
    end(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled while waiting to resume"));
    finished_.store(true);
    return;
  }
  stub_->async()->WatchDocument(&attempt->context, &attempt->request, attempt);
  if (read) attempt->StartRead(&attempt->event);
  attempt->StartCall();
}

void WatchReader::StartReading() {
  Attempt* attempt = nullptr;
  {
    absl::MutexLock lock(&mutex_);
    read_ = true;
    if (current_ != nullptr && !current_->reading) {
      current_->reading = true;
      attempt = current_;
    }
  }
  if (attempt != nullptr) attempt->StartRead(&attempt->event);
}

void WatchReader::Cancel() {
  Attempt* attempt = nullptr;
  std::function<void(const grpc::Status&)> end;
  {
    absl::MutexLock lock(&mutex_);
    if (done_ || cancelled_) return;
    cancelled_ = true;
    attempt = current_;
    // Waiting to resume: nothing to cancel in gRPC, the watch ends here.
    if (attempt == nullptr)
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"), &end);
  }
  if (end) {
    end(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
    finished_.store(true);
  }
  if (attempt != nullptr) attempt->context.TryCancel();
}

void WatchReader::Record(const v1::WatchEvent& event) {
  switch (event.event_case()) {
    case v1::WatchEvent::kSnapshot:
      last_revision_.store(SnapshotRevision(event.snapshot()));
      got_snapshot_.store(true);
      break;
    case v1::WatchEvent::kChange: {
      const int64_t revision = event.change().revision();
      const int64_t last = last_revision_.load();
      if (revision <= last) {
        duplicates_.fetch_add(1);
      } else {
        if (revision != last + 1) gaps_.fetch_add(1);
        last_revision_.store(revision);
      }
      break;
    }
    default:
      break;
  }
  if (options_.on_event) options_.on_event(event);
}

void WatchReader::AttemptDone(Attempt* attempt, const grpc::Status& status) {
  std::function<void(const grpc::Status&)> end;
  bool resume = false;
  {
    absl::MutexLock lock(&mutex_);
    if (current_ == attempt) current_ = nullptr;
    const bool passing = status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
                         status.error_code() == grpc::StatusCode::UNAVAILABLE;
    if (cancelled_ || !passing || options_.resumer == nullptr) {
      FinishLocked(status, &end);
    } else {
      resume = true;
    }
  }
  if (end) {
    end(status);
    finished_.store(true);  // last: the owner may free the reader from here on
    return;
  }
  if (!resume) return;
  const int resumes = ++resumes_;
  if (options_.on_resume) options_.on_resume(status);
  options_.resumer->After(ResumeDelay(resumes), [this] {
    if (options_.on_reopen) options_.on_reopen();
    Open();
  });
}

void WatchReader::FinishLocked(const grpc::Status& status,
                               std::function<void(const grpc::Status&)>* end) {
  status_ = status;
  done_ = true;
  *end = options_.on_end ? options_.on_end : [](const grpc::Status&) {};
}

}  // namespace coplan::client::remote
