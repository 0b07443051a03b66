// Sign-in with built-in accounts and sign-out.
//
// Sign-in checks the password with Argon2id, counts failures (after 10 in a row the
// account is locked for 15 minutes), opens a session and returns a short-lived token
// naming it. Sign-out revokes the session, which every instance checks on every call.
// Both are audited; wrong credentials never say which part was wrong.
#pragma once

#include "absl/status/statusor.h"
#include "coplan/v1/auth_service.pb.h"
#include "server/auth/authenticator.h"
#include "server/auth/password_hasher.h"
#include "server/service/audit_log.h"
#include "server/service/caller.h"
#include "server/service/document_events.h"
#include "server/store/database.h"
#include "server/store/people_store.h"

namespace coplan {

class AuthService {
 public:
  struct Options {
    absl::Duration token_lifetime = absl::Hours(1);
    int max_failures = 10;
    absl::Duration lock_duration = absl::Minutes(15);
  };

  AuthService(Database& db, PeopleStore& store, AuditLog& audit, PasswordHasher& hasher,
              Authenticator& authenticator, Options options);

  absl::StatusOr<coplan::v1::SignInResponse> SignIn(const Caller& caller,
                                                    const coplan::v1::SignInRequest& request);
  absl::Status SignOut(const Caller& caller, const std::string& token);
  void SetEvents(DocumentEvents* events) { events_ = events; }

 private:
  Database& db_;
  PeopleStore& store_;
  AuditLog& audit_;
  PasswordHasher& hasher_;
  Authenticator& authenticator_;
  const Options options_;
  DocumentEvents* events_ = nullptr;
  std::string dummy_hash_;  // verified for unknown usernames, so timing does not tell
};

}  // namespace coplan
