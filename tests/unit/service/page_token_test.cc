// Page tokens: round trips, and refusal of forged tokens, of tokens of another server key,
// another caller or another query.
#include "server/service/page_token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/common/crypto.h"

namespace coplan {
namespace {

Caller Person(const std::string& id) {
  Caller caller;
  caller.person_id = id;
  return caller;
}

TEST(PageTokenTest, RoundTripsAndRejectsForgedOrForeignTokens) {
  const PageTokens tokens(std::string(32, 'k'));
  const Caller alex = Person("alex");
  const std::string token = tokens.Encode(alex, {"123", "abc"}, "query-1");
  auto cursor = tokens.Decode(alex, token, "query-1", 2);
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  EXPECT_EQ(cursor->Int(0), 123);
  EXPECT_EQ(cursor->Text(1), "abc");
  EXPECT_EQ(tokens.Decode(alex, token, "query-2", 2).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tokens.Decode(alex, "garbage!", "query-1", 2).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tokens.Decode(alex, token, "query-1", 3).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PageSize(0, 20, 100).value(), 20);
  EXPECT_EQ(PageSize(1000, 20, 100).value(), 100);
  EXPECT_FALSE(PageSize(-1, 20, 100).ok());
}

TEST(PageTokenTest, ATokenIsBoundToTheCallerAndCannotBeMadeWithoutTheServersKey) {
  const PageTokens tokens(std::string(32, 'k'));
  const std::string token = tokens.Encode(Person("alex"), {"42"}, "q");
  // Someone else presenting Alex's token.
  EXPECT_EQ(tokens.Decode(Person("sam"), token, "q", 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A server with another key.
  const PageTokens other(std::string(32, 'o'));
  EXPECT_EQ(other.Decode(Person("alex"), token, "q", 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A token built by hand, as the old unkeyed checksum allowed: its own body with a
  // SHA-256 check, or the real token with a different position spliced in.
  std::string decoded;
  ASSERT_TRUE(Base64UrlDecode(token, &decoded));
  const std::string forged_body = "0";
  const std::string spliced = Base64UrlEncode(decoded.substr(0, 16) + forged_body);
  EXPECT_EQ(tokens.Decode(Person("alex"), spliced, "q", 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::string unkeyed =
      Base64UrlEncode(Sha256(forged_body + "\nq").substr(0, 16) + forged_body);
  EXPECT_EQ(tokens.Decode(Person("alex"), unkeyed, "q", 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace coplan
