// JWT signature checks with OpenSSL, and JWKS parsing.
#include "server/auth/jwt.h"

#include <gtest/gtest.h>

#include "tests/support/jwt_signer.h"

namespace coplan {
namespace {

using testing::TestIdentityProvider;

TEST(JwtTest, VerifiesRs256AndEs256WithKeysFromAJwks) {
  TestIdentityProvider idp("https://idp.test");
  auto keys = JsonWebKeySet::Parse(idp.JwksJson());
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->size(), 2u);  // the encryption key is ignored
  for (const char* alg : {"RS256", "ES256"}) {
    auto jwt = ParseJwt(idp.Sign(idp.ValidClaims("aud", "sub"), alg));
    ASSERT_TRUE(jwt.ok());
    auto key = keys->Find(jwt->header["kid"], alg);
    ASSERT_NE(key, nullptr) << alg;
    EXPECT_TRUE(key->Verify(jwt->signing_input, jwt->signature)) << alg;
    std::string tampered = jwt->signing_input;
    tampered.back() ^= 1;
    EXPECT_FALSE(key->Verify(tampered, jwt->signature)) << alg;
  }
  EXPECT_EQ(keys->Find("rsa-1", "ES256"), nullptr);  // a key serves one algorithm only
}

TEST(JwtTest, RefusesMalformedTokensAndKeys) {
  EXPECT_FALSE(ParseJwt("a.b").ok());
  EXPECT_FALSE(ParseJwt("!!.??.**").ok());
  EXPECT_FALSE(ParseJwt(std::string(9000, 'a')).ok());
  EXPECT_FALSE(JsonWebKeySet::Parse("{}").ok());
  EXPECT_FALSE(JsonWebKeySet::Parse("not json").ok());
  EXPECT_FALSE(
      JsonWebKey::FromJwk({{"kty", "RSA"}, {"n", "AQAB"}, {"e", "AQAB"}}).ok());  // too short
  EXPECT_FALSE(
      JsonWebKey::FromJwk({{"kty", "EC"}, {"crv", "P-384"}, {"x", "AA"}, {"y", "AA"}}).ok());
}

}  // namespace
}  // namespace coplan
