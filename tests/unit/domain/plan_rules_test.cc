// Plan rules: advance decisions to refuse treatment.
#include "server/domain/plan_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coplan/v1/plan.pb.h"
#include "google/rpc/error_details.pb.h"
#include "server/common/errors.h"
#include "server/common/proto_time.h"

namespace coplan {
namespace {

std::string FirstField(const absl::Status& status) {
  google::rpc::BadRequest bad;
  return ReadDetail(status, bad) && bad.field_violations_size() ? bad.field_violations(0).field()
                                                                : "";
}

TEST(PlanRulesTest, AdvanceDecisionsOnlyForSignedWitnessedAdults) {
  PlanRules rules;
  v1::Plan plan;
  auto* decision = plan.mutable_crisis_plan()->mutable_advance_decision();
  decision->set_treatment_refused("ECT");
  decision->set_circumstances("always");
  decision->set_signed_by("Pat");
  *decision->mutable_signed_on() = ToDate(absl::CivilDay(2026, 1, 1));
  decision->set_witnessed_by("Lou");
  *decision->mutable_witnessed_on() = ToDate(absl::CivilDay(2026, 1, 1));
  DocumentContext adult{absl::CivilDay(2000, 1, 1), absl::CivilDay(2026, 2, 1), nullptr};
  EXPECT_TRUE(rules.Check(plan, adult).ok());
  DocumentContext minor{absl::CivilDay(2009, 1, 1), absl::CivilDay(2026, 2, 1), nullptr};
  EXPECT_EQ(FirstField(rules.Check(plan, minor)), "crisis_plan.advance_decision");
  DocumentContext unknown{std::nullopt, absl::CivilDay(2026, 2, 1), nullptr};
  EXPECT_EQ(rules.Check(plan, unknown).code(), absl::StatusCode::kInvalidArgument);
  decision->clear_witnessed_by();
  EXPECT_EQ(FirstField(rules.Check(plan, adult)), "crisis_plan.advance_decision.witnessed_by");
}

}  // namespace
}  // namespace coplan
