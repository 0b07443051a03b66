// A watch stream read with gRPC's callback API: thousands of them are served by gRPC's
// few callback threads, not one thread each. Used by the fan-out and idle measures.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bench/harness.h"
#include "coplan/v1/editing_service.grpc.pb.h"

namespace coplan::bench {

// What all streams of a measure share: counters the main thread waits on.
struct WatchGroup {
  std::atomic<int> snapshots{0};
  std::atomic<int> finished{0};
  std::atomic<int64_t> presence_events{0};
  // steady_clock nanoseconds of the latest event of any stream (to see the server settle).
  std::atomic<int64_t> last_event_ns{0};
  std::mutex mutex;
  std::condition_variable changed;

  // Waits until `predicate()` holds; false on timeout or interruption.
  template <typename Predicate>
  bool WaitFor(Predicate predicate, std::chrono::milliseconds timeout);
  // Waits until no stream has had an event for `quiet` (at most `timeout`).
  bool WaitQuiet(std::chrono::milliseconds quiet, std::chrono::milliseconds timeout);
};

class WatchStream : public grpc::ClientReadReactor<v1::WatchEvent> {
 public:
  struct Received {
    int64_t revision;
    int64_t steady_ns;  // steady_clock when the change was read
  };

  // `record_changes`: keep every change's arrival time (the fan-out measure).
  WatchStream(WatchGroup* group, bool record_changes) : group_(group), record_changes_(record_changes) {}

  // Starts WatchDocument from a snapshot.
  void Start(v1::EditingService::Stub* stub, const std::string& bearer, const std::string& document);
  void Cancel() { context_.TryCancel(); }
  void ReserveChanges(size_t count) { received_.reserve(count); }

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

  // Read after the stream is finished (group->finished counts it).
  bool finished() const { return finished_.load(); }
  bool got_snapshot() const { return got_snapshot_.load(); }
  int64_t last_revision() const { return last_revision_.load(); }
  int64_t gaps() const { return gaps_; }
  int64_t duplicates() const { return duplicates_; }
  const std::vector<Received>& received() const { return received_; }
  const grpc::Status& status() const { return status_; }
  // True when the stream ended by itself (not by our Cancel).
  bool failed() const { return finished_ && status_.error_code() != grpc::StatusCode::CANCELLED; }

 private:
  // Notes the event just read (event_): arrival time, revision order, counters.
  void Record();

  WatchGroup* const group_;
  const bool record_changes_;
  grpc::ClientContext context_;
  v1::WatchDocumentRequest request_;
  v1::WatchEvent event_;
  std::atomic<bool> got_snapshot_{false};
  std::atomic<int64_t> last_revision_{0};
  std::atomic<bool> finished_{false};
  int64_t gaps_ = 0;
  int64_t duplicates_ = 0;
  std::vector<Received> received_;
  grpc::Status status_;
};

// For streams that did not finish after Cancel: gRPC still holds them, so neither they
// nor their channels may be freed before the process exits.
void LeakUntilExit(std::vector<std::unique_ptr<WatchStream>> streams,
                   std::vector<std::shared_ptr<grpc::Channel>> channels);

template <typename Predicate>
bool WatchGroup::WaitFor(Predicate predicate, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mutex);
  while (!predicate()) {
    if (Interrupted() || std::chrono::steady_clock::now() >= deadline) return false;
    // Also polls: some predicates watch atomics that change without a notification.
    changed.wait_for(lock, std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace coplan::bench
