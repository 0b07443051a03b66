// Watch streams read with gRPC's callback API: thousands of them are served by gRPC's
// few callback threads, not one thread each. Used by the fan-out and idle measures.
//
// A stream behaves like the client library's WatchSubscription: when the server ends it
// for a passing reason (RESOURCE_EXHAUSTED for a slow watcher, UNAVAILABLE) it watches
// again after its last revision, after a short backoff; gaps and duplicates are counted
// across such resumes.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/harness.h"
#include "coplan/v1/editing_service.grpc.pb.h"
#include "remote/watch_reader.h"

namespace coplan::bench {

// steady_clock now, in nanoseconds (what WatchGroup::last_event_ns holds).
int64_t SteadyNowNs();

// What all streams of a measure share: counters the main thread waits on.
struct WatchGroup {
  std::atomic<int> snapshots{0};
  std::atomic<int> finished{0};
  std::atomic<int64_t> presence_events{0};
  std::atomic<int64_t> resumes{0};
  std::atomic<int> waiting_to_resume{0};
  // steady_clock nanoseconds of the latest event of any stream (to see the server settle).
  std::atomic<int64_t> last_event_ns{0};
  std::mutex mutex;
  std::condition_variable changed;

  // Waits until `predicate()` holds; false on timeout or interruption.
  template <typename Predicate>
  bool WaitFor(Predicate predicate, std::chrono::milliseconds timeout);
  // Waits until no stream has had an event for `quiet` and none is waiting to resume
  // (at most `timeout`).
  bool WaitQuiet(std::chrono::milliseconds quiet, std::chrono::milliseconds timeout);
};

using client::remote::DelayedRunner;

// One watcher of a measure: a client::remote::WatchReader that resumes by itself, and
// reports to its group.
class WatchStream {
 public:
  struct Received {
    int64_t revision;
    int64_t steady_ns;  // steady_clock when the change was read
  };

  // `record_changes`: keep every change's arrival time (the fan-out measure).
  WatchStream(WatchGroup* group, DelayedRunner* resumer, bool record_changes)
      : group_(group), resumer_(resumer), record_changes_(record_changes) {}

  // Starts watching `document` from a snapshot.
  void Start(v1::EditingService::Stub* stub, const std::string& bearer,
             const std::string& document);
  // Ends the stream (status CANCELLED); no resume follows.
  void Cancel() { reader_->Cancel(); }
  void ReserveChanges(size_t count) { received_.reserve(count); }

  bool finished() const { return reader_ != nullptr && reader_->finished(); }
  bool got_snapshot() const { return reader_->got_snapshot(); }
  int64_t last_revision() const { return reader_->last_revision(); }
  int resumes() const { return reader_->resumes(); }
  // Read these once the stream is finished (group->finished counts it).
  int64_t gaps() const { return reader_->gaps(); }
  int64_t duplicates() const { return reader_->duplicates(); }
  const std::vector<Received>& received() const { return received_; }
  grpc::Status status() const { return reader_->status(); }
  // The status that ended the latest attempt that was resumed.
  const grpc::Status& last_resumed_status() const { return last_resumed_status_; }
  // True when the stream ended by itself for good (not by our Cancel).
  bool failed() const { return finished() && status().error_code() != grpc::StatusCode::CANCELLED; }

 private:
  void Record(const v1::WatchEvent& event);

  WatchGroup* const group_;
  DelayedRunner* const resumer_;
  const bool record_changes_;
  std::unique_ptr<client::remote::WatchReader> reader_;
  bool counted_snapshot_ = false;     // written by the one active read at a time
  std::vector<Received> received_;    // likewise
  grpc::Status last_resumed_status_;  // written between attempts
};

// Many streams over shared connections (`streams_per_channel` to a connection), opened
// with a bounded number waiting for their first answer so that a burst of opens does
// not overrun the server's queue of calls waiting for a worker.
class WatchFleet {
 public:
  WatchFleet(int streams_per_channel, int opening_window, bool record_changes,
             size_t reserve_changes)
      : per_channel_(std::max(1, streams_per_channel)),
        opening_window_(opening_window),
        record_changes_(record_changes),
        reserve_changes_(reserve_changes) {}
  // Cancels what is still open and waits for gRPC to be done with it.
  ~WatchFleet();

  // Opens a stream on `target`; streams of the same target share connections. False
  // (and nothing opened) when the streams already opening got no answer in time.
  bool Open(const std::string& target, const std::string& bearer, const std::string& document);
  // Waits until every stream has had its snapshot or ended.
  bool WaitJoined(std::chrono::milliseconds timeout);
  // Cancels every stream and waits until all are finished.
  bool CloseAll(std::chrono::milliseconds timeout);
  // Drops the connections (after CloseAll).
  void DropChannels();

  WatchGroup& group() { return *group_; }
  const std::vector<std::unique_ptr<WatchStream>>& streams() const { return streams_; }
  int connections() const { return static_cast<int>(channels_.size()); }

 private:
  struct Target {
    int streams = 0;
    v1::EditingService::Stub* stub = nullptr;
  };

  const int per_channel_;
  const int opening_window_;
  const bool record_changes_;
  const size_t reserve_changes_;
  // Owned through pointers so that they can be leaked, should gRPC never finish a call.
  std::unique_ptr<WatchGroup> group_ = std::make_unique<WatchGroup>();
  std::map<std::string, Target> targets_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<v1::EditingService::Stub>> stubs_;
  std::vector<std::unique_ptr<WatchStream>> streams_;
  // Declared last, destroyed first: no resume may run once streams are being freed.
  std::unique_ptr<DelayedRunner> resumer_ = std::make_unique<DelayedRunner>();
};

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
