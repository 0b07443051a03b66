#include "bench/sync_stream.h"

namespace coplan::bench {

using std::chrono::milliseconds;

void SyncDevice::Start(v1::SyncService::Stub* stub, const std::string& bearer) {
  context_.AddMetadata("authorization", bearer);
  stub->async()->Sync(&context_, this);
  StartRead(&response_);
  StartCall();
}

void SyncDevice::Probe() {
  v1::SyncRequest request;
  request.mutable_add_target()->set_target_id(SyncDevice::kProbeTarget);  // and no document
  Send(std::move(request));
}

void SyncDevice::Follow(int target_id, const std::string& document) {
  v1::SyncRequest request;
  request.mutable_add_target()->set_target_id(target_id);
  request.mutable_add_target()->set_document(document);
  Send(std::move(request));
}

void SyncDevice::Send(v1::SyncRequest request) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (write_in_flight_) {
    outbox_.push_back(std::move(request));
    return;
  }
  write_in_flight_ = true;
  writing_ = std::move(request);
  StartWrite(&writing_);
}

void SyncDevice::OnWriteDone(bool ok) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!ok || outbox_.empty()) {
    write_in_flight_ = false;
    return;
  }
  writing_ = std::move(outbox_.front());
  outbox_.pop_front();
  StartWrite(&writing_);
}

void SyncDevice::OnReadDone(bool ok) {
  if (!ok) return;  // the stream is ending: OnDone follows
  group_->last_event_ns.store(SteadyNowNs(), std::memory_order_relaxed);
  switch (response_.response_case()) {
    case v1::SyncResponse::kStarted:
      counters_->targets_started.fetch_add(1);
      break;
    case v1::SyncResponse::kEnded:
      if (response_.target_id() == kProbeTarget) {
        counters_->probes_answered.fetch_add(1);
      } else {
        counters_->targets_ended.fetch_add(1);
        counters_->first_ended_code.store(response_.ended().status().code());
      }
      break;
    case v1::SyncResponse::kEvent:
      if (response_.event().has_snapshot()) group_->snapshots.fetch_add(1);
      if (response_.event().has_presence()) {
        group_->presence_events.fetch_add(1, std::memory_order_relaxed);
      }
      break;
    default:
      break;
  }
  StartRead(&response_);
}

void SyncDevice::OnDone(const grpc::Status& status) {
  status_ = status;
  finished_.store(true);
  group_->finished.fetch_add(1);
}

SyncDevice& SyncFleet::Open(const std::string& target, const std::string& bearer) {
  if (devices_.size() % per_channel_ == 0) {
    // Indices apart from the watch fleets': connections are never shared between them.
    channels_.push_back(NewDedicatedChannel(target, 200000 + static_cast<int>(channels_.size())));
    stubs_.push_back(v1::SyncService::NewStub(channels_.back()));
  }
  devices_.push_back(std::make_unique<SyncDevice>(group_.get(), counters_.get()));
  devices_.back()->Start(stubs_.back().get(), bearer);
  return *devices_.back();
}

bool SyncFleet::CloseAll(milliseconds timeout) {
  for (const auto& device : devices_) device->Cancel();
  const int opened = static_cast<int>(devices_.size());
  return group_->WaitFor([&] { return group_->finished.load() >= opened; }, timeout);
}

SyncFleet::~SyncFleet() {
  if (CloseAll(milliseconds(60000))) return;
  // gRPC still holds some streams: neither they nor what they point to may be freed.
  for (auto& device : devices_) (void)device.release();
  for (auto& stub : stubs_) (void)stub.release();
  (void)group_.release();
  (void)counters_.release();
  static auto* kept_channels = new std::vector<std::shared_ptr<grpc::Channel>>();
  for (auto& channel : channels_) kept_channels->push_back(std::move(channel));
}

}  // namespace coplan::bench
