// Every heading and fixed text of the printed crisis plan, per locale.
//
// The catalogue (print_labels.cc) is the one place a language is added: copy the English
// entry, translate it, and list it in the catalogue. Templates use absl::Substitute
// placeholders ($0, $1), so each language orders the words its own way.
//
//   const PrintLabels* labels = FindPrintLabels("cy");
//   std::string footer = absl::Substitute(labels->page_of, 1, 2);  // "tudalen 1 o 2"
#pragma once

#include <array>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace coplan {

struct PrintLabels {
  const char* locale;  // "en", "cy"
  // True until a qualified translator has checked the entry; the text is still printed.
  bool awaiting_translator_review;

  // The top of the first page.
  const char* untitled_plan;  // when the person gave the plan no title
  const char* plan_for;       // $0: the person's name
  const char* revision;       // $0: the revision number
  const char* updated_on;     // $0: the date of the latest change
  const char* agreed_with;    // $0: who agreed it, $1: when
  // The same before a name starting with a vowel (Welsh "gyda" becomes "gydag").
  const char* agreed_with_before_vowel;
  const char* not_yet_agreed;
  // Who agreed it when the reader may not know the clinician's name (a carer's copy);
  // written as it reads after agreed_with.
  const char* care_team_clinician;
  // Joins the last two names of a list ("Alex and Sam"); some languages change the word
  // before a vowel (Welsh "a" becomes "ac").
  const char* list_and;
  const char* list_and_before_vowel;

  // The crisis box.
  const char* crisis_lines;
  const char* emergency;  // what to do when life is in danger, whatever the plan says

  // Section headings, in the order they are printed.
  const char* warning_signs;
  const char* coping_strategies;
  const char* distractions;
  const char* help_contacts;
  const char* professional_contacts;
  const char* safe_environment;
  const char* reasons_for_living;
  const char* wishes_if_unwell;
  const char* refusals_if_unwell;
  const char* practical_arrangements;
  const char* who_may_see;
  const char* advance_decision;

  // Fields, each with its value as $0 ("Phone: $0"); the fixed words print in bold.
  const char* phone;
  const char* email;
  const char* website;
  const char* hours;
  // What a wish or a refusal is about (PreferenceTopic; "other" has no label).
  const char* topic_treatment;
  const char* topic_place;
  const char* topic_staff;
  // The advance decision to refuse treatment.
  const char* treatment_refused;
  const char* circumstances;
  const char* signed_by;     // $0: the name, and the date when there is one
  const char* witnessed_by;  // $0: the name, and the date when there is one
  // The statement the Mental Capacity Act 2005 (s. 25(5)) requires, or its opposite.
  const char* applies_even_if_life_at_risk;
  const char* does_not_apply_if_life_at_risk;

  // The footer of every page.
  const char* printed;  // $0: the date printed, $1: the revision
  const char* page_of;  // $0: this page, $1: the number of pages

  // Dates: $0 the day of the month, $1 the month's name, $2 the year.
  const char* date;
  std::array<const char*, 12> months;  // January to December
};

// The entry for a locale: "en", "cy", or a tag whose language is one of them ("cy-GB");
// nullptr for any other.
const PrintLabels* FindPrintLabels(absl::string_view locale);

// The locales of the catalogue, sorted.
std::vector<std::string> PrintLabelLocales();

}  // namespace coplan
