// Edit paths: parsing, and overlap by segment.
#include "server/domain/document_paths.h"

#include <gtest/gtest.h>

namespace coplan {
namespace {

TEST(DocumentPathsTest, OverlapIsBySegmentNotByPrefixOfText) {
  EXPECT_TRUE(PathsOverlap("care_plan.goals", "care_plan.goals[g1].steps[s].text"));
  EXPECT_TRUE(PathsOverlap("care_plan.goals[g1]", "care_plan.goals[g1]@position"));
  EXPECT_FALSE(PathsOverlap("care_plan.goals[g1]", "care_plan.goals[g10]"));
  EXPECT_FALSE(PathsOverlap("title", "title2"));
  EXPECT_FALSE(PathsOverlap("care_plan.goals[g1].description", "care_plan.goals[g1]@position"));
}

}  // namespace
}  // namespace coplan
