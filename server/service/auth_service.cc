#include "server/service/auth_service.h"

#include "absl/strings/str_cat.h"
#include "server/common/errors.h"
#include "server/common/ids.h"
#include "server/common/status_macros.h"
#include "server/service/call_audit.h"
#include "server/service/people_service.h"

namespace coplan {
namespace {

absl::Status WrongCredentials() {
  return UnauthenticatedError("the username or password is wrong");
}

}  // namespace

AuthService::AuthService(Database& db, PeopleStore& store, AuditLog& audit, PasswordHasher& hasher,
                         Authenticator& authenticator, Options options)
    : db_(db),
      store_(store),
      audit_(audit),
      hasher_(hasher),
      authenticator_(authenticator),
      options_(options) {
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
    audit_.RecordLater(audit_event("", v1::AUDIT_OUTCOME_DENIED)).IgnoreError();
    return WrongCredentials();
  }
  if (account->locked_until && *account->locked_until > caller.now) {
    audit_.RecordLater(audit_event(account->person_id, v1::AUDIT_OUTCOME_DENIED)).IgnoreError();
    return UnauthenticatedError(
        "sign-in is blocked for this account for a while after repeated failures; try again later");
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
  const std::string session_id = NewRandomToken(24);
  const absl::Time expire = caller.now + options_.token_lifetime;
  COPLAN_RETURN_IF_ERROR(db_.Write(caller.deadline, [&](WriteTransaction& tx) {
    store_.RecordSignInSuccess(tx, account->person_id);
    store_.InsertSession(tx, session_id, account->person_id, expire);
    audit_.RecordInTransaction(tx, audit_event(account->person_id, v1::AUDIT_OUTCOME_ALLOWED));
    return absl::OkStatus();
  }));
  v1::SignInResponse response;
  response.set_access_token(
      authenticator_.IssueToken(account->person_id, session_id, caller.now, expire));
  *response.mutable_expire_time() = ToTimestamp(absl::FromUnixSeconds(absl::ToUnixSeconds(expire)));
  response.set_person(PersonName(account->person_id));
  return response;
}

absl::Status AuthService::SignOut(const Caller& caller, const std::string& token) {
  if (caller.session_id.empty()) {
    return FailedPreconditionError(
        "this token comes from your identity provider; sign out there (it ends when it expires)");
  }
  COPLAN_RETURN_IF_ERROR(db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    if (!store_.RevokeSession(tx, caller.session_id, caller.person_id)) {
      return UnauthenticatedError("this session has already ended");
    }
    audit_.RecordInTransaction(
        tx,
        AuditEvent{caller.person_id, caller.person_id, v1::AUDIT_ACTION_SIGN_OUT,
                   caller.person_name() + "/account", v1::AUDIT_OUTCOME_ALLOWED, caller.method});
    return absl::OkStatus();
  }));
  authenticator_.Forget(token.size() > 7 ? token.substr(7) : token);
  if (events_ != nullptr) events_->SessionEnded(caller.session_id);
  return absl::OkStatus();
}

}  // namespace coplan
