// The co-editing engine on its own: operations, ids, merges and conflicts, replay.
#include "server/domain/edit_engine.h"

#include <gtest/gtest.h>

#include "coplan/v1/editing_service.pb.h"
#include "coplan/v1/plan.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "server/common/errors.h"
#include "server/domain/document_paths.h"
#include "tests/support/edit_operations.h"

namespace coplan {
namespace {

using google::protobuf::RepeatedPtrField;
using testing::Batch;
using testing::InsertOp;
using testing::JsonValue;
using testing::MoveOp;
using testing::RemoveOp;
using testing::SetOp;
using testing::UpdateOp;
using v1::EditOperation;

v1::Plan CrisisPlan() {
  v1::Plan plan;
  auto* crisis = plan.mutable_crisis_plan();
  auto* a = crisis->add_warning_signs();
  a->set_id("a");
  a->set_text("not sleeping");
  auto* b = crisis->add_warning_signs();
  b->set_id("b");
  b->set_text("not eating");
  return plan;
}

std::vector<std::string> Ids(const v1::Plan& plan) {
  std::vector<std::string> ids;
  for (const auto& item : plan.crisis_plan().warning_signs()) ids.push_back(item.id());
  return ids;
}

TEST(EditEngineTest, AppliesEveryKindOfOperationInOrder) {
  v1::Plan plan = CrisisPlan();
  auto outcome = ApplyEditBatch(
      plan,
      Batch({SetOp("title", "\"My plan\""),
             InsertOp("crisis_plan.warning_signs", R"({"id": "c", "text": "staying in bed"})", "a"),
             UpdateOp("crisis_plan.warning_signs[b]", R"({"text": "skipping meals"})"),
             MoveOp("crisis_plan.warning_signs[b]", ""), RemoveOp("crisis_plan.warning_signs[a]")}),
      {}, 1, {});
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(plan.title(), "My plan");
  EXPECT_EQ(Ids(plan), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(plan.crisis_plan().warning_signs(0).text(), "skipping meals");
  EXPECT_EQ(outcome->changed_paths,
            (std::vector<std::string>{
                "title", "crisis_plan.warning_signs[c]", "crisis_plan.warning_signs[b].text",
                "crisis_plan.warning_signs[b]@position", "crisis_plan.warning_signs[a]"}));
  EXPECT_EQ(outcome->inserted_ids[1], "c");
}

TEST(EditEngineTest, AssignsIdsToInsertedItemsAndRecordsThemForReplay) {
  v1::Plan plan = CrisisPlan();
  auto outcome = ApplyEditBatch(
      plan, Batch({InsertOp("crisis_plan.help_contacts", R"({"name": "Mum", "phone": "0770"})")}),
      {}, 1, {});
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  const std::string id = plan.crisis_plan().help_contacts(0).id();
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(outcome->inserted_ids[0], id);
  // The stored operation carries the id, so replaying it gives the same document.
  v1::Plan replayed = CrisisPlan();
  RepeatedPtrField<EditOperation> applied(outcome->applied.begin(), outcome->applied.end());
  ASSERT_TRUE(ReplayOperations(replayed, applied).ok());
  EXPECT_EQ(replayed.SerializeAsString(), plan.SerializeAsString());
}

TEST(EditEngineTest, ConvertsJsonValuesOfEveryFieldType) {
  v1::Plan plan;
  plan.mutable_care_plan();
  auto outcome = ApplyEditBatch(
      plan,
      Batch({SetOp("care_plan.review_date", R"({"year": 2026, "month": 12, "day": 1})"),
             InsertOp("care_plan.goals",
                      R"({"id": "g", "description": "x", "status": "GOAL_STATUS_ACHIEVED"})"),
             SetOp("carePlan.keyWorker", R"({"displayName": "Sam"})"),
             InsertOp("care_plan.dialog.ratings",
                      R"({"domain": "DIALOG_DOMAIN_FRIENDSHIPS", "score": 6})")}),
      {}, 1, {});
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(plan.care_plan().review_date().month(), 12);
  EXPECT_EQ(plan.care_plan().goals(0).status(), v1::GOAL_STATUS_ACHIEVED);
  EXPECT_EQ(plan.care_plan().key_worker().display_name(), "Sam");
  EXPECT_EQ(plan.care_plan().dialog().ratings(0).score(), 6);
  // Canonical (proto) names are recorded, whatever the client sent.
  EXPECT_EQ(outcome->changed_paths[2], "care_plan.key_worker");
}

TEST(EditEngineTest, ConcurrentEditsOfDifferentPartsMerge) {
  v1::Plan plan = CrisisPlan();
  // Since the base, someone changed item a's text and inserted item z.
  std::vector<PriorChange> prior = {{2, "crisis_plan.warning_signs[a].text"},
                                    {3, "crisis_plan.warning_signs[z]"}};
  auto outcome = ApplyEditBatch(
      plan,
      Batch({UpdateOp("crisis_plan.warning_signs[b]", R"({"text": "b2"})"), SetOp("title", "\"t\""),
             InsertOp("crisis_plan.warning_signs", R"({"text": "new"})", "a")}),
      prior, 3, {});
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(plan.title(), "t");
  ASSERT_EQ(plan.crisis_plan().warning_signs_size(), 3);
  EXPECT_EQ(plan.crisis_plan().warning_signs(0).id(), "a");
  EXPECT_EQ(plan.crisis_plan().warning_signs(1).text(), "new");
  EXPECT_EQ(plan.crisis_plan().warning_signs(2).text(), "b2");
  EXPECT_EQ(outcome->changed_paths.size(), 3u);
}

TEST(EditEngineTest, AnEditOfAFieldChangedSinceTheBaseIsAbortedWithTheCurrentValue) {
  v1::Plan plan = CrisisPlan();
  std::vector<PriorChange> prior = {{5, "crisis_plan.warning_signs[b].text"}};
  v1::Plan before = plan;
  auto outcome =
      ApplyEditBatch(plan,
                     Batch({SetOp("title", "\"t\""),
                            UpdateOp("crisis_plan.warning_signs[b]", R"({"text": "mine"})")}),
                     prior, 6, {});
  ASSERT_EQ(outcome.status().code(), absl::StatusCode::kAborted);
  v1::EditConflict conflict;
  ASSERT_TRUE(ReadDetail(outcome.status(), conflict));
  EXPECT_EQ(conflict.operation_index(), 1);
  EXPECT_EQ(conflict.path(), "crisis_plan.warning_signs[b].text");
  EXPECT_EQ(conflict.current_value().string_value(), "not eating");
  EXPECT_EQ(conflict.changed_in_revision(), 5);
  EXPECT_EQ(conflict.current_revision(), 6);
}

TEST(EditEngineTest, ParentAndChildChangesConflictBothWays) {
  for (const auto& [prior_path, op] : std::vector<std::pair<std::string, EditOperation>>{
           {"crisis_plan.warning_signs",
            UpdateOp("crisis_plan.warning_signs[a]", R"({"text": "x"})")},
           {"crisis_plan.warning_signs[a].text", RemoveOp("crisis_plan.warning_signs[a]")},
           {"crisis_plan.warning_signs[a]@position", MoveOp("crisis_plan.warning_signs[a]", "b")},
           {"crisis_plan", SetOp("crisis_plan.warning_signs", "[]")}}) {
    v1::Plan plan = CrisisPlan();
    auto outcome = ApplyEditBatch(plan, Batch({op}), {{2, prior_path}}, 2, {});
    EXPECT_EQ(outcome.status().code(), absl::StatusCode::kAborted) << prior_path;
  }
}

// An update_item whose field is a list inside the item writes that whole list, so any
// change since the base to the list or to one of its items conflicts with it (finding 14:
// a sibling step edited meanwhile must not be overwritten silently). A field of the item
// beside the list does not.
TEST(EditEngineTest, AnUpdateItemThatWritesAListInsideAnItemConflictsWithEveryChangeInIt) {
  v1::Plan plan;
  auto* goal = plan.mutable_care_plan()->add_goals();
  goal->set_id("g");
  goal->set_description("sleep better");
  auto* step = goal->add_steps();
  step->set_id("s1");
  step->set_text("no screens after ten");
  const EditOperation replace_steps =
      UpdateOp("care_plan.goals[g]", R"({"steps": [{"id": "s1", "text": "mine"}]})");
  for (const std::string prior_path :
       {"care_plan.goals[g].steps[s1].text", "care_plan.goals[g].steps[s2]",
        "care_plan.goals[g].steps[s1]@position", "care_plan.goals[g].steps"}) {
    v1::Plan copy = plan;
    auto outcome = ApplyEditBatch(copy, Batch({replace_steps}), {{2, prior_path}}, 2, {});
    EXPECT_EQ(outcome.status().code(), absl::StatusCode::kAborted) << prior_path;
    EXPECT_EQ(copy.care_plan().goals(0).steps(0).text(), "no screens after ten") << prior_path;
  }
  v1::Plan copy = plan;
  auto beside =
      ApplyEditBatch(copy, Batch({replace_steps}), {{2, "care_plan.goals[g].description"}}, 2, {});
  EXPECT_TRUE(beside.ok()) << beside.status();
}

TEST(EditEngineTest, EditingAnItemRemovedSinceTheBaseConflictsButAnUnknownIdIsInvalid) {
  v1::Plan plan = CrisisPlan();
  plan.mutable_crisis_plan()->mutable_warning_signs()->RemoveLast();  // b was removed in rev 4
  auto removed =
      ApplyEditBatch(plan, Batch({UpdateOp("crisis_plan.warning_signs[b]", R"({"text": "x"})")}),
                     {{4, "crisis_plan.warning_signs[b]"}}, 4, {});
  EXPECT_EQ(removed.status().code(), absl::StatusCode::kAborted);
  v1::EditConflict conflict;
  ASSERT_TRUE(ReadDetail(removed.status(), conflict));
  EXPECT_EQ(conflict.current_value().kind_case(), google::protobuf::Value::kNullValue);

  auto unknown =
      ApplyEditBatch(plan, Batch({RemoveOp("crisis_plan.warning_signs[zz]")}), {}, 4, {});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  auto anchor = ApplyEditBatch(
      plan, Batch({InsertOp("crisis_plan.warning_signs", R"({"text": "t"})", "zz")}), {}, 4, {});
  EXPECT_EQ(anchor.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(EditEngineTest, BadOperationsNameTheirIndexAndField) {
  struct Case {
    EditOperation op;
    std::string field_prefix;
  };
  std::vector<Case> cases = {
      {SetOp("crisis_plan.nonsense", "1"), "operations[1].set_field.path"},
      {SetOp("revision", "5"), "operations[1].set_field.path"},
      {SetOp("care_plan.goals", "[]"), "operations[1].set_field.path"},
      {SetOp("crisis_plan.warning_signs[a].id", "\"x\""), "operations[1].set_field.path"},
      {SetOp("title", "{\"not\": \"a string\"}"), "operations[1].set_field.value"},
      {SetOp("title", std::string("\"") + std::string(201, 'x') + "\""), "title"},
      {InsertOp("crisis_plan.warning_signs", R"({"text": "x", "colour": "red"})"),
       "operations[1].insert_item.item"},
      {InsertOp("crisis_plan.warning_signs", R"({"id": "a", "text": "dup"})"),
       "operations[1].insert_item.item.id"},
      {InsertOp("title", R"({"text": "x"})"), "operations[1].insert_item.list_path"},
      {UpdateOp("crisis_plan.warning_signs[a]", R"({"id": "new"})"),
       "operations[1].update_item.fields.id"},
      {MoveOp("crisis_plan.warning_signs[a]", "a"), "operations[1].move_item.position"},
      {EditOperation(), "operations[1].operation"},
  };
  for (const Case& c : cases) {
    v1::Plan plan = CrisisPlan();
    v1::Plan before = plan;
    auto outcome = ApplyEditBatch(plan, Batch({SetOp("title", "\"first\""), c.op}), {}, 1, {});
    ASSERT_EQ(outcome.status().code(), absl::StatusCode::kInvalidArgument) << c.op.DebugString();
    google::rpc::BadRequest bad;
    ASSERT_TRUE(ReadDetail(outcome.status(), bad)) << outcome.status();
    EXPECT_EQ(bad.field_violations(0).field().rfind(c.field_prefix, 0), 0u)
        << bad.field_violations(0).field() << " vs " << c.field_prefix;
    google::rpc::ErrorInfo info;
    ASSERT_TRUE(ReadDetail(outcome.status(), info));
    EXPECT_EQ(info.metadata().at("operation_index"), "1") << outcome.status();
  }
}

TEST(EditEngineTest, RefusesEmptyAndOversizedBatches) {
  v1::Plan plan = CrisisPlan();
  EXPECT_EQ(ApplyEditBatch(plan, Batch({}), {}, 1, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  RepeatedPtrField<EditOperation> big;
  for (int i = 0; i <= kMaxOperationsPerBatch; ++i) *big.Add() = SetOp("title", "\"x\"");
  EXPECT_EQ(ApplyEditBatch(plan, big, {}, 1, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(EditEngineTest, WritePermissionIsAskedForEveryPathWritten) {
  v1::Plan plan = CrisisPlan();
  WritePermission deny_b = [](const std::string& path) {
    return PathsOverlap(path, "crisis_plan.warning_signs[b]") ? PermissionDeniedError("withheld")
                                                              : absl::OkStatus();
  };
  EXPECT_TRUE(ApplyEditBatch(plan,
                             Batch({UpdateOp("crisis_plan.warning_signs[a]", R"({"text": "x"})")}),
                             {}, 1, EditorView{deny_b, {}})
                  .ok());
  EXPECT_EQ(ApplyEditBatch(plan, Batch({RemoveOp("crisis_plan.warning_signs[b]")}), {}, 1,
                           EditorView{deny_b, {}})
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(EditEngineTest, HiddenItemsDoNotExistForTheEditor) {
  v1::Plan plan = CrisisPlan();
  const EditorView view{nullptr, {"crisis_plan.warning_signs[b]"}};
  // Naming, anchoring to or re-using the id of a hidden item reads like an unknown item.
  auto update = ApplyEditBatch(
      plan, Batch({UpdateOp("crisis_plan.warning_signs[b]", R"({"text": "x"})")}), {}, 1, view);
  EXPECT_EQ(update.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(update.status().message().find("no item"), std::string::npos) << update.status();
  auto anchored = ApplyEditBatch(
      plan, Batch({InsertOp("crisis_plan.warning_signs", R"({"id": "n", "text": "y"})", "b")}), {},
      1, view);
  EXPECT_NE(anchored.status().message().find("no item"), std::string::npos) << anchored.status();
  // A conflict on the list shows its current value without the hidden item.
  auto conflict = ApplyEditBatch(plan, Batch({SetOp("crisis_plan.warning_signs", "[]")}),
                                 {{2, "crisis_plan.warning_signs[a]"}}, 2, view);
  ASSERT_EQ(conflict.status().code(), absl::StatusCode::kAborted) << conflict.status();
  EXPECT_EQ(std::string(conflict.status().message()).find("[b]"), std::string::npos);
  v1::EditConflict details;
  ASSERT_TRUE(ReadDetail(conflict.status(), details));
  const std::string shown = details.current_value().DebugString();
  EXPECT_NE(shown.find("\"a\""), std::string::npos) << shown;
  EXPECT_EQ(shown.find("\"b\""), std::string::npos) << shown;
  // With the write rule in place too, a field of the hidden item is still unknown, not
  // "withheld from you".
  const WritePermission refuse_hidden = [](const std::string& path) {
    return PathsOverlap("crisis_plan.warning_signs[b]", path) ? PermissionDeniedError("withheld")
                                                              : absl::OkStatus();
  };
  const EditorView guarded{refuse_hidden, {"crisis_plan.warning_signs[b]"}};
  auto field = ApplyEditBatch(plan, Batch({SetOp("crisis_plan.warning_signs[b].text", "\"x\"")}),
                              {}, 1, guarded);
  EXPECT_EQ(field.status().code(), absl::StatusCode::kInvalidArgument) << field.status();
  EXPECT_NE(field.status().message().find("no item"), std::string::npos) << field.status();
  EXPECT_EQ(plan.crisis_plan().warning_signs_size(), 2);  // nothing changed
}

TEST(EditEngineTest, WritingOverHiddenItemsKeepsThemAndRecordsThemForReplay) {
  v1::Plan plan = CrisisPlan();
  const EditorView view{nullptr, {"crisis_plan.warning_signs[b]"}};
  auto whole = ApplyEditBatch(
      plan, Batch({SetOp("crisis_plan.warning_signs", R"([{"id": "a", "text": "A2"}])")}), {}, 1,
      view);
  ASSERT_TRUE(whole.ok()) << whole.status();
  ASSERT_EQ(plan.crisis_plan().warning_signs_size(), 2);
  EXPECT_EQ(plan.crisis_plan().warning_signs(0).text(), "A2");
  EXPECT_EQ(plan.crisis_plan().warning_signs(1).id(), "b");
  // The recorded operation holds the kept item, so replaying it rebuilds the same list.
  ASSERT_EQ(whole->applied.size(), 1u);
  EXPECT_NE(whole->applied[0].DebugString().find("\"b\""), std::string::npos);
  // A value that holds the hidden item is refused, whether or not it guessed it right.
  auto guessed = ApplyEditBatch(
      plan, Batch({SetOp("crisis_plan.warning_signs", R"([{"id": "b", "text": "guess"}])")}), {}, 1,
      view);
  EXPECT_EQ(guessed.status().code(), absl::StatusCode::kPermissionDenied) << guessed.status();
  v1::Plan again = CrisisPlan();
  auto matched = ApplyEditBatch(
      again, Batch({SetOp("crisis_plan.warning_signs", R"([{"id": "b", "text": "not eating"}])")}),
      {}, 1, view);
  EXPECT_EQ(matched.status().code(), absl::StatusCode::kPermissionDenied) << matched.status();
}

}  // namespace
}  // namespace coplan
