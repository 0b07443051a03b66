// The doorbell between server instances on one database: PostgreSQL LISTEN/NOTIFY
// carrying ids only ("r:<document key>:<revision>", "a:<document key>", ...).
//
// Nothing is ever read from a notification but ids: receivers fetch what changed from
// the revision log, so a lost notification (or a reconnect) costs latency, never data.
// Notifications are not sent inside the writing transaction (NOTIFY takes a global lock
// that would serialise every commit): they are queued after commit and a background
// connection sends them, coalesced, in short autocommit statements.
//
//   Doorbell bell(conninfo, "instance-a", &hub);
//   bell.Start();
//   bell.Ring("r:42:7");     // after the revision committed
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace coplan {

class Doorbell {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // A message rung by another instance.
    virtual void OnRing(const std::string& message) = 0;
    // (Re)connected and listening: anything may have been missed meanwhile.
    virtual void OnListening() = 0;
  };

  static constexpr const char* kChannel = "coplan_doorbell";

  Doorbell(std::string conninfo, std::string instance_id, Listener* listener);
  ~Doorbell();  // Stop()

  void Start();
  // Sends what is queued, then stops both threads.
  void Stop();
  // Queues a message for the other instances.
  void Ring(std::string message);

  int reconnects() const;

 private:
  void Listen();
  void Send();
  void Deliver(const std::string& payload);

  const std::string conninfo_;
  const std::string instance_id_;
  Listener* const listener_;
  mutable std::mutex mutex_;
  std::condition_variable outbox_ready_;  // the sender waits on this
  std::condition_variable stopped_;       // the listener's reconnect backoff waits on this
  std::deque<std::string> outbox_;  // guarded by mutex_
  bool stopping_ = false;           // guarded by mutex_
  int reconnects_ = 0;              // guarded by mutex_
  std::thread listen_thread_;
  std::thread send_thread_;
};

}  // namespace coplan
