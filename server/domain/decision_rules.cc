#include "server/domain/decision_rules.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "server/common/errors.h"
#include "server/common/proto_time.h"
#include "server/common/status_macros.h"
#include "server/domain/withholding.h"

namespace coplan {

SureResult ScoreSure(const v1::SureTest& sure) {
  SureResult result;
  const v1::SureAnswer answers[] = {sure.sure_of_best_choice(),
                                    sure.understands_benefits_and_risks(),
                                    sure.clear_about_what_matters(), sure.enough_support()};
  result.complete = true;
  for (v1::SureAnswer answer : answers) {
    if (answer == v1::SURE_ANSWER_UNSPECIFIED) result.complete = false;
    if (answer == v1::SURE_ANSWER_YES) ++result.score;
  }
  if (!result.complete) result.score = 0;
  result.decisional_conflict = result.complete && result.score <= 3;
  return result;
}

bool IsOpen(v1::DecisionStatus status) {
  return status != v1::DECISION_STATUS_CLOSED && status != v1::DECISION_STATUS_WITHDRAWN;
}

std::unique_ptr<google::protobuf::Message> DecisionRules::New() const {
  return std::make_unique<v1::DecisionRecord>();
}

v1::DocumentKind DecisionRules::KindOf(const google::protobuf::Message&) const {
  return v1::DOCUMENT_KIND_DECISION_RECORD;
}

absl::Status DecisionRules::Check(const google::protobuf::Message& document,
                                  const DocumentContext& context) const {
  const auto& record = static_cast<const v1::DecisionRecord&>(document);
  if (context.grid_version == nullptr) {
    return InvalidFieldError("option_grid_version", "is not a published option grid version");
  }
  const v1::OptionGrid& grid = context.grid_version->grid();
  std::set<std::string> options, questions;
  for (const auto& option : grid.options()) options.insert(option.id());
  for (const auto& question : grid.questions()) questions.insert(question.id());
  auto option_error = [](const std::string& field, const std::string& id) {
    return InvalidFieldError(field,
                             absl::StrCat("\"", id, "\" is not an option of the grid version"));
  };
  std::set<std::string> rated;
  for (int i = 0; i < record.importances_size(); ++i) {
    const std::string& id = record.importances(i).question_id();
    const std::string field = absl::StrCat("importances[", i, "].question_id");
    if (!questions.count(id)) {
      return InvalidFieldError(field,
                               absl::StrCat("\"", id, "\" is not a question of the grid version"));
    }
    if (!rated.insert(id).second) return InvalidFieldError(field, "this question is rated twice");
  }
  std::set<std::string> noted;
  for (int i = 0; i < record.option_notes_size(); ++i) {
    const std::string& id = record.option_notes(i).option_id();
    const std::string field = absl::StrCat("option_notes[", i, "].option_id");
    if (!options.count(id)) return option_error(field, id);
    if (!noted.insert(id).second) return InvalidFieldError(field, "this option has two notes");
  }
  if (!record.leaning_option_id().empty() && !options.count(record.leaning_option_id())) {
    return option_error("leaning_option_id", record.leaning_option_id());
  }
  const auto& outcome = record.outcome();
  if (!outcome.option_id().empty() && !options.count(outcome.option_id())) {
    return option_error("outcome.option_id", outcome.option_id());
  }
  if (record.status() == v1::DECISION_STATUS_DECIDED ||
      record.status() == v1::DECISION_STATUS_CLOSED) {
    if (outcome.option_id().empty()) {
      return InvalidFieldError("outcome.option_id", "a decided record names the option chosen");
    }
    if (!IsSet(outcome.decided_on())) {
      return InvalidFieldError("outcome.decided_on", "a decided record says when it was decided");
    }
  }
  if (IsSet(outcome.decided_on()) && ToCivilDay(outcome.decided_on()) > context.today) {
    return InvalidFieldError("outcome.decided_on", "is in the future");
  }
  COPLAN_RETURN_IF_ERROR(ValidateWithholdingPaths(record));
  return absl::OkStatus();
}

void DecisionRules::Decorate(google::protobuf::Message& document, absl::CivilDay today) const {
  auto& record = static_cast<v1::DecisionRecord&>(document);
  const SureResult sure = ScoreSure(record.sure());
  if (record.has_sure() || sure.complete) {
    auto* out = record.mutable_sure();
    out->set_complete(sure.complete);
    out->set_score(sure.score);
    out->set_decisional_conflict(sure.decisional_conflict);
  }
  record.set_follow_up_overdue(IsSet(record.follow_up_date()) && IsOpen(record.status()) &&
                               ToCivilDay(record.follow_up_date()) < today);
}

int CollaborateBand(int responses) {
  return responses < 0 ? 0 : responses / kCollaborateBand * kCollaborateBand;
}

CollaborateReport ReportCollaborate(int responses, int top_scores_in_band) {
  CollaborateReport report;
  report.band = CollaborateBand(responses);
  report.reportable = report.band >= kMinimumCollaborateResponses;
  if (report.reportable) {
    // Integer rounding half up: 100 * top / band to the nearest kCollaborateRounding.
    const int step = kCollaborateRounding;
    report.top_score_percent =
        (200 * top_scores_in_band + step * report.band) / (2 * step * report.band) * step;
  }
  return report;
}

}  // namespace coplan
