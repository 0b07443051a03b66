#include "server/auth/authenticator.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/common/crypto.h"
#include "server/common/errors.h"
#include "server/common/ids.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"

namespace coplan {
namespace {

int64_t FileMtime(const std::string& path) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) return -1;
  return static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec;
}

bool AudienceMatches(const nlohmann::json& aud, const std::string& expected) {
  if (aud.is_string()) return aud.get<std::string>() == expected;
  if (aud.is_array()) {
    for (const auto& entry : aud) {
      if (entry.is_string() && entry.get<std::string>() == expected) return true;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<std::string> BearerToken(absl::string_view authorization) {
  if (authorization.empty()) {
    return UnauthenticatedError(
        "missing credentials: send metadata \"authorization: Bearer <token>\" (get a token "
        "with AuthService.SignIn or from your identity provider)");
  }
  if (authorization.size() < 7 || !absl::EqualsIgnoreCase(authorization.substr(0, 7), "bearer ")) {
    return UnauthenticatedError("the authorization metadata must be \"Bearer <token>\"");
  }
  absl::string_view token = absl::StripAsciiWhitespace(authorization.substr(7));
  if (token.empty()) return UnauthenticatedError("the bearer token is empty");
  return std::string(token);
}

absl::StatusOr<Authenticator::Provider> Authenticator::LoadProvider(const OidcProvider& config) {
  std::ifstream in(config.jwks_file);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the JWKS file ", config.jwks_file, " of issuer ", config.issuer));
  }
  std::stringstream text;
  text << in.rdbuf();
  auto keys = JsonWebKeySet::Parse(text.str());
  if (!keys.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("JWKS file ", config.jwks_file, ": ", keys.status().message()));
  }
  return Provider{config, std::move(keys).value(), absl::Now(), FileMtime(config.jwks_file)};
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Create(AuthOptions options,
                                                                     IdentityLookup lookup) {
  if (options.token_key.size() < 32) return absl::InvalidArgumentError("token key too short");
  std::unique_ptr<Authenticator> auth(new Authenticator(std::move(options), std::move(lookup)));
  {
    absl::MutexLock lock(&auth->mutex_);
    if (auth->options_.token_key_file.empty()) {
      auth->token_keys_ = TokenKeys::Single(kMasterTokenKeyId, auth->options_.token_key);
    } else {
      COPLAN_ASSIGN_OR_RETURN(auth->token_keys_text_,
                              ReadTokenKeyFileText(auth->options_.token_key_file));
      COPLAN_ASSIGN_OR_RETURN(auth->token_keys_, TokenKeys::Parse(auth->token_keys_text_));
    }
    auth->token_keys_checked_ = absl::Now();
  }
  for (const OidcProvider& config : auth->options_.providers) {
    if (config.issuer.empty() || config.audience.empty() || config.jwks_file.empty()) {
      return absl::InvalidArgumentError(
          "an OpenID Connect provider needs an issuer, an audience and a JWKS file");
    }
    if (config.issuer == auth->options_.self_issuer) {
      return absl::InvalidArgumentError("a provider cannot use the server's own issuer name");
    }
    COPLAN_ASSIGN_OR_RETURN(Provider provider, LoadProvider(config));
    absl::MutexLock lock(&auth->mutex_);
    auth->providers_.push_back(std::move(provider));
  }
  return auth;
}

TokenKeys Authenticator::CurrentTokenKeys() {
  absl::MutexLock lock(&mutex_);
  ReloadTokenKeysIfChanged();
  return token_keys_;
}

void Authenticator::ReloadTokenKeysIfChanged() {
  if (!options_.token_key_file.empty() &&
      absl::Now() - token_keys_checked_ >= options_.token_key_file_recheck) {
    token_keys_checked_ = absl::Now();
    // Compared by content: a change within the file system's timestamp granularity
    // must not go unseen.
    auto text = ReadTokenKeyFileText(options_.token_key_file);
    if (!text.ok() || *text != token_keys_text_) {
      auto reloaded = text.ok() ? TokenKeys::Parse(*text) : text.status();
      if (reloaded.ok()) {
        token_keys_ = std::move(reloaded).value();
        token_keys_text_ = *text;
        // A key taken out (a leaked one) must end the tokens it signed, cached ones too.
        cache_.clear();
        Log(LogLevel::kInfo, "token_keys_reloaded")
            .Num("keys", static_cast<double>(token_keys_.keys().size()));
      } else {
        Log(LogLevel::kError, "token_keys_unreadable")
            .Str("file", options_.token_key_file)
            .Str("error", std::string(reloaded.status().message()));
      }
    }
  }
}

std::string Authenticator::IssueToken(const std::string& person_id, const std::string& session_id,
                                      absl::Time now, absl::Time expire) {
  nlohmann::json claims = {{"iss", options_.self_issuer},
                           {"aud", options_.self_issuer},
                           {"sub", person_id},
                           {"sid", session_id},
                           {"iat", absl::ToUnixSeconds(now)},
                           {"exp", absl::ToUnixSeconds(expire)}};
  const TokenKeys keys = CurrentTokenKeys();
  const TokenKey& signer = keys.SigningKeyAt(now);
  return SignHs256Jwt(claims, signer.secret, signer.kid);
}

size_t Authenticator::cache_hits() const {
  absl::MutexLock lock(&mutex_);
  return cache_hits_;
}

void Authenticator::Forget(absl::string_view token) {
  absl::MutexLock lock(&mutex_);
  cache_.erase(Sha256(token));
}

absl::StatusOr<Principal> Authenticator::Authenticate(absl::string_view authorization,
                                                      absl::Time now) {
  COPLAN_ASSIGN_OR_RETURN(std::string token, BearerToken(authorization));
  const std::string cache_key = Sha256(token);
  {
    absl::MutexLock lock(&mutex_);
    ReloadTokenKeysIfChanged();  // before the cache: a key taken out empties it
    auto found = cache_.find(cache_key);
    if (found != cache_.end()) {
      if (found->second.expire > now) {
        ++cache_hits_;
        return found->second.principal;
      }
      cache_.erase(found);
    }
  }
  absl::Time expire;
  COPLAN_ASSIGN_OR_RETURN(Principal principal, Verify(token, now, &expire));
  principal.expire = expire;
  absl::MutexLock lock(&mutex_);
  if (cache_.size() >= options_.cache_capacity) {
    // Drop expired entries; if that is not enough, start afresh (tokens are re-verified).
    for (auto it = cache_.begin(); it != cache_.end();) {
      if (it->second.expire <= now) {
        cache_.erase(it++);
      } else {
        ++it;
      }
    }
    if (cache_.size() >= options_.cache_capacity) cache_.clear();
  }
  cache_[cache_key] = CachedToken{principal, expire};
  return principal;
}

absl::Status Authenticator::CheckTimes(const Jwt& jwt, absl::Time now, absl::Duration skew,
                                       absl::Time* expire) const {
  if (!jwt.claims.contains("exp") || !jwt.claims["exp"].is_number()) {
    return UnauthenticatedError("the token has no expiry (\"exp\")");
  }
  // The cache keeps the token exactly as long as this check would pass it.
  *expire = absl::FromUnixSeconds(jwt.claims["exp"].get<int64_t>()) + skew;
  if (now >= *expire) return UnauthenticatedError("the token has expired");
  if (jwt.claims.contains("nbf")) {
    if (!jwt.claims["nbf"].is_number()) return UnauthenticatedError("\"nbf\" is not a number");
    const absl::Time not_before = absl::FromUnixSeconds(jwt.claims["nbf"].get<int64_t>());
    if (now + skew < not_before) {
      return UnauthenticatedError("the token is not valid yet (\"nbf\" is in the future)");
    }
  }
  if (jwt.claims.contains("iat") && jwt.claims["iat"].is_number()) {
    const absl::Time issued = absl::FromUnixSeconds(jwt.claims["iat"].get<int64_t>());
    if (now + skew < issued) {
      return UnauthenticatedError("the token was issued in the future (\"iat\")");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const JsonWebKey>> Authenticator::ProviderKey(
    const std::string& issuer, const Jwt& jwt, std::string* audience) {
  const std::string alg = jwt.header["alg"].get<std::string>();
  if (alg != "RS256" && alg != "ES256") {
    return UnauthenticatedError(
        absl::StrCat("the token's algorithm \"", alg, "\" is not accepted (use RS256 or ES256)"));
  }
  const std::string kid = jwt.header.contains("kid") && jwt.header["kid"].is_string()
                              ? jwt.header["kid"].get<std::string>()
                              : "";
  absl::MutexLock lock(&mutex_);
  for (Provider& provider : providers_) {
    if (provider.config.issuer != issuer) continue;
    // Pick up a rotated JWKS file (checked at most every 30 seconds).
    if (absl::Now() - provider.checked > absl::Seconds(30)) {
      provider.checked = absl::Now();
      if (FileMtime(provider.config.jwks_file) != provider.mtime) {
        auto reloaded = LoadProvider(provider.config);
        if (reloaded.ok()) provider = std::move(reloaded).value();
      }
    }
    *audience = provider.config.audience;
    std::shared_ptr<const JsonWebKey> key = provider.keys.Find(kid, alg);
    if (key == nullptr) {
      return UnauthenticatedError(
          absl::StrCat("no key of the issuer matches the token (kid \"", kid, "\", ", alg, ")"));
    }
    return key;
  }
  return UnauthenticatedError(absl::StrCat("the token's issuer \"", issuer, "\" is not trusted"));
}

absl::StatusOr<Principal> Authenticator::Verify(const std::string& token, absl::Time now,
                                                absl::Time* expire) {
  COPLAN_ASSIGN_OR_RETURN(Jwt jwt, ParseJwt(token));
  if (!jwt.claims.contains("iss") || !jwt.claims["iss"].is_string()) {
    return UnauthenticatedError("the token has no issuer (\"iss\")");
  }
  if (!jwt.claims.contains("sub") || !jwt.claims["sub"].is_string() ||
      jwt.claims["sub"].get<std::string>().empty()) {
    return UnauthenticatedError("the token has no subject (\"sub\")");
  }
  const std::string issuer = jwt.claims["iss"].get<std::string>();
  const std::string subject = jwt.claims["sub"].get<std::string>();
  const std::string alg = jwt.header["alg"].get<std::string>();

  if (issuer == options_.self_issuer) {
    // Only HS256 with the server's key; never a key chosen by the token.
    if (alg != "HS256") {
      return UnauthenticatedError(
          absl::StrCat("the token's algorithm \"", alg, "\" is not accepted for this issuer"));
    }
    // The key the header names; tokens of earlier versions name none: the master's.
    const std::string kid = jwt.header.contains("kid") && jwt.header["kid"].is_string()
                                ? jwt.header["kid"].get<std::string>()
                                : kMasterTokenKeyId;
    const TokenKeys keys = CurrentTokenKeys();
    const TokenKey* key = keys.Find(kid);
    if (key == nullptr) {
      return UnauthenticatedError(
          "the token was signed with a key this server no longer accepts; sign in again");
    }
    if (!VerifyHs256(jwt, key->secret)) {
      return UnauthenticatedError("the token's signature is invalid");
    }
    if (!AudienceMatches(jwt.claims.value("aud", nlohmann::json()), options_.self_issuer)) {
      return UnauthenticatedError("the token is for another audience");
    }
    // Our own clock issued it: no skew.
    COPLAN_RETURN_IF_ERROR(CheckTimes(jwt, now, absl::ZeroDuration(), expire));
    // Every token of ours belongs to a session, which sign-out revokes: an empty one
    // could never be revoked.
    if (!jwt.claims.contains("sid") || !jwt.claims["sid"].is_string() ||
        jwt.claims["sid"].get<std::string>().empty()) {
      return UnauthenticatedError("the token names no session");
    }
    return Principal{subject, jwt.claims["sid"].get<std::string>(), *expire};
  }

  std::string audience;
  COPLAN_ASSIGN_OR_RETURN(std::shared_ptr<const JsonWebKey> key,
                          ProviderKey(issuer, jwt, &audience));
  if (!key->Verify(jwt.signing_input, jwt.signature)) {
    return UnauthenticatedError("the token's signature is invalid");
  }
  if (!AudienceMatches(jwt.claims.value("aud", nlohmann::json()), audience)) {
    return UnauthenticatedError(
        absl::StrCat("the token's audience does not include \"", audience, "\""));
  }
  COPLAN_RETURN_IF_ERROR(CheckTimes(jwt, now, options_.clock_skew, expire));
  COPLAN_ASSIGN_OR_RETURN(std::optional<LinkedIdentity> link, lookup_(issuer, subject));
  if (!link) {
    return UnauthenticatedError(
        "the token is valid, but no Coplan person is linked to this identity; ask an "
        "administrator to link it");
  }
  return Principal{link->person_id, IdentityCredential(link->identity_id), *expire};
}

}  // namespace coplan
