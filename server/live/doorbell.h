// The doorbell between server instances on one database: typed messages carrying ids
// only, over PostgreSQL LISTEN/NOTIFY (store/notification_channel.h).
//
// Nothing is ever read from a message but ids: receivers fetch what changed from the
// database, so a lost message (or a reconnect) costs latency, never data. Messages are
// not sent inside the writing transaction (NOTIFY takes a global lock that would
// serialise every commit): they are queued after commit and a background thread sends
// them, coalesced, in short autocommit statements.
//
//   Doorbell bell(conninfo, "instance-a", &hub);
//   bell.Start();
//   bell.Ring(DoorbellMessage::Revision(42, 7));   // after revision 7 of document 42 committed
//
// On the wire a payload is "<instance>;<message>;<message>...", a message one of
// "r:<document key>:<revision>", "a:<document key>", "p:<document key>",
// "x:<person id>", "s:<session id>". Only this file's .cc knows that.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace coplan {

class NotificationListener;

struct DoorbellMessage {
  enum class Kind {
    kRevision,   // document_key committed `revision`
    kAgreement,  // someone signed document_key off
    kPresence,   // who is on document_key changed
    kAccess,     // access to the records of person `id` may have shrunk
    kSession,    // session `id` was signed out
  };
  Kind kind = Kind::kRevision;
  int64_t document_key = 0;
  int64_t revision = 0;
  std::string id;

  static DoorbellMessage Revision(int64_t document_key, int64_t revision);
  static DoorbellMessage Agreement(int64_t document_key);
  static DoorbellMessage Presence(int64_t document_key);
  static DoorbellMessage Access(std::string person_id);
  static DoorbellMessage Session(std::string session_id);

  bool operator==(const DoorbellMessage& other) const;
};

// The wire format (exposed for tests and fuzzing). Encoding coalesces: one revision
// message per document (the highest), no duplicates; payloads stay within PostgreSQL's
// limit. Decoding skips what it does not understand.
std::vector<std::string> EncodeDoorbellPayloads(const std::string& instance_id,
                                                const std::vector<DoorbellMessage>& messages);
struct DecodedDoorbellPayload {
  std::string instance_id;
  std::vector<DoorbellMessage> messages;
};
DecodedDoorbellPayload DecodeDoorbellPayload(const std::string& payload);

class Doorbell {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // A message rung by another instance.
    virtual void OnRing(const DoorbellMessage& message) = 0;
    // (Re)connected and listening: anything may have been missed meanwhile.
    virtual void OnListening() = 0;
  };

  static constexpr const char* kChannel = "coplan_doorbell";

  Doorbell(std::string conninfo, std::string instance_id, Listener* listener);
  ~Doorbell();  // Stop()

  void Start();
  // Sends what is queued, then stops.
  void Stop();
  // Queues a message for the other instances.
  void Ring(DoorbellMessage message);

  int reconnects() const;

 private:
  void Send();
  void Deliver(const std::string& payload);

  const std::string conninfo_;
  const std::string instance_id_;
  Listener* const listener_;
  std::unique_ptr<NotificationListener> notifications_;
  mutable absl::Mutex mutex_;
  std::deque<DoorbellMessage> outbox_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  bool sending_ ABSL_GUARDED_BY(mutex_) = false;  // the sender thread takes messages
  std::thread send_thread_;
};

}  // namespace coplan
