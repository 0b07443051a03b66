// Field rules: lengths in code points, ranges, enums, required fields and resource
// patterns, output-only fields, and item ids.
#include "server/domain/field_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coplan/v1/plan.pb.h"
#include "google/rpc/error_details.pb.h"
#include "server/common/errors.h"

namespace coplan {
namespace {

std::string FirstField(const absl::Status& status) {
  google::rpc::BadRequest bad;
  return ReadDetail(status, bad) && bad.field_violations_size() ? bad.field_violations(0).field()
                                                                : "";
}

TEST(FieldRulesTest, CountsCodePointsNotBytes) {
  v1::TextItem item;
  item.set_id("a");
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "é";  // 2 bytes each
  item.set_text(text);
  EXPECT_TRUE(ValidateFields(item, "item").ok());
  item.set_text(text + "é");
  EXPECT_EQ(FirstField(ValidateFields(item, "item")), "item.text");
}

TEST(FieldRulesTest, ChecksRangesEnumsRequiredAndResourcePatterns) {
  v1::DialogRating rating;
  rating.set_domain(v1::DIALOG_DOMAIN_MEDICATION);
  rating.set_score(8);
  EXPECT_EQ(FirstField(ValidateFields(rating, "r")), "r.score");
  rating.set_score(7);
  EXPECT_TRUE(ValidateFields(rating, "r").ok());
  rating.set_domain(v1::DIALOG_DOMAIN_UNSPECIFIED);
  EXPECT_EQ(FirstField(ValidateFields(rating, "r")), "r.domain");  // required
  v1::KeyWorker worker;
  worker.set_person("not-a-name");
  EXPECT_EQ(FirstField(ValidateFields(worker, "k")), "k.person");
  worker.set_person("people/sam");
  EXPECT_TRUE(ValidateFields(worker, "k").ok());
}

TEST(FieldRulesTest, OutputOnlyFieldsAreClearedAndIdsAssignedUniquely) {
  v1::Plan plan;
  plan.set_revision(99);
  plan.mutable_care_plan()->set_review_overdue(true);
  for (int i = 0; i < 30; ++i) plan.mutable_care_plan()->add_goals()->set_description("g");
  plan.mutable_care_plan()->mutable_goals(3)->set_id("kept");
  ClearOutputOnlyFields(plan);
  AssignItemIds(plan);
  EXPECT_EQ(plan.revision(), 0);
  EXPECT_FALSE(plan.care_plan().review_overdue());
  std::set<std::string> ids;
  for (const auto& goal : plan.care_plan().goals()) ids.insert(goal.id());
  EXPECT_EQ(ids.size(), 30u);
  EXPECT_EQ(plan.care_plan().goals(3).id(), "kept");
}

}  // namespace
}  // namespace coplan
