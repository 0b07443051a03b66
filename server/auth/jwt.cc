#include "server/auth/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/common/crypto.h"
#include "server/common/errors.h"

namespace coplan {
namespace {

absl::Status Malformed(absl::string_view why) {
  return UnauthenticatedError(absl::StrCat("the bearer token is not a valid JWT: ", why));
}

std::string JwkBytes(const nlohmann::json& jwk, const char* member) {
  std::string out;
  if (!jwk.contains(member) || !jwk[member].is_string() ||
      !Base64UrlDecode(jwk[member].get<std::string>(), &out)) {
    return "";
  }
  return out;
}

// r || s (32 bytes each) to the DER ECDSA-Sig-Value OpenSSL verifies.
std::string EcdsaRawToDer(const std::string& raw) {
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  ECDSA_SIG_set0(sig, r, s);
  unsigned char* der = nullptr;
  const int length = i2d_ECDSA_SIG(sig, &der);
  std::string out;
  if (length > 0) out.assign(reinterpret_cast<char*>(der), length);
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

EVP_PKEY* KeyFromParams(const char* type, OSSL_PARAM_BLD* builder) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(builder);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  if (params != nullptr && ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1) {
    if (EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) key = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return key;
}

}  // namespace

absl::StatusOr<Jwt> ParseJwt(const std::string& token) {
  if (token.size() > 8192) return Malformed("longer than 8 KiB");
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return Malformed("expected three dot-separated parts");
  Jwt jwt;
  std::string header_json, claims_json;
  if (!Base64UrlDecode(parts[0], &header_json) || !Base64UrlDecode(parts[1], &claims_json) ||
      !Base64UrlDecode(parts[2], &jwt.signature)) {
    return Malformed("a part is not base64url");
  }
  jwt.header = nlohmann::json::parse(header_json, nullptr, /*allow_exceptions=*/false);
  jwt.claims = nlohmann::json::parse(claims_json, nullptr, /*allow_exceptions=*/false);
  if (!jwt.header.is_object()) return Malformed("the header is not a JSON object");
  if (!jwt.claims.is_object()) return Malformed("the claims are not a JSON object");
  if (!jwt.header.contains("alg") || !jwt.header["alg"].is_string()) {
    return Malformed("the header has no \"alg\"");
  }
  if (jwt.header.contains("crit")) return Malformed("critical header parameters are not supported");
  jwt.signing_input = absl::StrCat(parts[0], ".", parts[1]);
  return jwt;
}

JsonWebKey::~JsonWebKey() { EVP_PKEY_free(key_); }

absl::StatusOr<std::unique_ptr<JsonWebKey>> JsonWebKey::FromJwk(const nlohmann::json& jwk) {
  if (!jwk.is_object() || !jwk.contains("kty") || !jwk["kty"].is_string()) {
    return absl::InvalidArgumentError("a JWK needs \"kty\"");
  }
  std::unique_ptr<JsonWebKey> out(new JsonWebKey());
  if (jwk.contains("kid") && jwk["kid"].is_string()) out->kid_ = jwk["kid"].get<std::string>();
  if (jwk.contains("use") && jwk["use"] != "sig") {
    return absl::InvalidArgumentError("JWK is not for signatures (use != sig)");
  }
  const std::string kty = jwk["kty"].get<std::string>();
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  if (kty == "RSA") {
    const std::string n = JwkBytes(jwk, "n"), e = JwkBytes(jwk, "e");
    if (n.empty() || e.empty()) {
      OSSL_PARAM_BLD_free(builder);
      return absl::InvalidArgumentError("RSA JWK needs n and e");
    }
    BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), n.size(), nullptr);
    BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), e.size(), nullptr);
    OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_N, bn_n);
    OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_E, bn_e);
    out->key_ = KeyFromParams("RSA", builder);
    BN_free(bn_n);
    BN_free(bn_e);
    out->algorithm_ = "RS256";
    if (out->key_ != nullptr && EVP_PKEY_get_bits(out->key_) < 2048) {
      OSSL_PARAM_BLD_free(builder);
      return absl::InvalidArgumentError("RSA keys shorter than 2048 bits are refused");
    }
  } else if (kty == "EC") {
    if (jwk.value("crv", "") != "P-256") {
      OSSL_PARAM_BLD_free(builder);
      return absl::InvalidArgumentError("only EC keys on P-256 are supported");
    }
    const std::string x = JwkBytes(jwk, "x"), y = JwkBytes(jwk, "y");
    if (x.size() != 32 || y.size() != 32) {
      OSSL_PARAM_BLD_free(builder);
      return absl::InvalidArgumentError("EC JWK needs 32-byte x and y");
    }
    const std::string point = absl::StrCat(std::string(1, '\x04'), x, y);
    OSSL_PARAM_BLD_push_utf8_string(builder, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(builder, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
    out->key_ = KeyFromParams("EC", builder);
    out->algorithm_ = "ES256";
  } else {
    OSSL_PARAM_BLD_free(builder);
    return absl::InvalidArgumentError(absl::StrCat("unsupported JWK kty \"", kty, "\""));
  }
  OSSL_PARAM_BLD_free(builder);
  if (out->key_ == nullptr) return absl::InvalidArgumentError("the JWK is not a valid public key");
  if (jwk.contains("alg") && jwk["alg"] != out->algorithm_) {
    return absl::InvalidArgumentError("the JWK's alg does not match its key type");
  }
  return out;
}

bool JsonWebKey::Verify(const std::string& data, const std::string& signature) const {
  std::string der;
  const std::string* sig = &signature;
  if (algorithm_ == "ES256") {
    if (signature.size() != 64) return false;
    der = EcdsaRawToDer(signature);
    if (der.empty()) return false;
    sig = &der;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key_) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

absl::StatusOr<JsonWebKeySet> JsonWebKeySet::Parse(const std::string& json_text) {
  nlohmann::json document = nlohmann::json::parse(json_text, nullptr, false);
  if (!document.is_object() || !document.contains("keys") || !document["keys"].is_array()) {
    return absl::InvalidArgumentError("a JWKS is a JSON object with a \"keys\" array");
  }
  JsonWebKeySet set;
  for (const auto& jwk : document["keys"]) {
    auto key = JsonWebKey::FromJwk(jwk);
    if (!key.ok()) continue;  // keys for encryption or unknown types are not ours to use
    set.keys_.push_back(std::shared_ptr<JsonWebKey>(std::move(key).value()));
  }
  if (set.keys_.empty()) return absl::InvalidArgumentError("the JWKS holds no usable signing key");
  return set;
}

std::shared_ptr<const JsonWebKey> JsonWebKeySet::Find(const std::string& kid,
                                                      const std::string& algorithm) const {
  std::shared_ptr<const JsonWebKey> only;
  int matching = 0;
  for (const auto& key : keys_) {
    if (key->algorithm() != algorithm) continue;
    if (!kid.empty() && key->kid() == kid) return key;
    ++matching;
    only = key;
  }
  return kid.empty() && matching == 1 ? only : nullptr;
}

std::string SignHs256Jwt(const nlohmann::json& claims, const std::string& key,
                         const std::string& kid) {
  nlohmann::json header = {{"alg", "HS256"}, {"typ", "JWT"}};
  if (!kid.empty()) header["kid"] = kid;
  const std::string input =
      absl::StrCat(Base64UrlEncode(header.dump()), ".", Base64UrlEncode(claims.dump()));
  return absl::StrCat(input, ".", Base64UrlEncode(HmacSha256(key, input)));
}

bool VerifyHs256(const Jwt& jwt, const std::string& key) {
  return ConstantTimeEquals(jwt.signature, HmacSha256(key, jwt.signing_input));
}

}  // namespace coplan
