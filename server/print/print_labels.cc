#include "server/print/print_labels.h"

#include <algorithm>

#include "absl/strings/ascii.h"

namespace coplan {
namespace {

PrintLabels English() {
  PrintLabels l;
  l.locale = "en";
  l.awaiting_translator_review = false;

  l.untitled_plan = "My crisis plan";
  l.plan_for = "Crisis plan for $0";
  l.revision = "Revision $0";
  l.updated_on = "updated $0";
  l.agreed_with = "agreed with $0 on $1";
  l.agreed_with_before_vowel = "agreed with $0 on $1";
  l.not_yet_agreed = "not yet agreed";
  l.care_team_clinician = "a clinician in the care team";
  l.list_and = " and ";
  l.list_and_before_vowel = " and ";

  l.crisis_lines = "Crisis lines";
  l.emergency = "If life is in danger, call 999 or go to A&E.";

  l.warning_signs = "Warning signs";
  l.coping_strategies = "Things I can do myself";
  l.distractions = "People and places that take my mind off things";
  l.help_contacts = "People I can ask for help";
  l.professional_contacts = "Professionals and services";
  l.safe_environment = "Making my surroundings safe";
  l.reasons_for_living = "Reasons for living";
  l.wishes_if_unwell = "What I would like to happen if I become unwell";
  l.refusals_if_unwell = "What I do not want to happen if I become unwell";
  l.practical_arrangements = "Practical arrangements";
  l.who_may_see = "Who may see this plan";
  l.advance_decision = "Advance decision to refuse treatment";

  l.phone = "Phone: $0";
  l.email = "Email: $0";
  l.website = "Website: $0";
  l.hours = "Hours: $0";
  l.topic_treatment = "Treatment: $0";
  l.topic_place = "Place: $0";
  l.topic_staff = "Staff: $0";
  l.treatment_refused = "The treatment I refuse: $0";
  l.circumstances = "When this refusal applies: $0";
  l.signed_by = "Signed by: $0";
  l.witnessed_by = "Witnessed by: $0";
  l.applies_even_if_life_at_risk = "This refusal applies even if my life is at risk.";
  l.does_not_apply_if_life_at_risk = "This refusal does not apply if my life is at risk.";

  l.printed = "printed $0, revision $1";
  l.page_of = "page $0 of $1";

  l.date = "$0 $1 $2";
  l.months = {"January", "February", "March",     "April",   "May",      "June",
              "July",    "August",   "September", "October", "November", "December"};
  return l;
}

// Welsh (Cymraeg): NHS Wales must offer its services in Welsh (Welsh Language Standards).
// Written by the developers in plain Welsh; it awaits review by a qualified translator
// before it is offered to patients as checked.
PrintLabels Welsh() {
  PrintLabels l;
  l.locale = "cy";
  l.awaiting_translator_review = true;

  l.untitled_plan = "Fy nghynllun argyfwng";
  l.plan_for = "Cynllun argyfwng ar gyfer $0";
  l.revision = "Diwygiad $0";
  l.updated_on = "diweddarwyd $0";
  l.agreed_with = "cytunwyd gyda $0 ar $1";
  l.agreed_with_before_vowel = "cytunwyd gydag $0 ar $1";
  l.not_yet_agreed = "heb ei gytuno eto";
  // After "gyda": the aspirate mutation (clinigwr -> chlinigwr).
  l.care_team_clinician = "chlinigwr yn y tîm gofal";
  l.list_and = " a ";
  l.list_and_before_vowel = " ac ";

  l.crisis_lines = "Llinellau argyfwng";
  l.emergency = "Os oes perygl i fywyd, ffoniwch 999 neu ewch i'r Adran Achosion Brys.";

  l.warning_signs = "Arwyddion rhybudd";
  l.coping_strategies = "Pethau y gallaf eu gwneud fy hun";
  l.distractions = "Pobl a lleoedd sy'n tynnu fy meddwl oddi ar bethau";
  l.help_contacts = "Pobl y gallaf ofyn iddyn nhw am help";
  l.professional_contacts = "Gweithwyr proffesiynol a gwasanaethau";
  l.safe_environment = "Gwneud fy amgylchedd yn ddiogel";
  l.reasons_for_living = "Rhesymau dros fyw";
  l.wishes_if_unwell = "Yr hyn yr hoffwn iddo ddigwydd os byddaf yn mynd yn sâl";
  l.refusals_if_unwell = "Yr hyn nad wyf am iddo ddigwydd os byddaf yn mynd yn sâl";
  l.practical_arrangements = "Trefniadau ymarferol";
  l.who_may_see = "Pwy gaiff weld y cynllun hwn";
  l.advance_decision = "Penderfyniad ymlaen llaw i wrthod triniaeth";

  l.phone = "Ffôn: $0";
  l.email = "E-bost: $0";
  l.website = "Gwefan: $0";
  l.hours = "Oriau: $0";
  l.topic_treatment = "Triniaeth: $0";
  l.topic_place = "Lle: $0";
  l.topic_staff = "Staff: $0";
  l.treatment_refused = "Y driniaeth rwy'n ei gwrthod: $0";
  l.circumstances = "Pryd mae'r gwrthodiad hwn yn berthnasol: $0";
  l.signed_by = "Llofnodwyd gan: $0";
  l.witnessed_by = "Tyst: $0";
  l.applies_even_if_life_at_risk =
      "Mae'r gwrthodiad hwn yn berthnasol hyd yn oed os yw fy mywyd mewn perygl.";
  l.does_not_apply_if_life_at_risk =
      "Nid yw'r gwrthodiad hwn yn berthnasol os yw fy mywyd mewn perygl.";

  l.printed = "argraffwyd $0, diwygiad $1";
  l.page_of = "tudalen $0 o $1";

  l.date = "$0 $1 $2";
  l.months = {"Ionawr",     "Chwefror", "Mawrth", "Ebrill", "Mai",      "Mehefin",
              "Gorffennaf", "Awst",     "Medi",   "Hydref", "Tachwedd", "Rhagfyr"};
  return l;
}

// Sorted by locale.
const std::vector<PrintLabels>& Catalogue() {
  static const auto* const catalogue = new std::vector<PrintLabels>{Welsh(), English()};
  return *catalogue;
}

}  // namespace

const PrintLabels* FindPrintLabels(absl::string_view locale) {
  // Only the language subtag matters: "cy-GB" and "CY" are Welsh.
  std::string language = absl::AsciiStrToLower(locale.substr(0, locale.find_first_of("-_")));
  for (const PrintLabels& labels : Catalogue()) {
    if (language == labels.locale) return &labels;
  }
  return nullptr;
}

std::vector<std::string> PrintLabelLocales() {
  std::vector<std::string> locales;
  for (const PrintLabels& labels : Catalogue()) locales.emplace_back(labels.locale);
  std::sort(locales.begin(), locales.end());
  return locales;
}

}  // namespace coplan
