// Devices' sync streams (SyncService.Sync) for the memory measure: thousands of them on
// gRPC's callback API, `streams_per_channel` to a connection, each following a few
// documents. A device counts what it hears into a shared WatchGroup (to wait on).
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bench/watch_stream.h"
#include "coplan/v1/sync_service.grpc.pb.h"

namespace coplan::bench {

// What every device of a fleet heard, beyond the WatchGroup's snapshot counts.
struct SyncCounters {
  // Probes answered: the server has the stream (see SyncDevice::Probe).
  std::atomic<int> probes_answered{0};
  std::atomic<int64_t> targets_started{0};
  // Targets that ended other than the probe (a failure here).
  std::atomic<int64_t> targets_ended{0};
  std::atomic<int64_t> first_ended_code{0};
};

class SyncDevice : public grpc::ClientBidiReactor<v1::SyncRequest, v1::SyncResponse> {
 public:
  SyncDevice(WatchGroup* group, SyncCounters* counters) : group_(group), counters_(counters) {}

  void Start(v1::SyncService::Stub* stub, const std::string& bearer);
  // Sends an AddTarget the server refuses at once (no document): its TargetEnded proves
  // that the server holds the stream, and leaves nothing behind.
  static constexpr int kProbeTarget = 1000;
  void Probe();
  // Follows `document` as target `target_id`, from a snapshot.
  void Follow(int target_id, const std::string& document);
  void Cancel() { context_.TryCancel(); }
  bool finished() const { return finished_.load(); }
  const grpc::Status& status() const { return status_; }

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  void Send(v1::SyncRequest request);

  WatchGroup* const group_;
  SyncCounters* const counters_;
  grpc::ClientContext context_;
  v1::SyncResponse response_;
  std::mutex mutex_;
  // One write in flight at a time (gRPC's rule); the rest wait here.
  std::deque<v1::SyncRequest> outbox_;
  v1::SyncRequest writing_;
  bool write_in_flight_ = false;
  std::atomic<bool> finished_{false};
  grpc::Status status_;
};

// Many devices over shared connections to one server.
class SyncFleet {
 public:
  explicit SyncFleet(int streams_per_channel) : per_channel_(std::max(1, streams_per_channel)) {}
  // Cancels what is still open and waits for gRPC to be done with it.
  ~SyncFleet();

  SyncDevice& Open(const std::string& target, const std::string& bearer);
  bool CloseAll(std::chrono::milliseconds timeout);

  WatchGroup& group() { return *group_; }
  SyncCounters& counters() { return *counters_; }
  const std::vector<std::unique_ptr<SyncDevice>>& devices() const { return devices_; }
  int connections() const { return static_cast<int>(channels_.size()); }

 private:
  const int per_channel_;
  std::unique_ptr<WatchGroup> group_ = std::make_unique<WatchGroup>();
  std::unique_ptr<SyncCounters> counters_ = std::make_unique<SyncCounters>();
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<v1::SyncService::Stub>> stubs_;
  std::vector<std::unique_ptr<SyncDevice>> devices_;
};

}  // namespace coplan::bench
