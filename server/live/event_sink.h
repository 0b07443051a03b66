// The write side of one server stream, as the live layer sees it: the gRPC write reactor
// of server/api (see RpcRunner::RunStream), or a fake in tests.
//
// A stream writes one event at a time: Send, then wait for the listener's OnWriteDone
// before the next. Close ends the call; the API layer maps its status to the gRPC status
// at the same boundary as unary calls.
//
//   sink.Bind(stream);                 // before the first write
//   sink.Send({.target = 1, .event = &event});   // ... stream->OnWriteDone(true)
//   sink.Close(absl::OkStatus());      // ... stream->OnDone()
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "coplan/v1/editing_service.pb.h"

namespace coplan {

// What hears back from a sink. Called on gRPC's threads, never with a sink lock held.
class SinkListener {
 public:
  virtual ~SinkListener() = default;
  // The last Send finished; `ok` is false when the client has gone.
  virtual void OnWriteDone(bool ok) = 0;
  // The client cancelled (or went away); Close must still be called.
  virtual void OnCancel() = 0;
  // The call is over (after Close); the sink is gone once this returns.
  virtual void OnDone() = 0;
};

// How a target of a sync stream starts (its first item).
struct TargetStart {
  int64_t current_revision = 0;  // the document's revision when it started
  // When the reader's access ends by time alone, if it does.
  std::optional<absl::Time> access_end;
};

// One thing to write: an event of a target, or (on a sync stream) the start or end of a
// target. What the pointers point to stays alive until OnWriteDone.
struct StreamItem {
  int target = 0;
  const coplan::v1::WatchEvent* event = nullptr;  // or...
  const absl::Status* target_end = nullptr;       // ... why the target ended, or...
  const TargetStart* target_start = nullptr;      // ... how it starts
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Names who hears back. Once, before the first Send. A cancellation that came before
  // is passed on at once.
  virtual void Bind(std::shared_ptr<SinkListener> listener) = 0;
  virtual void Send(const StreamItem& item) = 0;
  virtual void Close(const absl::Status& status) = 0;
};

}  // namespace coplan
