// SQL for what decision records add to documents: the summary kept in step with every
// change (for the caseload view), and CollaboRATE responses.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "coplan/v1/decision.pb.h"
#include "server/store/transaction.h"

namespace coplan {

class Database;

struct CaseloadRow {
  int64_t document_key = 0;
  std::string person_id;
  std::string person_display_name;
  std::string document_id;
  std::string body;  // serialized DecisionRecord
};

struct CollaborateCounts {
  int responses = 0;
  // Responses with all three items 9, among the first CollaborateBand(responses) in the
  // order they were given (the rest wait for the band to fill).
  int top_scores_in_band = 0;
};

class DecisionStore {
 public:
  explicit DecisionStore(Database& db);

  void SaveSummary(WriteTransaction& tx, int64_t document_key, const std::string& person_id,
                   const coplan::v1::DecisionRecord& record, bool deleted);
  // Open decisions of the people in the clinician's care team, after `after_key`.
  std::vector<CaseloadRow> Caseload(Transaction& tx, const std::string& clinician_id,
                                    int64_t after_key, int limit);

  // ALREADY_EXISTS if the decision already has a response.
  absl::Status InsertCollaborate(WriteTransaction& tx, const std::string& id, int64_t document_key,
                                 const std::string& person_id, const std::string& clinician_id,
                                 const std::string& team_id,
                                 const coplan::v1::CollaborateResponse& response);
  // The team of `clinician_id` if they are a clinician in the person's care team.
  std::optional<std::string> CareTeamClinicianTeam(Transaction& tx, const std::string& person_id,
                                                   const std::string& clinician_id);
  // The person's own CollaboRATE answers, oldest first, named under their decisions.
  std::vector<coplan::v1::CollaborateResponse> CollaborateResponsesOf(Transaction& tx,
                                                                      const std::string& person_id);
  CollaborateCounts CountForClinician(Transaction& tx, const std::string& clinician_id);
  CollaborateCounts CountForTeam(Transaction& tx, const std::string& team_id);

 private:
  Database& db_;
};

}  // namespace coplan
