#include "server/service/auth_service.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/common/crypto.h"
#include "server/common/errors.h"
#include "server/common/ids.h"
#include "server/common/log.h"
#include "server/common/metrics.h"
#include "server/common/status_macros.h"
#include "server/domain/field_rules.h"
#include "server/service/call_audit.h"
#include "server/service/people_service.h"
#include "server/store/database.h"

namespace coplan {
namespace {

// Password sign-ins by outcome, for the metrics: "signed_in", "refused" (an unknown name,
// a wrong password, a paused or disabled account: one outcome, as they are one answer) or
// "throttled" (before any check; which limit is in coplan_sign_in_throttled_total).
void CountSignIn(const char* outcome) {
  static CounterFamily& sign_ins =
      Metrics().Counters("coplan_sign_ins_total", "Password sign-ins, by outcome", {"outcome"});
  sign_ins.Add({outcome});
}

// One answer for an unknown username, a wrong password and a locked account, so that
// none of them tells whether the account exists.
absl::Status WrongCredentials() {
  CountSignIn("refused");
  return UnauthenticatedError(
      "the username or password is wrong, or sign-in to this account is paused for a while "
      "after repeated failures");
}

absl::Status RefreshRefused() {
  return UnauthenticatedError(
      "the refresh token is not valid (signed out, revoked, expired or unknown); sign in again");
}

std::string SessionName(const std::string& person_id, const std::string& session_id) {
  return absl::StrCat(PersonName(person_id), "/sessions/", session_id);
}

// How long a device cookie lets its device past the per-address sign-in limit.
constexpr absl::Duration kDeviceCookieLifetime = absl::Hours(24 * 365);

// How long after an exchange the exchanged refresh token still counts as a retry.
constexpr absl::Duration kRefreshRetryWindow = absl::Minutes(1);

// Refresh tokens carry 256 random bits; only their digests are stored.
std::string NewRefreshToken() { return "crt_" + NewRandomToken(32); }

// Throttled attempts are counted in one warning per interval, not a line each: a flood
// must not become a flood of log lines.
void NoteThrottled() {
  CountSignIn("throttled");
  const absl::Time now = absl::Now();
  static absl::Mutex mutex(absl::kConstInit);
  static absl::Time last_logged = absl::InfinitePast();
  static int64_t unlogged = 0;
  int64_t count = 0;
  {
    absl::MutexLock lock(&mutex);
    ++unlogged;
    if (now - last_logged < absl::Seconds(10)) return;
    last_logged = now;
    count = unlogged;
    unlogged = 0;
  }
  Log(LogLevel::kWarning, "sign_in_throttled").Num("attempts", static_cast<double>(count));
}

absl::Time Micros(absl::Time time) { return MicrosToTime(TimeToMicros(time)); }

v1::Session ToSession(const SessionRow& row, const std::string& current_session) {
  v1::Session session;
  session.set_name(SessionName(row.person_id, row.id));
  session.set_device_name(row.device_name);
  *session.mutable_create_time() = ToTimestamp(row.create_time);
  if (row.last_refresh_time)
    *session.mutable_last_refresh_time() = ToTimestamp(*row.last_refresh_time);
  *session.mutable_expire_time() = ToTimestamp(row.expire_time);
  if (row.revoke_time) *session.mutable_revoke_time() = ToTimestamp(*row.revoke_time);
  session.set_current(row.id == current_session);
  return session;
}

}  // namespace

AuthService::AuthService(Database& db, PeopleStore& store, SessionStore& sessions, AccessGate& gate,
                         AuditLog& audit, PasswordHasher& hasher, Authenticator& authenticator,
                         Options options)
    : db_(db),
      store_(store),
      sessions_(sessions),
      gate_(gate),
      audit_(audit),
      hasher_(hasher),
      authenticator_(authenticator),
      options_(options),
      throttle_(options.throttle) {
  auto hash = hasher_.Hash(NewRandomToken(24), absl::InfiniteFuture());
  dummy_hash_ = hash.ok() ? *hash : "";
}

absl::StatusOr<v1::SignInResponse> AuthService::SignIn(const Caller& caller,
                                                       const v1::SignInRequest& request) {
  if (request.username().empty()) return InvalidFieldError("username", "is required");
  if (request.password().empty()) return InvalidFieldError("password", "is required");
  if (request.username().size() > 64)
    return InvalidFieldError("username", "is longer than 64 characters");
  if (request.password().size() > 1024) return InvalidFieldError("password", "is too long");
  auto username = NormalizeUsername(request.username(), "username");
  // Before any database work or hash, so refused guesses cost the server next to nothing.
  // Unknown names are limited exactly like known ones: the limit tells nothing.
  const std::string throttle_key =
      username.ok() ? *username : absl::AsciiStrToLower(request.username());
  const bool known_device = IsDeviceCookieOf(request.device_cookie(), throttle_key, caller.now);
  absl::Status admitted = throttle_.Admit(throttle_key, caller.peer, caller.now, known_device);
  if (!admitted.ok()) {
    NoteThrottled();
    return admitted;
  }
  std::optional<AccountRow> account;
  if (username.ok()) {
    COPLAN_RETURN_IF_ERROR(db_.Read(caller.deadline, [&](Transaction& tx) {
      account = store_.FindAccount(tx, *username);
      return absl::OkStatus();
    }));
  }
  auto audit_event = [&](const std::string& person_id, v1::AuditOutcome outcome) {
    return AuditEvent{person_id,
                      person_id,
                      v1::AUDIT_ACTION_SIGN_IN,
                      person_id.empty() ? "accounts/unknown" : PersonName(person_id) + "/account",
                      outcome,
                      caller.method};
  };
  if (!account) {
    // Spend the same time as a real check, then refuse.
    (void)hasher_.Verify(dummy_hash_, request.password(), caller.deadline);
    COPLAN_RETURN_IF_ERROR(
        audit_.RecordNow(audit_event("", v1::AUDIT_OUTCOME_DENIED), caller.deadline));
    return WrongCredentials();
  }
  if (account->disabled || (account->locked_until && *account->locked_until > caller.now)) {
    // The same time and the same answer as a wrong password; the password is not checked.
    (void)hasher_.Verify(dummy_hash_, request.password(), caller.deadline);
    COPLAN_RETURN_IF_ERROR(audit_.RecordNow(
        audit_event(account->person_id, v1::AUDIT_OUTCOME_DENIED), caller.deadline));
    return WrongCredentials();
  }
  COPLAN_ASSIGN_OR_RETURN(
      bool ok, hasher_.Verify(account->password_hash, request.password(), caller.deadline));
  if (!ok) {
    COPLAN_RETURN_IF_ERROR(db_.Write(caller.deadline, [&](WriteTransaction& tx) {
      store_.RecordSignInFailure(tx, account->person_id, options_.max_failures,
                                 options_.lock_duration);
      audit_.RecordInTransaction(tx, audit_event(account->person_id, v1::AUDIT_OUTCOME_DENIED));
      return absl::OkStatus();
    }));
    return WrongCredentials();
  }
  SessionRow session;
  // Named in resource names (people/{person}/sessions/{id}): letters and digits, 160 bits.
  session.id = NewResourceId() + NewResourceId();
  session.person_id = account->person_id;
  session.device_name = request.device_name();
  session.create_time = Micros(caller.now);
  const bool device = !request.device_name().empty();
  session.expire_time =
      Micros(caller.now + (device ? options_.device_session_lifetime : options_.token_lifetime));
  const std::string refresh_token = device ? NewRefreshToken() : "";
  COPLAN_RETURN_IF_ERROR(db_.Write(caller.deadline, [&](WriteTransaction& tx) {
    store_.RecordSignInSuccess(tx, account->person_id);
    sessions_.Insert(tx, session, device ? Sha256(refresh_token) : "");
    audit_.RecordInTransaction(tx, audit_event(account->person_id, v1::AUDIT_OUTCOME_ALLOWED));
    return absl::OkStatus();
  }));
  throttle_.Succeeded(throttle_key, caller.peer, caller.now, known_device);
  CountSignIn("signed_in");
  v1::SignInResponse response =
      Tokens(account->person_id, session.id, caller.now, refresh_token, session.expire_time);
  response.set_device_cookie(DeviceCookie(throttle_key, caller.now));
  return response;
}

v1::SignInResponse AuthService::Tokens(const std::string& person_id, const std::string& session_id,
                                       absl::Time now, const std::string& refresh_token,
                                       absl::Time session_expire) const {
  // An access token never outlives its session.
  const absl::Time expire = std::min(now + options_.token_lifetime, session_expire);
  v1::SignInResponse response;
  response.set_access_token(authenticator_.IssueToken(person_id, session_id, now, expire));
  *response.mutable_expire_time() = ToTimestamp(absl::FromUnixSeconds(absl::ToUnixSeconds(expire)));
  response.set_person(PersonName(person_id));
  response.set_session(SessionName(person_id, session_id));
  if (!refresh_token.empty()) {
    response.set_refresh_token(refresh_token);
    *response.mutable_refresh_expire_time() = ToTimestamp(session_expire);
  }
  return response;
}

// "cdc_<expiry unix seconds>.<MAC>", the MAC over the username and the expiry: the
// server checks it without storing anything, and it names no one.
std::string AuthService::DeviceCookie(const std::string& username, absl::Time now) const {
  if (options_.device_cookie_key.empty()) return "";
  const std::string expiry = absl::StrCat(absl::ToUnixSeconds(now + kDeviceCookieLifetime));
  return absl::StrCat("cdc_", expiry, ".",
                      Base64UrlEncode(HmacSha256(options_.device_cookie_key,
                                                 absl::StrCat(username, "\n", expiry))));
}

bool AuthService::IsDeviceCookieOf(const std::string& cookie, const std::string& username,
                                   absl::Time now) const {
  if (options_.device_cookie_key.empty() || !absl::StartsWith(cookie, "cdc_")) return false;
  const size_t dot = cookie.find('.');
  if (dot == std::string::npos) return false;
  const std::string expiry = cookie.substr(4, dot - 4);
  int64_t expiry_seconds = 0;
  if (!absl::SimpleAtoi(expiry, &expiry_seconds) || absl::FromUnixSeconds(expiry_seconds) <= now) {
    return false;
  }
  const std::string expected =
      Base64UrlEncode(HmacSha256(options_.device_cookie_key, absl::StrCat(username, "\n", expiry)));
  return ConstantTimeEquals(cookie.substr(dot + 1), expected);
}

void AuthService::SessionEnded(const std::string& session_id) {
  if (events_ != nullptr) events_->SessionEnded(session_id);
}

absl::StatusOr<v1::SignInResponse> AuthService::RefreshSession(
    const Caller& caller, const v1::RefreshSessionRequest& request) {
  if (request.refresh_token().empty()) return InvalidFieldError("refresh_token", "is required");
  if (request.refresh_token().size() > 200) return RefreshRefused();
  const std::string presented = Sha256(request.refresh_token());
  const std::string refresh_token = NewRefreshToken();
  std::optional<RefreshMatch> match;
  absl::Time session_expire;
  bool replayed = false;
  COPLAN_RETURN_IF_ERROR(db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    replayed = false;
    match = sessions_.FindByRefreshHash(tx, presented);
    if (!match || match->session.revoke_time || match->session.expire_time <= caller.now) {
      return absl::OkStatus();
    }
    const SessionRow& session = match->session;
    const std::string resource = SessionName(session.person_id, session.id);
    // A phone whose answer was lost on the way presents the token again at once: within
    // a minute of the exchange that is a retry, answered with a fresh pair.
    const bool retry = !match->current && session.last_refresh_time &&
                       caller.now - *session.last_refresh_time < kRefreshRetryWindow;
    if (!match->current && !retry) {
      // An exchanged token presented again later: someone else holds a copy. End the session.
      replayed = true;
      sessions_.Revoke(tx, session.id, session.person_id, Micros(caller.now));
      audit_.RecordInTransaction(tx, AuditEvent{"", session.person_id, v1::AUDIT_ACTION_SIGN_OUT,
                                                resource, v1::AUDIT_OUTCOME_DENIED, caller.method});
      return absl::OkStatus();
    }
    session_expire = Micros(caller.now + options_.device_session_lifetime);
    sessions_.Rotate(tx, session.id, Sha256(refresh_token), Micros(caller.now), session_expire);
    audit_.RecordInTransaction(
        tx, AuditEvent{session.person_id, session.person_id, v1::AUDIT_ACTION_SIGN_IN, resource,
                       v1::AUDIT_OUTCOME_ALLOWED, caller.method});
    return absl::OkStatus();
  }));
  if (replayed) {
    SessionEnded(match->session.id);
    return UnauthenticatedError(
        "this refresh token was already used, so the session has been ended for safety; sign in "
        "again");
  }
  if (!match || match->session.revoke_time || match->session.expire_time <= caller.now) {
    return RefreshRefused();
  }
  return Tokens(match->session.person_id, match->session.id, caller.now, refresh_token,
                session_expire);
}

absl::StatusOr<v1::ListSessionsResponse> AuthService::ListSessions(
    const Caller& caller, const v1::ListSessionsRequest& request) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(std::string person_id, ParsePersonName(request.parent(), "parent"));
  const std::string resource = request.parent() + "/sessions";
  std::vector<SessionRow> rows;
  absl::Status status = db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    const auto entry = PersonEntry::For(PersonNeed::kSelf, v1::AUDIT_ACTION_READ, resource,
                                        request.parent(), "a person sees only their own sessions");
    COPLAN_RETURN_IF_ERROR(gate_.Person(tx, caller, person_id, entry, &audit).status());
    rows = sessions_.ListLive(tx, person_id, caller.now, 100);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  v1::ListSessionsResponse response;
  for (const SessionRow& row : rows) *response.add_sessions() = ToSession(row, caller.session_id);
  return response;
}

absl::StatusOr<v1::Session> AuthService::RevokeSession(const Caller& caller,
                                                       const v1::RevokeSessionRequest& request) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(std::vector<std::string> parts,
                          ParseName(request.name(), "people/{person}/sessions/{session}", "name"));
  const std::string& person_id = parts[0];
  std::optional<SessionRow> revoked;
  absl::Status status = db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    const auto entry =
        PersonEntry::For(PersonNeed::kSelf, v1::AUDIT_ACTION_SIGN_OUT, request.name(),
                         request.name(), "a person ends only their own sessions", "session");
    COPLAN_RETURN_IF_ERROR(gate_.Person(tx, caller, person_id, entry, &audit).status());
    for (const SessionRow& row : sessions_.ListLive(tx, person_id, caller.now, 100)) {
      if (row.id == parts[1]) revoked = row;
    }
    if (!revoked || !sessions_.Revoke(tx, revoked->id, person_id, Micros(caller.now))) {
      return NotFoundError("session", request.name());
    }
    revoked->revoke_time = Micros(caller.now);
    audit.Write(tx, person_id, v1::AUDIT_ACTION_SIGN_OUT, request.name());
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  SessionEnded(revoked->id);
  return ToSession(*revoked, caller.session_id);
}

absl::StatusOr<v1::ChangePasswordResponse> AuthService::ChangePassword(
    const Caller& caller, const v1::ChangePasswordRequest& request) {
  CallAudit audit(audit_, caller);
  if (request.current_password().empty()) {
    return InvalidFieldError("current_password", "is required");
  }
  if (request.current_password().size() > 1024) {
    return InvalidFieldError("current_password", "is too long");
  }
  const size_t new_length = CodePointCount(request.new_password());
  if (new_length < 12 || new_length > 256) {
    return InvalidFieldError("new_password", "must be 12 to 256 characters");
  }
  if (request.new_password() == request.current_password()) {
    return InvalidFieldError("new_password", "must differ from the current password");
  }
  const std::string resource = caller.person_name() + "/account";
  std::optional<AccountRow> account;
  absl::Status status = db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    const auto entry =
        PersonEntry::For(PersonNeed::kSelf, v1::AUDIT_ACTION_UPDATE, resource, caller.person_name(),
                         "a person changes only their own password");
    COPLAN_RETURN_IF_ERROR(gate_.Person(tx, caller, caller.person_id, entry, &audit).status());
    account = store_.AccountOf(tx, caller.person_id);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  if (!account) {
    return FailedPreconditionError(
        "this person has no Coplan password (they sign in through their identity provider: "
        "change it there)");
  }
  auto wrong_password = [] {
    return PermissionDeniedError(
        "current_password is not this account's password, or checking it is paused for a while "
        "after repeated failures");
  };
  const bool paused = account->locked_until && *account->locked_until > caller.now;
  bool matches = false;
  if (paused) {
    (void)hasher_.Verify(dummy_hash_, request.current_password(), caller.deadline);
  } else {
    COPLAN_ASSIGN_OR_RETURN(matches, hasher_.Verify(account->password_hash,
                                                    request.current_password(), caller.deadline));
  }
  if (!matches) {
    // Counted like a failed sign-in, so a stolen access token cannot be used to guess the
    // password at leisure.
    COPLAN_RETURN_IF_ERROR(db_.Write(caller.deadline, [&](WriteTransaction& tx) {
      if (!paused) {
        store_.RecordSignInFailure(tx, caller.person_id, options_.max_failures,
                                   options_.lock_duration);
      }
      audit_.RecordInTransaction(
          tx, AuditEvent{caller.person_id, caller.person_id, v1::AUDIT_ACTION_UPDATE, resource,
                         v1::AUDIT_OUTCOME_DENIED, caller.method});
      return absl::OkStatus();
    }));
    return wrong_password();
  }
  COPLAN_ASSIGN_OR_RETURN(std::string new_hash,
                          hasher_.Hash(request.new_password(), caller.deadline));
  std::vector<std::string> ended;
  COPLAN_RETURN_IF_ERROR(db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    ended.clear();
    // Only over the hash just checked: two changes at once cannot both win.
    if (!store_.ReplacePasswordHash(tx, caller.person_id, account->password_hash, new_hash)) {
      return absl::AbortedError("the password was changed meanwhile; try again");
    }
    store_.RecordSignInSuccess(tx, caller.person_id);
    ended = sessions_.RevokeAllBut(tx, caller.person_id, caller.session_id, Micros(caller.now));
    audit.Write(tx, caller.person_id, v1::AUDIT_ACTION_UPDATE, resource);
    return absl::OkStatus();
  }));
  for (const std::string& session : ended) SessionEnded(session);
  v1::ChangePasswordResponse response;
  response.set_ended_sessions(static_cast<int32_t>(ended.size()));
  return response;
}

absl::Status AuthService::SignOut(const Caller& caller, const std::string& token) {
  if (caller.session_id.empty() || IsIdentityCredential(caller.session_id)) {
    return FailedPreconditionError(
        "this token comes from your identity provider; sign out there (it ends when it expires)");
  }
  COPLAN_RETURN_IF_ERROR(db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    if (!sessions_.Revoke(tx, caller.session_id, caller.person_id, Micros(caller.now))) {
      return UnauthenticatedError("this session has already ended");
    }
    audit_.RecordInTransaction(
        tx,
        AuditEvent{caller.person_id, caller.person_id, v1::AUDIT_ACTION_SIGN_OUT,
                   caller.person_name() + "/account", v1::AUDIT_OUTCOME_ALLOWED, caller.method});
    return absl::OkStatus();
  }));
  authenticator_.Forget(token.size() > 7 ? token.substr(7) : token);
  SessionEnded(caller.session_id);
  return absl::OkStatus();
}

}  // namespace coplan
