#include "server/domain/nhs_number.h"

#include <gtest/gtest.h>

namespace coplan {
namespace {

TEST(NhsNumberTest, AcceptsValidNumbersWithOrWithoutSpaces) {
  // 943 476 5919 is NHS Digital's own example; 999 000 0050's check sum leaves no
  // remainder, so its check digit is 0 (11 read as 0). The 999 range is never issued.
  EXPECT_EQ(*NormalizeNhsNumber("943 476 5919", "nhs_number"), "9434765919");
  EXPECT_EQ(*NormalizeNhsNumber("9434765919", "nhs_number"), "9434765919");
  EXPECT_EQ(*NormalizeNhsNumber("9990000050", "nhs_number"), "9990000050");
}

TEST(NhsNumberTest, RefusesAWrongCheckDigitOrSwappedDigits) {
  for (const char* bad :
       {"9434765918", "9434765991" /* last two swapped */, "4934765919" /* first two swapped */}) {
    auto result = NormalizeNhsNumber(bad, "person.nhs_number");
    ASSERT_FALSE(result.ok()) << bad;
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(result.status().message().find("check digit"), std::string::npos);
  }
}

TEST(NhsNumberTest, RefusesNumbersWhoseCheckDigitWouldBeTen) {
  // 1000000010: weights give 10 + 2 = 12, 12 % 11 = 1, 11 - 1 = 10: never issued.
  EXPECT_FALSE(NormalizeNhsNumber("1000000010", "nhs_number").ok());
  EXPECT_FALSE(NormalizeNhsNumber("1000000011", "nhs_number").ok());
}

TEST(NhsNumberTest, RefusesWrongLengthsAndOtherCharacters) {
  for (const char* bad : {"", "943476591", "94347659190", "943-476-5919", "94347659l9"}) {
    auto result = NormalizeNhsNumber(bad, "nhs_number");
    ASSERT_FALSE(result.ok()) << bad;
    EXPECT_NE(result.status().message().find("10 digits"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace coplan
