#include "server/service/decision_service.h"

#include "absl/strings/str_cat.h"
#include "coplan/v1/decision.pb.h"
#include "server/common/errors.h"
#include "server/common/ids.h"
#include "server/common/status_macros.h"
#include "server/domain/access_policy.h"
#include "server/domain/decision_rules.h"
#include "server/domain/field_rules.h"
#include "server/domain/page_token.h"
#include "server/domain/withholding.h"
#include "server/service/call_audit.h"
#include "server/store/access_facts_query.h"
#include "server/store/people_store.h"

namespace coplan {

DecisionService::DecisionService(Database& db, DocumentService& documents,
                                 DocumentStore& document_store, DecisionStore& store,
                                 OptionGridService& grids, AuditLog& audit)
    : db_(db),
      documents_(documents),
      document_store_(document_store),
      store_(store),
      grids_(grids),
      audit_(audit) {
  PrepareAccessFacts(db_);
}

CollectionHooks DecisionService::Hooks() {
  CollectionHooks hooks;
  hooks.load_context = [this](pqxx::transaction_base& tx, const google::protobuf::Message& document,
                              DocumentContext* context) -> absl::Status {
    const auto& record = static_cast<const v1::DecisionRecord&>(document);
    if (record.option_grid_version().empty()) {
      return InvalidFieldError("option_grid_version", "is required");
    }
    auto version = grids_.LoadVersion(tx, record.option_grid_version(), context->today);
    if (!version.ok()) {
      if (version.status().code() == absl::StatusCode::kNotFound) {
        return InvalidFieldError("option_grid_version", "is not a published option grid version");
      }
      return PrefixFieldErrors(version.status(), "option_grid_version: ");
    }
    context->grid_version = std::make_shared<const v1::OptionGridVersion>(std::move(version).value());
    return absl::OkStatus();
  };
  hooks.on_stored = [this](pqxx::work& tx, const StoredDocument& row,
                           const google::protobuf::Message& body) {
    store_.SaveSummary(tx, row.key, row.name.person_id, static_cast<const v1::DecisionRecord&>(body),
                       row.delete_time.has_value());
  };
  return hooks;
}

absl::StatusOr<DocumentPtr> DecisionService::Create(const Caller& caller,
                                                    const v1::CreateDecisionRecordRequest& request) {
  if (!request.has_decision_record()) return InvalidFieldError("decision_record", "is required");
  auto record = std::make_unique<v1::DecisionRecord>(request.decision_record());
  const std::string field = "decision_record.option_grid_version";
  if (record->option_grid_version().empty()) return InvalidFieldError(field, "is required");
  COPLAN_RETURN_IF_ERROR(ParseGridVersionName(record->option_grid_version(), field).status());
  v1::OptionGridVersion version;
  absl::Status loaded = db_.Read(caller.deadline, [&](pqxx::nontransaction& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(version, grids_.LoadVersion(tx, record->option_grid_version(), caller.today()));
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
  bool denied = false;
  absl::Status status = db_.Write(caller.deadline, [&](pqxx::work& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(LoadedDocument loaded, document_store_.LockWithAccess(
                                                       tx, caller.person_id, caller.session_id, decision));
    const AccessFacts& facts = loaded.facts;
    COPLAN_RETURN_IF_ERROR(RequireValidCaller(facts));
    const std::optional<StoredDocument>& row = loaded.document;
    const DocumentPermissions can =
        row ? PermissionsForDocument(facts, {v1::DOCUMENT_KIND_DECISION_RECORD, "decisions/" + decision.document_id},
                                     caller.today())
            : DocumentPermissions{};
    if (!row || !can.read) {
      denied = true;
      return NotFoundError("decision record", request.parent());
    }
    if (!facts.is_self()) {
      denied = true;
      return PermissionDeniedError("only the person who made the decision answers CollaboRATE");
    }
    v1::DecisionRecord record;
    record.ParseFromString(row->body);
    if (row->delete_time || (record.status() != v1::DECISION_STATUS_DECIDED &&
                             record.status() != v1::DECISION_STATUS_CLOSED)) {
      return FailedPreconditionError("CollaboRATE is answered after the decision has been made");
    }
    std::optional<std::string> team = store_.CareTeamClinicianTeam(tx, decision.person_id, clinician_id);
    if (!team) {
      return InvalidFieldError("collaborate_response.clinician", "is not a clinician in your care team");
    }
    COPLAN_RETURN_IF_ERROR(
        store_.InsertCollaborate(tx, id, row->key, decision.person_id, clinician_id, *team, response));
    audit.Write(tx, decision.person_id, v1::AUDIT_ACTION_CREATE, resource);
    return absl::OkStatus();
  });
  if (denied) return audit.Denied(decision.person_id, v1::AUDIT_ACTION_CREATE, resource, status);
  COPLAN_RETURN_IF_ERROR(status);
  response.set_name(resource);
  *response.mutable_create_time() = ToTimestamp(caller.now);
  return response;
}

absl::StatusOr<v1::CollaborateSummary> DecisionService::GetCollaborateSummary(
    const Caller& caller, const std::string& subject) {
  const bool team = subject.rfind("teams/", 0) == 0;
  std::string id;
  if (team) {
    COPLAN_ASSIGN_OR_RETURN(std::vector<std::string> parts, ParseName(subject, "teams/{team}", "subject"));
    id = parts[0];
  } else {
    COPLAN_ASSIGN_OR_RETURN(id, ParsePersonName(subject, "subject"));
  }
  AccessFacts facts;
  CollaborateCounts counts;
  COPLAN_RETURN_IF_ERROR(db_.Read(caller.deadline, [&](pqxx::nontransaction& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(facts, LoadAccessFacts(tx, caller.person_id, caller.session_id,
                                                   caller.person_id));
    counts = team ? store_.CountForTeam(tx, id) : store_.CountForClinician(tx, id);
    return absl::OkStatus();
  }));
  COPLAN_RETURN_IF_ERROR(RequireValidCaller(facts));
  const bool allowed = facts.actor.administrator ||
                       (team ? facts.actor.clinician && facts.actor.team_id == id
                             : caller.person_id == id && facts.actor.clinician);
  if (!allowed) {
    return PermissionDeniedError(team ? "only the team's clinicians see its CollaboRATE results"
                                      : "clinicians see only their own CollaboRATE results");
  }
  v1::CollaborateSummary summary;
  summary.set_subject(subject);
  summary.set_response_count(counts.responses);
  summary.set_minimum_responses(kMinimumCollaborateResponses);
  summary.set_reportable(counts.responses >= kMinimumCollaborateResponses);
  if (summary.reportable()) {
    summary.set_top_score_percent(100.0 * counts.top_scores / counts.responses);
  }
  return summary;
}

absl::StatusOr<v1::ListCaseloadDecisionsResponse> DecisionService::ListCaseload(
    const Caller& caller, const v1::ListCaseloadDecisionsRequest& request) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(int limit, PageSize(request.page_size(), 50, 200));
  const std::string fingerprint = absl::StrCat(request.decisional_conflict_only(), "|",
                                               request.follow_up_overdue_only());
  int64_t after = 0;
  if (!request.page_token().empty()) {
    COPLAN_ASSIGN_OR_RETURN(PageCursor cursor, DecodePageToken(request.page_token(), fingerprint, 1));
    after = cursor.Int(0);
  }
  AccessFacts facts;
  std::vector<CaseloadRow> rows;
  COPLAN_RETURN_IF_ERROR(db_.Read(caller.deadline, [&](pqxx::nontransaction& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(facts, LoadAccessFacts(tx, caller.person_id, caller.session_id,
                                                   caller.person_id));
    if (facts.actor.clinician) rows = store_.Caseload(tx, caller.person_id, after, limit + 1);
    return absl::OkStatus();
  }));
  COPLAN_RETURN_IF_ERROR(RequireValidCaller(facts));
  if (!facts.actor.clinician) return PermissionDeniedError("the caseload view is for clinicians");
  v1::ListCaseloadDecisionsResponse response;
  const bool more = static_cast<int>(rows.size()) > limit;
  if (more) rows.resize(limit);
  const DecisionRules& rules = static_cast<const DecisionRules&>(documents_.rules(Collection::kDecisions));
  for (const CaseloadRow& row : rows) {
    v1::DecisionRecord record;
    record.ParseFromString(row.body);
    // What the person withholds from this clinician stays withheld here too.
    ApplyWithholdings(record, caller.person_name(), /*keep_list=*/false);
    rules.Decorate(record, caller.today());
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
  if (more) response.set_next_page_token(EncodePageToken({absl::StrCat(rows.back().document_key)}, fingerprint));
  return response;
}

}  // namespace coplan
