// Turns the "authorization: Bearer <token>" metadata of a call into the caller's identity.
//
//   Authenticator auth(options, lookup);
//   COPLAN_ASSIGN_OR_RETURN(Principal caller, auth.Authenticate(header_value, absl::Now()));
//
// Two kinds of token are accepted:
// - the server's own (SignIn): HS256 with a token key (token_keys.h; the JWT header's
//   "kid" names it), issuer `self_issuer`;
//   the session they name is checked against the database on every call, so signing out
//   ends them at once on every instance;
// - OpenID Connect tokens from configured providers: RS256 or ES256 with a key from the
//   provider's JWKS file, exact issuer, audience, exp/nbf with a small clock skew; the
//   subject is mapped to a person through linked external identities.
// Verified tokens are cached by their SHA-256 (signature checks are costly); a cached
// token is still refused once it expires. Every refusal is UNAUTHENTICATED with a
// message that says what is wrong.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/auth/jwt.h"
#include "server/auth/token_keys.h"

namespace coplan {

struct OidcProvider {
  std::string issuer;     // exactly as in the tokens' "iss"
  std::string audience;   // this deployment's client id, required in "aud"
  std::string jwks_file;  // the provider's JWKS, kept current by the operator
};

struct AuthOptions {
  std::string self_issuer = "coplan";
  std::string token_key;  // HS256 key of the server's own tokens, derived from the master secret
  // When set, the server's own tokens are signed and verified with the keys this file
  // lists (token_keys.h), re-read within `token_key_file_recheck` of a change; `token_key` then
  // signs nothing and verifies nothing.
  std::string token_key_file;
  absl::Duration token_key_file_recheck = absl::Seconds(30);
  std::vector<OidcProvider> providers;
  absl::Duration clock_skew = absl::Seconds(60);
  size_t cache_capacity = 20000;
};

struct Principal {
  std::string person_id;
  // The session of the server's own tokens; "idp:{identity}" (IdentityCredential) for
  // an identity provider's: what every call's access check finds still live.
  std::string session_id;
  absl::Time expire = absl::InfiniteFuture();  // when the token stops being accepted
};

// The link of an identity provider's subject to a person.
struct LinkedIdentity {
  std::string person_id;
  std::string identity_id;
};

// Maps (issuer, subject) of an OIDC token to its link; nullopt if not linked.
using IdentityLookup = std::function<absl::StatusOr<std::optional<LinkedIdentity>>(
    const std::string& issuer, const std::string& subject)>;

class Authenticator {
 public:
  // Fails if a provider's JWKS cannot be read.
  static absl::StatusOr<std::unique_ptr<Authenticator>> Create(AuthOptions options,
                                                               IdentityLookup lookup);

  absl::StatusOr<Principal> Authenticate(absl::string_view authorization, absl::Time now);
  // Drops a token from the cache (sign-out on this instance).
  void Forget(absl::string_view token);

  // Mints a token of this server for a session, signed with the key that signs at `now`.
  std::string IssueToken(const std::string& person_id, const std::string& session_id,
                         absl::Time now, absl::Time expire);
  const AuthOptions& options() const { return options_; }

  size_t cache_hits() const;

 private:
  struct Provider {
    OidcProvider config;
    JsonWebKeySet keys;
    absl::Time checked;
    int64_t mtime = 0;
  };
  struct CachedToken {
    Principal principal;
    absl::Time expire;
  };

  Authenticator(AuthOptions options, IdentityLookup lookup)
      : options_(std::move(options)), lookup_(std::move(lookup)) {}
  absl::StatusOr<Principal> Verify(const std::string& token, absl::Time now, absl::Time* expire);
  absl::Status CheckTimes(const Jwt& jwt, absl::Time now, absl::Duration skew,
                          absl::Time* expire) const;
  // The provider's key for the token, and the audience the provider requires.
  absl::StatusOr<std::shared_ptr<const JsonWebKey>> ProviderKey(const std::string& issuer,
                                                                const Jwt& jwt,
                                                                std::string* audience);
  static absl::StatusOr<Provider> LoadProvider(const OidcProvider& config);
  // The token keys, re-read from the token key file if it changed (checked at most every
  // token_key_file_recheck; a file that no longer parses keeps the keys read before, and says so in
  // the log).
  TokenKeys CurrentTokenKeys();
  void ReloadTokenKeysIfChanged() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const AuthOptions options_;
  const IdentityLookup lookup_;
  mutable absl::Mutex mutex_;
  std::vector<Provider> providers_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<std::string, CachedToken> cache_ ABSL_GUARDED_BY(mutex_);
  size_t cache_hits_ ABSL_GUARDED_BY(mutex_) = 0;
  TokenKeys token_keys_ ABSL_GUARDED_BY(mutex_);
  absl::Time token_keys_checked_ ABSL_GUARDED_BY(mutex_);
  std::string token_keys_text_ ABSL_GUARDED_BY(mutex_);  // the file as last parsed
};

// The token from "Bearer <token>" metadata (scheme case-insensitive).
absl::StatusOr<std::string> BearerToken(absl::string_view authorization);

}  // namespace coplan
