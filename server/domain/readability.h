// Readability of English text: the Flesch-Kincaid grade level, and the reading age it
// implies (grade + 5, the usual conversion from US school grades to UK reading ages).
//
//   ReadabilityResult r = Readability({"What matters most to you?", "Talking therapy ..."});
//   r.reading_age_years   // e.g. 10.8
//
// Each piece of text counts as at least one sentence, so that short option titles and
// list entries are not merged into one impossibly long sentence. Syllables are counted
// with the common vowel-group rule (silent final "e", "-le" endings), which is what
// readability tools use; it is an estimate, as every readability formula is.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace coplan {

struct ReadabilityResult {
  int words = 0;
  int sentences = 0;
  int syllables = 0;
  double flesch_kincaid_grade = 0;
  double reading_age_years = 0;
};

ReadabilityResult Readability(const std::vector<std::string>& texts);
int CountSyllables(absl::string_view word);

}  // namespace coplan
