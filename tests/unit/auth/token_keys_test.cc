// Token keys: the file's format, which key signs when, rotation that keeps a retired key
// until its tokens have expired, and an authenticator that follows the file.
#include "server/auth/token_keys.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "server/auth/authenticator.h"
#include "server/common/crypto.h"

namespace coplan {
namespace {

const std::string kKeyA = Base64UrlEncode(std::string(32, 'a'));
const std::string kKeyB = Base64UrlEncode(std::string(32, 'b'));

TEST(TokenKeysTest, TheLatestKeyAlreadyReachedSignsAndEveryListedKeyVerifies) {
  auto keys =
      TokenKeys::Parse(absl::StrCat("# comment\nold 1000 ", kKeyA, "\n\nnew 2000 ", kKeyB, "\n"));
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->SigningKeyAt(absl::FromUnixSeconds(1500)).kid, "old");
  EXPECT_EQ(keys->SigningKeyAt(absl::FromUnixSeconds(2000)).kid, "new");
  EXPECT_EQ(keys->SigningKeyAt(absl::FromUnixSeconds(10)).kid, "old") << "the earliest before any";
  ASSERT_NE(keys->Find("old"), nullptr);
  EXPECT_EQ(keys->Find("old")->secret, std::string(32, 'a'));
  EXPECT_EQ(keys->Find("other"), nullptr);
  auto again = TokenKeys::Parse(keys->Format());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->keys().size(), 2u);
  EXPECT_EQ(again->keys().front().kid, "new");
}

TEST(TokenKeysTest, AWrongLineIsNamed) {
  const struct {
    std::string text;
    std::string says;
  } cases[] = {
      {"", "no key"},
      {absl::StrCat("a 1 ", kKeyA, "\nb 2\n"), "line 2"},
      {absl::StrCat("a 1 ", kKeyA, "\na 2 ", kKeyB), "twice"},
      {absl::StrCat("a/b 1 ", kKeyA), "kid"},
      {absl::StrCat("a soon ", kKeyA), "seconds"},
      {absl::StrCat("a 1 ", Base64UrlEncode("short")), "32 bytes"},
  };
  for (const auto& c : cases) {
    auto parsed = TokenKeys::Parse(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find(c.says), std::string::npos) << parsed.status();
  }
}

TEST(TokenKeysTest, RotationAddsALaterKeyAndDropsKeysWhoseTokensHaveExpired) {
  const absl::Time t0 = absl::FromUnixSeconds(1'000'000);
  const absl::Duration lifetime = absl::Hours(1);
  TokenKeys keys;
  keys.Rotate(t0, absl::Minutes(5), lifetime);
  ASSERT_EQ(keys.keys().size(), 1u);
  const std::string first = keys.keys()[0].kid;
  EXPECT_EQ(keys.keys()[0].secret.size(), 32u);

  keys.Rotate(t0 + absl::Hours(10), absl::Minutes(5), lifetime);
  ASSERT_EQ(keys.keys().size(), 2u);
  const std::string second = keys.keys()[0].kid;
  EXPECT_NE(second, first);
  // The first still signs until the second's start, so that every instance has it.
  EXPECT_EQ(keys.SigningKeyAt(t0 + absl::Hours(10) + absl::Minutes(4)).kid, first);
  EXPECT_EQ(keys.SigningKeyAt(t0 + absl::Hours(10) + absl::Minutes(5)).kid, second);

  // Rotating again soon after keeps the first: tokens it signed may still be live.
  keys.Rotate(t0 + absl::Hours(10) + absl::Minutes(30), absl::Minutes(5), lifetime);
  EXPECT_EQ(keys.keys().size(), 3u);
  EXPECT_NE(keys.Find(first), nullptr);
  // Once the first stopped signing more than a token lifetime ago, it goes.
  keys.Rotate(t0 + absl::Hours(12), absl::Minutes(5), lifetime);
  EXPECT_EQ(keys.Find(first), nullptr);
  EXPECT_EQ(keys.Find(second), nullptr) << "the second stopped at 10h35m";
  EXPECT_EQ(keys.keys().size(), 2u);
}

TEST(TokenKeysTest, AnAuthenticatorFollowsTheFileAndRefusesTokensOfARemovedKey) {
  char dir[] = "/tmp/coplan-token-keys-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string file = std::string(dir) + "/keys";
  const absl::Time now = absl::Now();
  const int64_t past = absl::ToUnixSeconds(now) - 100;
  std::ofstream(file) << "old " << past << " " << kKeyA << "\n";
  AuthOptions options;
  options.token_key = std::string(32, 'm');
  options.token_key_file = file;
  options.token_key_file_recheck = absl::ZeroDuration();
  auto auth = Authenticator::Create(options, nullptr);
  ASSERT_TRUE(auth.ok()) << auth.status();
  const std::string by_old = (*auth)->IssueToken("p1", "s1", now, now + absl::Minutes(5));
  EXPECT_NE(ParseJwt(by_old)->header.value("kid", ""), "");
  ASSERT_TRUE((*auth)->Authenticate("Bearer " + by_old, now).ok());
  // A token of the master-derived key (an earlier version's) is not accepted with a file.
  AuthOptions plain;
  plain.token_key = std::string(32, 'm');
  auto master = Authenticator::Create(plain, nullptr);
  ASSERT_TRUE(master.ok());
  const std::string by_master = (*master)->IssueToken("p1", "s1", now, now + absl::Minutes(5));
  ASSERT_TRUE((*master)->Authenticate("Bearer " + by_master, now).ok());
  EXPECT_EQ((*auth)->Authenticate("Bearer " + by_master, now).status().code(),
            absl::StatusCode::kUnauthenticated);

  // A new key that already signs: new tokens carry it, the old key's still verify.
  {
    std::ofstream out(file);
    out << "new " << past + 50 << " " << kKeyB << "\nold " << past << " " << kKeyA << "\n";
  }
  const std::string by_new = (*auth)->IssueToken("p1", "s2", now, now + absl::Minutes(5));
  EXPECT_EQ(ParseJwt(by_new)->header.value("kid", ""), "new");
  EXPECT_TRUE((*auth)->Authenticate("Bearer " + by_new, now).ok());
  EXPECT_TRUE((*auth)->Authenticate("Bearer " + by_old, now).ok());

  // The old key removed (leaked): its tokens stop at the next check, cached ones too.
  std::ofstream(file) << "new " << past + 50 << " " << kKeyB << "\n";
  auto refused = (*auth)->Authenticate("Bearer " + by_old, now);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(refused.status().message().find("no longer accepts"), std::string::npos);
  EXPECT_TRUE((*auth)->Authenticate("Bearer " + by_new, now).ok());
  // A file that no longer parses keeps the keys read before.
  std::ofstream(file) << "garbage\n";
  EXPECT_TRUE((*auth)->Authenticate("Bearer " + by_new, now).ok());
  const std::string still = (*auth)->IssueToken("p1", "s3", now, now + absl::Minutes(5));
  EXPECT_EQ(ParseJwt(still)->header.value("kid", ""), "new");
  // Without a file at the start, the server does not start.
  AuthOptions missing = options;
  missing.token_key_file = file + ".absent";
  EXPECT_EQ(Authenticator::Create(missing, nullptr).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace coplan
