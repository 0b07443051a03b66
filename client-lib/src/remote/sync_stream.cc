#include "remote/sync_stream.h"

#include <utility>

#include "remote/grpc_status.h"

namespace coplan::client::remote {

std::shared_ptr<SyncStream> SyncStream::Start(coplan::v1::SyncService::Stub& stub,
                                              const std::string& authorization,
                                              SyncStreamListener listener) {
  std::shared_ptr<SyncStream> stream(new SyncStream(std::move(listener)));
  {
    absl::MutexLock lock(&stream->mutex_);
    stream->self_ = stream;
  }
  stream->context_.AddMetadata("authorization", authorization);
  stub.async()->Sync(&stream->context_, stream.get());
  // A hold keeps OnDone from running before the first read and any writes are queued.
  stream->AddHold();
  stream->StartRead(&stream->response_);
  stream->StartCall();
  stream->RemoveHold();
  return stream;
}

bool SyncStream::Send(coplan::v1::SyncRequest request) {
  {
    absl::MutexLock lock(&mutex_);
    if (ended_) return false;
    outbox_.push_back(std::move(request));
    if (write_in_flight_ || !TakeNextLocked()) return true;
  }
  StartWrite(&writing_);
  return true;
}

bool SyncStream::TakeNextLocked() {
  if (outbox_.empty() || ended_) return false;
  writing_ = std::move(outbox_.front());
  outbox_.pop_front();
  write_in_flight_ = true;
  return true;
}

void SyncStream::Cancel() { context_.TryCancel(); }

void SyncStream::OnReadDone(bool ok) {
  if (!ok) return;  // the call is ending: OnDone follows
  listener_.on_response(std::move(response_));
  response_.Clear();
  StartRead(&response_);
}

void SyncStream::OnWriteDone(bool ok) {
  {
    absl::MutexLock lock(&mutex_);
    write_in_flight_ = false;
    if (!ok) {
      ended_ = true;  // the call is ending: OnDone follows
      return;
    }
    if (!TakeNextLocked()) return;
  }
  // Outside the lock: a reaction may run inline from a start method.
  StartWrite(&writing_);
}

void SyncStream::OnDone(const grpc::Status& status) {
  std::shared_ptr<SyncStream> keep;
  {
    absl::MutexLock lock(&mutex_);
    ended_ = true;
    keep = std::move(self_);
  }
  listener_.on_closed(FromGrpcStatus(status));
  closed_.Notify();
}

bool SyncStream::WaitUntilClosed(absl::Duration timeout) {
  return closed_.WaitForNotificationWithTimeout(timeout);
}

}  // namespace coplan::client::remote
