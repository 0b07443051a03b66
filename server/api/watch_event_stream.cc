#include "server/api/watch_event_stream.h"

#include "server/api/call_log.h"
#include "server/api/grpc_status.h"

namespace coplan {

std::shared_ptr<SinkListener> WatchEventStream::listener() const {
  absl::MutexLock lock(&mutex_);
  return listener_;
}

void WatchEventStream::Bind(std::shared_ptr<SinkListener> listener) {
  bool cancelled;
  {
    absl::MutexLock lock(&mutex_);
    listener_ = listener;
    cancelled = cancelled_;
  }
  // A cancellation during set-up was held back for the listener.
  if (cancelled) listener->OnCancel();
}

// A stream of one target ends as a whole: only events come here.
void WatchEventStream::Send(const StreamItem& item) { StartWrite(item.event); }

void WatchEventStream::Close(const absl::Status& status) {
  const grpc::Status result = ToGrpcStatus(status);
  LogCallEnd(method_, result, start_);
  Finish(result);
}

void WatchEventStream::OnWriteDone(bool ok) {
  if (auto bound = listener()) bound->OnWriteDone(ok);
}

void WatchEventStream::OnCancel() {
  std::shared_ptr<SinkListener> bound;
  {
    absl::MutexLock lock(&mutex_);
    cancelled_ = true;
    bound = listener_;
  }
  if (bound) bound->OnCancel();
}

void WatchEventStream::OnDone() {
  std::shared_ptr<SinkListener> bound;
  {
    absl::MutexLock lock(&mutex_);
    bound = std::move(listener_);
  }
  if (bound) bound->OnDone();
  delete this;
}

}  // namespace coplan
