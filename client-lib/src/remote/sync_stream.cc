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
  // Writes are started from outside reactions (Send, on any thread): gRPC may finish the
  // call (OnDone, and the reactor is gone) as soon as no operation is outstanding, so a
  // write checked for under the lock could start on a finished call. A hold keeps the call
  // open for writers until its read side has ended (ReleaseWriterHoldIfEnded).
  {
    absl::MutexLock lock(&stream->mutex_);
    stream->writer_hold_ = true;
  }
  stream->AddHold();
  stream->StartRead(&stream->response_);
  stream->StartCall();
  return stream;
}

bool SyncStream::Send(coplan::v1::SyncRequest request) {
  {
    absl::MutexLock lock(&mutex_);
    if (ended_) return false;
    outbox_.push_back(std::move(request));
    if (write_in_flight_ || !TakeNextLocked()) return true;
    starting_write_ = true;  // the writer hold stays until this write has started
  }
  // Outside the lock: a reaction may run inline from a start method.
  StartWrite(&writing_);
  {
    absl::MutexLock lock(&mutex_);
    starting_write_ = false;
  }
  ReleaseWriterHoldIfEnded();
  return true;
}

void SyncStream::ReleaseWriterHoldIfEnded() {
  {
    absl::MutexLock lock(&mutex_);
    if (!ended_ || starting_write_ || !writer_hold_) return;
    writer_hold_ = false;
  }
  // Outside the lock: with nothing else outstanding, OnDone runs from here.
  RemoveHold();
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
  if (!ok) {
    // The call is ending: no write starts from now on, and OnDone may follow.
    {
      absl::MutexLock lock(&mutex_);
      ended_ = true;
    }
    ReleaseWriterHoldIfEnded();
    return;
  }
  listener_.on_response(std::move(response_));
  response_.Clear();
  StartRead(&response_);
}

void SyncStream::OnWriteDone(bool ok) {
  {
    absl::MutexLock lock(&mutex_);
    write_in_flight_ = false;
    if (!ok) {
      ended_ = true;  // the call is ending: OnDone follows once the read side has ended
      return;
    }
    if (!TakeNextLocked()) return;
  }
  // From within this reaction the call cannot finish before the write has started.
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
