// The sign-in throttle: per-username and per-peer token buckets that refill, refuse
// without spending, give a success's peer token back, let a known device past the peer
// limit, and keep a bounded number of buckets however many keys a flood brings.
#include "server/service/sign_in_throttle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "server/common/errors.h"

namespace coplan {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1800000000);

TEST(SignInThrottleTest, AUsernameGetsItsAllowanceThenAClearRetryableRefusal) {
  SignInThrottle throttle({.per_username_per_minute = 3, .per_peer_per_minute = 1000});
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(throttle.Admit("alex", absl::StrCat("10.0.0.", i), kStart).ok()) << i;
  }
  absl::Status refused = throttle.Admit("alex", "10.0.0.9", kStart);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(refused.message()), ::testing::HasSubstr("try again in 20 s"));
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(ReadDetail(refused, info));
  EXPECT_EQ(info.reason(), kSignInThrottledReason);
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(ReadDetail(refused, retry));
  EXPECT_EQ(retry.retry_delay().seconds(), 20);
  // Other names are not affected; the bucket refills continuously (one per 20 s here).
  EXPECT_TRUE(throttle.Admit("sam", "10.0.0.9", kStart).ok());
  EXPECT_FALSE(throttle.Admit("alex", "10.0.0.9", kStart + absl::Seconds(19)).ok());
  EXPECT_TRUE(throttle.Admit("alex", "10.0.0.9", kStart + absl::Seconds(21)).ok());
  EXPECT_FALSE(throttle.Admit("alex", "10.0.0.9", kStart + absl::Seconds(22)).ok());
}

TEST(SignInThrottleTest, ASuccessGivesItsUsernameTokenBack) {
  SignInThrottle throttle({.per_username_per_minute = 2, .per_peer_per_minute = 100});
  // Signing in on five devices in a minute is not an attack.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(throttle.Admit("alex", "p", kStart).ok()) << i;
    throttle.Succeeded("alex", "p", kStart);
  }
  ASSERT_TRUE(throttle.Admit("alex", "p", kStart).ok());
  ASSERT_TRUE(throttle.Admit("alex", "p", kStart).ok());
  EXPECT_FALSE(throttle.Admit("alex", "p", kStart).ok());
}

TEST(SignInThrottleTest, ARefusalSpendsNothing) {
  SignInThrottle throttle({.per_username_per_minute = 2, .per_peer_per_minute = 2});
  ASSERT_TRUE(throttle.Admit("a", "peer", kStart).ok());
  ASSERT_TRUE(throttle.Admit("b", "peer", kStart).ok());
  // The peer is spent: "c" is refused, and its own bucket must stay full.
  ASSERT_FALSE(throttle.Admit("c", "peer", kStart).ok());
  ASSERT_FALSE(throttle.Admit("c", "peer", kStart).ok());
  EXPECT_TRUE(throttle.Admit("c", "other-peer", kStart).ok());
  EXPECT_TRUE(throttle.Admit("c", "other-peer", kStart).ok());
}

TEST(SignInThrottleTest, SuccessesGiveThePeerTokenBackAndKnownDevicesPassThePeerLimit) {
  SignInThrottle throttle({.per_username_per_minute = 100, .per_peer_per_minute = 2});
  // Many people behind one address who type their passwords right are never limited.
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(throttle.Admit(absl::StrCat("person-", i), "ward-nat", kStart).ok()) << i;
    throttle.Succeeded(absl::StrCat("person-", i), "ward-nat", kStart);
  }
  // An attacker spends the address's allowance with failures...
  ASSERT_TRUE(throttle.Admit("guess-1", "ward-nat", kStart).ok());
  ASSERT_TRUE(throttle.Admit("guess-2", "ward-nat", kStart).ok());
  ASSERT_FALSE(throttle.Admit("person-3", "ward-nat", kStart).ok());
  // ...but a device that signed in before is not limited by the address, and its success
  // gives back no address token it did not take.
  ASSERT_TRUE(throttle.Admit("person-3", "ward-nat", kStart, /*known_device=*/true).ok());
  throttle.Succeeded("person-3", "ward-nat", kStart, /*known_device=*/true);
  EXPECT_FALSE(throttle.Admit("guess-3", "ward-nat", kStart).ok());
  // No peer (a transport without an address) is not limited by peer either.
  EXPECT_TRUE(throttle.Admit("person-4", "", kStart).ok());
}

TEST(SignInThrottleTest, AFloodOfDistinctKeysKeepsMemoryBounded) {
  SignInThrottle throttle(
      {.per_username_per_minute = 5, .per_peer_per_minute = 5, .max_tracked = 1000});
  for (int i = 0; i < 20000; ++i) {
    (void)throttle.Admit(absl::StrCat("name-", i), absl::StrCat("peer-", i),
                         kStart + absl::Milliseconds(i));
  }
  EXPECT_LE(throttle.tracked_usernames(), 1000u);
  EXPECT_LE(throttle.tracked_peers(), 1000u);
  // A name attempted recently is still limited after the flood passed it.
  for (int i = 0; i < 5; ++i) (void)throttle.Admit("target", "p", kStart + absl::Seconds(21));
  for (int i = 0; i < 100; ++i) {
    (void)throttle.Admit(absl::StrCat("late-", i), "q", kStart + absl::Seconds(21));
  }
  EXPECT_FALSE(throttle.Admit("target", "r", kStart + absl::Seconds(21)).ok());
}

}  // namespace
}  // namespace coplan
