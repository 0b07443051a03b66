#include "server/domain/plan_rules.h"

#include "coplan/v1/plan.pb.h"
#include "server/common/errors.h"
#include "server/common/proto_time.h"
#include "server/common/status_macros.h"
#include "server/domain/withholding.h"

namespace coplan {
namespace {

bool IsEmpty(const v1::AdvanceDecision& decision) { return decision.ByteSizeLong() == 0; }

absl::Status CheckAdvanceDecision(const v1::AdvanceDecision& decision,
                                  const DocumentContext& context) {
  const char* field = "crisis_plan.advance_decision";
  if (!context.subject_birth_date) {
    return InvalidFieldError(field,
                             "an advance decision to refuse treatment needs the person's date of "
                             "birth on record (it is only valid from age 18)");
  }
  if (AgeOn(*context.subject_birth_date, context.today) < 18) {
    return InvalidFieldError(field,
                             "an advance decision to refuse treatment can only be made by an "
                             "adult (18 or over); record wishes and refusals in "
                             "wishes_if_unwell / refusals_if_unwell instead");
  }
  struct Required {
    bool present;
    const char* name;
  };
  const Required required[] = {
      {!decision.treatment_refused().empty(), "crisis_plan.advance_decision.treatment_refused"},
      {!decision.circumstances().empty(), "crisis_plan.advance_decision.circumstances"},
      {!decision.signed_by().empty(), "crisis_plan.advance_decision.signed_by"},
      {IsSet(decision.signed_on()), "crisis_plan.advance_decision.signed_on"},
      {!decision.witnessed_by().empty(), "crisis_plan.advance_decision.witnessed_by"},
      {IsSet(decision.witnessed_on()), "crisis_plan.advance_decision.witnessed_on"},
  };
  for (const auto& r : required) {
    if (!r.present) {
      return InvalidFieldError(r.name, "is required in an advance decision (signed and witnessed)");
    }
  }
  if (IsSet(decision.signed_on()) && ToCivilDay(decision.signed_on()) > context.today) {
    return InvalidFieldError("crisis_plan.advance_decision.signed_on", "is in the future");
  }
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<google::protobuf::Message> PlanRules::New() const {
  return std::make_unique<v1::Plan>();
}

v1::DocumentKind PlanRules::KindOf(const google::protobuf::Message& document) const {
  const auto& plan = static_cast<const v1::Plan&>(document);
  switch (plan.content_case()) {
    case v1::Plan::kCarePlan:
      return v1::DOCUMENT_KIND_CARE_PLAN;
    case v1::Plan::kCrisisPlan:
      return v1::DOCUMENT_KIND_CRISIS_PLAN;
    default:
      return v1::DOCUMENT_KIND_UNSPECIFIED;
  }
}

absl::Status PlanRules::Check(const google::protobuf::Message& document,
                              const DocumentContext& context) const {
  const auto& plan = static_cast<const v1::Plan&>(document);
  if (plan.content_case() == v1::Plan::CONTENT_NOT_SET) {
    return InvalidFieldError("content", "set either care_plan or crisis_plan");
  }
  COPLAN_RETURN_IF_ERROR(ValidateWithholdingPaths(plan));
  if (plan.has_crisis_plan() && plan.crisis_plan().has_advance_decision() &&
      !IsEmpty(plan.crisis_plan().advance_decision())) {
    COPLAN_RETURN_IF_ERROR(CheckAdvanceDecision(plan.crisis_plan().advance_decision(), context));
  }
  return absl::OkStatus();
}

void PlanRules::Decorate(google::protobuf::Message& document, absl::CivilDay today) const {
  auto& plan = static_cast<v1::Plan&>(document);
  if (plan.has_care_plan()) {
    auto* care = plan.mutable_care_plan();
    care->set_review_overdue(IsSet(care->review_date()) && ToCivilDay(care->review_date()) < today);
  }
}

}  // namespace coplan
