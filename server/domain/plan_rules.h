// Rules of care plans and crisis plans:
// - exactly one of care_plan or crisis_plan, and it never changes;
// - withholdings name real parts of the plan;
// - an advance decision to refuse treatment only for a person aged 18 or over (birth date
//   on record), with the treatment, circumstances, signature and witness all recorded;
// - review_overdue is computed from the review date.
#pragma once

#include "server/domain/document_rules.h"

namespace coplan {

class PlanRules : public DocumentRules {
 public:
  Collection collection() const override { return Collection::kPlans; }
  const char* noun() const override { return "plan"; }
  std::unique_ptr<google::protobuf::Message> New() const override;
  coplan::v1::DocumentKind KindOf(const google::protobuf::Message& document) const override;
  absl::Status Check(const google::protobuf::Message& document,
                     const DocumentContext& context) const override;
  void Decorate(google::protobuf::Message& document, absl::CivilDay today) const override;
};

}  // namespace coplan
