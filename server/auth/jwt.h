// JSON Web Tokens (RFC 7519) in compact form: parsing, and signature checks with OpenSSL.
//
//   COPLAN_ASSIGN_OR_RETURN(Jwt jwt, ParseJwt(token));
//   jwt.header["alg"] == "ES256"; jwt.claims["sub"] == "248289761001"
//   bool ok = VerifyJwtSignature(jwt, key);            // key: a JsonWebKey from a JWKS
//
// Only RS256 (RSA PKCS#1 v1.5 with SHA-256), ES256 (ECDSA P-256 with SHA-256) and, for the
// server's own tokens, HS256 exist here. "none" and every other algorithm are refused.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace coplan {

struct Jwt {
  nlohmann::json header;
  nlohmann::json claims;
  std::string signing_input;  // base64url(header) "." base64url(claims)
  std::string signature;      // raw bytes
};

// UNAUTHENTICATED with a clear message for anything that is not a well-formed JWT.
absl::StatusOr<Jwt> ParseJwt(const std::string& token);

// A public key from a JWKS, usable with one algorithm.
class JsonWebKey {
 public:
  ~JsonWebKey();
  JsonWebKey(const JsonWebKey&) = delete;
  JsonWebKey& operator=(const JsonWebKey&) = delete;

  // From one JWK object: kty "RSA" (n, e) or kty "EC" with crv "P-256" (x, y).
  static absl::StatusOr<std::unique_ptr<JsonWebKey>> FromJwk(const nlohmann::json& jwk);
  const std::string& kid() const { return kid_; }
  const std::string& algorithm() const { return algorithm_; }  // "RS256" or "ES256"
  // Checks `signature` over `data` with this key's algorithm.
  bool Verify(const std::string& data, const std::string& signature) const;

 private:
  JsonWebKey() = default;
  EVP_PKEY* key_ = nullptr;
  std::string kid_;
  std::string algorithm_;
};

// A key set, as read from a JWKS document ({"keys": [...]}).
class JsonWebKeySet {
 public:
  static absl::StatusOr<JsonWebKeySet> Parse(const std::string& json_text);
  // The key for a token header (by kid; without kid, the only key of that algorithm).
  std::shared_ptr<const JsonWebKey> Find(const std::string& kid,
                                         const std::string& algorithm) const;
  size_t size() const { return keys_.size(); }

 private:
  std::vector<std::shared_ptr<JsonWebKey>> keys_;
};

// HS256 for the server's own tokens.
// `kid`, when not empty, names the key in the header.
std::string SignHs256Jwt(const nlohmann::json& claims, const std::string& key,
                         const std::string& kid = "");
bool VerifyHs256(const Jwt& jwt, const std::string& key);

}  // namespace coplan
