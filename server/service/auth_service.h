// Sign-in with built-in accounts, device sessions, and sign-out.
//
// Sign-in checks the password with Argon2id, counts failures (after 10 in a row the
// account is locked for 15 minutes), opens a session and returns a short-lived token
// naming it. With a device name the session is a device session: it also returns a
// refresh token that RefreshSession exchanges, once, for a new access token and a new
// refresh token (the session's expiry moves on each time); presenting an exchanged one
// again ends the session. A person changes their own password with the current one (a
// wrong one counts as a failed sign-in), which ends their other sessions. Sign-out, or
// the person's RevokeSession, revokes a session,
// which every instance checks on every call and which ends its streams. All of it is
// audited; wrong credentials never say which part was wrong.
//
// Before any of that, sign-in attempts are rate-limited per username and per client
// address (SignInThrottle): a refused attempt costs no database work and no hash, and is
// counted in a log line rather than audited one by one, so a flood cannot fill the audit
// trail either (the attempts the limits let through are audited as usual).
#pragma once

#include "absl/status/statusor.h"
#include "coplan/v1/auth_service.pb.h"
#include "server/auth/authenticator.h"
#include "server/auth/password_hasher.h"
#include "server/service/access_gate.h"
#include "server/service/audit_log.h"
#include "server/service/caller.h"
#include "server/service/document_events.h"
#include "server/service/sign_in_throttle.h"
#include "server/store/database.h"
#include "server/store/people_store.h"
#include "server/store/session_store.h"

namespace coplan {

class AuthService {
 public:
  struct Options {
    absl::Duration token_lifetime = absl::Hours(1);
    // A device session ends this long after its last refresh.
    absl::Duration device_session_lifetime = absl::Hours(24 * 90);
    int max_failures = 10;
    absl::Duration lock_duration = absl::Minutes(15);
    SignInThrottle::Options throttle;
    // Signs device cookies (SignInResponse.device_cookie); "" issues none.
    std::string device_cookie_key;
  };

  AuthService(Database& db, PeopleStore& store, SessionStore& sessions, AccessGate& gate,
              AuditLog& audit, PasswordHasher& hasher, Authenticator& authenticator,
              Options options);

  absl::StatusOr<coplan::v1::SignInResponse> SignIn(const Caller& caller,
                                                    const coplan::v1::SignInRequest& request);
  absl::Status SignOut(const Caller& caller, const std::string& token);
  // `caller` is anonymous: the refresh token is the credential.
  absl::StatusOr<coplan::v1::SignInResponse> RefreshSession(
      const Caller& caller, const coplan::v1::RefreshSessionRequest& request);
  absl::StatusOr<coplan::v1::ListSessionsResponse> ListSessions(
      const Caller& caller, const coplan::v1::ListSessionsRequest& request);
  absl::StatusOr<coplan::v1::Session> RevokeSession(
      const Caller& caller, const coplan::v1::RevokeSessionRequest& request);
  // Runs on the sign-in lane: it computes two password hashes.
  absl::StatusOr<coplan::v1::ChangePasswordResponse> ChangePassword(
      const Caller& caller, const coplan::v1::ChangePasswordRequest& request);
  void SetEvents(DocumentEvents* events) { events_ = events; }

 private:
  // The access token (and refresh token) of a session, as SignIn and RefreshSession
  // answer them.
  coplan::v1::SignInResponse Tokens(const std::string& person_id, const std::string& session_id,
                                    absl::Time now, const std::string& refresh_token,
                                    absl::Time session_expire) const;
  void SessionEnded(const std::string& session_id);
  // A cookie proving that this device signed in to `username` before, and its check.
  std::string DeviceCookie(const std::string& username, absl::Time now) const;
  bool IsDeviceCookieOf(const std::string& cookie, const std::string& username,
                        absl::Time now) const;

  Database& db_;
  PeopleStore& store_;
  SessionStore& sessions_;
  AccessGate& gate_;
  AuditLog& audit_;
  PasswordHasher& hasher_;
  Authenticator& authenticator_;
  const Options options_;
  DocumentEvents* events_ = nullptr;
  SignInThrottle throttle_;
  std::string dummy_hash_;  // verified for unknown usernames, so timing does not tell
};

}  // namespace coplan
