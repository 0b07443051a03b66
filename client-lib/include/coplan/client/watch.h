// A live view of a document that survives disconnects.
//
//   WatchSubscription watch(client, "people/alex/plans/care-plan", {
//       .on_event = [](const coplan::v1::WatchEvent& event) { ... },
//       .on_end = [](const absl::Status& why) { ... }});
//   ...
//   watch.Stop();
//
// It starts from a snapshot (or after `resume_after_revision`), remembers the last
// revision it delivered, and when the stream ends for a passing reason (server restart,
// RESOURCE_EXHAUSTED for a slow watcher, network loss) it watches again from there, so
// that every change is delivered once, in order. It stops for good on NOT_FOUND (no
// access any more), PERMISSION_DENIED, UNAUTHENTICATED or INVALID_ARGUMENT.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "coplan/client/client.h"

namespace coplan::client {

struct WatchOptions {
  int64_t resume_after_revision = 0;
  bool editing = false;
  // Called on the watch thread for every event (snapshots, changes, presence, agreement).
  std::function<void(const coplan::v1::WatchEvent&)> on_event;
  // Called once when the watch stops for good.
  std::function<void(const absl::Status&)> on_end;
  absl::Duration max_backoff = absl::Seconds(5);
};

class WatchSubscription {
 public:
  WatchSubscription(Client& client, std::string document, WatchOptions options);
  ~WatchSubscription();  // Stop()

  void Stop();
  // The last revision delivered (0 before the first).
  int64_t last_revision() const { return last_revision_.load(); }
  // How many times the stream was opened (1 + resumes).
  int connections() const { return connections_.load(); }

 private:
  void Run();

  Client& client_;
  const std::string document_;
  const WatchOptions options_;
  std::atomic<int64_t> last_revision_;
  std::atomic<int> connections_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  grpc::ClientContext* current_ = nullptr;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace coplan::client
