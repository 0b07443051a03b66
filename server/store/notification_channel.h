// PostgreSQL LISTEN/NOTIFY on one channel, each end on a connection of its own (never a
// pooled one: a listening connection must stay in session, and NOTIFY inside a writing
// transaction would serialise commits on its global lock).
//
//   NotificationListener listener(conninfo, "coplan_doorbell",
//       [](const std::string& payload) { ... }, [] { /* (re)connected: look around */ });
//   listener.Start();
//   NotificationSender sender(conninfo, "coplan_doorbell");
//   sender.Send({"payload"});
//
// Payloads are at most kMaxNotificationPayload bytes (PostgreSQL's limit is 8000).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace coplan {

inline constexpr size_t kMaxNotificationPayload = 7000;

// Listens on its own thread, reconnecting with backoff when the connection is lost.
class NotificationListener {
 public:
  NotificationListener(std::string conninfo, std::string channel,
                       std::function<void(const std::string& payload)> on_payload,
                       std::function<void()> on_listening);
  ~NotificationListener();  // Stop()

  void Start();
  void Stop();
  // How often the connection was lost and made again.
  int reconnects() const;

 private:
  void Run();

  const std::string conninfo_;
  const std::string channel_;
  const std::function<void(const std::string&)> on_payload_;
  const std::function<void()> on_listening_;
  mutable absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  int reconnects_ ABSL_GUARDED_BY(mutex_) = 0;
  std::thread thread_;
};

// Sends notifications in short autocommit statements; not thread-safe (one sender thread).
class NotificationSender {
 public:
  NotificationSender(std::string conninfo, std::string channel);
  ~NotificationSender();

  // Sends every payload; tries a fresh connection up to three times. UNAVAILABLE if they
  // could not all be sent (receivers catch up from the database anyway).
  absl::Status Send(const std::vector<std::string>& payloads);

 private:
  struct Connection;
  const std::string conninfo_;
  const std::string channel_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace coplan
