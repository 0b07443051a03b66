// JWT signature checks with OpenSSL, JWKS parsing, and bounded password hashing.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "server/auth/authenticator.h"
#include "server/auth/jwt.h"
#include "server/auth/password_hasher.h"
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
  EXPECT_FALSE(JsonWebKey::FromJwk({{"kty", "RSA"}, {"n", "AQAB"}, {"e", "AQAB"}}).ok());  // too short
  EXPECT_FALSE(JsonWebKey::FromJwk({{"kty", "EC"}, {"crv", "P-384"}, {"x", "AA"}, {"y", "AA"}}).ok());
}

TEST(AuthenticatorTest, CachesVerifiedTokensButNeverPastTheirExpiry) {
  TestIdentityProvider idp("https://idp.test");
  AuthOptions options;
  options.token_key = std::string(32, 'k');
  auto auth = Authenticator::Create(options, nullptr);
  ASSERT_TRUE(auth.ok());
  const absl::Time now = absl::Now();
  const std::string token = (*auth)->IssueToken("p1", "s1", now, now + absl::Minutes(5));
  ASSERT_TRUE((*auth)->Authenticate("Bearer " + token, now).ok());
  ASSERT_TRUE((*auth)->Authenticate("Bearer " + token, now).ok());
  EXPECT_EQ((*auth)->cache_hits(), 1u);
  auto later = (*auth)->Authenticate("Bearer " + token, now + absl::Minutes(6));
  EXPECT_EQ(later.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(PasswordHasherTest, HashesWithArgon2idAndBoundsConcurrency) {
  PasswordHasher hasher({.max_concurrent = 1});
  auto hash = hasher.Hash("correct horse battery staple", absl::InfiniteFuture());
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(hash->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << *hash;
  EXPECT_TRUE(*hasher.Verify(*hash, "correct horse battery staple", absl::InfiniteFuture()));
  EXPECT_FALSE(*hasher.Verify(*hash, "wrong", absl::InfiniteFuture()));

  std::atomic<int> most{0};
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done) most = std::max(most.load(), hasher.in_flight());
  });
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&hasher, i] { (void)hasher.Hash("password-" + std::to_string(i), absl::InfiniteFuture()); });
  }
  for (auto& thread : threads) thread.join();
  done = true;
  watcher.join();
  EXPECT_EQ(most.load(), 1);
}

}  // namespace
}  // namespace coplan
