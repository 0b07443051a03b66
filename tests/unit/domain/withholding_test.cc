// "Prefer not to share with": redaction of documents and their history, and what a writer
// may send at withheld paths.
#include "server/domain/withholding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coplan/v1/plan.pb.h"
#include "google/protobuf/util/json_util.h"
#include "server/domain/edit_engine.h"

namespace coplan {
namespace {

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
  insert.mutable_insert_item()
      ->mutable_item()
      ->mutable_struct_value()
      ->mutable_fields()
      ->at("id")
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
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  R"({"phone": "07700 900999"})", update.mutable_update_item()->mutable_fields())
                  .ok());
  EXPECT_FALSE(RedactOperation(update, *v1::Plan::descriptor(), withheld, false).has_value());
}

TEST(WithholdingTest, AnItemUpdateKeepsItsVisiblePartsWhenItCarriesHiddenOnes) {
  const std::vector<std::string> withheld = {"care_plan.goals[g1].steps[s1]"};
  v1::EditOperation update;
  update.mutable_update_item()->set_item_path("care_plan.goals[g1]");
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(
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

}  // namespace
}  // namespace coplan
