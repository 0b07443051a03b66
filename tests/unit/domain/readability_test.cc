// Reading age of option grid text.
#include "server/domain/readability.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace coplan {
namespace {

TEST(ReadabilityTest, CountsSyllablesSentencesAndGivesAReadingAge) {
  EXPECT_EQ(CountSyllables("cat"), 1);
  EXPECT_EQ(CountSyllables("little"), 2);
  EXPECT_EQ(CountSyllables("take"), 1);
  EXPECT_EQ(CountSyllables("wanted"), 2);
  EXPECT_EQ(CountSyllables("helped"), 1);
  EXPECT_EQ(CountSyllables("medication"), 4);
  auto simple = Readability({"The cat sat on the mat. It was warm."});
  EXPECT_EQ(simple.words, 9);
  EXPECT_EQ(simple.sentences, 2);
  EXPECT_LT(simple.reading_age_years, 7);
  auto hard =
      Readability({"Pharmacological interventions demonstrate considerable heterogeneity "
                   "regarding therapeutic effectiveness in adolescent populations."});
  EXPECT_GT(hard.reading_age_years, 18);
  // Separate entries are separate sentences, even without full stops.
  EXPECT_EQ(Readability({"Talking therapy", "Wait and see"}).sentences, 2);
}

}  // namespace
}  // namespace coplan
