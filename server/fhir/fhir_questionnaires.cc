#include "server/fhir/fhir_questionnaires.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "coplan/v1/plan.pb.h"
#include "server/fhir/fhir_codes.h"

namespace coplan {
namespace fhir {
namespace {

nlohmann::json Item(const std::string& link_id, const char* type, const char* text) {
  return {{"linkId", link_id}, {"type", type}, {"text", text}};
}

nlohmann::json Group(const std::string& link_id, const char* text, nlohmann::json items,
                     bool repeats) {
  nlohmann::json group = Item(link_id, "group", text);
  group["item"] = std::move(items);
  if (repeats) group["repeats"] = true;
  return group;
}

nlohmann::json Questionnaire(const char* url, const char* name, const char* title,
                             const char* description, nlohmann::json items) {
  return {{"resourceType", "Questionnaire"},
          {"url", url},
          {"name", name},
          {"title", title},
          {"status", "active"},
          {"subjectType", {"Patient"}},
          {"publisher", "Coplan"},
          {"description", description},
          {"item", std::move(items)}};
}

}  // namespace

nlohmann::json SureQuestionnaire() {
  nlohmann::json score = Item(kSureScore, "integer", "Number of \"yes\" answers (0-4)");
  score["readOnly"] = true;
  return Questionnaire(
      kSureQuestionnaireUrl, "SURE", "SURE test",
      "The SURE test of decisional conflict (Legare et al. 2010): four yes/no questions.",
      {Item(kSureBestChoice, "boolean", "Do you feel SURE about the best choice for you?"),
       Item(kSureBenefitsAndRisks, "boolean", "Do you know the benefits and risks of each option?"),
       Item(kSureWhatMatters, "boolean",
            "Are you clear about which benefits and risks matter most to you?"),
       Item(kSureSupport, "boolean", "Do you have enough support and advice to make a choice?"),
       std::move(score)});
}

nlohmann::json CollaborateQuestionnaire() {
  return Questionnaire(
      kCollaborateQuestionnaireUrl, "CollaboRATE", "CollaboRATE",
      "How involved the person felt in a decision (Elwyn et al. 2013); each item 0 (no "
      "effort was made) to 9 (every effort was made).",
      {Item(kCollaborateUnderstand, "integer",
            "How much effort was made to help you understand your health issues?"),
       Item(kCollaborateListen, "integer",
            "How much effort was made to listen to the things that matter most to you?"),
       Item(kCollaborateInclude, "integer",
            "How much effort was made to include what matters most to you in choosing what "
            "to do next?"),
       Item(kCollaborateClinician, "reference", "The clinician the decision was made with")});
}

nlohmann::json DialogQuestionnaire() {
  nlohmann::json domains = nlohmann::json::array();
  for (int value = v1::DIALOG_DOMAIN_MENTAL_HEALTH;
       value <= v1::DIALOG_DOMAIN_MEETINGS_WITH_PROFESSIONALS; ++value) {
    const Code* domain = DialogDomainCode(static_cast<v1::DialogDomain>(value));
    domains.push_back(
        Group(domain->code, domain->display,
              {Item(absl::StrCat(domain->code, kDialogScoreSuffix), "integer",
                    "How satisfied are you? (1 = totally dissatisfied ... 7 = totally satisfied)"),
               Item(absl::StrCat(domain->code, kDialogMoreHelpSuffix), "boolean",
                    "Do you want more help in this area?")},
              false));
  }
  return Questionnaire(kDialogQuestionnaireUrl, "DIALOGPlus", "DIALOG+",
                       "DIALOG+ ratings: eight life domains and three treatment aspects.",
                       std::move(domains));
}

nlohmann::json DecisionGuideQuestionnaire() {
  return Questionnaire(
      kDecisionGuideQuestionnaireUrl, "DecisionGuide", "Decision guide",
      "The person's answers while deciding from an option grid (after the Ottawa Personal "
      "Decision Guide).",
      {Item(kGuideStage, "choice", "Where are you with this decision?"),
       Group(kGuideImportance, "What matters most to you",
             {Item(kGuideImportanceQuestion, "string", "The question of the option grid"),
              Item(kGuideImportanceRating, "integer",
                   "How important is this to you? (1 = not important ... 5 = very important)"),
              Item(kGuideImportanceNote, "text", "Notes")},
             true),
       Group(kGuideOptionNote, "Notes about an option",
             {Item(kGuideOptionNoteOption, "string", "The option"),
              Item(kGuideOptionNoteText, "text", "Notes")},
             true),
       Item(kGuideLeaning, "string", "The option you lean towards"),
       Group(kGuideWhoDecides, "Who should make the decision",
             {Item(kGuideWhoDecidesMode, "choice", "Who decides"),
              [] {
                nlohmann::json person =
                    Item(kGuideWhoDecidesPerson, "string", "The people deciding with you");
                person["repeats"] = true;
                return person;
              }()},
             false)});
}

}  // namespace fhir
}  // namespace coplan
