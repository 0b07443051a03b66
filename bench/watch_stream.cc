#include "bench/watch_stream.h"

#include <random>

namespace coplan::bench {
namespace {

using std::chrono::milliseconds;

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The server asks for 100 ms (RetryInfo); doubling up to 2 s, with jitter so that
// watchers ended together do not all come back together.
std::chrono::steady_clock::duration ResumeDelay(int resumes) {
  thread_local std::mt19937 random(std::random_device{}());
  const int64_t base_ms = std::min<int64_t>(2000, 100LL << std::min(resumes - 1, 5));
  std::uniform_real_distribution<double> spread(0.5, 1.5);
  return milliseconds(static_cast<int64_t>(base_ms * spread(random)));
}

}  // namespace

bool WatchGroup::WaitQuiet(milliseconds quiet, milliseconds timeout) {
  const int64_t quiet_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(quiet).count();
  return WaitFor(
      [&] {
        return waiting_to_resume.load() == 0 && SteadyNowNs() - last_event_ns.load() >= quiet_ns;
      },
      timeout);
}

DelayedRunner::DelayedRunner() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      if (due_.empty()) {
        wake_.wait(lock);
        continue;
      }
      if (wake_.wait_until(lock, due_.begin()->first) == std::cv_status::no_timeout) continue;
      auto next = due_.begin();
      if (next->first > std::chrono::steady_clock::now()) continue;
      std::function<void()> fn = std::move(next->second);
      due_.erase(next);
      lock.unlock();
      fn();
      lock.lock();
    }
  });
}

DelayedRunner::~DelayedRunner() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void DelayedRunner::After(std::chrono::steady_clock::duration delay, std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    due_.emplace(std::chrono::steady_clock::now() + delay, std::move(fn));
  }
  wake_.notify_all();
}

WatchStream::Attempt::Attempt(WatchStream* owner, int64_t resume_after) : owner_(owner) {
  request.set_name(owner->document_);
  request.set_resume_after_revision(resume_after);
  context.AddMetadata("authorization", owner->bearer_);
}

void WatchStream::Attempt::OnReadDone(bool ok) {
  if (!ok) return;  // the call is over; OnDone follows
  owner_->Record(event);
  StartRead(&event);
}

void WatchStream::Attempt::OnDone(const grpc::Status& status) { owner_->AttemptDone(this, status); }

void WatchStream::Start(v1::EditingService::Stub* stub, const std::string& bearer,
                        const std::string& document) {
  stub_ = stub;
  bearer_ = bearer;
  document_ = document;
  Open();
}

void WatchStream::Open() {
  Attempt* attempt;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_) return;
    if (cancelled_) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled while waiting to resume"));
      return;
    }
    // After the first snapshot, resume after the last revision read: no snapshot, and
    // the server catches this watcher up from its revision log.
    attempts_.push_back(std::make_unique<Attempt>(this, got_snapshot_ ? last_revision_.load() : 0));
    attempt = current_ = attempts_.back().get();
  }
  stub_->async()->WatchDocument(&attempt->context, &attempt->request, attempt);
  attempt->StartRead(&attempt->event);
  attempt->StartCall();
}

void WatchStream::Cancel() {
  Attempt* attempt = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_ || cancelled_) return;
    cancelled_ = true;
    attempt = current_;
    // Waiting to resume: nothing to cancel in gRPC, the stream ends here.
    if (attempt == nullptr) FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
  }
  if (attempt != nullptr) attempt->context.TryCancel();
}

void WatchStream::Record(const v1::WatchEvent& event) {
  // Timestamp first: everything after it is bookkeeping, not delivery latency.
  const int64_t now = SteadyNowNs();
  group_->last_event_ns.store(now, std::memory_order_relaxed);
  switch (event.event_case()) {
    case v1::WatchEvent::kSnapshot:
      last_revision_.store(event.snapshot().plan().revision());
      if (!got_snapshot_.exchange(true)) group_->snapshots.fetch_add(1);
      break;
    case v1::WatchEvent::kChange: {
      const int64_t revision = event.change().revision();
      const int64_t last = last_revision_.load();
      if (revision <= last) {
        ++duplicates_;
      } else {
        if (revision != last + 1) ++gaps_;
        last_revision_.store(revision);
      }
      if (record_changes_) received_.push_back({revision, now});
      break;
    }
    case v1::WatchEvent::kPresence:
      group_->presence_events.fetch_add(1, std::memory_order_relaxed);
      break;
    default:
      break;
  }
}

void WatchStream::AttemptDone(Attempt* attempt, const grpc::Status& status) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (current_ == attempt) current_ = nullptr;
  const bool passing = status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
                       status.error_code() == grpc::StatusCode::UNAVAILABLE;
  if (cancelled_ || !passing) {
    FinishLocked(status);
    return;
  }
  last_resumed_status_ = status;
  const int resumes = ++resumes_;
  group_->resumes.fetch_add(1);
  group_->waiting_to_resume.fetch_add(1);
  resumer_->After(ResumeDelay(resumes), [this] {
    group_->waiting_to_resume.fetch_sub(1);
    Open();
  });
}

void WatchStream::FinishLocked(const grpc::Status& status) {
  status_ = status;
  {
    std::lock_guard<std::mutex> lock(group_->mutex);
    finished_.store(true);
    group_->finished.fetch_add(1);
  }
  group_->changed.notify_all();
}

bool WatchFleet::Open(const std::string& target, const std::string& bearer, const std::string& document) {
  WatchGroup& group = *group_;
  const int opened = static_cast<int>(streams_.size());
  if (!group.WaitFor(
          [&] { return opened - group.snapshots.load() - group.finished.load() < opening_window_; },
          milliseconds(60000))) {
    return false;
  }
  Target& state = targets_[target];
  if (state.streams % per_channel_ == 0) {
    // A new connection; the index only has to differ between channels.
    channels_.push_back(NewDedicatedChannel(target, 100000 + static_cast<int>(channels_.size())));
    stubs_.push_back(v1::EditingService::NewStub(channels_.back()));
    state.stub = stubs_.back().get();
  }
  ++state.streams;
  auto stream = std::make_unique<WatchStream>(group_.get(), resumer_.get(), record_changes_);
  if (reserve_changes_ > 0) stream->ReserveChanges(reserve_changes_);
  stream->Start(state.stub, bearer, document);
  streams_.push_back(std::move(stream));
  return true;
}

bool WatchFleet::WaitJoined(milliseconds timeout) {
  const int opened = static_cast<int>(streams_.size());
  return group_->WaitFor([&] { return group_->snapshots.load() + group_->finished.load() >= opened; },
                         timeout);
}

bool WatchFleet::CloseAll(milliseconds timeout) {
  for (const auto& stream : streams_) stream->Cancel();
  const int opened = static_cast<int>(streams_.size());
  return group_->WaitFor([&] { return group_->finished.load() >= opened; }, timeout);
}

void WatchFleet::DropChannels() {
  stubs_.clear();
  channels_.clear();
  targets_.clear();
}

WatchFleet::~WatchFleet() {
  if (CloseAll(milliseconds(60000))) return;
  // gRPC still holds some streams: neither they nor what they point to may be freed.
  for (auto& stream : streams_) (void)stream.release();
  for (auto& stub : stubs_) (void)stub.release();
  (void)group_.release();
  (void)resumer_.release();
  static auto* kept_channels = new std::vector<std::shared_ptr<grpc::Channel>>();
  for (auto& channel : channels_) kept_channels->push_back(std::move(channel));
}

}  // namespace coplan::bench
