#include "server/service/decision_service.h"

#include "absl/strings/str_cat.h"
#include "coplan/v1/decision.pb.h"
#include "server/common/errors.h"
#include "server/common/ids.h"
#include "server/common/status_macros.h"
#include "server/domain/access_policy.h"
#include "server/domain/decision_rules.h"
#include "server/domain/field_rules.h"
#include "server/domain/withholding.h"
#include "server/service/call_audit.h"
#include "server/service/option_grid_service.h"
#include "server/service/page_token.h"
#include "server/store/database.h"

namespace coplan {

DecisionService::DecisionService(Database& db, DocumentService& documents, AccessGate& gate,
                                 const PageTokens& page_tokens, DecisionStore& store,
                                 GridStore& grids, const DecisionRules& rules, AuditLog& audit)
    : db_(db),
      documents_(documents),
      gate_(gate),
      page_tokens_(page_tokens),
      store_(store),
      grids_(grids),
      rules_(rules),
      audit_(audit) {}

absl::StatusOr<DocumentPtr> DecisionService::Create(
    const Caller& caller, const v1::CreateDecisionRecordRequest& request) {
  if (!request.has_decision_record()) return InvalidFieldError("decision_record", "is required");
  auto record = std::make_unique<v1::DecisionRecord>(request.decision_record());
  const std::string field = "decision_record.option_grid_version";
  if (record->option_grid_version().empty()) return InvalidFieldError(field, "is required");
  COPLAN_RETURN_IF_ERROR(ParseGridVersionName(record->option_grid_version(), field).status());
  v1::OptionGridVersion version;
  absl::Status loaded = db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(
        version, LoadPublishedVersion(grids_, tx, record->option_grid_version(), caller.today()));
    return absl::OkStatus();
  });
  if (loaded.code() == absl::StatusCode::kNotFound) {
    return InvalidFieldError(field, "is not a published option grid version");
  }
  COPLAN_RETURN_IF_ERROR(loaded);
  // "latest" is pinned to the version it is now: a decision never moves to another.
  record->set_option_grid_version(version.name());
  record->set_title(version.grid().decision_question());
  if (record->status() == v1::DECISION_STATUS_UNSPECIFIED) {
    record->set_status(v1::DECISION_STATUS_IN_PROGRESS);
  }
  return documents_.Create(caller, Collection::kDecisions, request.parent(), std::move(record),
                           request.decision_record_id(), "decision_record");
}

absl::StatusOr<v1::CollaborateResponse> DecisionService::CreateCollaborateResponse(
    const Caller& caller, const v1::CreateCollaborateResponseRequest& request) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(DocumentName decision,
                          ParseDocumentName(request.parent(), Collection::kDecisions, "parent"));
  v1::CollaborateResponse response = request.collaborate_response();
  ClearOutputOnlyFields(response);
  COPLAN_RETURN_IF_ERROR(PrefixFieldErrors(ValidateFields(response, ""), "collaborate_response."));
  COPLAN_ASSIGN_OR_RETURN(std::string clinician_id,
                          ParsePersonName(response.clinician(), "collaborate_response.clinician"));
  const std::string id = NewResourceId();
  const std::string resource = absl::StrCat(request.parent(), "/collaborateResponses/", id);
  absl::Status status = db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    DocumentEntry entry{DocumentNeed::kOwner, v1::AUDIT_ACTION_CREATE, resource};
    entry.refusal = "only the person who made the decision answers CollaboRATE";
    COPLAN_ASSIGN_OR_RETURN(OpenDocument open, gate_.Lock(tx, caller, decision, entry, &audit));
    const auto& record = static_cast<const v1::DecisionRecord&>(*open.body);
    if (open.row.delete_time || (record.status() != v1::DECISION_STATUS_DECIDED &&
                                 record.status() != v1::DECISION_STATUS_CLOSED)) {
      return FailedPreconditionError("CollaboRATE is answered after the decision has been made");
    }
    std::optional<std::string> team =
        store_.CareTeamClinicianTeam(tx, decision.person_id, clinician_id);
    if (!team) {
      return InvalidFieldError("collaborate_response.clinician",
                               "is not a clinician in your care team");
    }
    COPLAN_RETURN_IF_ERROR(store_.InsertCollaborate(tx, id, open.row.key, decision.person_id,
                                                    clinician_id, *team, response));
    audit.Write(tx, decision.person_id, v1::AUDIT_ACTION_CREATE, resource);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  response.set_name(resource);
  *response.mutable_create_time() = ToTimestamp(caller.now);
  return response;
}

absl::StatusOr<std::vector<v1::CollaborateResponse>> DecisionService::ListOwnCollaborateResponses(
    const Caller& caller) {
  CallAudit audit(audit_, caller);
  const std::string resource = caller.person_name() + "/collaborateResponses";
  std::vector<v1::CollaborateResponse> responses;
  absl::Status status = db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    COPLAN_RETURN_IF_ERROR(
        gate_.Person(tx, caller, caller.person_id, {PersonNeed::kSignedIn}, &audit).status());
    responses = store_.CollaborateResponsesOf(tx, caller.person_id);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  COPLAN_RETURN_IF_ERROR(audit.Read(caller.person_id, resource));
  return responses;
}

absl::StatusOr<v1::CollaborateSummary> DecisionService::GetCollaborateSummary(
    const Caller& caller, const std::string& subject) {
  const bool team = subject.rfind("teams/", 0) == 0;
  std::string id;
  if (team) {
    COPLAN_ASSIGN_OR_RETURN(std::vector<std::string> parts,
                            ParseName(subject, "teams/{team}", "subject"));
    id = parts[0];
  } else {
    COPLAN_ASSIGN_OR_RETURN(id, ParsePersonName(subject, "subject"));
  }
  AccessFacts facts;
  CollaborateCounts counts;
  COPLAN_RETURN_IF_ERROR(db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(facts, gate_.Person(tx, caller, caller.person_id,
                                                {PersonNeed::kSignedIn}, /*audit=*/nullptr));
    counts = team ? store_.CountForTeam(tx, id) : store_.CountForClinician(tx, id);
    return absl::OkStatus();
  }));
  const bool allowed =
      facts.actor.administrator || (team ? facts.actor.clinician && facts.actor.team_id == id
                                         : caller.person_id == id && facts.actor.clinician);
  if (!allowed) {
    return PermissionDeniedError(team ? "only the team's clinicians see its CollaboRATE results"
                                      : "clinicians see only their own CollaboRATE results");
  }
  v1::CollaborateSummary summary;
  summary.set_subject(subject);
  const CollaborateReport report = ReportCollaborate(counts.responses, counts.top_scores_in_band);
  summary.set_response_count(report.band);
  summary.set_minimum_responses(kMinimumCollaborateResponses);
  summary.set_reportable(report.reportable);
  summary.set_top_score_percent(report.top_score_percent);
  return summary;
}

absl::StatusOr<v1::ListCaseloadDecisionsResponse> DecisionService::ListCaseload(
    const Caller& caller, const v1::ListCaseloadDecisionsRequest& request) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(int limit, PageSize(request.page_size(), 50, 200));
  const std::string fingerprint =
      absl::StrCat(request.decisional_conflict_only(), "|", request.follow_up_overdue_only());
  int64_t after = 0;
  if (!request.page_token().empty()) {
    COPLAN_ASSIGN_OR_RETURN(PageCursor cursor,
                            page_tokens_.Decode(caller, request.page_token(), fingerprint, 1));
    after = cursor.Int(0);
  }
  std::vector<CaseloadRow> rows;
  absl::Status status = db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    const auto entry = PersonEntry::For(PersonNeed::kClinician, v1::AUDIT_ACTION_READ,
                                        caller.person_name() + "/caseload", "",
                                        "the caseload view is for clinicians");
    COPLAN_RETURN_IF_ERROR(gate_.Person(tx, caller, caller.person_id, entry, &audit).status());
    rows = store_.Caseload(tx, caller.person_id, after, limit + 1);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  v1::ListCaseloadDecisionsResponse response;
  const bool more = TrimToPage(rows, limit);
  for (const CaseloadRow& row : rows) {
    v1::DecisionRecord record;
    if (!record.ParseFromString(row.body)) {
      return absl::InternalError("a stored decision record could not be decoded");
    }
    // What the person withholds from this clinician stays withheld here too.
    ApplyWithholdings(record, caller.person_name(), /*keep_list=*/false);
    rules_.Decorate(record, caller.today());
    const SureResult sure = ScoreSure(record.sure());
    if (request.decisional_conflict_only() && !sure.decisional_conflict) continue;
    if (request.follow_up_overdue_only() && !record.follow_up_overdue()) continue;
    DocumentName name{row.person_id, Collection::kDecisions, row.document_id};
    auto* entry = response.add_decisions();
    entry->set_decision(FormatDocumentName(name));
    entry->set_person(PersonName(row.person_id));
    entry->set_person_display_name(row.person_display_name);
    entry->set_title(record.title());
    entry->set_stage(record.stage());
    entry->set_status(record.status());
    entry->set_sure_complete(sure.complete);
    entry->set_sure_score(sure.score);
    entry->set_decisional_conflict(sure.decisional_conflict);
    *entry->mutable_follow_up_date() = record.follow_up_date();
    entry->set_follow_up_overdue(record.follow_up_overdue());
    COPLAN_RETURN_IF_ERROR(audit.Read(row.person_id, entry->decision()));
  }
  if (more)
    response.set_next_page_token(
        page_tokens_.Encode(caller, {absl::StrCat(rows.back().document_key)}, fingerprint));
  return response;
}

}  // namespace coplan
