#include "tests/support/jwt_signer.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/common/crypto.h"

namespace coplan::testing {
namespace {

std::string BignumParam(EVP_PKEY* key, const char* name) {
  BIGNUM* value = nullptr;
  EVP_PKEY_get_bn_param(key, name, &value);
  std::string bytes(BN_num_bytes(value), '\0');
  BN_bn2bin(value, reinterpret_cast<unsigned char*>(bytes.data()));
  BN_free(value);
  return bytes;
}

std::string EcPoint(EVP_PKEY* key) {
  unsigned char point[65];
  size_t length = 0;
  EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &length);
  return std::string(reinterpret_cast<char*>(point), length);
}

std::string DigestSign(EVP_PKEY* key, const std::string& data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
  size_t length = 0;
  EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(data.data()),
                 data.size());
  std::string signature(length, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                 reinterpret_cast<const unsigned char*>(data.data()), data.size());
  signature.resize(length);
  EVP_MD_CTX_free(ctx);
  return signature;
}

// DER ECDSA-Sig-Value to JOSE's fixed 64-byte r || s.
std::string DerToRaw(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  std::string raw(64, '\0');
  BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(sig);
  return raw;
}

}  // namespace

TestIdentityProvider::TestIdentityProvider(std::string issuer) : issuer_(std::move(issuer)) {
  rsa_ = EVP_RSA_gen(2048);
  ec_ = EVP_EC_gen("P-256");
}

TestIdentityProvider::~TestIdentityProvider() {
  EVP_PKEY_free(rsa_);
  EVP_PKEY_free(ec_);
}

std::string TestIdentityProvider::JwksJson() const {
  const std::string point = EcPoint(ec_);
  nlohmann::json jwks = {
      {"keys",
       {{{"kty", "RSA"},
         {"kid", "rsa-1"},
         {"use", "sig"},
         {"alg", "RS256"},
         {"n", Base64UrlEncode(BignumParam(rsa_, OSSL_PKEY_PARAM_RSA_N))},
         {"e", Base64UrlEncode(BignumParam(rsa_, OSSL_PKEY_PARAM_RSA_E))}},
        {{"kty", "EC"},
         {"kid", "ec-1"},
         {"use", "sig"},
         {"crv", "P-256"},
         {"x", Base64UrlEncode(point.substr(1, 32))},
         {"y", Base64UrlEncode(point.substr(33, 32))}},
        // An encryption key that must be ignored.
        {{"kty", "RSA"}, {"kid", "enc-1"}, {"use", "enc"}, {"n", "AQAB"}, {"e", "AQAB"}}}}};
  return jwks.dump();
}

nlohmann::json TestIdentityProvider::ValidClaims(const std::string& audience,
                                                 const std::string& subject) const {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  return {{"iss", issuer_}, {"aud", audience}, {"sub", subject},
          {"iat", now - 5}, {"nbf", now - 5},  {"exp", now + 300}};
}

std::string TestIdentityProvider::Sign(const nlohmann::json& claims, const std::string& alg,
                                       const nlohmann::json& header_overrides) const {
  nlohmann::json header = {
      {"alg", alg}, {"typ", "JWT"}, {"kid", alg == "RS256" ? "rsa-1" : "ec-1"}};
  for (const auto& [key, value] : header_overrides.items()) header[key] = value;
  const std::string input =
      absl::StrCat(Base64UrlEncode(header.dump()), ".", Base64UrlEncode(claims.dump()));
  std::string signature =
      alg == "RS256" ? DigestSign(rsa_, input) : DerToRaw(DigestSign(ec_, input));
  return absl::StrCat(input, ".", Base64UrlEncode(signature));
}

std::string TestIdentityProvider::Unsigned(const nlohmann::json& claims) {
  const nlohmann::json header = {{"alg", "none"}, {"typ", "JWT"}};
  return absl::StrCat(Base64UrlEncode(header.dump()), ".", Base64UrlEncode(claims.dump()), ".");
}

}  // namespace coplan::testing
