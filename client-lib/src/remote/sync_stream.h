// The device's one sync stream (SyncService.Sync) on gRPC's callback API: no thread of its
// own. Requests are written one at a time in the order given; responses and the end are
// handed to the listener on gRPC's threads, one at a time (the client core moves them onto
// its work queue). A stream serves one call: reconnecting is a new SyncStream.
//
//   auto stream = SyncStream::Start(stub, "Bearer ...", listener);
//   stream->Send(add_target_request);
//   stream->Cancel();           // on_closed(CANCELLED) follows
#pragma once

#include <grpcpp/grpcpp.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "coplan/v1/sync_service.grpc.pb.h"

namespace coplan::client::remote {

struct SyncStreamListener {
  std::function<void(coplan::v1::SyncResponse)> on_response;
  // Once, last.
  std::function<void(absl::Status)> on_closed;
};

class SyncStream
    : public grpc::ClientBidiReactor<coplan::v1::SyncRequest, coplan::v1::SyncResponse>,
      public std::enable_shared_from_this<SyncStream> {
 public:
  // Opens the call. The stream keeps itself alive until on_closed has returned.
  static std::shared_ptr<SyncStream> Start(coplan::v1::SyncService::Stub& stub,
                                           const std::string& authorization,
                                           SyncStreamListener listener);

  // Queues a request; false once the stream has ended.
  bool Send(coplan::v1::SyncRequest request);
  // Ends the call (on_closed follows with CANCELLED unless it has already ended).
  void Cancel();
  // Waits until on_closed has returned (gRPC is done with the stream), up to `timeout`.
  bool WaitUntilClosed(absl::Duration timeout);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  explicit SyncStream(SyncStreamListener listener) : listener_(std::move(listener)) {}
  // Moves the next request into `writing_`; false when there is none to write.
  bool TakeNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Lets gRPC finish the call once it has ended and no Send is starting a write.
  void ReleaseWriterHoldIfEnded() ABSL_LOCKS_EXCLUDED(mutex_);

  const SyncStreamListener listener_;
  grpc::ClientContext context_;
  coplan::v1::SyncResponse response_;

  absl::Mutex mutex_;
  std::deque<coplan::v1::SyncRequest> outbox_ ABSL_GUARDED_BY(mutex_);
  // The request being written: set under the lock, read by gRPC until OnWriteDone.
  coplan::v1::SyncRequest writing_;
  bool write_in_flight_ ABSL_GUARDED_BY(mutex_) = false;
  // Set once the call is ending (its read side or a write failed): no write starts after.
  bool ended_ ABSL_GUARDED_BY(mutex_) = false;
  // A Send is between taking a request and starting its write.
  bool starting_write_ ABSL_GUARDED_BY(mutex_) = false;
  // The hold that keeps the call from finishing while writes may still be started.
  bool writer_hold_ ABSL_GUARDED_BY(mutex_) = false;
  absl::Notification closed_;
  // Holds the stream alive while gRPC may still call it.
  std::shared_ptr<SyncStream> self_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace coplan::client::remote
