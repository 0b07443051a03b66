// Update masks: implied masks, "*", and refused paths.
#include "server/domain/update_mask.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coplan/v1/plan.pb.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/rpc/error_details.pb.h"
#include "server/common/errors.h"

namespace coplan {
namespace {

using ::testing::ElementsAre;

TEST(UpdateMaskTest, ImpliedMaskDescendsIntoMessagesAndChangedPathsAreFine) {
  v1::Plan stored;
  auto* care = stored.mutable_care_plan();
  care->mutable_about_me()->set_what_matters("a");
  care->mutable_about_me()->set_communication("b");
  auto* goal = care->add_goals();
  goal->set_id("g1");
  goal->set_description("old");
  v1::Plan request;
  request.mutable_care_plan()->mutable_about_me()->set_what_matters("A");
  auto update = ApplyUpdateMask(stored, request, {}, "plan");
  ASSERT_TRUE(update.ok()) << update.status();
  EXPECT_EQ(stored.care_plan().about_me().communication(), "b");  // not in the implied mask
  EXPECT_THAT(update->changed_paths, ElementsAre("care_plan.about_me.what_matters"));

  v1::Plan with_goals = stored;
  with_goals.mutable_care_plan()->mutable_goals(0)->set_description("new");
  google::protobuf::FieldMask mask;
  mask.add_paths("care_plan.goals");
  update = ApplyUpdateMask(stored, with_goals, mask, "plan");
  ASSERT_TRUE(update.ok());
  EXPECT_THAT(update->changed_paths, ElementsAre("care_plan.goals[g1].description"));
  ASSERT_EQ(update->operations.size(), 1u);
  EXPECT_EQ(update->operations[0].set_field().path(), "care_plan.goals");
}

TEST(UpdateMaskTest, StarReplacesEditableFieldsOnlyAndRefusesBadPaths) {
  v1::Plan stored;
  stored.set_title("t");
  stored.mutable_crisis_plan()->add_warning_signs()->set_text("x");
  v1::Plan request;
  request.mutable_crisis_plan();
  google::protobuf::FieldMask star;
  star.add_paths("*");
  ASSERT_TRUE(ApplyUpdateMask(stored, request, star, "plan").ok());
  EXPECT_EQ(stored.title(), "");
  EXPECT_EQ(stored.crisis_plan().warning_signs_size(), 0);
  for (const char* bad :
       {"name", "revision", "care_plan.goals[x]", "nope", "crisis_plan.warning_signs.text"}) {
    google::protobuf::FieldMask mask;
    mask.add_paths(bad);
    EXPECT_EQ(ApplyUpdateMask(stored, request, mask, "plan").status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

}  // namespace
}  // namespace coplan
