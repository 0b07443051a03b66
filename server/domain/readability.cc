#include "server/domain/readability.h"

#include <algorithm>
#include <cctype>

namespace coplan {
namespace {

bool IsVowel(char c) {
  switch (c) {
    case 'a':
    case 'e':
    case 'i':
    case 'o':
    case 'u':
    case 'y':
      return true;
    default:
      return false;
  }
}

}  // namespace

int CountSyllables(absl::string_view raw) {
  std::string word;
  for (char c : raw) {
    if (std::isalpha(static_cast<unsigned char>(c)))
      word.push_back(static_cast<char>(std::tolower(c)));
  }
  if (word.empty()) return 0;
  if (word.size() <= 3) return 1;
  int count = 0;
  bool previous_vowel = false;
  for (size_t i = 0; i < word.size(); ++i) {
    const bool vowel = IsVowel(word[i]) && !(word[i] == 'y' && i == 0);
    if (vowel && !previous_vowel) ++count;
    previous_vowel = vowel;
  }
  const size_t n = word.size();
  // Silent final "e" ("take"), but not "-le" after a consonant ("little") or "-ee".
  if (word[n - 1] == 'e' && !(n >= 3 && word[n - 2] == 'l' && !IsVowel(word[n - 3])) &&
      !IsVowel(word[n - 2])) {
    --count;
  }
  // "-ed" is usually not a syllable ("helped"), except after t or d ("wanted").
  if (n >= 3 && word.compare(n - 2, 2, "ed") == 0 && word[n - 3] != 't' && word[n - 3] != 'd' &&
      !IsVowel(word[n - 3])) {
    --count;
  }
  return std::max(count, 1);
}

ReadabilityResult Readability(const std::vector<std::string>& texts) {
  ReadabilityResult result;
  for (const std::string& text : texts) {
    int sentences_here = 0;
    bool in_sentence = false;
    std::string word;
    auto finish_word = [&] {
      bool has_letter = std::any_of(word.begin(), word.end(), [](char c) {
        return std::isalpha(static_cast<unsigned char>(c));
      });
      if (has_letter) {
        ++result.words;
        result.syllables += CountSyllables(word);
        in_sentence = true;
      }
      word.clear();
    };
    for (size_t i = 0; i < text.size(); ++i) {
      const char c = text[i];
      if (std::isspace(static_cast<unsigned char>(c))) {
        finish_word();
      } else if (c == '.' || c == '!' || c == '?' || c == ';' || c == ':') {
        // "e.g." and decimals are not sentence ends.
        const bool inside_token =
            i + 1 < text.size() && !std::isspace(static_cast<unsigned char>(text[i + 1]));
        finish_word();
        if (!inside_token && in_sentence && c != ':') {
          ++sentences_here;
          in_sentence = false;
        }
      } else {
        word.push_back(c);
      }
    }
    finish_word();
    if (in_sentence) ++sentences_here;
    result.sentences += sentences_here;
  }
  if (result.words == 0 || result.sentences == 0) return result;
  result.flesch_kincaid_grade =
      0.39 * result.words / result.sentences + 11.8 * result.syllables / result.words - 15.59;
  result.reading_age_years = std::max(5.0, result.flesch_kincaid_grade + 5.0);
  return result;
}

}  // namespace coplan
