// The questionnaires Coplan's answers are QuestionnaireResponses to: the SURE test, the
// CollaboRATE items, the DIALOG+ ratings, and the decision guide (what matters, notes on
// the options, the option leaned towards, who decides). Each is put in the Bundle, with
// its canonical URL, when a response to it is.
#pragma once

#include <nlohmann/json.hpp>

namespace coplan {
namespace fhir {

inline constexpr char kSureQuestionnaireUrl[] = "https://coplan.app/fhir/Questionnaire/sure";
inline constexpr char kCollaborateQuestionnaireUrl[] =
    "https://coplan.app/fhir/Questionnaire/collaborate";
inline constexpr char kDialogQuestionnaireUrl[] =
    "https://coplan.app/fhir/Questionnaire/dialog-plus";
inline constexpr char kDecisionGuideQuestionnaireUrl[] =
    "https://coplan.app/fhir/Questionnaire/decision-guide";

// linkIds shared by the questionnaires and the responses.
inline constexpr char kSureBestChoice[] = "sure-best-choice";
inline constexpr char kSureBenefitsAndRisks[] = "sure-benefits-and-risks";
inline constexpr char kSureWhatMatters[] = "sure-what-matters";
inline constexpr char kSureSupport[] = "sure-support";
inline constexpr char kSureScore[] = "sure-score";
inline constexpr char kCollaborateUnderstand[] = "understand-health-issues";
inline constexpr char kCollaborateListen[] = "listen-to-what-matters";
inline constexpr char kCollaborateInclude[] = "include-what-matters";
inline constexpr char kCollaborateClinician[] = "clinician";
// DIALOG+: one group per domain, linkId the domain's code; its items append these.
inline constexpr char kDialogScoreSuffix[] = ".score";
inline constexpr char kDialogMoreHelpSuffix[] = ".more-help";
inline constexpr char kGuideStage[] = "stage";
inline constexpr char kGuideImportance[] = "importance";
inline constexpr char kGuideImportanceQuestion[] = "importance.question";
inline constexpr char kGuideImportanceRating[] = "importance.rating";
inline constexpr char kGuideImportanceNote[] = "importance.note";
inline constexpr char kGuideOptionNote[] = "option-note";
inline constexpr char kGuideOptionNoteOption[] = "option-note.option";
inline constexpr char kGuideOptionNoteText[] = "option-note.note";
inline constexpr char kGuideLeaning[] = "leaning";
inline constexpr char kGuideWhoDecides[] = "who-decides";
inline constexpr char kGuideWhoDecidesMode[] = "who-decides.mode";
inline constexpr char kGuideWhoDecidesPerson[] = "who-decides.person";

// The Questionnaire resources (without id).
nlohmann::json SureQuestionnaire();
nlohmann::json CollaborateQuestionnaire();
nlohmann::json DialogQuestionnaire();
nlohmann::json DecisionGuideQuestionnaire();

}  // namespace fhir
}  // namespace coplan
