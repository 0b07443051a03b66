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

TEST(DecisionRulesTest, CollaborateIsBandedAndRoundedSoOneResponseNeverShows) {
  EXPECT_EQ(CollaborateBand(24), 20);
  EXPECT_EQ(CollaborateBand(25), 25);
  EXPECT_FALSE(ReportCollaborate(24, 20).reportable);
  EXPECT_EQ(ReportCollaborate(24, 20).top_score_percent, 0);
  EXPECT_EQ(ReportCollaborate(25, 11).top_score_percent, 40);  // 44%
  EXPECT_EQ(ReportCollaborate(25, 12).top_score_percent, 50);  // 48%
  EXPECT_EQ(ReportCollaborate(30, 0).top_score_percent, 0);
  EXPECT_EQ(ReportCollaborate(30, 30).top_score_percent, 100);
  // Any count within one band gives the same answer: adding responses 26 to 29 (the
  // band's top scores are counted by the store over the first 25 only) shows nothing.
  for (int responses = 25; responses < 30; ++responses) {
    EXPECT_EQ(ReportCollaborate(responses, 11).band, 25);
    EXPECT_EQ(ReportCollaborate(responses, 11).top_score_percent, 40);
  }
}

}  // namespace
}  // namespace coplan
