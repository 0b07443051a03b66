#include "sync/sync_engine.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "coplan/v1/audit_service.pb.h"
#include "coplan/v1/auth_service.pb.h"
#include "coplan/v1/option_grid_service.pb.h"
#include "google/rpc/error_details.pb.h"
#include "remote/grpc_status.h"
#include "server/common/errors.h"
#include "server/common/ids.h"
#include "server/common/proto_time.h"
#include "server/common/resource_names.h"
#include "server/domain/document_paths.h"
#include "server/domain/edit_engine.h"

namespace coplan::client::sync {
namespace {

namespace cv1 = coplan::client::v1;
namespace v1 = coplan::v1;

constexpr char kSignIn[] = "/coplan.v1.AuthService/SignIn";
constexpr char kSignOut[] = "/coplan.v1.AuthService/SignOut";
constexpr char kRefreshSession[] = "/coplan.v1.AuthService/RefreshSession";
constexpr char kEditDocument[] = "/coplan.v1.EditingService/EditDocument";
constexpr char kGetGridVersion[] = "/coplan.v1.OptionGridService/GetOptionGridVersion";
constexpr char kListAccessEvents[] = "/coplan.v1.AuditService/ListAccessEvents";

// The server's limit of targets on one stream, kept on the device too.
constexpr size_t kMaxFollowedDocuments = 100;
// An access token this close to its end is refreshed before use.
constexpr absl::Duration kRefreshAhead = absl::Seconds(60);
// Sends of one batch that failed for an unknown reason (INTERNAL, UNKNOWN) before it is
// given up as refused.
constexpr int kMaxUnexplainedFailures = 5;
constexpr char kGetDocumentRevision[] = "/coplan.v1.EditingService/GetDocumentRevision";

google::protobuf::Timestamp Timestamp(absl::Time time) { return ToTimestamp(time); }

// Codes that say "not now": try again later.
bool IsPassing(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kCancelled:
      return true;
    default:
      return false;
  }
}

std::string ReasonOf(const absl::Status& status) {
  auto info = remote::ErrorDetail<google::rpc::ErrorInfo>(status);
  return info ? info->reason() : std::string();
}

template <typename Message>
absl::StatusOr<Message> Parse(const absl::StatusOr<std::string>& answer) {
  if (!answer.ok()) return answer.status();
  Message message;
  if (!message.ParseFromString(*answer)) {
    return absl::InternalError(
        absl::StrCat("the server's answer is not a ", Message::descriptor()->full_name()));
  }
  return message;
}

}  // namespace

SyncEngine::SyncEngine(EngineEnvironment environment, std::unique_ptr<local::DeviceCache> cache)
    : env_(std::move(environment)),
      cache_(std::move(cache)),
      stream_backoff_(absl::Milliseconds(250), env_.options.max_backoff) {}

SyncEngine::~SyncEngine() = default;

// ---------------------------------------------------------------------------------------
// Start and stop

absl::Status SyncEngine::Start() {
  absl::StatusOr<std::optional<local::StoredSession>> session = cache_->LoadSession();
  if (!session.ok()) return session.status();
  session_ = std::move(*session);
  if (env_.session_changed) env_.session_changed(this->session());
  absl::StatusOr<std::vector<local::StoredDocument>> stored = cache_->LoadDocuments();
  if (!stored.ok()) return stored.status();
  for (auto& document : *stored) {
    const std::string name = document.name;
    FollowedDocument& followed = documents_[name];
    followed.copy = DocumentCopy(std::move(document));
    absl::StatusOr<std::vector<local::RevisionPaths>> paths = cache_->LoadRevisionPaths(name);
    if (!paths.ok()) return paths.status();
    followed.copy.LoadPaths(*paths);
  }
  absl::StatusOr<std::vector<local::StoredBatch>> batches = cache_->LoadBatches();
  if (!batches.ok()) return batches.status();
  for (auto& batch : *batches) {
    const int64_t id = batch.batch.id();
    batches_.emplace(id, std::move(batch));
  }
  // A copy whose time has passed is not shown again, not even once.
  std::vector<std::string> expired;
  for (auto& [name, followed] : documents_) {
    if (!Showable(followed) && followed.copy.stored().shown_until) expired.push_back(name);
  }
  for (const auto& name : expired) {
    Purge(name, absl::NotFoundError(absl::StrCat(name, " is no longer shared with you")));
  }
  for (auto& [name, followed] : documents_) ScheduleExpiry(followed);
  EnsureStream();
  SendAll();
  return absl::OkStatus();
}

void SyncEngine::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  closing_stream_ = stream_;
  if (stream_ != nullptr) stream_->Cancel();
  env_.connection->CancelAll();
  for (auto& waiter : flush_waiters_) {
    env_.deliver(
        [done = std::move(waiter.done)] { done(absl::CancelledError("the client is closed")); });
  }
  flush_waiters_.clear();
  cache_->Close();
}

void SyncEngine::WaitForStream() {
  if (closing_stream_ != nullptr) closing_stream_->WaitUntilClosed(absl::Seconds(10));
}

// ---------------------------------------------------------------------------------------
// Calls and the session

void SyncEngine::Unary(const std::string& path, std::string request, CallPolicy policy,
                       CallDone done, int attempt, bool refreshed) {
  if (shut_down_) {
    done(absl::CancelledError("the client is closed"));
    return;
  }
  auto send = [this, path, request = std::move(request), policy, done = std::move(done), attempt,
               refreshed](absl::StatusOr<std::string> authorization) mutable {
    if (!authorization.ok()) {
      done(authorization.status());
      return;
    }
    env_.connection->Call(
        path, request, *authorization, env_.options.call_deadline,
        [this, path, request, policy, done = std::move(done), attempt,
         refreshed](absl::StatusOr<std::string> answer) mutable {
          env_.queue->Enqueue([this, path, request = std::move(request), policy,
                               done = std::move(done), attempt, refreshed,
                               answer = std::move(answer)]() mutable {
            if (shut_down_) {
              done(absl::CancelledError("the client is closed"));
              return;
            }
            const absl::StatusCode code = answer.status().code();
            if (answer.ok()) {
              SetOnline(true);
            } else if (code == absl::StatusCode::kUnavailable) {
              SetOnline(false);
            }
            if (code == absl::StatusCode::kUnauthenticated && policy.authorized && !refreshed &&
                session_ && !session_->refresh_token.empty()) {
              // The token was refused (expired early, or its session was refreshed
              // elsewhere): refresh once and try again.
              session_->access_token.clear();
              Unary(path, std::move(request), policy, std::move(done), attempt, true);
              return;
            }
            if (code == absl::StatusCode::kUnauthenticated && policy.authorized && refreshed) {
              SessionEnded(answer.status());
            }
            if (policy.retry && code == absl::StatusCode::kUnavailable &&
                attempt < policy.max_attempts) {
              remote::ExponentialBackoff backoff(absl::Milliseconds(100), absl::Seconds(2));
              absl::Duration delay;
              for (int i = 0; i <= attempt; ++i) delay = backoff.Next();
              env_.queue->EnqueueAfter(delay, [this, path, request = std::move(request), policy,
                                               done = std::move(done), attempt,
                                               refreshed]() mutable {
                Unary(path, std::move(request), policy, std::move(done), attempt + 1, refreshed);
              });
              return;
            }
            done(std::move(answer));
          });
        });
  };
  if (!policy.authorized) {
    send(std::string());
    return;
  }
  WithAuthorization(std::move(send));
}

void SyncEngine::WithAuthorization(std::function<void(absl::StatusOr<std::string>)> next) {
  if (!session_) {
    next(UnauthenticatedError("not signed in on this device: sign in first"));
    return;
  }
  if (!session_->access_token.empty() &&
      session_->access_expire_time - kRefreshAhead > absl::Now()) {
    next(absl::StrCat("Bearer ", session_->access_token));
    return;
  }
  if (session_->refresh_token.empty()) {
    if (!session_->access_token.empty() && session_->access_expire_time > absl::Now()) {
      next(absl::StrCat("Bearer ", session_->access_token));
    } else {
      next(UnauthenticatedError("the session has ended: sign in again"));
    }
    return;
  }
  waiting_for_token_.push_back(std::move(next));
  if (!refreshing_) Refresh();
}

void SyncEngine::Refresh() {
  refreshing_ = true;
  const std::string token = session_->refresh_token;
  v1::RefreshSessionRequest request;
  request.set_refresh_token(token);
  env_.connection->Call(kRefreshSession, request.SerializeAsString(), "",
                        env_.options.call_deadline,
                        [this, token](absl::StatusOr<std::string> answer) {
                          env_.queue->Enqueue([this, token, answer = std::move(answer)]() mutable {
                            RefreshDone(token, std::move(answer));
                          });
                        });
}

void SyncEngine::RefreshDone(const std::string& token, absl::StatusOr<std::string> answer) {
  refreshing_ = false;
  std::vector<std::function<void(absl::StatusOr<std::string>)>> waiting;
  waiting.swap(waiting_for_token_);
  if (shut_down_) {
    for (auto& next : waiting) next(absl::CancelledError("the client is closed"));
    return;
  }
  if (!session_ || session_->refresh_token != token) {
    // Signed out, or in again, meanwhile: this answer is about a session that is gone.
    for (auto& next : waiting) next(absl::CancelledError("the session changed meanwhile"));
    if (session_ && !waiting_for_token_.empty()) Refresh();
    return;
  }
  absl::StatusOr<v1::SignInResponse> response = Parse<v1::SignInResponse>(answer);
  if (response.ok()) {
    SetOnline(true);
    AdoptSession(*response);
    for (auto& next : waiting) next(absl::StrCat("Bearer ", session_->access_token));
    return;
  }
  const absl::StatusCode code = response.status().code();
  if (IsPassing(code) || code == absl::StatusCode::kInternal ||
      code == absl::StatusCode::kUnknown) {
    if (code == absl::StatusCode::kUnavailable) SetOnline(false);
    for (auto& next : waiting) next(response.status());
    return;
  }
  // Refused for good: the session was revoked, expired, or its token was reused.
  for (auto& next : waiting) next(UnauthenticatedError("the session has ended: sign in again"));
  SessionEnded(response.status());
}

void SyncEngine::AdoptSession(const v1::SignInResponse& response) {
  local::StoredSession session;
  session.person = response.person();
  session.session = response.session();
  session.access_token = response.access_token();
  session.access_expire_time = FromTimestamp(response.expire_time());
  session.refresh_token = response.refresh_token();
  session.refresh_expire_time = response.has_refresh_expire_time()
                                    ? FromTimestamp(response.refresh_expire_time())
                                    : absl::InfinitePast();
  session_ = session;
  if (env_.session_changed) env_.session_changed(this->session());
  // At once: the old refresh token no longer works, and an app killed now must find the
  // new one.
  if (absl::Status saved = cache_->SaveSession(session); !saved.ok()) CacheFailed(saved);
}

void SyncEngine::SignIn(const std::string& username, const std::string& password,
                        Callback<cv1::SessionState> done) {
  v1::SignInRequest request;
  request.set_username(username);
  request.set_password(password);
  if (!env_.options.device_name.empty()) request.set_device_name(env_.options.device_name);
  request.set_device_cookie(device_cookie_);
  Unary(kSignIn, request.SerializeAsString(), {.retry = false, .authorized = false},
        [this, done = std::move(done)](absl::StatusOr<std::string> answer) {
          absl::StatusOr<v1::SignInResponse> response = Parse<v1::SignInResponse>(answer);
          if (!response.ok()) {
            env_.deliver([done, status = response.status()] { done(status); });
            return;
          }
          if (session_ && session_->person != response->person()) {
            // Another person on this device: nothing of the last one's may remain.
            if (absl::Status wiped = Wipe(); !wiped.ok()) {
              env_.deliver([done, wiped] { done(wiped); });
              return;
            }
          }
          // Lets this device sign in again when its network address is throttled.
          device_cookie_ = response->device_cookie();
          AdoptSession(*response);
          cv1::SessionState state = session();
          env_.deliver([done, state] { done(state); });
          EnsureStream();
          SendAll();
        });
}

cv1::SessionState SyncEngine::session() const {
  cv1::SessionState state;
  if (session_) {
    state.set_signed_in(true);
    state.set_person(session_->person);
    state.set_session(session_->session);
  }
  return state;
}

void SyncEngine::SignOut(bool forget_device, StatusCallback done) {
  std::string authorization;
  if (session_ && !session_->access_token.empty() && session_->access_expire_time > absl::Now()) {
    authorization = absl::StrCat("Bearer ", session_->access_token);
  }
  const bool had_session = session_.has_value();
  // The device forgets first: a sign-out must work with no signal.
  absl::Status wiped = Wipe();
  if (!wiped.ok()) {
    env_.deliver([done, wiped] { done(wiped); });
    return;
  }
  if (forget_device) {
    const std::string path = cache_->path();
    cache_->Close();
    if (absl::Status destroyed = local::DeviceCache::Destroy(path); !destroyed.ok()) {
      env_.deliver([done, destroyed] { done(destroyed); });
      return;
    }
  }
  if (!had_session || authorization.empty()) {
    // Without a live token the server cannot be asked; the refresh token is gone from
    // the device, so the session can no longer be used and ends at its expiry.
    absl::Status told = had_session ? absl::UnavailableError(
                                          "signed out on this device; the server was not told "
                                          "(no valid token), the session ends when it expires")
                                    : absl::OkStatus();
    env_.deliver([done, told] { done(told); });
    return;
  }
  env_.connection->Call(kSignOut, v1::SignOutRequest().SerializeAsString(), authorization,
                        env_.options.call_deadline,
                        [this, done = std::move(done)](absl::StatusOr<std::string> answer) {
                          absl::Status told = answer.status();
                          if (IsPassing(told.code())) {
                            told = absl::UnavailableError(absl::StrCat(
                                "signed out on this device; the server could not be told (",
                                told.message(), "), the session ends when it expires"));
                          }
                          env_.deliver([done, told] { done(told); });
                        });
}

void SyncEngine::SessionEnded(const absl::Status& why) {
  if (!session_) return;
  absl::Status wiped = Wipe();
  if (!wiped.ok()) CacheFailed(wiped);
  cv1::ClientEvent event;
  google::rpc::Status status = remote::ToRpcStatus(why);
  status.set_code(static_cast<int>(absl::StatusCode::kUnauthenticated));
  status.set_message(absl::StrCat("the session has ended (", why.message(),
                                  "): everything on this device was removed; sign in again"));
  *event.mutable_signed_out() = status;
  Emit(event);
}

absl::Status SyncEngine::Wipe() {
  if (stream_ != nullptr) stream_->Cancel();
  for (auto& [name, followed] : documents_) {
    if (followed.expiry != 0) env_.queue->Cancel(followed.expiry);
    if (followed.resend != 0) env_.queue->Cancel(followed.resend);
  }
  cv1::DocumentEvent ended;
  google::rpc::Status* status = ended.mutable_ended();
  status->set_code(static_cast<int>(absl::StatusCode::kUnauthenticated));
  status->set_message("signed out: the device no longer holds this document");
  for (const auto& [id, entry] : listeners_) {
    env_.deliver([listener = entry.listener, ended] { listener(ended); });
  }
  listeners_.clear();
  documents_.clear();
  batches_.clear();
  targets_.clear();
  session_.reset();
  if (env_.session_changed) env_.session_changed(session());
  std::vector<std::function<void(absl::StatusOr<std::string>)>> waiting;
  waiting.swap(waiting_for_token_);
  for (auto& next : waiting) next(UnauthenticatedError("signed out: sign in again"));
  return cache_->WipeAll();
}

void SyncEngine::SetOnline(bool online) {
  if (online == online_) return;
  online_ = online;
  cv1::ClientEvent event;
  event.mutable_connectivity()->set_online(online);
  Emit(event);
  if (!online) return;
  // Back: waits made for an unreachable server are over.
  if (reconnect_ != 0) {
    env_.queue->Cancel(reconnect_);
    reconnect_ = 0;
    EnsureStream();
  }
  for (auto& [name, followed] : documents_) {
    followed.backoff.Reset();
    if (followed.resend != 0) {
      env_.queue->Cancel(followed.resend);
      followed.resend = 0;
    }
  }
  SendAll();
}

void SyncEngine::Call(const remote::ApiMethod& method, const std::string& request,
                      Callback<std::string> done) {
  if (request.size() > remote::kMaxRequestBytes) {
    env_.deliver([done, size = request.size()] {
      done(absl::ResourceExhaustedError(absl::StrCat("the request is ", size,
                                                     " bytes; the server accepts at most ",
                                                     remote::kMaxRequestBytes)));
    });
    return;
  }
  Unary(method.path, request, {.retry = method.safe_to_retry},
        [this, done = std::move(done)](absl::StatusOr<std::string> answer) {
          env_.deliver([done, answer = std::move(answer)] { done(answer); });
        });
}

// ---------------------------------------------------------------------------------------
// The sync stream

void SyncEngine::EnsureStream() {
  if (shut_down_ || !session_ || stream_ != nullptr || stream_opening_ || reconnect_ != 0) return;
  if (documents_.empty()) return;
  stream_opening_ = true;
  WithAuthorization([this](absl::StatusOr<std::string> authorization) {
    stream_opening_ = false;
    if (shut_down_ || !session_) return;
    if (!authorization.ok()) {
      if (authorization.status().code() != absl::StatusCode::kUnauthenticated) {
        reconnect_ = env_.queue->EnqueueAfter(stream_backoff_.Next(), [this] {
          reconnect_ = 0;
          EnsureStream();
        });
      }
      return;
    }
    OpenStream(*authorization);
  });
}

void SyncEngine::OpenStream(const std::string& authorization) {
  remote::SyncStreamListener listener;
  // The stream is known to its callbacks through a weak pointer, so that a closed one's
  // late answers are told apart from the current one's.
  auto holder = std::make_shared<std::weak_ptr<remote::SyncStream>>();
  listener.on_response = [this, holder](v1::SyncResponse response) {
    env_.queue->Enqueue([this, holder, response = std::move(response)]() mutable {
      if (auto stream = holder->lock()) OnStreamResponse(stream, std::move(response));
    });
  };
  listener.on_closed = [this, holder](absl::Status status) {
    env_.queue->Enqueue([this, holder, status] {
      if (auto stream = holder->lock()) OnStreamClosed(stream, status);
    });
  };
  stream_ = remote::SyncStream::Start(env_.connection->sync_stub(), authorization, listener);
  *holder = stream_;
  targets_.clear();
  next_target_ = 1;
  for (auto& [name, followed] : documents_) AddTarget(followed);
  // Kept on the device for reading offline.
  RefreshAccessLog(nullptr);
}

void SyncEngine::AddTarget(FollowedDocument& followed) {
  if (stream_ == nullptr) return;
  followed.target = next_target_++;
  followed.current_at_start = -1;
  followed.live = false;
  // The stream starts after the copy's revision: what came before will not come again.
  followed.stream_revision = followed.copy.revision();
  targets_[followed.target] = followed.copy.name();
  v1::SyncRequest request;
  v1::AddTarget* add = request.mutable_add_target();
  add->set_target_id(followed.target);
  add->set_document(followed.copy.name());
  add->set_resume_after_revision(followed.copy.revision());
  stream_->Send(std::move(request));
}

void SyncEngine::ResumeTarget(FollowedDocument& followed) {
  if (stream_ == nullptr || followed.target == 0) return;
  v1::SyncRequest remove;
  remove.mutable_remove_target()->set_target_id(followed.target);
  targets_.erase(followed.target);
  stream_->Send(std::move(remove));
  AddTarget(followed);
}

void SyncEngine::OnStreamResponse(const std::shared_ptr<remote::SyncStream>& stream,
                                  v1::SyncResponse response) {
  if (shut_down_ || stream != stream_) return;
  SetOnline(true);
  stream_backoff_.Reset();
  auto target = targets_.find(response.target_id());
  if (target == targets_.end()) return;  // removed meanwhile
  FollowedDocument* followed = Find(target->second);
  if (followed == nullptr || followed->target != response.target_id()) return;
  switch (response.response_case()) {
    case v1::SyncResponse::kStarted:
      OnTargetStarted(*followed, response.started());
      break;
    case v1::SyncResponse::kEvent:
      OnTargetEvent(*followed, response.event());
      break;
    case v1::SyncResponse::kEnded:
      OnTargetEnded(*followed, response.ended().status());
      break;
    default:
      break;
  }
}

void SyncEngine::OnStreamClosed(const std::shared_ptr<remote::SyncStream>& stream,
                                absl::Status status) {
  if (stream != stream_) return;
  stream_ = nullptr;
  targets_.clear();
  const absl::Time now = absl::Now();
  for (auto& [name, followed] : documents_) {
    followed.target = 0;
    if (followed.live) {
      // It was current until now.
      followed.live = false;
      followed.copy.mutable_stored().last_synced = now;
      SaveCopy(followed);
      Publish(followed);
    }
  }
  if (shut_down_ || !session_) return;
  absl::Duration delay = stream_backoff_.Next();
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
      // The token ended (or the session did: the refresh will tell).
      session_->access_token.clear();
      break;
    case absl::StatusCode::kResourceExhausted:
      // Read too slowly: resume at once from the copies (they say where).
      delay = absl::ZeroDuration();
      break;
    case absl::StatusCode::kUnavailable:
      SetOnline(false);
      break;
    default:
      break;
  }
  reconnect_ = env_.queue->EnqueueAfter(delay, [this] {
    reconnect_ = 0;
    EnsureStream();
  });
}

void SyncEngine::OnTargetStarted(FollowedDocument& followed, const v1::TargetStarted& started) {
  followed.current_at_start = started.current_revision();
  local::StoredDocument& stored = followed.copy.mutable_stored();
  std::optional<absl::Time> until;
  if (started.has_access_end_time()) until = FromTimestamp(started.access_end_time());
  if (until != stored.shown_until) {
    stored.shown_until = until;
    SaveCopy(followed);
    ScheduleExpiry(followed);
  }
  CheckCurrent(followed);
}

void SyncEngine::CheckCurrent(FollowedDocument& followed) {
  if (followed.current_at_start < 0 || !followed.copy.has_copy()) return;
  if (followed.copy.revision() < followed.current_at_start) return;
  const bool was_live = followed.live;
  followed.live = true;
  followed.copy.mutable_stored().last_synced = absl::Now();
  if (!was_live) {
    SaveCopy(followed);
    Publish(followed);
    Send(followed.copy.name());
    CheckFlushWaiters();
  }
}

void SyncEngine::OnTargetEvent(FollowedDocument& followed, const v1::WatchEvent& event) {
  const std::string name = followed.copy.name();
  switch (event.event_case()) {
    case v1::WatchEvent::kSnapshot: {
      followed.copy.Replace(event.snapshot());
      followed.stream_revision = followed.copy.revision();
      break;
    }
    case v1::WatchEvent::kChange: {
      followed.stream_revision = std::max(followed.stream_revision, event.change().revision());
      absl::StatusOr<DocumentCopy::Change> applied = followed.copy.ApplyChange(event.change());
      if (!applied.ok() || *applied == DocumentCopy::Change::kGap) {
        // Cannot follow on from here: start the target again from what the copy has
        // (or from a snapshot, if the copy cannot take the change at all).
        if (!applied.ok()) followed.copy.mutable_stored().revision = 0;
        ResumeTarget(followed);
        return;
      }
      if (*applied == DocumentCopy::Change::kKnown) {
        for (const auto& paths : followed.copy.TakeNewPaths()) {
          if (absl::Status saved = cache_->AddRevisionPaths(name, paths); !saved.ok()) {
            CacheFailed(saved);
          }
        }
        // The copy may have reached the target's start revision by the device's own
        // accepted batch before the stream confirmed it: it is current now.
        CheckCurrent(followed);
        Send(name);  // a batch may have waited for these paths
        return;
      }
      break;
    }
    case v1::WatchEvent::kPresence: {
      cv1::DocumentEvent out;
      *out.mutable_presence() = event.presence();
      if (Showable(followed)) PublishEvent(name, out);
      return;
    }
    case v1::WatchEvent::kAgreement: {
      if (google::protobuf::Message* body = MutableBody(followed.copy.mutable_stored().document)) {
        if (const auto* field = body->GetDescriptor()->FindFieldByName("agreement")) {
          body->GetReflection()->MutableMessage(body, field)->CopyFrom(event.agreement());
        }
      }
      SaveCopy(followed);
      cv1::DocumentEvent out;
      *out.mutable_agreement() = event.agreement();
      if (Showable(followed)) PublishEvent(name, out);
      Publish(followed);
      return;
    }
    default:
      return;
  }
  if (followed.live) followed.copy.mutable_stored().last_synced = absl::Now();
  SaveCopy(followed);
  FetchGridVersionOf(followed);
  CheckCurrent(followed);
  Publish(followed);
  Send(name);
}

void SyncEngine::OnTargetEnded(FollowedDocument& followed, const google::rpc::Status& status) {
  const std::string name = followed.copy.name();
  targets_.erase(followed.target);
  followed.target = 0;
  followed.live = false;
  const absl::Status why = remote::FromRpcStatus(status);
  switch (why.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kInternal:
      // Passing trouble on the server: follow it again shortly.
      env_.queue->EnqueueAfter(followed.backoff.Next(), [this, name] {
        FollowedDocument* again = Find(name);
        if (again != nullptr && again->target == 0) AddTarget(*again);
      });
      return;
    default:
      // No longer shared with this person, never was, or not a document: nothing of it
      // stays on the device.
      Purge(name, why);
  }
}

// ---------------------------------------------------------------------------------------
// Documents

absl::StatusOr<std::string> SyncEngine::CanonicalName(const std::string& document) const {
  std::string name = document;
  if (absl::StartsWith(name, "people/me/")) {
    if (!session_) {
      return absl::FailedPreconditionError(
          "\"people/me\" needs the signed-in person: sign in first, or give the full name");
    }
    name = absl::StrCat(session_->person, name.substr(std::string("people/me").size()));
  }
  absl::StatusOr<DocumentName> parsed = ParseDocumentName(name, "document");
  if (!parsed.ok()) return parsed.status();
  return FormatDocumentName(*parsed);
}

SyncEngine::FollowedDocument* SyncEngine::Find(const std::string& name) {
  auto found = documents_.find(name);
  return found == documents_.end() ? nullptr : &found->second;
}

bool SyncEngine::Showable(const FollowedDocument& followed) const {
  const auto& until = followed.copy.stored().shown_until;
  return followed.copy.has_copy() && (!until || absl::Now() < *until);
}

cv1::CachedDocument SyncEngine::Present(const FollowedDocument& followed) const {
  cv1::CachedDocument out;
  const local::StoredDocument& stored = followed.copy.stored();
  out.set_name(stored.name);
  auto shown = ShownBatchesOf(stored.name);
  *out.mutable_document() = followed.copy.ViewWith(shown);
  out.set_server_revision(stored.revision);
  if (followed.live) {
    *out.mutable_last_synced_time() = Timestamp(absl::Now());
  } else if (stored.last_synced != absl::InfinitePast()) {
    *out.mutable_last_synced_time() = Timestamp(stored.last_synced);
  }
  out.set_live(followed.live);
  int pending = 0;
  for (const auto& [id, batch] : batches_) {
    if (batch.batch.document() == stored.name) ++pending;
  }
  out.set_pending_batches(pending);
  if (stored.shown_until) *out.mutable_shown_until() = Timestamp(*stored.shown_until);
  return out;
}

void SyncEngine::Publish(const FollowedDocument& followed) {
  if (!Showable(followed)) return;
  bool heard = false;
  for (const auto& [id, entry] : listeners_) heard |= entry.document == followed.copy.name();
  if (!heard) return;
  cv1::DocumentEvent event;
  *event.mutable_document() = Present(followed);
  PublishEvent(followed.copy.name(), event);
}

void SyncEngine::PublishEvent(const std::string& document, const cv1::DocumentEvent& event) {
  for (const auto& [id, entry] : listeners_) {
    if (entry.document != document) continue;
    env_.deliver([listener = entry.listener, event] { listener(event); });
  }
}

void SyncEngine::SaveCopy(FollowedDocument& followed) {
  absl::Status saved = cache_->InTransaction([&]() -> absl::Status {
    absl::Status status = cache_->SaveDocument(followed.copy.stored());
    if (!status.ok()) return status;
    for (const auto& paths : followed.copy.TakeNewPaths()) {
      status = cache_->AddRevisionPaths(followed.copy.name(), paths);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  });
  if (!saved.ok()) CacheFailed(saved);
}

void SyncEngine::ScheduleExpiry(FollowedDocument& followed) {
  if (followed.expiry != 0) {
    env_.queue->Cancel(followed.expiry);
    followed.expiry = 0;
  }
  const auto& until = followed.copy.stored().shown_until;
  if (!until) return;
  const std::string name = followed.copy.name();
  followed.expiry =
      env_.queue->EnqueueAfter(std::max(absl::ZeroDuration(), *until - absl::Now()), [this, name] {
        FollowedDocument* expired = Find(name);
        if (expired == nullptr) return;
        expired->expiry = 0;
        Purge(name, absl::NotFoundError(
                        absl::StrCat(name, " is no longer shared with you: the access ended")));
      });
}

void SyncEngine::Purge(const std::string& name, const absl::Status& why) {
  FollowedDocument* followed = Find(name);
  if (followed == nullptr) return;
  if (followed->expiry != 0) env_.queue->Cancel(followed->expiry);
  if (followed->resend != 0) env_.queue->Cancel(followed->resend);
  if (stream_ != nullptr && followed->target != 0) {
    v1::SyncRequest remove;
    remove.mutable_remove_target()->set_target_id(followed->target);
    stream_->Send(std::move(remove));
    targets_.erase(followed->target);
  }
  std::vector<local::StoredBatch> refused;
  for (auto it = batches_.begin(); it != batches_.end();) {
    if (it->second.batch.document() == name) {
      refused.push_back(std::move(it->second));
      it = batches_.erase(it);
    } else {
      ++it;
    }
  }
  documents_.erase(name);
  if (absl::Status deleted = cache_->DeleteDocument(name); !deleted.ok()) CacheFailed(deleted);
  for (auto& batch : refused) {
    cv1::ClientEvent event;
    *event.mutable_refused()->mutable_batch() = batch.batch;
    *event.mutable_refused()->mutable_status() = remote::ToRpcStatus(why);
    Emit(event);
  }
  cv1::DocumentEvent ended;
  *ended.mutable_ended() = remote::ToRpcStatus(why);
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (it->second.document == name) {
      env_.deliver([listener = it->second.listener, ended] { listener(ended); });
      it = listeners_.erase(it);
    } else {
      ++it;
    }
  }
  CheckFlushWaiters();
}

void SyncEngine::Follow(ListenerId id, const std::string& document, DocumentListener listener) {
  auto end = [this, &listener](const absl::Status& why) {
    cv1::DocumentEvent ended;
    *ended.mutable_ended() = remote::ToRpcStatus(why);
    env_.deliver([listener, ended] { listener(ended); });
  };
  absl::StatusOr<std::string> name = CanonicalName(document);
  if (!name.ok()) return end(name.status());
  if (!session_) return end(UnauthenticatedError("not signed in on this device: sign in first"));
  FollowedDocument* followed = Find(*name);
  if (followed == nullptr) {
    if (documents_.size() >= kMaxFollowedDocuments) {
      return end(absl::ResourceExhaustedError(absl::StrCat(
          "a device follows at most ", kMaxFollowedDocuments, " documents; forget one first")));
    }
    followed = &documents_[*name];
    local::StoredDocument stored;
    stored.name = *name;
    followed->copy = DocumentCopy(std::move(stored));
    SaveCopy(*followed);
    if (stream_ != nullptr) {
      AddTarget(*followed);
    } else {
      EnsureStream();
    }
  }
  listeners_[id] = {*name, listener};
  if (Showable(*followed)) {
    cv1::DocumentEvent event;
    *event.mutable_document() = Present(*followed);
    env_.deliver([listener, event] { listener(event); });
  }
}

void SyncEngine::RemoveListener(ListenerId id, std::function<void()> released) {
  listeners_.erase(id);
  client_listeners_.erase(id);
  // After every call already handed to the callback thread.
  if (released) env_.deliver(std::move(released));
}

void SyncEngine::Forget(const std::string& document, StatusCallback done) {
  absl::StatusOr<std::string> name = CanonicalName(document);
  if (!name.ok()) {
    env_.deliver([done, status = name.status()] { done(status); });
    return;
  }
  for (const auto& [id, batch] : batches_) {
    if (batch.batch.document() == *name) {
      env_.deliver([done] {
        done(absl::FailedPreconditionError(
            "edits of this document are still waiting to be sent; send or drop them first"));
      });
      return;
    }
  }
  Purge(*name, absl::CancelledError("the device no longer keeps this document"));
  env_.deliver([done] { done(absl::OkStatus()); });
}

void SyncEngine::GetDocument(const std::string& document, Callback<cv1::CachedDocument> done) {
  absl::StatusOr<std::string> name = CanonicalName(document);
  if (!name.ok()) {
    env_.deliver([done, status = name.status()] { done(status); });
    return;
  }
  FollowedDocument* followed = Find(*name);
  if (followed == nullptr || !Showable(*followed)) {
    env_.deliver([done, name = *name] { done(NotFoundError("document", name)); });
    return;
  }
  cv1::CachedDocument out = Present(*followed);
  env_.deliver([done, out] { done(out); });
}

void SyncEngine::FetchGridVersionOf(const FollowedDocument& followed) {
  const v1::Document& document = followed.copy.stored().document;
  if (!document.has_decision_record()) return;
  const std::string& version = document.decision_record().option_grid_version();
  if (version.empty()) return;
  absl::StatusOr<std::optional<local::StoredPage>> kept = cache_->LoadGridVersion(version);
  if (!kept.ok() || kept->has_value()) return;
  v1::GetOptionGridVersionRequest request;
  request.set_name(version);
  Unary(kGetGridVersion, request.SerializeAsString(), {.retry = true},
        [this, version](absl::StatusOr<std::string> answer) {
          if (!answer.ok() || shut_down_) return;
          local::StoredPage page{*answer, absl::Now()};
          if (absl::Status saved = cache_->SaveGridVersion(version, page); !saved.ok()) {
            CacheFailed(saved);
          }
        });
}

void SyncEngine::GetGridVersion(const std::string& name, Callback<cv1::CachedGridVersion> done) {
  absl::StatusOr<std::optional<local::StoredPage>> kept = cache_->LoadGridVersion(name);
  if (kept.ok() && kept->has_value()) {
    cv1::CachedGridVersion out;
    out.mutable_version()->ParseFromString((*kept)->body);
    *out.mutable_last_synced_time() = Timestamp((*kept)->last_synced);
    env_.deliver([done, out] { done(out); });
    return;
  }
  v1::GetOptionGridVersionRequest request;
  request.set_name(name);
  Unary(kGetGridVersion, request.SerializeAsString(), {.retry = true},
        [this, name, done](absl::StatusOr<std::string> answer) {
          absl::StatusOr<v1::OptionGridVersion> version = Parse<v1::OptionGridVersion>(answer);
          if (!version.ok()) {
            env_.deliver([done, status = version.status()] { done(status); });
            return;
          }
          const absl::Time now = absl::Now();
          if (absl::Status saved = cache_->SaveGridVersion(name, {*answer, now}); !saved.ok()) {
            CacheFailed(saved);
          }
          cv1::CachedGridVersion out;
          *out.mutable_version() = *version;
          *out.mutable_last_synced_time() = Timestamp(now);
          env_.deliver([done, out] { done(out); });
        });
}

void SyncEngine::GetAccessLog(Callback<cv1::CachedAccessLog> done) {
  RefreshAccessLog(std::move(done));
}

void SyncEngine::RefreshAccessLog(Callback<cv1::CachedAccessLog> done) {
  if (!session_) {
    if (done) {
      env_.deliver(
          [done] { done(UnauthenticatedError("not signed in on this device: sign in first")); });
    }
    return;
  }
  const std::string person = session_->person;
  v1::ListAccessEventsRequest request;
  request.set_parent(person);
  request.set_page_size(50);
  Unary(kListAccessEvents, request.SerializeAsString(), {.retry = false},
        [this, person, done](absl::StatusOr<std::string> answer) {
          if (shut_down_) return;
          cv1::CachedAccessLog out;
          if (answer.ok()) {
            const absl::Time now = absl::Now();
            if (absl::Status saved = cache_->SaveAccessLog(person, {*answer, now}); !saved.ok()) {
              CacheFailed(saved);
            }
            out.mutable_page()->ParseFromString(*answer);
            *out.mutable_last_synced_time() = Timestamp(now);
            out.set_live(true);
          } else {
            absl::StatusOr<std::optional<local::StoredPage>> kept = cache_->LoadAccessLog(person);
            if (!kept.ok() || !kept->has_value() || !IsPassing(answer.status().code())) {
              if (done) env_.deliver([done, status = answer.status()] { done(status); });
              return;
            }
            out.mutable_page()->ParseFromString((*kept)->body);
            *out.mutable_last_synced_time() = Timestamp((*kept)->last_synced);
          }
          if (done) env_.deliver([done, out] { done(out); });
        });
}

// ---------------------------------------------------------------------------------------
// Queued edits

std::vector<const cv1::PendingBatch*> SyncEngine::ShownBatchesOf(const std::string& name) const {
  std::vector<const cv1::PendingBatch*> out;
  for (const auto& [id, batch] : batches_) {
    if (batch.batch.document() == name && !batch.conflict) out.push_back(&batch.batch);
  }
  return out;
}

local::StoredBatch* SyncEngine::HeadBatchOf(const std::string& name) {
  for (auto& [id, batch] : batches_) {
    if (batch.batch.document() == name) return &batch;
  }
  return nullptr;
}

void SyncEngine::Edit(const cv1::EditRequest& request, Callback<cv1::EditQueued> done) {
  auto fail = [this, &done](const absl::Status& status) {
    env_.deliver([done, status] { done(status); });
  };
  absl::StatusOr<std::string> name = CanonicalName(request.document());
  if (!name.ok()) return fail(name.status());
  if (!session_) return fail(UnauthenticatedError("not signed in on this device: sign in first"));
  FollowedDocument* followed = Find(*name);
  if (followed == nullptr) {
    return fail(absl::FailedPreconditionError(
        absl::StrCat("follow ", *name, " first: edits are made on the device's copy")));
  }
  if (!Showable(*followed)) {
    return fail(absl::FailedPreconditionError(
        absl::StrCat("the device has no copy of ", *name, " yet: wait for it to arrive")));
  }
  // The server's own checks, so that what it would refuse is refused here, the same way.
  if (request.operations_size() > kMaxOperationsPerBatch) {
    return fail(InvalidFieldError(
        "operations", absl::StrCat("has ", request.operations_size(), " operations; at most ",
                                   kMaxOperationsPerBatch, " per batch")));
  }
  v1::Document working = followed->copy.ViewWith(ShownBatchesOf(*name));
  google::protobuf::Message* body = MutableBody(working);
  absl::StatusOr<EditOutcome> outcome =
      ApplyEditBatch(*body, request.operations(), {}, followed->copy.revision(), EditorView{});
  if (!outcome.ok()) return fail(outcome.status());
  if (absl::Status valid = ValidateDocument(*body); !valid.ok()) return fail(valid);

  local::StoredBatch stored;
  cv1::PendingBatch& batch = stored.batch;
  batch.set_document(*name);
  batch.set_base_revision(followed->copy.revision());
  for (auto& operation : outcome->applied) *batch.add_operations() = std::move(operation);
  *batch.mutable_create_time() = Timestamp(absl::Now());
  batch.set_state(cv1::PendingBatch::STATE_QUEUED);
  batch.set_idempotency_key(absl::StrCat("device-", NewRandomToken(18)));
  absl::StatusOr<int64_t> id = cache_->AddBatch(stored);
  if (!id.ok()) return fail(id.status());
  batches_.emplace(*id, stored);

  cv1::EditQueued queued;
  *queued.mutable_batch() = batch;
  *queued.mutable_document() = Present(*followed);
  env_.deliver([done, queued] { done(queued); });
  Publish(*followed);
  Send(*name);
}

void SyncEngine::SendAll() {
  std::set<std::string> names;
  for (const auto& [id, batch] : batches_) names.insert(batch.batch.document());
  for (const auto& name : names) Send(name);
}

void SyncEngine::Send(const std::string& name) {
  if (shut_down_ || !session_) return;
  FollowedDocument* followed = Find(name);
  if (followed == nullptr || followed->sending || followed->resend != 0) return;
  local::StoredBatch* head = HeadBatchOf(name);
  if (head == nullptr || head->conflict || !followed->copy.has_copy()) return;
  const int64_t current = followed->copy.revision();
  const int64_t base = head->batch.base_revision();
  if (head->sent_base_revision == 0) {
    int64_t send_base = std::max(base, current);
    std::optional<std::vector<PriorChange>> foreign = followed->copy.ForeignChangesSince(base);
    if (foreign) {
      // Rebase: what others changed since the batch's base must not overlap it (the same
      // check the server makes, with what the device knows).
      v1::Document working = followed->copy.stored().document;
      absl::StatusOr<EditOutcome> check = ApplyEditBatch(
          *MutableBody(working), head->batch.operations(), *foreign, current, EditorView{});
      if (check.status().code() == absl::StatusCode::kAborted) {
        v1::EditConflict detail;
        if (ReadDetail(check.status(), detail)) {
          MarkConflict(*head, detail);
          return;
        }
      }
    } else if (followed->target != 0 && !followed->live) {
      return;  // the stream is still bringing the revisions in between: wait for them
    } else if (followed->target != 0 && followed->stream_revision < current) {
      return;  // the stream has not yet brought the revisions before our own last one
    } else {
      // Not known here (a snapshot replaced the copy): the server decides from its own
      // history, on the batch's own base.
      send_base = base;
    }
    head->sent_base_revision = send_base;
    if (absl::Status saved = cache_->UpdateBatch(*head); !saved.ok()) {
      head->sent_base_revision = 0;
      CacheFailed(saved);
      return;
    }
  }
  v1::EditDocumentRequest request;
  request.set_name(name);
  request.set_base_revision(head->sent_base_revision);
  *request.mutable_operations() = head->batch.operations();
  request.set_idempotency_key(head->batch.idempotency_key());
  followed->sending = true;
  const int64_t id = head->batch.id();
  Unary(kEditDocument, request.SerializeAsString(), {.retry = false},
        [this, name, id](absl::StatusOr<std::string> answer) {
          SendDone(name, id, std::move(answer));
        });
}

void SyncEngine::SendDone(const std::string& name, int64_t batch_id,
                          absl::StatusOr<std::string> answer) {
  if (shut_down_) return;
  FollowedDocument* followed = Find(name);
  if (followed == nullptr) return;  // purged meanwhile
  followed->sending = false;
  auto found = batches_.find(batch_id);
  if (found == batches_.end()) return;
  local::StoredBatch& batch = found->second;
  absl::StatusOr<v1::EditDocumentResponse> response = Parse<v1::EditDocumentResponse>(answer);
  if (response.ok()) {
    followed->attempts = 0;
    followed->backoff.Reset();
    followed->copy.AcceptOwn(response->revision(), {}, response->document());
    cv1::ClientEvent event;
    event.mutable_accepted()->set_batch_id(batch_id);
    event.mutable_accepted()->set_document(name);
    event.mutable_accepted()->set_revision(response->revision());
    batches_.erase(found);
    absl::Status saved = cache_->InTransaction([&]() -> absl::Status {
      absl::Status status = cache_->DeleteBatch(batch_id);
      if (!status.ok()) return status;
      status = cache_->SaveDocument(followed->copy.stored());
      if (!status.ok()) return status;
      for (const auto& paths : followed->copy.TakeNewPaths()) {
        status = cache_->AddRevisionPaths(name, paths);
        if (!status.ok()) return status;
      }
      return absl::OkStatus();
    });
    if (!saved.ok()) CacheFailed(saved);
    PrunePaths(*followed);
    Emit(event);
    FetchGridVersionOf(*followed);
    Publish(*followed);
    Send(name);
    // The answer may be the revision the target's start was waiting for.
    CheckCurrent(*followed);
    CheckFlushWaiters();
    return;
  }
  const absl::Status& status = response.status();
  const absl::StatusCode code = status.code();
  if (ReasonOf(status) == reason::kBaseRevisionTooOld) {
    // ABORTED too, with no EditConflict: the server does not merge across that many
    // revisions. Rebase, never drop the person's edits.
    RebaseOnCopy(name, batch_id);
    return;
  }
  if (code == absl::StatusCode::kAborted) {
    v1::EditConflict detail;
    if (ReadDetail(status, detail)) {
      if (followed->copy.IsOwn(detail.changed_in_revision())) {
        // Only our own earlier batch overlaps it: rebase once the stream has brought
        // what lies between.
        batch.sent_base_revision = 0;
        (void)cache_->UpdateBatch(batch);
        RetryLater(*followed);
        return;
      }
      MarkConflict(batch, detail);
      return;
    }
    RetryLater(*followed);  // a transaction the server could not finish: again
    return;
  }
  if (IsPassing(code) || code == absl::StatusCode::kUnauthenticated) {
    RetryLater(*followed);
    return;
  }
  if ((code == absl::StatusCode::kInternal || code == absl::StatusCode::kUnknown ||
       code == absl::StatusCode::kDataLoss) &&
      ++followed->attempts < kMaxUnexplainedFailures) {
    RetryLater(*followed);
    return;
  }
  // Refused for good (INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED, FAILED_PRECONDITION,
  // or an error that kept coming): tell the app and drop it.
  followed->attempts = 0;
  local::StoredBatch refused = std::move(batch);
  batches_.erase(found);
  if (absl::Status deleted = cache_->DeleteBatch(batch_id); !deleted.ok()) CacheFailed(deleted);
  Refuse(std::move(refused), status);
  PrunePaths(*followed);
  Publish(*followed);
  Send(name);
  CheckFlushWaiters();
}

void SyncEngine::RebaseOnCopy(const std::string& name, int64_t batch_id) {
  FollowedDocument* followed = Find(name);
  auto found = batches_.find(batch_id);
  if (followed == nullptr || found == batches_.end()) return;
  // Onto a current copy only: a copy still catching up may itself be too far behind.
  if (!followed->live || followed->copy.revision() <= found->second.batch.base_revision()) {
    RetryLater(*followed);
    return;
  }
  v1::GetDocumentRevisionRequest request;
  request.set_name(absl::StrCat(name, "/revisions/", found->second.batch.base_revision()));
  followed->sending = true;  // nothing of this document is sent until the rebase is decided
  Unary(kGetDocumentRevision, request.SerializeAsString(), {.retry = true},
        [this, name, batch_id](absl::StatusOr<std::string> answer) {
          RebaseDone(name, batch_id, std::move(answer));
        });
}

void SyncEngine::RebaseDone(const std::string& name, int64_t batch_id,
                            absl::StatusOr<std::string> answer) {
  if (shut_down_) return;
  FollowedDocument* followed = Find(name);
  if (followed == nullptr) return;
  followed->sending = false;
  auto found = batches_.find(batch_id);
  if (found == batches_.end()) return;
  local::StoredBatch& batch = found->second;
  absl::StatusOr<v1::DocumentRevision> base = Parse<v1::DocumentRevision>(answer);
  if (!base.ok() && (IsPassing(base.status().code()) ||
                     base.status().code() == absl::StatusCode::kUnauthenticated)) {
    RetryLater(*followed);
    return;
  }
  absl::Status check = followed->copy.CheckRebaseFrom(base.ok() ? &base->document() : nullptr,
                                                      batch.batch.operations());
  if (check.code() == absl::StatusCode::kAborted) {
    v1::EditConflict detail;
    if (ReadDetail(check, detail)) {
      MarkConflict(batch, detail);
      return;
    }
  }
  const int64_t current_revision = followed->copy.revision();
  // Nothing in between overlaps it: the batch is based on the copy now. It keeps its
  // idempotency key, under which the server stored nothing (it applied nothing).
  batch.batch.set_base_revision(current_revision);
  batch.sent_base_revision = 0;
  if (absl::Status saved = cache_->UpdateBatch(batch); !saved.ok()) CacheFailed(saved);
  Send(name);
}

void SyncEngine::RetryLater(FollowedDocument& followed) {
  if (followed.resend != 0) return;
  const std::string name = followed.copy.name();
  followed.resend = env_.queue->EnqueueAfter(followed.backoff.Next(), [this, name] {
    FollowedDocument* again = Find(name);
    if (again == nullptr) return;
    again->resend = 0;
    Send(name);
  });
}

void SyncEngine::MarkConflict(local::StoredBatch& batch, const v1::EditConflict& detail) {
  FollowedDocument* followed = Find(batch.batch.document());
  cv1::Conflict conflict;
  batch.batch.set_state(cv1::PendingBatch::STATE_CONFLICT);
  *conflict.mutable_batch() = batch.batch;
  conflict.set_path(detail.path());
  *conflict.mutable_theirs() = detail.current_value();
  conflict.set_changed_in_revision(detail.changed_in_revision());
  conflict.set_current_revision(detail.current_revision());
  // Mine: the part as the person sees it on their device, their edits applied.
  conflict.mutable_mine()->set_null_value(google::protobuf::NULL_VALUE);
  if (followed != nullptr) {
    v1::Document view = followed->copy.ViewWith(ShownBatchesOf(batch.batch.document()));
    std::string value_path = detail.path();
    if (auto at = value_path.find('@'); at != std::string::npos) value_path.resize(at);
    if (const google::protobuf::Message* body = Body(view)) {
      auto path = DocumentPath::Parse(*body->GetDescriptor(), value_path);
      if (path.ok()) {
        auto mine = ValueAt(*body, *path);
        if (mine.ok()) *conflict.mutable_mine() = *mine;
      }
    }
  }
  batch.conflict = conflict;
  batch.sent_base_revision = 0;
  if (absl::Status saved = cache_->UpdateBatch(batch); !saved.ok()) CacheFailed(saved);
  cv1::ClientEvent event;
  *event.mutable_conflict() = conflict;
  Emit(event);
  if (followed != nullptr) Publish(*followed);
  CheckFlushWaiters();
}

void SyncEngine::ResolveConflict(const cv1::Resolution& resolution, StatusCallback done) {
  auto reply = [this, &done](const absl::Status& status) {
    env_.deliver([done, status] { done(status); });
  };
  auto found = batches_.find(resolution.batch_id());
  if (found == batches_.end() || !found->second.conflict) {
    return reply(InvalidFieldError(
        "batch_id", absl::StrCat("batch ", resolution.batch_id(), " is not in conflict")));
  }
  local::StoredBatch& batch = found->second;
  const std::string name = batch.batch.document();
  FollowedDocument* followed = Find(name);
  switch (resolution.choice()) {
    case cv1::Resolution::CHOICE_TAKE_THEIRS: {
      const int64_t id = batch.batch.id();
      batches_.erase(found);
      if (absl::Status deleted = cache_->DeleteBatch(id); !deleted.ok()) return reply(deleted);
      break;
    }
    case cv1::Resolution::CHOICE_KEEP_MINE: {
      if (followed == nullptr || !followed->copy.has_copy()) {
        return reply(absl::FailedPreconditionError("the device has no copy of the document"));
      }
      // A new batch on the current revision: the person has seen theirs and chose.
      const int64_t current =
          std::max(followed->copy.revision(), batch.conflict->current_revision());
      v1::Document working = followed->copy.stored().document;
      absl::StatusOr<EditOutcome> check = ApplyEditBatch(
          *MutableBody(working), batch.batch.operations(), {}, current, EditorView{});
      if (!check.ok() && followed->copy.revision() >= batch.conflict->current_revision()) {
        return reply(absl::FailedPreconditionError(
            absl::StrCat("the edit no longer applies to the current version (",
                         check.status().message(), "): take theirs, or edit again")));
      }
      batch.conflict.reset();
      batch.batch.set_state(cv1::PendingBatch::STATE_QUEUED);
      batch.batch.set_base_revision(current);
      batch.batch.set_idempotency_key(absl::StrCat("device-", NewRandomToken(18)));
      batch.sent_base_revision = 0;
      if (absl::Status saved = cache_->UpdateBatch(batch); !saved.ok()) return reply(saved);
      break;
    }
    default:
      return reply(InvalidFieldError("choice", "must be CHOICE_KEEP_MINE or CHOICE_TAKE_THEIRS"));
  }
  reply(absl::OkStatus());
  if (followed != nullptr) {
    PrunePaths(*followed);
    Publish(*followed);
  }
  Send(name);
  CheckFlushWaiters();
}

void SyncEngine::Refuse(local::StoredBatch batch, const absl::Status& why) {
  cv1::ClientEvent event;
  *event.mutable_refused()->mutable_batch() = batch.batch;
  *event.mutable_refused()->mutable_status() = remote::ToRpcStatus(why);
  Emit(event);
}

void SyncEngine::PrunePaths(FollowedDocument& followed) {
  int64_t oldest = followed.copy.revision();
  for (const auto& [id, batch] : batches_) {
    if (batch.batch.document() == followed.copy.name()) {
      oldest = std::min(oldest, batch.batch.base_revision());
    }
  }
  followed.copy.PrunePaths(oldest);
  if (absl::Status pruned = cache_->PruneRevisionPaths(followed.copy.name(), oldest);
      !pruned.ok()) {
    CacheFailed(pruned);
  }
}

void SyncEngine::GetPendingState(Callback<cv1::PendingState> done) {
  cv1::PendingState state;
  for (const auto& [id, batch] : batches_) {
    *state.add_batches() = batch.batch;
    if (batch.conflict) *state.add_conflicts() = *batch.conflict;
  }
  env_.deliver([done, state] { done(state); });
}

bool SyncEngine::Idle() const {
  for (const auto& [id, batch] : batches_) {
    if (!batch.conflict) return false;
  }
  for (const auto& [name, followed] : documents_) {
    if (!followed.live) return false;
  }
  return true;
}

void SyncEngine::Flush(absl::Duration timeout, StatusCallback done) {
  if (Idle()) {
    env_.deliver([done] { done(absl::OkStatus()); });
    return;
  }
  flush_waiters_.push_back({absl::Now() + timeout, std::move(done)});
  env_.queue->EnqueueAfter(timeout, [this] { CheckFlushWaiters(); });
}

void SyncEngine::CheckFlushWaiters() {
  if (flush_waiters_.empty()) return;
  const bool idle = Idle();
  const absl::Time now = absl::Now();
  for (auto it = flush_waiters_.begin(); it != flush_waiters_.end();) {
    if (idle) {
      env_.deliver([done = std::move(it->done)] { done(absl::OkStatus()); });
      it = flush_waiters_.erase(it);
    } else if (it->deadline <= now) {
      env_.deliver([done = std::move(it->done)] {
        done(absl::DeadlineExceededError(
            "edits are still waiting to be sent, or documents to be brought up to date"));
      });
      it = flush_waiters_.erase(it);
    } else {
      ++it;
    }
  }
}

void SyncEngine::AddClientListener(ListenerId id, ClientListener listener) {
  client_listeners_[id] = std::move(listener);
}

void SyncEngine::Emit(const cv1::ClientEvent& event) {
  for (const auto& [id, listener] : client_listeners_) {
    env_.deliver([listener = listener, event] { listener(event); });
  }
}

void SyncEngine::CacheFailed(const absl::Status& status) {
  // After Shutdown the cache is closed on purpose: answers still arriving (cancelled calls)
  // cannot be stored, and need not be (a batch not marked sent is resent by its key).
  if (shut_down_) return;
  cv1::ClientEvent event;
  *event.mutable_storage_failed() = remote::ToRpcStatus(status);
  Emit(event);
}

}  // namespace coplan::client::sync
