#include "server/store/decision_store.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "server/common/errors.h"
#include "server/common/proto_time.h"
#include "server/common/resource_names.h"
#include "server/domain/decision_rules.h"
#include "server/store/database.h"

namespace coplan {

DecisionStore::DecisionStore(Database& db) : db_(db) {
  db_.Prepare(
      "decision_summary_upsert",
      "INSERT INTO decision_summaries (document_key, person_id, title, stage, status,"
      " sure_complete, sure_score, follow_up_date, deleted)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, '')::date, $9)"
      " ON CONFLICT (document_key) DO UPDATE SET title = $3, stage = $4, status = $5,"
      " sure_complete = $6, sure_score = $7, follow_up_date = NULLIF($8, '')::date, deleted = $9");
  db_.Prepare("decision_caseload",
              "SELECT d.key, d.person_id, p.display_name, d.document_id, d.body"
              " FROM care_team_members c"
              " JOIN decision_summaries s ON s.person_id = c.person_id"
              " JOIN documents d ON d.key = s.document_key"
              " JOIN people p ON p.id = d.person_id"
              " WHERE c.clinician_id = $1 AND NOT s.deleted AND s.status NOT IN (3, 4)"
              " AND d.key > $2 ORDER BY d.key LIMIT $3");
  db_.Prepare(
      "decision_clinician_in_team",
      "SELECT p.clinician, coalesce(p.team_id, '') FROM care_team_members c"
      " JOIN people p ON p.id = c.clinician_id WHERE c.person_id = $1 AND c.clinician_id = $2");
  db_.Prepare(
      "collaborate_insert",
      "INSERT INTO collaborate_responses (id, document_key, person_id, clinician_id, team_id,"
      " understand_health_issues, listen_to_what_matters, include_what_matters)"
      " VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, $8)"
      " ON CONFLICT (document_key) DO NOTHING RETURNING id");
  db_.Prepare("collaborate_of_person",
              "SELECT c.id, d.document_id, c.clinician_id, c.understand_health_issues,"
              " c.listen_to_what_matters, c.include_what_matters, time_to_micros(c.create_time)"
              " FROM collaborate_responses c JOIN documents d ON d.key = c.document_key"
              " WHERE c.person_id = $1 ORDER BY c.create_time, c.id");
  db_.Prepare("collaborate_by_clinician",
              "SELECT coalesce(max(total), 0), count(*) FILTER (WHERE top AND n <= total / $2 * $2)"
              " FROM (SELECT understand_health_issues = 9 AND listen_to_what_matters = 9 AND"
              " include_what_matters = 9 AS top,"
              " row_number() OVER (ORDER BY create_time, id) AS n, count(*) OVER () AS total"
              " FROM collaborate_responses WHERE clinician_id = $1) AS r");
  db_.Prepare("collaborate_by_team",
              "SELECT coalesce(max(total), 0), count(*) FILTER (WHERE top AND n <= total / $2 * $2)"
              " FROM (SELECT understand_health_issues = 9 AND listen_to_what_matters = 9 AND"
              " include_what_matters = 9 AS top,"
              " row_number() OVER (ORDER BY create_time, id) AS n, count(*) OVER () AS total"
              " FROM collaborate_responses WHERE team_id = $1) AS r");
}

void DecisionStore::SaveSummary(WriteTransaction& tx, int64_t document_key,
                                const std::string& person_id, const v1::DecisionRecord& record,
                                bool deleted) {
  const SureResult sure = ScoreSure(record.sure());
  tx.sql().exec_prepared("decision_summary_upsert", document_key, person_id, record.title(),
                         static_cast<int>(record.stage()), static_cast<int>(record.status()),
                         sure.complete, sure.score, ToIsoDate(record.follow_up_date()), deleted);
}

std::vector<CaseloadRow> DecisionStore::Caseload(Transaction& tx, const std::string& clinician_id,
                                                 int64_t after_key, int limit) {
  std::vector<CaseloadRow> rows;
  for (const auto& row :
       tx.sql().exec_prepared("decision_caseload", clinician_id, after_key, limit)) {
    rows.push_back({row[0].as<int64_t>(), row[1].as<std::string>(), row[2].as<std::string>(),
                    row[3].as<std::string>(), pqxx::binarystring(row[4]).str()});
  }
  return rows;
}

absl::Status DecisionStore::InsertCollaborate(WriteTransaction& tx, const std::string& id,
                                              int64_t document_key, const std::string& person_id,
                                              const std::string& clinician_id,
                                              const std::string& team_id,
                                              const v1::CollaborateResponse& response) {
  if (tx.sql()
          .exec_prepared("collaborate_insert", id, document_key, person_id, clinician_id, team_id,
                         response.understand_health_issues(), response.listen_to_what_matters(),
                         response.include_what_matters())
          .empty()) {
    return AlreadyExistsError("CollaboRATE response", "this decision already has one");
  }
  return absl::OkStatus();
}

std::vector<v1::CollaborateResponse> DecisionStore::CollaborateResponsesOf(
    Transaction& tx, const std::string& person_id) {
  std::vector<v1::CollaborateResponse> responses;
  for (const auto& row : tx.sql().exec_prepared("collaborate_of_person", person_id)) {
    v1::CollaborateResponse response;
    response.set_name(absl::StrCat(PersonName(person_id), "/decisions/", row[1].as<std::string>(),
                                   "/collaborateResponses/", row[0].as<std::string>()));
    response.set_clinician(PersonName(row[2].as<std::string>()));
    response.set_understand_health_issues(row[3].as<int>());
    response.set_listen_to_what_matters(row[4].as<int>());
    response.set_include_what_matters(row[5].as<int>());
    *response.mutable_create_time() = ToTimestamp(MicrosToTime(row[6].as<int64_t>()));
    responses.push_back(std::move(response));
  }
  return responses;
}

std::optional<std::string> DecisionStore::CareTeamClinicianTeam(Transaction& tx,
                                                                const std::string& person_id,
                                                                const std::string& clinician_id) {
  auto result = tx.sql().exec_prepared("decision_clinician_in_team", person_id, clinician_id);
  if (result.empty() || !result[0][0].as<bool>()) return std::nullopt;
  return result[0][1].as<std::string>();
}

CollaborateCounts DecisionStore::CountForClinician(Transaction& tx,
                                                   const std::string& clinician_id) {
  auto row = tx.sql().exec_prepared("collaborate_by_clinician", clinician_id, kCollaborateBand)[0];
  return {row[0].as<int>(), row[1].as<int>()};
}

CollaborateCounts DecisionStore::CountForTeam(Transaction& tx, const std::string& team_id) {
  auto row = tx.sql().exec_prepared("collaborate_by_team", team_id, kCollaborateBand)[0];
  return {row[0].as<int>(), row[1].as<int>()};
}

}  // namespace coplan
