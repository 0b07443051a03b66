// The connection pool's statement timeouts.
#include "server/store/database.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace coplan {
namespace {

TEST(DatabaseTest, StatementTimeoutsRoundDownToStepsAndNeverExceedTheDeadline) {
  EXPECT_EQ(StatementTimeoutStepMs(absl::Milliseconds(9990), absl::Seconds(30)), 5000);
  EXPECT_EQ(StatementTimeoutStepMs(absl::Milliseconds(1999), absl::Seconds(30)), 1000);
  EXPECT_EQ(StatementTimeoutStepMs(absl::Milliseconds(250), absl::Seconds(30)), 200);
  EXPECT_EQ(StatementTimeoutStepMs(absl::Milliseconds(5), absl::Seconds(30)), 10);
  EXPECT_EQ(StatementTimeoutStepMs(absl::Hours(1), absl::Seconds(30)), 30000);
}

}  // namespace
}  // namespace coplan
