// Option grid publishing checks (IPDAS, NICE).
#include "server/domain/grid_quality.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coplan/v1/option_grid.pb.h"

namespace coplan {
namespace {

using ::testing::UnorderedElementsAre;

TEST(GridQualityTest, ReportsEveryProblemAtOnce) {
  v1::OptionGrid grid;
  grid.add_options()->set_id("a");
  auto* question = grid.add_questions();
  question->set_id("q");
  auto* answer = question->add_answers();
  answer->set_id("x");
  answer->set_option_id("b");
  answer->add_source_ids("s");
  const GridCheck check = CheckForPublishing(grid, absl::CivilDay(2026, 1, 1), 12);
  std::vector<std::string> types;
  for (const auto& problem : check.problems) types.push_back(problem.type);
  EXPECT_THAT(types,
              UnorderedElementsAre("MISSING_DECISION_QUESTION", "TOO_FEW_OPTIONS", "UNKNOWN_OPTION",
                                   "UNKNOWN_SOURCE", "MISSING_ANSWER", "NO_SOURCES", "NO_AUTHORS",
                                   "MISSING_FUNDING", "MISSING_CONFLICT_OF_INTEREST",
                                   "MISSING_LAST_REVIEW_DATE", "MISSING_NEXT_REVIEW_DATE"));
}

}  // namespace
}  // namespace coplan
