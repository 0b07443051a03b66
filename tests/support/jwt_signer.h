// A stand-in OpenID Connect provider for tests: fresh RSA-2048 and P-256 keys, a JWKS of
// their public halves, and signed tokens (including deliberately broken ones).
//
//   TestIdentityProvider idp("https://idp.test/realms/nhs");
//   std::string jwks = idp.JwksJson();
//   std::string token = idp.Sign({{"iss", ...}, {"sub", "248"}, ...}, "ES256");
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

typedef struct evp_pkey_st EVP_PKEY;

namespace coplan::testing {

class TestIdentityProvider {
 public:
  explicit TestIdentityProvider(std::string issuer);
  ~TestIdentityProvider();
  TestIdentityProvider(const TestIdentityProvider&) = delete;
  TestIdentityProvider& operator=(const TestIdentityProvider&) = delete;

  const std::string& issuer() const { return issuer_; }
  std::string JwksJson() const;
  // Claims with iss, aud, sub, iat, exp (and nbf) filled for a valid token.
  nlohmann::json ValidClaims(const std::string& audience, const std::string& subject) const;
  // Signs with "RS256" or "ES256" (kid "rsa-1" / "ec-1"); `header` entries override.
  std::string Sign(const nlohmann::json& claims, const std::string& alg,
                   const nlohmann::json& header = nlohmann::json::object()) const;
  // An unsigned token ({"alg":"none"}).
  static std::string Unsigned(const nlohmann::json& claims);

 private:
  std::string issuer_;
  EVP_PKEY* rsa_ = nullptr;
  EVP_PKEY* ec_ = nullptr;
};

}  // namespace coplan::testing
