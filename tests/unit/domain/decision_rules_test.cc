// Decision records: SURE scoring.
#include "server/domain/decision_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coplan/v1/decision.pb.h"

namespace coplan {
namespace {

TEST(DecisionRulesTest, SureScoresOnlyCompleteTestsAndFlagsThreeOrLess) {
  v1::SureTest sure;
  EXPECT_FALSE(ScoreSure(sure).complete);
  sure.set_sure_of_best_choice(v1::SURE_ANSWER_YES);
  sure.set_understands_benefits_and_risks(v1::SURE_ANSWER_YES);
  sure.set_clear_about_what_matters(v1::SURE_ANSWER_YES);
  EXPECT_FALSE(ScoreSure(sure).decisional_conflict);  // incomplete: no verdict
  sure.set_enough_support(v1::SURE_ANSWER_NO);
  EXPECT_EQ(ScoreSure(sure).score, 3);
  EXPECT_TRUE(ScoreSure(sure).decisional_conflict);
  sure.set_enough_support(v1::SURE_ANSWER_YES);
  EXPECT_EQ(ScoreSure(sure).score, 4);
  EXPECT_FALSE(ScoreSure(sure).decisional_conflict);
}

}  // namespace
}  // namespace coplan
