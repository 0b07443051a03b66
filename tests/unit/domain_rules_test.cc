// Pure domain rules: field validation, update masks, access decisions and the proxy age
// rule, withholding redaction, SURE scoring, readability and grid publishing checks,
// page tokens, and statement-timeout steps.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coplan/v1/decision.pb.h"
#include "coplan/v1/option_grid.pb.h"
#include "coplan/v1/plan.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "server/common/errors.h"
#include "server/common/proto_time.h"
#include "server/domain/access_policy.h"
#include "server/domain/decision_rules.h"
#include "server/domain/field_rules.h"
#include "server/domain/grid_quality.h"
#include "server/domain/page_token.h"
#include "server/domain/plan_rules.h"
#include "server/domain/readability.h"
#include "server/domain/update_mask.h"
#include "server/domain/withholding.h"
#include "server/store/database.h"

namespace coplan {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

std::string FirstField(const absl::Status& status) {
  google::rpc::BadRequest bad;
  return ReadDetail(status, bad) && bad.field_violations_size() ? bad.field_violations(0).field() : "";
}

TEST(FieldRulesTest, CountsCodePointsNotBytes) {
  v1::TextItem item;
  item.set_id("a");
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "é";  // 2 bytes each
  item.set_text(text);
  EXPECT_TRUE(ValidateFields(item, "item").ok());
  item.set_text(text + "é");
  EXPECT_EQ(FirstField(ValidateFields(item, "item")), "item.text");
}

TEST(FieldRulesTest, ChecksRangesEnumsRequiredAndResourcePatterns) {
  v1::DialogRating rating;
  rating.set_domain(v1::DIALOG_DOMAIN_MEDICATION);
  rating.set_score(8);
  EXPECT_EQ(FirstField(ValidateFields(rating, "r")), "r.score");
  rating.set_score(7);
  EXPECT_TRUE(ValidateFields(rating, "r").ok());
  rating.set_domain(v1::DIALOG_DOMAIN_UNSPECIFIED);
  EXPECT_EQ(FirstField(ValidateFields(rating, "r")), "r.domain");  // required
  v1::KeyWorker worker;
  worker.set_person("not-a-name");
  EXPECT_EQ(FirstField(ValidateFields(worker, "k")), "k.person");
  worker.set_person("people/sam");
  EXPECT_TRUE(ValidateFields(worker, "k").ok());
}

TEST(FieldRulesTest, OutputOnlyFieldsAreClearedAndIdsAssignedUniquely) {
  v1::Plan plan;
  plan.set_revision(99);
  plan.mutable_care_plan()->set_review_overdue(true);
  for (int i = 0; i < 30; ++i) plan.mutable_care_plan()->add_goals()->set_description("g");
  plan.mutable_care_plan()->mutable_goals(3)->set_id("kept");
  ClearOutputOnlyFields(plan);
  AssignItemIds(plan);
  EXPECT_EQ(plan.revision(), 0);
  EXPECT_FALSE(plan.care_plan().review_overdue());
  std::set<std::string> ids;
  for (const auto& goal : plan.care_plan().goals()) ids.insert(goal.id());
  EXPECT_EQ(ids.size(), 30u);
  EXPECT_EQ(plan.care_plan().goals(3).id(), "kept");
}

TEST(UpdateMaskTest, ImpliedMaskDescendsIntoMessagesAndChangedPathsAreFine) {
  v1::Plan stored;
  auto* care = stored.mutable_care_plan();
  care->mutable_about_me()->set_what_matters("a");
  care->mutable_about_me()->set_communication("b");
  auto* goal = care->add_goals();
  goal->set_id("g1");
  goal->set_description("old");
  v1::Plan request;
  request.mutable_care_plan()->mutable_about_me()->set_what_matters("A");
  auto update = ApplyUpdateMask(stored, request, {}, "plan");
  ASSERT_TRUE(update.ok()) << update.status();
  EXPECT_EQ(stored.care_plan().about_me().communication(), "b");  // not in the implied mask
  EXPECT_THAT(update->changed_paths, ElementsAre("care_plan.about_me.what_matters"));

  v1::Plan with_goals = stored;
  with_goals.mutable_care_plan()->mutable_goals(0)->set_description("new");
  google::protobuf::FieldMask mask;
  mask.add_paths("care_plan.goals");
  update = ApplyUpdateMask(stored, with_goals, mask, "plan");
  ASSERT_TRUE(update.ok());
  EXPECT_THAT(update->changed_paths, ElementsAre("care_plan.goals[g1].description"));
  ASSERT_EQ(update->operations.size(), 1u);
  EXPECT_EQ(update->operations[0].set_field().path(), "care_plan.goals");
}

TEST(UpdateMaskTest, StarReplacesEditableFieldsOnlyAndRefusesBadPaths) {
  v1::Plan stored;
  stored.set_title("t");
  stored.mutable_crisis_plan()->add_warning_signs()->set_text("x");
  v1::Plan request;
  request.mutable_crisis_plan();
  google::protobuf::FieldMask star;
  star.add_paths("*");
  ASSERT_TRUE(ApplyUpdateMask(stored, request, star, "plan").ok());
  EXPECT_EQ(stored.title(), "");
  EXPECT_EQ(stored.crisis_plan().warning_signs_size(), 0);
  for (const char* bad : {"name", "revision", "care_plan.goals[x]", "nope", "crisis_plan.warning_signs.text"}) {
    google::protobuf::FieldMask mask;
    mask.add_paths(bad);
    EXPECT_EQ(ApplyUpdateMask(stored, request, mask, "plan").status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

AccessFacts Facts(const std::string& actor, const std::string& subject) {
  AccessFacts facts;
  facts.actor_id = actor;
  facts.actor.exists = true;
  facts.actor.session_valid = true;
  facts.subject.person_id = subject;
  facts.subject.exists = true;
  return facts;
}

TEST(AccessPolicyTest, ProxyAccessEndsAtSixteenUnlessTheYoungPersonGrantedIt) {
  const absl::CivilDay today(2026, 6, 15);
  EXPECT_EQ(ProxyStateOn(false, false, absl::CivilDay(2010, 6, 16), today), v1::PROXY_STATE_ACTIVE);  // 15
  EXPECT_EQ(ProxyStateOn(false, false, absl::CivilDay(2010, 6, 15), today),
            v1::PROXY_STATE_SUSPENDED_AT_16);  // 16 today
  EXPECT_EQ(ProxyStateOn(true, false, absl::CivilDay(2010, 6, 15), today), v1::PROXY_STATE_ACTIVE);
  EXPECT_EQ(ProxyStateOn(false, true, absl::CivilDay(2012, 1, 1), today), v1::PROXY_STATE_REFUSED);
  EXPECT_EQ(ProxyStateOn(false, false, std::nullopt, today), v1::PROXY_STATE_SUSPENDED_AT_16);
  EXPECT_EQ(AgeOn(absl::CivilDay(2008, 2, 29), absl::CivilDay(2026, 2, 28)), 17);
  EXPECT_EQ(AgeOn(absl::CivilDay(2008, 2, 29), absl::CivilDay(2026, 3, 1)), 18);
}

TEST(AccessPolicyTest, GrantsCoverNamedDocumentsOrKindsAndNeverDeletion) {
  AccessFacts facts = Facts("carer", "person");
  facts.subject.grants.push_back({"g", {"plans/crisis"}, {}, v1::ACCESS_LEVEL_EDIT});
  const absl::CivilDay today(2026, 1, 1);
  auto crisis = PermissionsForDocument(facts, {v1::DOCUMENT_KIND_CRISIS_PLAN, "plans/crisis"}, today);
  EXPECT_TRUE(crisis.read && crisis.edit);
  EXPECT_FALSE(crisis.remove);
  EXPECT_FALSE(crisis.sign_off_role.has_value());
  EXPECT_FALSE(PermissionsForDocument(facts, {v1::DOCUMENT_KIND_CRISIS_PLAN, "plans/other"}, today).read);
  facts.subject.grants.push_back({"k", {}, {v1::DOCUMENT_KIND_CARE_PLAN}, v1::ACCESS_LEVEL_READ});
  auto care = PermissionsForDocument(facts, {v1::DOCUMENT_KIND_CARE_PLAN, "plans/any"}, today);
  EXPECT_TRUE(care.read);
  EXPECT_FALSE(care.edit);
  // A revoked session or an unknown caller gets nothing, whatever the relationship.
  facts.actor.session_valid = false;
  EXPECT_FALSE(PermissionsForDocument(facts, {v1::DOCUMENT_KIND_CRISIS_PLAN, "plans/crisis"}, today).read);
}

TEST(AccessPolicyTest, CareTeamNeedsARegisteredClinicianAndAdministratorsSeeNoRecords) {
  const absl::CivilDay today(2026, 1, 1);
  AccessFacts facts = Facts("c", "p");
  facts.subject.in_care_team = true;
  EXPECT_FALSE(PermissionsForDocument(facts, {v1::DOCUMENT_KIND_CARE_PLAN, "plans/x"}, today).read);
  facts.actor.clinician = true;
  EXPECT_TRUE(PermissionsForDocument(facts, {v1::DOCUMENT_KIND_CARE_PLAN, "plans/x"}, today).remove);
  AccessFacts admin = Facts("a", "p");
  admin.actor.administrator = true;
  EXPECT_FALSE(PermissionsForDocument(admin, {v1::DOCUMENT_KIND_CARE_PLAN, "plans/x"}, today).read);
  EXPECT_TRUE(PermissionsForPerson(admin, today).manage_care_team);
  EXPECT_FALSE(PermissionsForPerson(admin, today).read_access_log);
}

TEST(WithholdingTest, RedactsOperationsThatCarryWithheldParts) {
  const auto& prototype = *v1::Plan::descriptor();
  const std::vector<std::string> withheld = {"crisis_plan.help_contacts[c1]",
                                             "crisis_plan.refusals_if_unwell"};
  v1::EditOperation hidden;
  hidden.mutable_set_field()->set_path("crisis_plan.refusals_if_unwell");
  EXPECT_FALSE(RedactOperation(hidden, prototype, withheld, false).has_value());
  v1::EditOperation whole;
  whole.mutable_set_field()->set_path("crisis_plan");
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  R"({"help_contacts": [{"id": "c1", "name": "secret"}, {"id": "c2", "name": "ok"}],
                      "refusals_if_unwell": [{"id": "r", "text": "secret"}]})",
                  whole.mutable_set_field()->mutable_value())
                  .ok());
  auto redacted = RedactOperation(whole, prototype, withheld, false);
  ASSERT_TRUE(redacted.has_value());
  const std::string text = redacted->DebugString();
  EXPECT_EQ(text.find("secret"), std::string::npos) << text;
  EXPECT_NE(text.find("\"ok\""), std::string::npos) << text;
  v1::EditOperation list;
  list.mutable_set_field()->set_path("withholdings");
  EXPECT_FALSE(RedactOperation(list, prototype, {}, false).has_value());
  EXPECT_TRUE(RedactOperation(list, prototype, {}, true).has_value());

  // Inserting the withheld item is dropped; updating a visible one is kept.
  v1::EditOperation insert;
  insert.mutable_insert_item()->set_list_path("crisis_plan.help_contacts");
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  R"({"id": "c1", "name": "secret"})", insert.mutable_insert_item()->mutable_item())
                  .ok());
  EXPECT_FALSE(RedactOperation(insert, prototype, withheld, false).has_value());
  insert.mutable_insert_item()->mutable_item()->mutable_struct_value()->mutable_fields()->at("id")
      .set_string_value("c2");
  EXPECT_TRUE(RedactOperation(insert, prototype, withheld, false).has_value());
}

TEST(WithholdingTest, RedactsWithheldFieldsInsideACarriedItem) {
  const std::vector<std::string> withheld = {"crisis_plan.help_contacts[c1].phone"};
  v1::EditOperation insert;
  insert.mutable_insert_item()->set_list_path("crisis_plan.help_contacts");
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  R"({"id": "c1", "name": "Sam", "phone": "07700 900123"})",
                  insert.mutable_insert_item()->mutable_item())
                  .ok());
  auto redacted = RedactOperation(insert, *v1::Plan::descriptor(), withheld, false);
  ASSERT_TRUE(redacted.has_value());
  EXPECT_EQ(redacted->DebugString().find("07700"), std::string::npos) << redacted->DebugString();
  EXPECT_NE(redacted->DebugString().find("Sam"), std::string::npos);

  v1::EditOperation update;
  update.mutable_update_item()->set_item_path("crisis_plan.help_contacts[c1]");
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(R"({"phone": "07700 900999"})",
                                                          update.mutable_update_item()->mutable_fields())
                  .ok());
  EXPECT_FALSE(RedactOperation(update, *v1::Plan::descriptor(), withheld, false).has_value());
}

TEST(WithholdingTest, AnItemUpdateKeepsItsVisiblePartsWhenItCarriesHiddenOnes) {
  const std::vector<std::string> withheld = {"care_plan.goals[g1].steps[s1]"};
  v1::EditOperation update;
  update.mutable_update_item()->set_item_path("care_plan.goals[g1]");
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  R"({"steps": [{"id": "s1", "text": "secret step"}, {"id": "s2", "text": "walk"}]})",
                  update.mutable_update_item()->mutable_fields())
                  .ok());
  auto seen = RedactOperation(update, *v1::Plan::descriptor(), withheld, false);
  ASSERT_TRUE(seen.has_value());
  const std::string text = seen->DebugString();
  EXPECT_EQ(text.find("secret"), std::string::npos) << text;
  EXPECT_NE(text.find("walk"), std::string::npos) << text;
}

TEST(WithholdingTest, PositionsAnchoredToAHiddenItemAreReanchoredToAVisibleOne) {
  const std::vector<std::string> withheld = {"crisis_plan.warning_signs[b]"};
  v1::Plan current;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  R"({"crisis_plan": {"warning_signs": [{"id": "a", "text": "1"},
                                                        {"id": "b", "text": "hidden"},
                                                        {"id": "n", "text": "3"},
                                                        {"id": "m", "text": "4"}]}})",
                  &current)
                  .ok());
  v1::EditOperation insert;
  insert.mutable_insert_item()->set_list_path("crisis_plan.warning_signs");
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  R"({"id": "n", "text": "3"})", insert.mutable_insert_item()->mutable_item())
                  .ok());
  insert.mutable_insert_item()->mutable_position()->set_after_id("b");
  auto seen = RedactOperation(insert, *v1::Plan::descriptor(), withheld, false, &current);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->insert_item().position().after_id(), "a");
  EXPECT_EQ(seen->DebugString().find("\"b\""), std::string::npos) << seen->DebugString();
  // Without the current document the item goes to the end rather than name "b".
  seen = RedactOperation(insert, *v1::Plan::descriptor(), withheld, false);
  ASSERT_TRUE(seen.has_value());
  EXPECT_TRUE(seen->insert_item().position().at_end());

  v1::EditOperation move;
  move.mutable_move_item()->set_item_path("crisis_plan.warning_signs[a]");
  move.mutable_move_item()->mutable_position()->set_before_id("b");
  current.mutable_crisis_plan()->mutable_warning_signs()->SwapElements(0, 1);  // b, a, n, m
  seen = RedactOperation(move, *v1::Plan::descriptor(), withheld, false, &current);
  ASSERT_TRUE(seen.has_value());
  EXPECT_TRUE(seen->move_item().position().at_start());
  // Anchors to visible items are left alone.
  move.mutable_move_item()->mutable_position()->set_after_id("n");
  seen = RedactOperation(move, *v1::Plan::descriptor(), withheld, false, &current);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->move_item().position().after_id(), "n");
}

TEST(WithholdingTest, CarriesWithheldPartsIntoAWholeFieldUpdate) {
  v1::Plan stored;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  R"({"crisis_plan": {"help_contacts": [{"id": "c0", "name": "Ann"},
                                                        {"id": "c1", "name": "secret"},
                                                        {"id": "c2", "name": "Bo"}]}})",
                  &stored)
                  .ok());
  const std::vector<std::string> withheld = {"crisis_plan.help_contacts[c1]"};
  v1::Plan incoming = stored;
  RemovePaths(incoming, withheld);  // what the writer saw
  incoming.mutable_crisis_plan()->mutable_help_contacts(1)->set_name("Bob");
  EXPECT_TRUE(CarryOverWithheld(stored, incoming, withheld));
  ASSERT_EQ(incoming.crisis_plan().help_contacts_size(), 3);
  EXPECT_EQ(incoming.crisis_plan().help_contacts(1).id(), "c1");
  EXPECT_EQ(incoming.crisis_plan().help_contacts(2).name(), "Bob");
  EXPECT_TRUE(WithheldUnchanged(stored, incoming, withheld));
  incoming.mutable_crisis_plan()->mutable_help_contacts(1)->set_name("changed");
  EXPECT_FALSE(WithheldUnchanged(stored, incoming, withheld));
}

TEST(WithholdingTest, AValueSentForAWithheldFieldIsRefusedNotDropped) {
  v1::Plan stored;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  R"({"crisis_plan": {"refusals_if_unwell": [{"id": "r1", "text": "secret"}],
                                      "warning_signs": [{"id": "w1", "text": "shared"}]}})",
                  &stored)
                  .ok());
  const std::vector<std::string> withheld = {"crisis_plan.refusals_if_unwell"};
  v1::Plan incoming = stored;
  RemovePaths(incoming, withheld);  // what the writer saw: the field empty
  EXPECT_TRUE(CarryOverWithheld(stored, incoming, withheld));
  ASSERT_EQ(incoming.crisis_plan().refusals_if_unwell_size(), 1);
  EXPECT_TRUE(WithheldUnchanged(stored, incoming, withheld));

  RemovePaths(incoming, withheld);
  incoming.mutable_crisis_plan()->add_refusals_if_unwell()->set_text("the writer's own");
  EXPECT_FALSE(CarryOverWithheld(stored, incoming, withheld));
  ASSERT_EQ(incoming.crisis_plan().refusals_if_unwell_size(), 1);
  EXPECT_EQ(incoming.crisis_plan().refusals_if_unwell(0).text(), "the writer's own");
  EXPECT_FALSE(WithheldUnchanged(stored, incoming, withheld));

  // A guess that matches is reported the same way: the answer must not depend on it.
  incoming = stored;
  EXPECT_FALSE(CarryOverWithheld(stored, incoming, withheld));
  v1::Plan item_guess = stored;
  const std::vector<std::string> hidden_sign = {"crisis_plan.warning_signs[w1]"};
  EXPECT_FALSE(CarryOverWithheld(stored, item_guess, hidden_sign));
}

TEST(DecisionRulesTest, SureScoresOnlyCompleteTestsAndFlagsThreeOrLess) {
  v1::SureTest sure;
  EXPECT_FALSE(ScoreSure(sure).complete);
  sure.set_sure_of_best_choice(v1::SURE_ANSWER_YES);
  sure.set_understands_benefits_and_risks(v1::SURE_ANSWER_YES);
  sure.set_clear_about_what_matters(v1::SURE_ANSWER_YES);
  EXPECT_FALSE(ScoreSure(sure).decisional_conflict);  // incomplete: no verdict
  sure.set_enough_support(v1::SURE_ANSWER_NO);
  EXPECT_EQ(ScoreSure(sure).score, 3);
  EXPECT_TRUE(ScoreSure(sure).decisional_conflict);
  sure.set_enough_support(v1::SURE_ANSWER_YES);
  EXPECT_EQ(ScoreSure(sure).score, 4);
  EXPECT_FALSE(ScoreSure(sure).decisional_conflict);
}

TEST(PlanRulesTest, AdvanceDecisionsOnlyForSignedWitnessedAdults) {
  PlanRules rules;
  v1::Plan plan;
  auto* decision = plan.mutable_crisis_plan()->mutable_advance_decision();
  decision->set_treatment_refused("ECT");
  decision->set_circumstances("always");
  decision->set_signed_by("Pat");
  *decision->mutable_signed_on() = ToDate(absl::CivilDay(2026, 1, 1));
  decision->set_witnessed_by("Lou");
  *decision->mutable_witnessed_on() = ToDate(absl::CivilDay(2026, 1, 1));
  DocumentContext adult{absl::CivilDay(2000, 1, 1), absl::CivilDay(2026, 2, 1), nullptr};
  EXPECT_TRUE(rules.Check(plan, adult).ok());
  DocumentContext minor{absl::CivilDay(2009, 1, 1), absl::CivilDay(2026, 2, 1), nullptr};
  EXPECT_EQ(FirstField(rules.Check(plan, minor)), "crisis_plan.advance_decision");
  DocumentContext unknown{std::nullopt, absl::CivilDay(2026, 2, 1), nullptr};
  EXPECT_EQ(rules.Check(plan, unknown).code(), absl::StatusCode::kInvalidArgument);
  decision->clear_witnessed_by();
  EXPECT_EQ(FirstField(rules.Check(plan, adult)), "crisis_plan.advance_decision.witnessed_by");
}

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
  auto hard = Readability({"Pharmacological interventions demonstrate considerable heterogeneity "
                           "regarding therapeutic effectiveness in adolescent populations."});
  EXPECT_GT(hard.reading_age_years, 18);
  // Separate entries are separate sentences, even without full stops.
  EXPECT_EQ(Readability({"Talking therapy", "Wait and see"}).sentences, 2);
}

TEST(GridQualityTest, ReportsEveryProblemAtOnce) {
  v1::OptionGrid grid;
  grid.add_options()->set_id("a");
  auto* question = grid.add_questions();
  question->set_id("q");
  auto* answer = question->add_answers();
  answer->set_id("x");
  answer->set_option_id("b");
  answer->add_source_ids("s");
  const GridCheck check = CheckForPublishing(grid, absl::CivilDay(2026, 1, 1), 12);
  std::vector<std::string> types;
  for (const auto& problem : check.problems) types.push_back(problem.type);
  EXPECT_THAT(types, UnorderedElementsAre("MISSING_DECISION_QUESTION", "TOO_FEW_OPTIONS", "UNKNOWN_OPTION",
                                          "UNKNOWN_SOURCE", "MISSING_ANSWER", "NO_SOURCES", "NO_AUTHORS",
                                          "MISSING_FUNDING", "MISSING_CONFLICT_OF_INTEREST",
                                          "MISSING_LAST_REVIEW_DATE", "MISSING_NEXT_REVIEW_DATE"));
}

TEST(PageTokenTest, RoundTripsAndRejectsForgedOrForeignTokens) {
  const std::string token = EncodePageToken({"123", "abc"}, "query-1");
  auto cursor = DecodePageToken(token, "query-1", 2);
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(cursor->Int(0), 123);
  EXPECT_EQ(cursor->Text(1), "abc");
  EXPECT_EQ(DecodePageToken(token, "query-2", 2).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodePageToken("garbage!", "query-1", 2).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodePageToken(token, "query-1", 3).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PageSize(0, 20, 100).value(), 20);
  EXPECT_EQ(PageSize(1000, 20, 100).value(), 100);
  EXPECT_FALSE(PageSize(-1, 20, 100).ok());
}

TEST(DatabaseTest, StatementTimeoutsRoundDownToStepsAndNeverExceedTheDeadline) {
  EXPECT_EQ(StatementTimeoutStepMs(absl::Milliseconds(9990), absl::Seconds(30)), 5000);
  EXPECT_EQ(StatementTimeoutStepMs(absl::Milliseconds(1999), absl::Seconds(30)), 1000);
  EXPECT_EQ(StatementTimeoutStepMs(absl::Milliseconds(250), absl::Seconds(30)), 200);
  EXPECT_EQ(StatementTimeoutStepMs(absl::Milliseconds(5), absl::Seconds(30)), 10);
  EXPECT_EQ(StatementTimeoutStepMs(absl::Hours(1), absl::Seconds(30)), 30000);
}

}  // namespace
}  // namespace coplan
