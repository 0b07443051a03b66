// Page tokens: round trips, and refusal of forged or foreign tokens.
#include "server/service/page_token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace coplan {
namespace {

TEST(PageTokenTest, RoundTripsAndRejectsForgedOrForeignTokens) {
  const std::string token = EncodePageToken({"123", "abc"}, "query-1");
  auto cursor = DecodePageToken(token, "query-1", 2);
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(cursor->Int(0), 123);
  EXPECT_EQ(cursor->Text(1), "abc");
  EXPECT_EQ(DecodePageToken(token, "query-2", 2).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodePageToken("garbage!", "query-1", 2).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodePageToken(token, "query-1", 3).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PageSize(0, 20, 100).value(), 20);
  EXPECT_EQ(PageSize(1000, 20, 100).value(), 100);
  EXPECT_FALSE(PageSize(-1, 20, 100).ok());
}

}  // namespace
}  // namespace coplan
