// The printed crisis plan, checked with poppler's own tools: pdftotext reads the words back,
// pdftoppm shows something is drawn.
#include "server/print/crisis_plan_pdf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "coplan/v1/plan.pb.h"
#include "google/rpc/error_details.pb.h"
#include "server/common/errors.h"
#include "server/common/proto_time.h"
#include "server/print/print_labels.h"

namespace coplan {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// A directory of its own for the tools' files, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "coplan-print-XXXXXX");
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary);
  out << contents;
}

// The text pdftotext finds, with runs of white space made single spaces (lines wrap).
std::string ExtractText(const std::string& pdf) {
  TempDir dir;
  std::string pdf_path = dir.path() + "/plan.pdf";
  std::string text_path = dir.path() + "/plan.txt";
  WriteFile(pdf_path, pdf);
  std::string command =
      absl::StrCat("pdftotext -enc UTF-8 '", pdf_path, "' '", text_path, "' 2>/dev/null");
  if (std::system(command.c_str()) != 0) return "";
  std::string text = ReadFile(text_path);
  std::vector<absl::string_view> words =
      absl::StrSplit(text, absl::ByAnyChar(" \n\t\f\r"), absl::SkipEmpty());
  return absl::StrJoin(words, " ");
}

struct Gray {
  int width = 0;
  int height = 0;
  std::string pixels;
};

// Page 1 as a binary PGM at 50 dpi.
Gray RenderFirstPage(const std::string& pdf) {
  TempDir dir;
  std::string pdf_path = dir.path() + "/plan.pdf";
  WriteFile(pdf_path, pdf);
  std::string command = absl::StrCat("pdftoppm -r 50 -f 1 -l 1 -gray '", pdf_path, "' '",
                                     dir.path(), "/page' 2>/dev/null");
  Gray gray;
  if (std::system(command.c_str()) != 0) return gray;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    if (entry.path().extension() != ".pgm") continue;
    std::istringstream in(ReadFile(entry.path()));
    std::string magic;
    int max_value = 0;
    in >> magic >> gray.width >> gray.height >> max_value;
    in.get();  // the single white space before the pixels
    if (magic != "P5" || max_value != 255) return Gray();
    gray.pixels.assign(std::istreambuf_iterator<char>(in), {});
  }
  return gray;
}

void AddItem(google::protobuf::RepeatedPtrField<v1::TextItem>* items, const std::string& text) {
  v1::TextItem* item = items->Add();
  item->set_id(absl::StrCat("i-", items->size()));
  item->set_text(text);
}

// Like the demo's crisis plan (server/demo/demo_seed.cc), with an advance decision.
v1::Plan DemoPlan() {
  v1::Plan plan;
  plan.set_name("people/alex/plans/crisis");
  plan.set_title("When things get really hard");
  plan.set_revision(4);
  *plan.mutable_update_time() =
      ToTimestamp(absl::FromCivil(absl::CivilSecond(2026, 3, 2, 15, 0, 0), absl::UTCTimeZone()));
  v1::CrisisPlan* crisis = plan.mutable_crisis_plan();
  AddItem(crisis->mutable_warning_signs(), "I stop replying to my friends");
  AddItem(crisis->mutable_warning_signs(), "I can't sleep and stay in my room all day");
  AddItem(crisis->mutable_coping_strategies(), "Draw, or take Biscuit for a walk");
  AddItem(crisis->mutable_coping_strategies(),
          "Cold water on my face and slow breathing (4 in, 6 out)");
  AddItem(crisis->mutable_distractions(), "The climbing wall with Priya");
  v1::Contact* mum = crisis->add_help_contacts();
  mum->set_name("Jordan (Mum)");
  mum->set_relationship("parent");
  mum->set_phone("07700 900123");
  mum->set_notes("Text first if it is late");
  v1::ServiceContact* samaritans = crisis->add_professional_contacts();
  samaritans->set_name("Samaritans");
  samaritans->set_phone("116 123");
  samaritans->set_hours("24 hours, every day");
  samaritans->set_crisis_service(true);
  v1::ServiceContact* team = crisis->add_professional_contacts();
  team->set_name("Dr Sam Okafor, CAMHS");
  team->set_phone("0300 555 0142");
  team->set_hours("Monday to Friday, 9am to 5pm");
  AddItem(crisis->mutable_safe_environment(), "Mum keeps the medicines locked away");
  AddItem(crisis->mutable_reasons_for_living(), "Biscuit");
  AddItem(crisis->mutable_reasons_for_living(), "Going to art school");
  v1::CrisisPreference* wish = crisis->add_wishes_if_unwell();
  wish->set_topic(v1::PREFERENCE_TOPIC_STAFF);
  wish->set_text("If possible, see someone I already know from the CAMHS team");
  v1::CrisisPreference* refusal = crisis->add_refusals_if_unwell();
  refusal->set_topic(v1::PREFERENCE_TOPIC_OTHER);
  refusal->set_text("Please don't call my school unless I say it's OK");
  AddItem(crisis->mutable_practical_arrangements(), "Someone to walk Biscuit");
  AddItem(crisis->mutable_who_may_see(), "Mum, and my CAMHS team");
  v1::AdvanceDecision* decision = crisis->mutable_advance_decision();
  decision->set_treatment_refused("Electroconvulsive therapy");
  decision->set_circumstances("At any time, including when I lack capacity to decide");
  decision->set_applies_even_if_life_at_risk(true);
  decision->set_signed_by("Alex Rivera");
  *decision->mutable_signed_on() = ToDate(absl::CivilDay(2026, 2, 20));
  decision->set_witnessed_by("Lou Evans");
  *decision->mutable_witnessed_on() = ToDate(absl::CivilDay(2026, 2, 20));
  return plan;
}

PrintContext Context(const std::string& locale) {
  PrintContext context;
  context.locale = locale;
  context.person_display_name = "Alex Rivera";
  context.printed_time =
      absl::FromCivil(absl::CivilSecond(2026, 3, 14, 10, 30, 0), absl::UTCTimeZone());
  absl::LoadTimeZone("Europe/London", &context.time_zone);
  context.agreed_with = {{"Alex Rivera", absl::FromCivil(absl::CivilSecond(2026, 3, 2, 16, 0, 0),
                                                         absl::UTCTimeZone())},
                         {"Dr Sam Okafor", absl::FromCivil(absl::CivilSecond(2026, 3, 3, 9, 0, 0),
                                                           absl::UTCTimeZone())}};
  context.agreed_revision = 4;
  return context;
}

std::string FirstField(const absl::Status& status) {
  google::rpc::BadRequest bad;
  return ReadDetail(status, bad) && bad.field_violations_size() ? bad.field_violations(0).field()
                                                                : "";
}

TEST(CrisisPlanPdfTest, EnglishPlanHasEveryWordOnOneOrTwoPages) {
  absl::StatusOr<PrintedPlan> printed = PrintCrisisPlan(DemoPlan(), Context("en"));
  ASSERT_TRUE(printed.ok()) << printed.status();
  EXPECT_EQ(printed->pdf.substr(0, 5), "%PDF-");
  EXPECT_GE(printed->pages, 1);
  EXPECT_LE(printed->pages, 2);
  EXPECT_EQ(printed->missing_glyphs, 0);

  std::string text = ExtractText(printed->pdf);
  EXPECT_THAT(text, AllOf(HasSubstr("When things get really hard"), HasSubstr("Alex Rivera"),
                          HasSubstr("Crisis lines"), HasSubstr("Samaritans"), HasSubstr("116 123"),
                          HasSubstr("Hours: 24 hours, every day"), HasSubstr("999")));
  for (const char* heading :
       {"Warning signs", "Things I can do myself", "People and places that take my mind off things",
        "People I can ask for help", "Professionals and services", "Making my surroundings safe",
        "Reasons for living", "What I would like to happen if I become unwell",
        "What I do not want to happen if I become unwell", "Practical arrangements",
        "Who may see this plan", "Advance decision to refuse treatment"}) {
    EXPECT_THAT(text, HasSubstr(heading));
  }
  for (const char* words : {"I stop replying to my friends",
                            "I can't sleep and stay in my room all day",
                            "Draw, or take Biscuit for a walk",
                            "Cold water on my face and slow breathing (4 in, 6 out)",
                            "The climbing wall with Priya",
                            "Jordan (Mum)",
                            "parent",
                            "07700 900123",
                            "Text first if it is late",
                            "Dr Sam Okafor, CAMHS",
                            "0300 555 0142",
                            "Monday to Friday, 9am to 5pm",
                            "Mum keeps the medicines locked away",
                            "Biscuit",
                            "Going to art school",
                            "Staff: If possible, see someone I already know from the CAMHS team",
                            "Please don't call my school unless I say it's OK",
                            "Someone to walk Biscuit",
                            "Mum, and my CAMHS team",
                            "Electroconvulsive therapy",
                            "At any time, including when I lack capacity to decide",
                            "This refusal applies even if my life is at risk.",
                            "Signed by: Alex Rivera, 20 February 2026",
                            "Witnessed by: Lou Evans, 20 February 2026"}) {
    EXPECT_THAT(text, HasSubstr(words));
  }
  EXPECT_THAT(text, HasSubstr("Revision 4, updated 2 March 2026"));
  EXPECT_THAT(text, HasSubstr("agreed with Alex Rivera and Dr Sam Okafor on 3 March 2026"));
  EXPECT_THAT(text, HasSubstr("printed 14 March 2026, revision 4"));
  EXPECT_THAT(text, HasSubstr(absl::StrCat("page 1 of ", printed->pages)));
}

TEST(CrisisPlanPdfTest, WelshPlanHasWelshHeadingsOnly) {
  absl::StatusOr<PrintedPlan> printed = PrintCrisisPlan(DemoPlan(), Context("cy"));
  ASSERT_TRUE(printed.ok()) << printed.status();
  EXPECT_EQ(printed->missing_glyphs, 0);
  std::string text = ExtractText(printed->pdf);
  EXPECT_THAT(text, AllOf(HasSubstr("Llinellau argyfwng"), HasSubstr("Arwyddion rhybudd"),
                          HasSubstr("Rhesymau dros fyw"), HasSubstr("Trefniadau ymarferol"),
                          HasSubstr("Penderfyniad ymlaen llaw i wrthod triniaeth"),
                          HasSubstr("Oriau: 24 hours, every day"), HasSubstr("Ffôn: 07700 900123"),
                          HasSubstr("cytunwyd gydag Alex Rivera a Dr Sam Okafor ar 3 Mawrth 2026"),
                          HasSubstr("argraffwyd 14 Mawrth 2026, diwygiad 4"),
                          HasSubstr(absl::StrCat("tudalen 1 o ", printed->pages))));
  // The person's words stay as they wrote them.
  EXPECT_THAT(text, HasSubstr("I stop replying to my friends"));
  EXPECT_THAT(text, AllOf(Not(HasSubstr("Warning signs")), Not(HasSubstr("Crisis lines")),
                          Not(HasSubstr("Reasons for living")), Not(HasSubstr("Hours:")),
                          Not(HasSubstr("printed")), Not(HasSubstr("page 1"))));
}

TEST(CrisisPlanPdfTest, WelshEntriesAwaitTranslatorReview) {
  ASSERT_NE(FindPrintLabels("cy"), nullptr);
  EXPECT_TRUE(FindPrintLabels("cy")->awaiting_translator_review);
  EXPECT_FALSE(FindPrintLabels("en")->awaiting_translator_review);
  EXPECT_EQ(FindPrintLabels("cy-GB"), FindPrintLabels("cy"));
  EXPECT_EQ(FindPrintLabels("fr"), nullptr);
  EXPECT_EQ(SupportedPrintLocales(), (std::vector<std::string>{"cy", "en"}));
}

TEST(CrisisPlanPdfTest, NotYetAgreedWhenNobodyAgreedThisRevision) {
  PrintContext context = Context("en");
  context.agreed_with.clear();
  context.agreed_revision = 0;
  absl::StatusOr<PrintedPlan> printed = PrintCrisisPlan(DemoPlan(), context);
  ASSERT_TRUE(printed.ok()) << printed.status();
  std::string text = ExtractText(printed->pdf);
  EXPECT_THAT(text, HasSubstr("Revision 4, updated 2 March 2026; not yet agreed"));
  EXPECT_THAT(text, Not(HasSubstr("agreed with")));
}

TEST(CrisisPlanPdfTest, AdvanceDecisionSaysWhenItDoesNotApplyIfLifeIsAtRisk) {
  v1::Plan plan = DemoPlan();
  plan.mutable_crisis_plan()->mutable_advance_decision()->set_applies_even_if_life_at_risk(false);
  absl::StatusOr<PrintedPlan> printed = PrintCrisisPlan(plan, Context("cy"));
  ASSERT_TRUE(printed.ok()) << printed.status();
  std::string text = ExtractText(printed->pdf);
  EXPECT_THAT(text, HasSubstr("Nid yw'r gwrthodiad hwn yn berthnasol os yw fy mywyd mewn perygl."));
  EXPECT_THAT(text, HasSubstr("Llofnodwyd gan: Alex Rivera, 20 Chwefror 2026"));
}

TEST(CrisisPlanPdfTest, EveryScriptPrintsAndComesBack) {
  v1::Plan plan = DemoPlan();
  auto* signs = plan.mutable_crisis_plan()->mutable_warning_signs();
  // Welsh with ŵ and ŷ; Arabic and Hebrew (right to left); emoji, one with a skin tone;
  // Greek, Cyrillic and a combining diaeresis; Devanagari (shaped).
  AddItem(signs, "Rwy'n teimlo'n drist iawn ar ŵyl y gaeaf, ŷd");
  AddItem(signs, "أشعر بالحزن");
  AddItem(signs, "אני עצוב");
  AddItem(signs, "I feel 😢 then 💪🏽");
  AddItem(signs, "Zoë, Ελένη, Дарья, nai\u0308ve");
  AddItem(signs, "मुझे डर लगता है");
  absl::StatusOr<PrintedPlan> printed = PrintCrisisPlan(plan, Context("en"));
  ASSERT_TRUE(printed.ok()) << printed.status();
  EXPECT_EQ(printed->missing_glyphs, 0);
  std::string text = ExtractText(printed->pdf);
  EXPECT_THAT(text, AllOf(HasSubstr("ŵyl"), HasSubstr("ŷd"), HasSubstr("Ελένη"), HasSubstr("Дарья"),
                          HasSubstr("nai\u0308ve"), HasSubstr("मुझे"), HasSubstr("I feel")));
  // Right-to-left words may come back in either order; each word is there.
  for (const char* word : {"أشعر", "بالحزن", "אני", "עצוב"}) EXPECT_THAT(text, HasSubstr(word));
}

TEST(CrisisPlanPdfTest, CountsGlyphsNoFontHas) {
  v1::Plan plan = DemoPlan();
  // U+30000, CJK Extension G: assigned since Unicode 13, in no font Debian's Noto has.
  AddItem(plan.mutable_crisis_plan()->mutable_warning_signs(), "\U00030000\U00030001");
  absl::StatusOr<PrintedPlan> printed = PrintCrisisPlan(plan, Context("en"));
  ASSERT_TRUE(printed.ok()) << printed.status();
  EXPECT_EQ(printed->missing_glyphs, 2);
}

TEST(CrisisPlanPdfTest, LongPlanContinuesWithoutLosingAWord) {
  v1::Plan plan = DemoPlan();
  v1::CrisisPlan* crisis = plan.mutable_crisis_plan();
  std::vector<std::string> markers;
  const std::vector<google::protobuf::RepeatedPtrField<v1::TextItem>*> sections = {
      crisis->mutable_warning_signs(), crisis->mutable_coping_strategies(),
      crisis->mutable_reasons_for_living(), crisis->mutable_who_may_see()};
  int item = 0;
  for (auto* section : sections) {
    for (int i = 0; i < 13 && item < 50; ++i, ++item) {
      std::string text;
      // The marker sits in the middle of the item, where a page break is likely.
      for (int word = 0; text.size() < 2000 - 20; ++word) {
        if (word == 120) {
          markers.push_back(absl::StrCat("marker", item, "x"));
          absl::StrAppend(&text, markers.back(), " ");
        }
        absl::StrAppend(&text, "calm", word % 10, " ");
      }
      AddItem(section, text);
    }
  }
  ASSERT_EQ(markers.size(), 50u);
  absl::StatusOr<PrintedPlan> printed = PrintCrisisPlan(plan, Context("en"));
  ASSERT_TRUE(printed.ok()) << printed.status();
  EXPECT_GT(printed->pages, 2);
  EXPECT_EQ(printed->missing_glyphs, 0);
  std::string text = ExtractText(printed->pdf);
  for (const std::string& marker : markers) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat(" ", marker, " "))) << marker;
  }
  EXPECT_THAT(text, HasSubstr(absl::StrCat("page ", printed->pages, " of ", printed->pages)));
  // Every word of every item: 50 items of about 330 words each.
  size_t calm_words = 0;
  for (size_t at = text.find("calm"); at != std::string::npos; at = text.find("calm", at + 1)) {
    ++calm_words;
  }
  size_t expected = 0;
  for (auto* section : sections) {
    for (const v1::TextItem& text_item : *section) {
      for (size_t at = text_item.text().find("calm"); at != std::string::npos;
           at = text_item.text().find("calm", at + 1)) {
        ++expected;
      }
    }
  }
  EXPECT_EQ(calm_words, expected);
}

TEST(CrisisPlanPdfTest, FirstPageIsNotBlank) {
  absl::StatusOr<PrintedPlan> printed = PrintCrisisPlan(DemoPlan(), Context("en"));
  ASSERT_TRUE(printed.ok()) << printed.status();
  Gray page = RenderFirstPage(printed->pdf);
  ASSERT_GT(page.width, 0);
  ASSERT_EQ(page.pixels.size(), static_cast<size_t>(page.width) * page.height);
  size_t marked = 0;
  for (char pixel : page.pixels) marked += static_cast<unsigned char>(pixel) < 240;
  // A4 at 50 dpi is 413 x 585; text and the crisis box mark several per cent of it.
  EXPECT_GT(static_cast<double>(marked) / page.pixels.size(), 0.05);
}

TEST(CrisisPlanPdfTest, UnsupportedLocaleListsTheSupportedOnes) {
  absl::StatusOr<PrintedPlan> printed = PrintCrisisPlan(DemoPlan(), Context("fr"));
  ASSERT_EQ(printed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FirstField(printed.status()), "locale");
  EXPECT_THAT(printed.status().message(), AllOf(HasSubstr("cy"), HasSubstr("en")));
}

TEST(CrisisPlanPdfTest, CarePlanIsNotACrisisPlan) {
  v1::Plan plan;
  plan.set_name("people/alex/plans/care");
  plan.mutable_care_plan()->mutable_about_me()->set_what_matters("Art");
  absl::StatusOr<PrintedPlan> printed = PrintCrisisPlan(plan, Context("en"));
  ASSERT_EQ(printed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FirstField(printed.status()), "name");
  EXPECT_THAT(printed.status().message(), HasSubstr("not a crisis plan"));
}

TEST(CrisisPlanPdfTest, MarkupInThePersonsWordsIsPrintedAsWritten) {
  v1::Plan plan = DemoPlan();
  AddItem(plan.mutable_crisis_plan()->mutable_warning_signs(),
          "<b>Me & you</b> <span size='99999'>&amp;");
  absl::StatusOr<PrintedPlan> printed = PrintCrisisPlan(plan, Context("en"));
  ASSERT_TRUE(printed.ok()) << printed.status();
  EXPECT_THAT(ExtractText(printed->pdf), HasSubstr("<b>Me & you</b> <span size='99999'>&amp;"));
}

TEST(CrisisPlanPdfTest, TwoThreadsPrintAtOnce) {
  PrintedPlan english;
  PrintedPlan welsh;
  absl::Status english_status;
  absl::Status welsh_status;
  auto print = [](const char* locale, PrintedPlan* out, absl::Status* status) {
    for (int round = 0; round < 3; ++round) {
      absl::StatusOr<PrintedPlan> printed = PrintCrisisPlan(DemoPlan(), Context(locale));
      if (!printed.ok()) {
        *status = printed.status();
        return;
      }
      *out = *std::move(printed);
    }
  };
  std::thread first(print, "en", &english, &english_status);
  std::thread second(print, "cy", &welsh, &welsh_status);
  first.join();
  second.join();
  ASSERT_TRUE(english_status.ok()) << english_status;
  ASSERT_TRUE(welsh_status.ok()) << welsh_status;
  EXPECT_THAT(ExtractText(english.pdf), HasSubstr("Warning signs"));
  EXPECT_THAT(ExtractText(welsh.pdf), HasSubstr("Arwyddion rhybudd"));
  EXPECT_EQ(english.missing_glyphs, 0);
  EXPECT_EQ(welsh.missing_glyphs, 0);
}

}  // namespace
}  // namespace coplan
