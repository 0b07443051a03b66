// Decision records (made from a published grid version, edited like plans), CollaboRATE
// responses and their aggregate results, and the clinician's caseload of decisions.
//
// Standard reads and writes of decision records go through DocumentService (the same
// engine, access rules and audit as plans; decision_collection.h is what the records add
// there); this service adds the calls particular to decisions.
#pragma once

#include "absl/status/statusor.h"
#include "coplan/v1/decision_service.pb.h"
#include "server/domain/decision_rules.h"
#include "server/service/access_gate.h"
#include "server/service/audit_log.h"
#include "server/service/caller.h"
#include "server/service/document_service.h"
#include "server/service/page_token.h"
#include "server/store/decision_store.h"
#include "server/store/grid_store.h"

namespace coplan {

class DecisionService {
 public:
  // Below this many responses a CollaboRATE result is not reported (Elwyn et al.).

  DecisionService(Database& db, DocumentService& documents, AccessGate& gate,
                  const PageTokens& page_tokens, DecisionStore& store, GridStore& grids,
                  const DecisionRules& rules, AuditLog& audit);

  absl::StatusOr<DocumentPtr> Create(const Caller& caller,
                                     const coplan::v1::CreateDecisionRecordRequest& request);
  absl::StatusOr<coplan::v1::CollaborateResponse> CreateCollaborateResponse(
      const Caller& caller, const coplan::v1::CreateCollaborateResponseRequest& request);
  // The person's own CollaboRATE answers (for their personal data export): the person
  // only, since answers are never shown one by one to anyone else.
  absl::StatusOr<std::vector<coplan::v1::CollaborateResponse>> ListOwnCollaborateResponses(
      const Caller& caller);
  absl::StatusOr<coplan::v1::CollaborateSummary> GetCollaborateSummary(const Caller& caller,
                                                                       const std::string& subject);
  absl::StatusOr<coplan::v1::ListCaseloadDecisionsResponse> ListCaseload(
      const Caller& caller, const coplan::v1::ListCaseloadDecisionsRequest& request);

 private:
  Database& db_;
  DocumentService& documents_;
  AccessGate& gate_;
  const PageTokens& page_tokens_;
  DecisionStore& store_;
  GridStore& grids_;
  const DecisionRules& rules_;
  AuditLog& audit_;
};

}  // namespace coplan
