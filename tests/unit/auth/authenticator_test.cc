// Bearer tokens: the server's own and OpenID Connect ones, checked at chosen instants.
#include "server/auth/authenticator.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/support/jwt_signer.h"

namespace coplan {
namespace {

using testing::TestIdentityProvider;

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

// A token of the server's own without a session could never be revoked by a sign-out.
TEST(AuthenticatorTest, AServerTokenWithoutASessionIsRefused) {
  AuthOptions options;
  options.token_key = std::string(32, 'k');
  auto auth = Authenticator::Create(options, nullptr);
  ASSERT_TRUE(auth.ok());
  const absl::Time now = absl::Now();
  const std::string token = (*auth)->IssueToken("p1", "", now, now + absl::Minutes(5));
  auto refused = (*auth)->Authenticate("Bearer " + token, now);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated) << refused.status();
  EXPECT_TRUE((*auth)
                  ->Authenticate(
                      "Bearer " + (*auth)->IssueToken("p1", "s1", now, now + absl::Minutes(5)), now)
                  .ok());
}

}  // namespace
}  // namespace coplan
