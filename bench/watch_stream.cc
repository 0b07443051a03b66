#include "bench/watch_stream.h"

namespace coplan::bench {
namespace {

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool WatchGroup::WaitQuiet(std::chrono::milliseconds quiet, std::chrono::milliseconds timeout) {
  const int64_t quiet_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(quiet).count();
  return WaitFor([&] { return SteadyNowNs() - last_event_ns.load() >= quiet_ns; }, timeout);
}

void LeakUntilExit(std::vector<std::unique_ptr<WatchStream>> streams,
                   std::vector<std::shared_ptr<grpc::Channel>> channels) {
  static auto* kept_streams = new std::vector<std::unique_ptr<WatchStream>>();
  static auto* kept_channels = new std::vector<std::shared_ptr<grpc::Channel>>();
  for (auto& stream : streams) kept_streams->push_back(std::move(stream));
  for (auto& channel : channels) kept_channels->push_back(std::move(channel));
}

void WatchStream::Start(v1::EditingService::Stub* stub, const std::string& bearer,
                        const std::string& document) {
  request_.set_name(document);
  context_.AddMetadata("authorization", bearer);
  stub->async()->WatchDocument(&context_, &request_, this);
  StartRead(&event_);
  StartCall();
}

void WatchStream::Record() {
  // Timestamp first: everything after it is bookkeeping, not delivery latency.
  const int64_t now = SteadyNowNs();
  group_->last_event_ns.store(now, std::memory_order_relaxed);
  switch (event_.event_case()) {
    case v1::WatchEvent::kSnapshot:
      last_revision_.store(event_.snapshot().plan().revision());
      if (!got_snapshot_.exchange(true)) group_->snapshots.fetch_add(1);
      break;
    case v1::WatchEvent::kChange: {
      const int64_t revision = event_.change().revision();
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

void WatchStream::OnReadDone(bool ok) {
  if (!ok) return;  // the stream is over; OnDone follows
  Record();
  StartRead(&event_);
}

void WatchStream::OnDone(const grpc::Status& status) {
  status_ = status;
  {
    std::lock_guard<std::mutex> lock(group_->mutex);
    finished_.store(true);
    group_->finished.fetch_add(1);
  }
  group_->changed.notify_all();
}

}  // namespace coplan::bench
