// Rules of decision records (Ottawa Personal Decision Guide, SURE, three-talk model):
// - made from one published grid version, which never changes for the record;
// - every question and option it refers to (importances, notes, leaning, the decision)
//   exists in that version;
// - a decided record names the option chosen and when;
// - SURE: score = number of "yes" when all four are answered; 3 or less is decisional
//   conflict (computed on read);
// - follow_up_overdue when the follow-up date has passed and the decision is still open.
#pragma once

#include "coplan/v1/decision.pb.h"
#include "server/domain/document_rules.h"

namespace coplan {

class DecisionRules : public DocumentRules {
 public:
  Collection collection() const override { return Collection::kDecisions; }
  const char* noun() const override { return "decision record"; }
  std::unique_ptr<google::protobuf::Message> New() const override;
  coplan::v1::DocumentKind KindOf(const google::protobuf::Message& document) const override;
  absl::Status Check(const google::protobuf::Message& document,
                     const DocumentContext& context) const override;
  void Decorate(google::protobuf::Message& document, absl::CivilDay today) const override;
};

// SURE score and flags of a test as answered.
struct SureResult {
  bool complete = false;
  int score = 0;
  bool decisional_conflict = false;
};
SureResult ScoreSure(const coplan::v1::SureTest& sure);

// True for a decision that is still open (not closed or withdrawn).
bool IsOpen(coplan::v1::DecisionStatus status);

// CollaboRATE results as a clinician or team may see them, so that comparing any two
// summaries never shows one person's answer: the count goes in bands of
// kCollaborateBand (rounded down), and the top-score percentage is computed over the
// first `band` responses only (in the order given, so it changes only when a band is
// crossed) and rounded to the nearest kCollaborateRounding points. Reported from
// kMinimumCollaborateResponses responses on.
inline constexpr int kCollaborateBand = 5;
inline constexpr int kCollaborateRounding = 10;
inline constexpr int kMinimumCollaborateResponses = 25;
struct CollaborateReport {
  int band = 0;  // responses, rounded down to a multiple of kCollaborateBand
  bool reportable = false;
  int top_score_percent = 0;  // 0 unless reportable
};
int CollaborateBand(int responses);
// `top_scores_in_band`: top scores among the first CollaborateBand(responses) responses.
CollaborateReport ReportCollaborate(int responses, int top_scores_in_band);

}  // namespace coplan
