// Update masks: implied masks, "*", refused paths, and the limits that bound their cost.
#include "server/domain/update_mask.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_join.h"
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

// The field a BadRequest names (empty when there is none).
std::string FieldOf(const absl::Status& status) {
  google::rpc::BadRequest bad;
  if (!ReadDetail(status, bad) || bad.field_violations().empty()) return "";
  return bad.field_violations(0).field();
}

TEST(UpdateMaskTest, AMaskPastItsLimitsOrNamingAFieldTwiceIsRefusedBeforeAnyWork) {
  google::protobuf::FieldMask many;
  for (int i = 0; i < kMaxUpdateMaskPaths + 1; ++i) many.add_paths("title");
  EXPECT_EQ(FieldOf(CheckUpdateMask(many)), "update_mask.paths");

  google::protobuf::FieldMask long_path;
  long_path.add_paths("title");
  long_path.add_paths(std::string(kMaxUpdateMaskPathLength + 1, 'a'));
  EXPECT_EQ(FieldOf(CheckUpdateMask(long_path)), "update_mask.paths[1]");

  struct Case {
    std::vector<std::string> paths;
    std::string field;  // empty: accepted
  };
  for (const Case& c : std::vector<Case>{
           {{"title", "title"}, "update_mask.paths[1]"},
           {{"crisis_plan", "title", "crisis_plan.warning_signs"}, "update_mask.paths[2]"},
           {{"crisis_plan.warning_signs", "crisis_plan"}, "update_mask.paths[1]"},
           {{"crisis_plan.warning_signs", "crisis_plan.warning_signs_extra"}, ""},
           {{"care_plan.goals", "crisis_plan.warning_signs", "title"}, ""},
       }) {
    google::protobuf::FieldMask mask;
    for (const auto& path : c.paths) mask.add_paths(path);
    EXPECT_EQ(FieldOf(CheckUpdateMask(mask)), c.field) << absl::StrJoin(c.paths, ",");
  }

  // ApplyUpdateMask makes the same check first: the stored document is untouched.
  v1::Plan stored;
  stored.set_title("kept");
  v1::Plan request;
  request.set_title("changed");
  google::protobuf::FieldMask twice;
  twice.add_paths("title");
  twice.add_paths("title");
  absl::StatusOr<MaskedUpdate> refused = ApplyUpdateMask(stored, request, twice, "plan");
  EXPECT_EQ(FieldOf(refused.status()), "update_mask.paths[1]");
  EXPECT_EQ(stored.title(), "kept");
}

TEST(UpdateMaskTest, EachMaskedFieldIsTakenFromTheRequestOnce) {
  v1::Plan stored;
  stored.set_title("old");
  stored.mutable_crisis_plan()->add_warning_signs()->set_text("old sign");
  v1::Plan request;
  request.set_title("new");
  request.mutable_crisis_plan()->add_warning_signs()->set_text("new sign");
  request.mutable_crisis_plan()->add_coping_strategies()->set_text("walk");
  google::protobuf::FieldMask mask;
  mask.add_paths("crisis_plan.warning_signs");
  mask.add_paths("title");
  mask.add_paths("crisis_plan.coping_strategies");
  absl::StatusOr<MaskedUpdate> update = ApplyUpdateMask(stored, request, mask, "plan");
  ASSERT_TRUE(update.ok()) << update.status();
  EXPECT_EQ(stored.title(), "new");
  ASSERT_EQ(stored.crisis_plan().warning_signs_size(), 1);
  EXPECT_EQ(stored.crisis_plan().warning_signs(0).text(), "new sign");
  EXPECT_EQ(stored.crisis_plan().coping_strategies(0).text(), "walk");
  EXPECT_EQ(update->operations.size(), 3u);
  // The request itself is left as it was.
  EXPECT_EQ(request.title(), "new");
  EXPECT_EQ(request.crisis_plan().warning_signs(0).text(), "new sign");
}

}  // namespace
}  // namespace coplan
