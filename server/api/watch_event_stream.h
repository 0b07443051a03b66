// The gRPC side of a watch stream: a callback write reactor that is the live layer's
// EventSink (server/live/event_sink.h). Its end goes through the same error boundary and
// log line as unary calls; what it hears from gRPC it passes to the stream bound to it.
//
// gRPC deletes nothing: the reactor deletes itself when the call is done (OnDone), after
// telling its listener.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coplan/v1/editing_service.pb.h"
#include "server/live/event_sink.h"

namespace coplan {

class WatchEventStream final : public grpc::ServerWriteReactor<coplan::v1::WatchEvent>,
                               public EventSink {
 public:
  explicit WatchEventStream(const char* method) : method_(method), start_(absl::Now()) {}

  // EventSink.
  void Bind(std::shared_ptr<SinkListener> listener) override;
  void Send(const StreamItem& item) override;
  void Close(const absl::Status& status) override;

  // grpc::ServerWriteReactor.
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  std::shared_ptr<SinkListener> listener() const;

  const char* const method_;
  const absl::Time start_;
  mutable absl::Mutex mutex_;
  std::shared_ptr<SinkListener> listener_ ABSL_GUARDED_BY(mutex_);
  bool cancelled_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace coplan
