#include "bench/watch_stream.h"

namespace coplan::bench {
namespace {

using std::chrono::milliseconds;

}  // namespace

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool WatchGroup::WaitQuiet(milliseconds quiet, milliseconds timeout) {
  const int64_t quiet_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(quiet).count();
  return WaitFor(
      [&] {
        return waiting_to_resume.load() == 0 && SteadyNowNs() - last_event_ns.load() >= quiet_ns;
      },
      timeout);
}

void WatchStream::Start(v1::EditingService::Stub* stub, const std::string& bearer,
                        const std::string& document) {
  client::remote::WatchReaderOptions options;
  options.document = document;
  options.resumer = resumer_;
  options.on_event = [this](const v1::WatchEvent& event) { Record(event); };
  options.on_resume = [this](const grpc::Status& status) {
    last_resumed_status_ = status;
    group_->resumes.fetch_add(1);
    group_->waiting_to_resume.fetch_add(1);
  };
  options.on_reopen = [this] { group_->waiting_to_resume.fetch_sub(1); };
  options.on_end = [this](const grpc::Status&) {
    {
      std::lock_guard<std::mutex> lock(group_->mutex);
      group_->finished.fetch_add(1);
    }
    group_->changed.notify_all();
  };
  reader_ = std::make_unique<client::remote::WatchReader>(stub, bearer, options);
  reader_->Start();
}

void WatchStream::Record(const v1::WatchEvent& event) {
  // Timestamp first: everything after it is bookkeeping, not delivery latency.
  const int64_t now = SteadyNowNs();
  group_->last_event_ns.store(now, std::memory_order_relaxed);
  switch (event.event_case()) {
    case v1::WatchEvent::kSnapshot:
      if (!counted_snapshot_) {
        counted_snapshot_ = true;
        group_->snapshots.fetch_add(1);
      }
      break;
    case v1::WatchEvent::kChange:
      if (record_changes_) received_.push_back({event.change().revision(), now});
      break;
    case v1::WatchEvent::kPresence:
      group_->presence_events.fetch_add(1, std::memory_order_relaxed);
      break;
    default:
      break;
  }
}

bool WatchFleet::Open(const std::string& target, const std::string& bearer,
                      const std::string& document) {
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
  return group_->WaitFor(
      [&] { return group_->snapshots.load() + group_->finished.load() >= opened; }, timeout);
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
