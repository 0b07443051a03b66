// The client core's state and decisions, all on the one work queue (nothing here locks):
// the device session and its tokens, the documents the device follows and their copies,
// the queue of edits not yet accepted, and the one sync stream.
//
// Server-authoritative, Replicache-style:
//   - an edit applies at once to the device's view with the server's own edit engine, and
//     is stored (durably) as a batch with its idempotency key and the revision it was made
//     on;
//   - batches go to the server one document at a time, in order, each rebased first on
//     what others changed since its base (a local conflict check with the same engine);
//     the revision a batch was sent on is stored before it is sent, so a resend after a
//     crash is the same request and the server answers it from its replay record;
//   - the server's answer replaces the optimistic state; a conflict (ABORTED with the
//     current value) is kept and handed to the app with both values, blocking that
//     document's later batches until the person chooses; a refusal for good is surfaced
//     and dropped, never retried for ever;
//   - the sync stream carries every followed document; its changes advance the server's
//     copy, and the view is the copy with the queued batches on top again.
//
// Privacy on the device: a target that ends with NOT_FOUND (a revoked grant, a care-team
// removal) purges the copy and its queued edits at once; a copy whose access ends by time
// (a grant's expiry) is purged at that instant, online or not; a snapshot after parts were
// newly withheld replaces the copy. A session that ends on the server (revoked from
// another device, expired) wipes the device.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coplan/client/coplan_client.h"
#include "coplan/client/v1/device.pb.h"
#include "coplan/v1/auth_service.pb.h"
#include "coplan/v1/editing_service.pb.h"
#include "coplan/v1/sync_service.pb.h"
#include "local/device_cache.h"
#include "remote/api_methods.h"
#include "remote/backoff.h"
#include "remote/server_connection.h"
#include "remote/sync_stream.h"
#include "sync/document_copy.h"
#include "sync/work_queue.h"

namespace coplan::client::sync {

// Where the engine runs and how it reaches the app.
struct EngineEnvironment {
  WorkQueue* queue = nullptr;  // the core's queue: the engine runs only on it
  // Runs a task on the callback thread (the app's callbacks and listeners).
  std::function<void(std::function<void()>)> deliver;
  remote::ServerConnection* connection = nullptr;
  // Told (on the core's queue) whenever who is signed in changes.
  std::function<void(coplan::client::v1::SessionState)> session_changed;
  ClientOptions options;
};

class SyncEngine {
 public:
  SyncEngine(EngineEnvironment environment, std::unique_ptr<local::DeviceCache> cache);
  ~SyncEngine();

  // Reads the cache into memory, purges copies past their time, and connects if signed in.
  absl::Status Start();
  // Ends the stream and every call; nothing is lost (everything is durable already).
  void Shutdown();
  // After Shutdown, from another thread: waits until gRPC is done with the stream.
  void WaitForStream();

  void SignIn(const std::string& username, const std::string& password,
              Callback<coplan::client::v1::SessionState> done);
  void SignOut(bool forget_device, StatusCallback done);
  coplan::client::v1::SessionState session() const;

  void Follow(ListenerId id, const std::string& document, DocumentListener listener);
  void RemoveListener(ListenerId id, std::function<void()> released);
  void Forget(const std::string& document, StatusCallback done);
  void GetDocument(const std::string& document, Callback<coplan::client::v1::CachedDocument> done);
  void GetGridVersion(const std::string& name,
                      Callback<coplan::client::v1::CachedGridVersion> done);
  void GetAccessLog(Callback<coplan::client::v1::CachedAccessLog> done);

  void Edit(const coplan::client::v1::EditRequest& request,
            Callback<coplan::client::v1::EditQueued> done);
  void ResolveConflict(const coplan::client::v1::Resolution& resolution, StatusCallback done);
  void GetPendingState(Callback<coplan::client::v1::PendingState> done);
  void Flush(absl::Duration timeout, StatusCallback done);
  void AddClientListener(ListenerId id, ClientListener listener);

  void Call(const remote::ApiMethod& method, const std::string& request,
            Callback<std::string> done);
  int open_streams() const { return stream_ != nullptr ? 1 : 0; }
  // Runs `task` on the callback thread, after what is already due there.
  void Deliver(std::function<void()> task) { env_.deliver(std::move(task)); }

 private:
  struct FollowedDocument {
    DocumentCopy copy;
    int target = 0;                 // on the current stream (0: not on it)
    int64_t current_at_start = -1;  // the revision that makes the copy current (-1: unknown)
    bool live = false;              // current, and followed on the stream now
    int64_t stream_revision = 0;    // the newest revision the stream has given
    bool sending = false;           // a batch of it is with the server
    WorkQueue::TaskId resend = 0;   // a retry is scheduled
    WorkQueue::TaskId expiry = 0;   // its purge at shown_until
    remote::ExponentialBackoff backoff{absl::Milliseconds(200), absl::Seconds(30)};
    int attempts = 0;  // failed sends of the head batch in a row
  };
  struct DocumentListenerEntry {
    std::string document;
    DocumentListener listener;
  };
  struct FlushWaiter {
    absl::Time deadline;
    StatusCallback done;
  };
  struct CallPolicy {
    bool retry = false;  // again on UNAVAILABLE, with backoff
    int max_attempts = 4;
    bool authorized = true;  // send the access token
  };
  using CallDone = std::function<void(absl::StatusOr<std::string>)>;

  // --- calls and the session ---
  void Unary(const std::string& path, std::string request, CallPolicy policy, CallDone done,
             int attempt = 1, bool refreshed = false);
  // Runs `next` with a usable "Bearer ..." (refreshing the session first if needed).
  void WithAuthorization(std::function<void(absl::StatusOr<std::string>)> next);
  void Refresh();
  void RefreshDone(const std::string& token, absl::StatusOr<std::string> answer);
  void AdoptSession(const coplan::v1::SignInResponse& response);
  // The server ended the session (revoked, expired): the device forgets everything.
  void SessionEnded(const absl::Status& why);
  absl::Status Wipe();
  void SetOnline(bool online);

  // --- the sync stream ---
  void EnsureStream();
  void OpenStream(const std::string& authorization);
  void AddTarget(FollowedDocument& followed);
  void OnStreamResponse(const std::shared_ptr<remote::SyncStream>& stream,
                        coplan::v1::SyncResponse response);
  void OnStreamClosed(const std::shared_ptr<remote::SyncStream>& stream, absl::Status status);
  void OnTargetEvent(FollowedDocument& followed, const coplan::v1::WatchEvent& event);
  void OnTargetStarted(FollowedDocument& followed, const coplan::v1::TargetStarted& started);
  void OnTargetEnded(FollowedDocument& followed, const google::rpc::Status& status);
  void CheckCurrent(FollowedDocument& followed);
  void ResumeTarget(FollowedDocument& followed);

  // --- documents ---
  absl::StatusOr<std::string> CanonicalName(const std::string& document) const;
  FollowedDocument* Find(const std::string& name);
  bool Showable(const FollowedDocument& followed) const;
  coplan::client::v1::CachedDocument Present(const FollowedDocument& followed) const;
  void Publish(const FollowedDocument& followed);
  void PublishEvent(const std::string& document, const coplan::client::v1::DocumentEvent& event);
  void SaveCopy(FollowedDocument& followed);
  void ScheduleExpiry(FollowedDocument& followed);
  // Removes the document, its copy and its queued edits from the device (told to the
  // listeners with `why`).
  void Purge(const std::string& name, const absl::Status& why);
  void FetchGridVersionOf(const FollowedDocument& followed);
  void RefreshAccessLog(Callback<coplan::client::v1::CachedAccessLog> done);

  // --- queued edits ---
  std::vector<const coplan::client::v1::PendingBatch*> ShownBatchesOf(
      const std::string& name) const;
  local::StoredBatch* HeadBatchOf(const std::string& name);
  void SendAll();
  void Send(const std::string& name);
  void SendDone(const std::string& name, int64_t batch_id, absl::StatusOr<std::string> answer);
  // The server answered BASE_REVISION_TOO_OLD: rebases the batch on the device's current
  // copy, with what changed since its base found from the document at that base.
  void RebaseOnCopy(const std::string& name, int64_t batch_id);
  void RebaseDone(const std::string& name, int64_t batch_id, absl::StatusOr<std::string> answer);
  void RetryLater(FollowedDocument& followed);
  void MarkConflict(local::StoredBatch& batch, const coplan::v1::EditConflict& detail);
  void RemoveBatch(int64_t id);
  void Refuse(local::StoredBatch batch, const absl::Status& why);
  void PrunePaths(FollowedDocument& followed);
  void CheckFlushWaiters();
  bool Idle() const;

  void Emit(const coplan::client::v1::ClientEvent& event);
  // Reports a cache failure (the disk is full, the file went away) to the app.
  void CacheFailed(const absl::Status& status);

  EngineEnvironment env_;
  std::unique_ptr<local::DeviceCache> cache_;
  bool shut_down_ = false;

  std::optional<local::StoredSession> session_;
  // The last sign-in's device cookie (SignInResponse.device_cookie); kept in memory only,
  // since it names an account and a sign-out leaves nothing of the account behind.
  std::string device_cookie_;
  bool refreshing_ = false;
  std::vector<std::function<void(absl::StatusOr<std::string>)>> waiting_for_token_;
  bool online_ = false;

  std::map<std::string, FollowedDocument> documents_;
  std::map<int64_t, local::StoredBatch> batches_;
  std::map<ListenerId, DocumentListenerEntry> listeners_;
  std::map<ListenerId, ClientListener> client_listeners_;
  std::vector<FlushWaiter> flush_waiters_;

  std::shared_ptr<remote::SyncStream> stream_;
  std::shared_ptr<remote::SyncStream> closing_stream_;  // set once, by Shutdown
  std::map<int, std::string> targets_;                  // target id -> document, on stream_
  int next_target_ = 1;
  bool stream_opening_ = false;
  WorkQueue::TaskId reconnect_ = 0;
  remote::ExponentialBackoff stream_backoff_;
  WorkQueue::TaskId flush_timer_ = 0;
};

}  // namespace coplan::client::sync
