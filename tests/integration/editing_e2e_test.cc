// Live co-editing end to end: batches that merge or conflict, idempotent retries,
// history and replay, sign-off, and watch streams (resume, presence, a slow consumer,
// losing access), on one instance, on two instances sharing the database, and under
// many concurrent clients making random edits.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <pqxx/pqxx>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "google/rpc/error_details.pb.h"
#include "remote/watch_reader.h"
#include "server/common/ids.h"
#include "server/domain/edit_engine.h"
#include "tests/support/edit_operations.h"
#include "tests/support/records.h"
#include "tests/support/sync_collector.h"
#include "tests/support/test_server.h"
#include "tests/support/watch_collector.h"

namespace coplan {
namespace {

using client::remote::ErrorDetail;
using ::testing::ElementsAre;
using testing::History;
using testing::InsertOp;
using testing::MoveOp;
using testing::RemoveOp;
using testing::SetOp;
using testing::TestServer;
using testing::TestUser;
using testing::UpdateOp;
using testing::WatchCollector;

absl::StatusOr<v1::EditDocumentResponse> Edit(client::remote::RpcClient& client,
                                              const std::string& name, int64_t base,
                                              std::vector<v1::EditOperation> ops,
                                              const std::string& key = NewRandomToken(12)) {
  v1::EditDocumentRequest request;
  request.set_name(name);
  request.set_base_revision(base);
  request.set_idempotency_key(key);
  for (auto& op : ops) *request.add_operations() = std::move(op);
  return client.Call(&v1::EditingService::Stub::EditDocument, request, {.retry = true});
}

absl::StatusOr<v1::Plan> GetPlan(client::remote::RpcClient& client, const std::string& name) {
  v1::GetPlanRequest request;
  request.set_name(name);
  return client.Call(&v1::PlanService::Stub::GetPlan, request);
}

// The document as the history rebuilds it, from an empty plan.
v1::Plan Replay(const std::vector<v1::Revision>& history) {
  v1::Plan plan;
  for (const auto& revision : history) {
    absl::Status status = ReplayOperations(
        plan, revision.operations(),
        revision.kind() == v1::REVISION_KIND_CREATE ? EditMode::kCreate : EditMode::kEdit);
    EXPECT_TRUE(status.ok()) << "revision " << revision.revision() << ": " << status;
  }
  return plan;
}

// The editable content of a plan (what replay must reproduce).
std::string Content(v1::Plan plan) {
  v1::Plan content;
  content.set_title(plan.title());
  *content.mutable_crisis_plan() = plan.crisis_plan();
  *content.mutable_withholdings() = plan.withholdings();
  return content.SerializeAsString();
}

// A client whose transport reads ahead as little as gRPC allows, so that a reader that
// stops reading applies back-pressure quickly (the default window grows to megabytes).
std::unique_ptr<client::remote::RpcClient> NarrowClient(const TestServer& server,
                                                        const client::remote::RpcClient& as) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
  auto channel =
      grpc::CreateCustomChannel(server.address(), grpc::InsecureChannelCredentials(), args);
  auto narrow = std::make_unique<client::remote::RpcClient>(
      client::remote::RpcClientOptions{.channel = channel});
  narrow->SetToken(as.token());
  return narrow;
}

class EditingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = TestServer::Start({.configure = [](ServerConfig& config) {
                // Small, so that a stalled reader overflows quickly; large
                // enough that a reading one never does, even under ASan.
                config.watch_queue_limit = 32;
                config.watch_access_recheck = absl::Seconds(1);
              }}).release();
  }
  static void TearDownTestSuite() { delete server_; }

  void SetUp() override {
    alex_ = server_->CreateUser("Alex");
    clinician_ = server_->CreateUser("Dr Okafor", {.clinician = true});
    v1::CreateCareTeamMemberRequest member;
    member.set_parent(alex_.name);
    member.mutable_care_team_member()->set_clinician(clinician_.name);
    ASSERT_TRUE(server_->admin().Call(&v1::PeopleService::Stub::CreateCareTeamMember, member).ok());
    v1::CreatePlanRequest create;
    create.set_parent(alex_.name);
    create.set_plan_id("crisis");
    create.mutable_plan()->set_title("My crisis plan");
    auto* crisis = create.mutable_plan()->mutable_crisis_plan();
    for (const char* id : {"w0", "w1", "w2", "w3", "w4"}) {
      auto* sign = crisis->add_warning_signs();
      sign->set_id(id);
      sign->set_text(std::string("sign ") + id);
    }
    auto created = alex_.client->Call(&v1::PlanService::Stub::CreatePlan, create);
    ASSERT_TRUE(created.ok()) << created.status();
    plan_ = created->name();
  }

  static TestServer* server_;
  TestUser alex_;
  TestUser clinician_;
  std::string plan_;
};

TestServer* EditingTest::server_ = nullptr;

// One person's open streams (WatchDocument and Sync alike) are capped per instance, so one
// account cannot hold a server's memory; others are not affected, and closing one frees it.
TEST(StreamCapTest, PastItsStreamCapAPersonsNewStreamIsResourceExhausted) {
  auto server = TestServer::Start(
      {.configure = [](ServerConfig& config) { config.max_streams_per_person = 2; }});
  TestUser alex = server->CreateUser("Alex");
  TestUser sam = server->CreateUser("Sam");
  const std::string plan = testing::CreateCrisisPlan(alex).name();
  testing::Grant(alex, sam, plan, v1::ACCESS_LEVEL_READ);
  auto first = std::make_unique<WatchCollector>(*alex.client, plan);
  testing::SyncCollector device(*alex.client);
  ASSERT_TRUE(first->WaitFor([](const auto& events) { return !events.empty(); }));
  ASSERT_TRUE(device.Add(1, plan));
  ASSERT_TRUE(device.WaitForRevision(1, 1));  // the device's stream is open on the server

  WatchCollector third(*alex.client, plan);
  ASSERT_TRUE(third.WaitForEnd());
  EXPECT_EQ(third.status().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << third.status().error_message();
  testing::SyncCollector another_device(*alex.client);
  ASSERT_TRUE(another_device.WaitForEnd());
  EXPECT_EQ(another_device.status().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  // Someone else's streams are theirs to count.
  WatchCollector sams(*sam.client, plan);
  EXPECT_TRUE(sams.WaitFor([](const auto& events) { return !events.empty(); }));
  EXPECT_FALSE(sams.WaitForEnd(absl::Milliseconds(200)));

  // A closed stream no longer counts.
  first->Cancel();
  ASSERT_TRUE(first->WaitForEnd());
  first.reset();
  bool admitted = false;
  for (int attempt = 0; attempt < 50 && !admitted; ++attempt) {
    WatchCollector again(*alex.client, plan);
    admitted = again.WaitFor([](const auto& events) { return !events.empty(); }, absl::Seconds(2));
    if (!admitted) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(admitted) << "the closed stream still counted against the cap";
}

TEST_F(EditingTest, BatchesOnDifferentPartsMergeAndTheSameFieldConflicts) {
  auto first = Edit(*alex_.client, plan_, 1,
                    {UpdateOp("crisis_plan.warning_signs[w0]", R"({"text": "a"})")});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->revision(), 2);
  // The clinician edits from revision 1 too: a different item merges...
  auto merged =
      Edit(*clinician_.client, plan_, 1,
           {UpdateOp("crisis_plan.warning_signs[w1]", R"({"text": "b"})"), SetOp("title", "\"T\""),
            InsertOp("crisis_plan.coping_strategies", R"({"text": "walk the dog"})")});
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->revision(), 3);
  EXPECT_FALSE(merged->inserted_ids(2).empty());
  const auto& doc = merged->document().plan();
  EXPECT_EQ(doc.crisis_plan().warning_signs(0).text(), "a");
  EXPECT_EQ(doc.crisis_plan().warning_signs(1).text(), "b");
  EXPECT_EQ(doc.title(), "T");
  EXPECT_EQ(doc.last_editor(), clinician_.name);

  // ... the same field does not, and nothing of that batch is applied.
  auto conflict = Edit(*clinician_.client, plan_, 1,
                       {SetOp("crisis_plan.reasons_for_living", R"([{"text": "x"}])"),
                        UpdateOp("crisis_plan.warning_signs[w0]", R"({"text": "mine"})")});
  ASSERT_EQ(conflict.status().code(), absl::StatusCode::kAborted) << conflict.status();
  auto detail = ErrorDetail<v1::EditConflict>(conflict.status());
  ASSERT_TRUE(detail.has_value());
  EXPECT_EQ(detail->operation_index(), 1);
  EXPECT_EQ(detail->path(), "crisis_plan.warning_signs[w0].text");
  EXPECT_EQ(detail->current_value().string_value(), "a");
  EXPECT_EQ(detail->changed_in_revision(), 2);
  EXPECT_EQ(detail->current_revision(), 3);
  auto now = GetPlan(*alex_.client, plan_);
  EXPECT_EQ(now->revision(), 3);
  EXPECT_EQ(now->crisis_plan().reasons_for_living_size(), 0);
}

TEST_F(EditingTest, ARetriedBatchIsAppliedOnceAndReturnsTheOriginalResult) {
  const std::string key = "retry-key-0001";
  auto first = Edit(*alex_.client, plan_, 1,
                    {InsertOp("crisis_plan.distractions", R"({"text": "climbing"})")}, key);
  ASSERT_TRUE(first.ok());
  auto later = Edit(*alex_.client, plan_, 2, {SetOp("title", "\"later\"")});
  ASSERT_TRUE(later.ok());
  auto retry = Edit(*alex_.client, plan_, 1,
                    {InsertOp("crisis_plan.distractions", R"({"text": "climbing"})")}, key);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->replayed());
  EXPECT_EQ(retry->revision(), first->revision());
  EXPECT_EQ(retry->inserted_ids(0), first->inserted_ids(0));
  EXPECT_EQ(retry->document().plan().title(), "My crisis plan");  // as it was then
  EXPECT_EQ(GetPlan(*alex_.client, plan_)->crisis_plan().distractions_size(), 1);
  EXPECT_EQ(History(*alex_.client, plan_).size(), 3u);

  auto reused = Edit(*alex_.client, plan_, 1, {SetOp("title", "\"different\"")}, key);
  EXPECT_EQ(reused.status().code(), absl::StatusCode::kFailedPrecondition) << reused.status();
}

TEST_F(EditingTest, ABatchTooFarBehindIsToldToRebaseAndARetryOfAnOldOneStillReplays) {
  const std::string key = "long-ago-0001";
  auto first = Edit(*alex_.client, plan_, 1, {SetOp("title", "\"first\"")}, key);
  ASSERT_TRUE(first.ok()) << first.status();
  // The clinician makes 1000 more revisions (2 .. 1002 are after the first batch's base).
  int64_t current = first->revision();
  for (int i = 0; i < static_cast<int>(kMaxRevisionsToMergeAcross); ++i) {
    auto edit = Edit(*clinician_.client, plan_, current,
                     {UpdateOp("crisis_plan.warning_signs[w1]",
                               absl::StrCat(R"({"text": "note )", i, R"("})"))});
    ASSERT_TRUE(edit.ok()) << i << ": " << edit.status();
    current = edit->revision();
  }
  ASSERT_EQ(current, 1 + 1 + kMaxRevisionsToMergeAcross);

  // A retry of the first batch, however far back its base, is answered as the first time.
  auto retry = Edit(*alex_.client, plan_, 1, {SetOp("title", "\"first\"")}, key);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->replayed());
  EXPECT_EQ(retry->revision(), 2);

  // A new batch based 1001 revisions back is not merged: ABORTED with the reason and the
  // current revision, and nothing is applied.
  auto too_old = Edit(*alex_.client, plan_, 1,
                      {UpdateOp("crisis_plan.warning_signs[w3]", R"({"text": "week old"})")});
  ASSERT_EQ(too_old.status().code(), absl::StatusCode::kAborted) << too_old.status();
  auto info = ErrorDetail<google::rpc::ErrorInfo>(too_old.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "BASE_REVISION_TOO_OLD");
  EXPECT_EQ(info->metadata().at("current_revision"), absl::StrCat(current));
  EXPECT_EQ(info->metadata().at("oldest_base_revision"),
            absl::StrCat(current - kMaxRevisionsToMergeAcross));
  EXPECT_FALSE(ErrorDetail<v1::EditConflict>(too_old.status()).has_value());
  EXPECT_EQ(GetPlan(*alex_.client, plan_)->revision(), current);

  // Exactly 1000 back still merges, with the conflict check over all 1000.
  auto conflict = Edit(*alex_.client, plan_, 2,
                       {UpdateOp("crisis_plan.warning_signs[w1]", R"({"text": "mine"})")});
  ASSERT_EQ(conflict.status().code(), absl::StatusCode::kAborted) << conflict.status();
  ASSERT_TRUE(ErrorDetail<v1::EditConflict>(conflict.status()).has_value());
  auto merged = Edit(*alex_.client, plan_, 2,
                     {UpdateOp("crisis_plan.warning_signs[w3]", R"({"text": "week old"})")});
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->revision(), current + 1);
  EXPECT_EQ(merged->document().plan().crisis_plan().warning_signs(3).text(), "week old");
}

TEST_F(EditingTest, BadBatchesNameTheOperationAndChangeNothing) {
  struct Case {
    int64_t base;
    std::vector<v1::EditOperation> ops;
    absl::StatusCode code;
    std::string field_prefix;
  };
  std::vector<Case> cases = {
      {1,
       {SetOp("title", "\"ok\""), SetOp("crisis_plan.no_such_field", "1")},
       absl::StatusCode::kInvalidArgument,
       "operations[1]."},
      {1,
       {SetOp("crisis_plan.warning_signs", "\"not a list\"")},
       absl::StatusCode::kInvalidArgument,
       "operations[0]."},
      {1,
       {UpdateOp("crisis_plan.warning_signs[nope]", R"({"text": "x"})")},
       absl::StatusCode::kInvalidArgument,
       "operations[0]."},
      {1,
       {MoveOp("crisis_plan.warning_signs[w0]", "nowhere")},
       absl::StatusCode::kInvalidArgument,
       "operations[0].move_item.position"},
      {1,
       {SetOp("care_plan.review_date", R"({"year": 2026, "month": 1, "day": 1})")},
       absl::StatusCode::kInvalidArgument,
       "operations[0]."},
      {99, {SetOp("title", "\"x\"")}, absl::StatusCode::kInvalidArgument, "base_revision"},
      {0, {SetOp("title", "\"x\"")}, absl::StatusCode::kInvalidArgument, "base_revision"},
  };
  for (const auto& c : cases) {
    auto result = Edit(*alex_.client, plan_, c.base, c.ops);
    EXPECT_EQ(result.status().code(), c.code) << result.status();
    auto bad = ErrorDetail<google::rpc::BadRequest>(result.status());
    ASSERT_TRUE(bad.has_value()) << result.status();
    EXPECT_EQ(bad->field_violations(0).field().rfind(c.field_prefix, 0), 0u)
        << bad->field_violations(0).field();
  }
  std::vector<v1::EditOperation> too_many(101, SetOp("title", "\"x\""));
  EXPECT_EQ(Edit(*alex_.client, plan_, 1, too_many).status().code(),
            absl::StatusCode::kInvalidArgument);
  v1::EditDocumentRequest no_key;
  no_key.set_name(plan_);
  no_key.set_base_revision(1);
  *no_key.add_operations() = SetOp("title", "\"x\"");
  EXPECT_EQ(alex_.client->Call(&v1::EditingService::Stub::EditDocument, no_key).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetPlan(*alex_.client, plan_)->revision(), 1);
}

TEST_F(EditingTest, HistoryListsAuthorsAndPathsAndEveryRevisionCanBeRead) {
  ASSERT_TRUE(Edit(*alex_.client, plan_, 1, {RemoveOp("crisis_plan.warning_signs[w2]")}).ok());
  ASSERT_TRUE(
      Edit(*clinician_.client, plan_, 2, {MoveOp("crisis_plan.warning_signs[w4]", "")}).ok());
  v1::UpdatePlanRequest update;
  update.mutable_plan()->set_name(plan_);
  update.mutable_plan()->set_title("Updated");
  update.mutable_update_mask()->add_paths("title");
  ASSERT_TRUE(alex_.client->Call(&v1::PlanService::Stub::UpdatePlan, update).ok());

  auto history = History(*alex_.client, plan_);
  ASSERT_EQ(history.size(), 4u);
  EXPECT_EQ(history[0].kind(), v1::REVISION_KIND_CREATE);
  EXPECT_EQ(history[1].author(), alex_.name);
  EXPECT_THAT(history[1].changed_paths(), ElementsAre("crisis_plan.warning_signs[w2]"));
  EXPECT_EQ(history[2].author(), clinician_.name);
  EXPECT_THAT(history[2].changed_paths(), ElementsAre("crisis_plan.warning_signs[w4]@position"));
  EXPECT_EQ(history[3].kind(), v1::REVISION_KIND_UPDATE);
  EXPECT_THAT(history[3].changed_paths(), ElementsAre("title"));

  v1::GetDocumentRevisionRequest at2;
  at2.set_name(plan_ + "/revisions/2");
  auto revision = alex_.client->Call(&v1::EditingService::Stub::GetDocumentRevision, at2);
  ASSERT_TRUE(revision.ok()) << revision.status();
  EXPECT_EQ(revision->document().plan().revision(), 2);
  EXPECT_EQ(revision->document().plan().crisis_plan().warning_signs_size(), 4);
  EXPECT_EQ(revision->document().plan().title(), "My crisis plan");
  at2.set_name(plan_ + "/revisions/9");
  EXPECT_EQ(alex_.client->Call(&v1::EditingService::Stub::GetDocumentRevision, at2).status().code(),
            absl::StatusCode::kNotFound);

  EXPECT_EQ(Content(Replay(history)), Content(*GetPlan(*alex_.client, plan_)));
}

TEST_F(EditingTest, SignOffShowsTheAgreedRevisionAndWhenItIsOutOfDate) {
  auto sign = [&](client::remote::RpcClient& client, int64_t revision) {
    v1::SignOffDocumentRequest request;
    request.set_name(plan_);
    request.set_revision(revision);
    return client.Call(&v1::EditingService::Stub::SignOffDocument, request);
  };
  auto alone = sign(*alex_.client, 1);
  ASSERT_TRUE(alone.ok()) << alone.status();
  EXPECT_EQ(alone->agreed_revision(), 0);
  auto both = sign(*clinician_.client, 1);
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(both->agreed_revision(), 1);
  EXPECT_FALSE(both->out_of_date());
  EXPECT_EQ(both->sign_offs_size(), 2);

  ASSERT_TRUE(Edit(*alex_.client, plan_, 1, {SetOp("title", "\"changed\"")}).ok());
  auto plan = GetPlan(*clinician_.client, plan_);
  EXPECT_EQ(plan->agreement().agreed_revision(), 1);
  EXPECT_TRUE(plan->agreement().out_of_date());
  EXPECT_EQ(sign(*alex_.client, 1).status().code(), absl::StatusCode::kFailedPrecondition);

  TestUser carer = server_->CreateUser("Jordan");
  ASSERT_FALSE(testing::Grant(alex_, carer, plan_, v1::ACCESS_LEVEL_EDIT).empty());
  EXPECT_EQ(sign(*carer.client, 2).status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(EditingTest, WatchStartsFromASnapshotThenDeliversEveryChangeInOrderWithPresence) {
  WatchCollector watch(*clinician_.client, plan_, 0, /*editing=*/true);
  ASSERT_TRUE(watch.WaitFor([](const auto& events) { return !events.empty(); }));
  ASSERT_TRUE(watch.events()[0].has_snapshot());
  EXPECT_EQ(watch.events()[0].snapshot().plan().revision(), 1);
  ASSERT_TRUE(watch.WaitFor([&](const auto& events) {
    for (const auto& event : events) {
      for (const auto& present : event.presence().present()) {
        if (present.person() == clinician_.name && present.state() == v1::PRESENCE_STATE_EDITING)
          return true;
      }
    }
    return false;
  })) << "no presence event naming the watcher";

  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        Edit(*alex_.client, plan_, 1 + i, {SetOp("title", absl::StrCat("\"t", i, "\""))}).ok());
  }
  ASSERT_TRUE(watch.WaitForRevision(6));
  EXPECT_THAT(watch.change_revisions(), ElementsAre(2, 3, 4, 5, 6));
  for (const auto& event : watch.events()) {
    if (event.has_change()) {
      EXPECT_EQ(event.change().author(), alex_.name);
    }
  }

  // A second watcher resuming after revision 3 gets 4.. and nothing twice.
  WatchCollector resumed(*alex_.client, plan_, 3);
  ASSERT_TRUE(resumed.WaitForRevision(6));
  EXPECT_THAT(resumed.change_revisions(), ElementsAre(4, 5, 6));
  ASSERT_TRUE(Edit(*alex_.client, plan_, 6, {SetOp("title", "\"t6\"")}).ok());
  ASSERT_TRUE(resumed.WaitForRevision(7));
  ASSERT_TRUE(watch.WaitForRevision(7));
  EXPECT_THAT(resumed.change_revisions(), ElementsAre(4, 5, 6, 7));

  v1::WatchDocumentRequest future;
  future.set_name(plan_);
  future.set_resume_after_revision(100);
  WatchCollector bad(*alex_.client, plan_, 100);
  ASSERT_TRUE(bad.WaitForEnd());
  EXPECT_EQ(bad.status().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// The "editing" flag comes from the request, so it is taken only from a caller who may
// edit: a reader with read-only access asking to be shown as editing is shown as viewing.
TEST_F(EditingTest, OnlyACallerWhoMayEditIsShownAsEditing) {
  TestUser reader = server_->CreateUser("Sam");
  testing::Grant(alex_, reader, plan_, v1::ACCESS_LEVEL_READ);
  WatchCollector watch(*alex_.client, plan_);
  WatchCollector read_only(*reader.client, plan_, 0, /*editing=*/true);
  WatchCollector editor(*clinician_.client, plan_, 0, /*editing=*/true);
  auto state_of = [](const std::vector<v1::WatchEvent>& events, const std::string& person) {
    v1::PresenceState state = v1::PRESENCE_STATE_UNSPECIFIED;
    for (const auto& event : events) {
      if (!event.has_presence()) continue;
      state = v1::PRESENCE_STATE_UNSPECIFIED;
      for (const auto& present : event.presence().present()) {
        if (present.person() == person) state = present.state();
      }
    }
    return state;
  };
  ASSERT_TRUE(watch.WaitFor([&](const auto& events) {
    return state_of(events, reader.name) != v1::PRESENCE_STATE_UNSPECIFIED &&
           state_of(events, clinician_.name) == v1::PRESENCE_STATE_EDITING;
  })) << "the person never saw both readers present";
  EXPECT_EQ(state_of(watch.events(), reader.name), v1::PRESENCE_STATE_VIEWING);
}

// Presence must not tell one carer of another's grant: a grantee sees the person, the care
// team and themself; the person and the care team see everyone present.
TEST_F(EditingTest, PresenceShowsAReaderOnlyThePeopleTheyMayAlreadySee) {
  TestUser sam = server_->CreateUser("Sam");
  TestUser kim = server_->CreateUser("Kim");
  testing::Grant(alex_, sam, plan_, v1::ACCESS_LEVEL_READ);
  testing::Grant(alex_, kim, plan_, v1::ACCESS_LEVEL_READ);
  WatchCollector person(*alex_.client, plan_);
  WatchCollector clinician(*clinician_.client, plan_);
  WatchCollector sam_watch(*sam.client, plan_);
  WatchCollector kim_watch(*kim.client, plan_);
  // The people in the latest presence update a watcher received.
  auto latest = [](const std::vector<v1::WatchEvent>& events) {
    std::set<std::string> people;
    for (const auto& event : events) {
      if (!event.has_presence()) continue;
      people.clear();
      for (const auto& present : event.presence().present()) people.insert(present.person());
    }
    return people;
  };
  const std::set<std::string> everyone = {alex_.name, clinician_.name, sam.name, kim.name};
  for (WatchCollector* full : {&person, &clinician}) {
    ASSERT_TRUE(full->WaitFor([&](const auto& events) { return latest(events) == everyone; }))
        << "the person and the care team see everyone present";
  }
  ASSERT_TRUE(sam_watch.WaitFor([&](const auto& events) {
    return latest(events) == std::set<std::string>{alex_.name, clinician_.name, sam.name};
  })) << "Sam sees the person, the care team and himself";
  ASSERT_TRUE(kim_watch.WaitFor([&](const auto& events) {
    return latest(events) == std::set<std::string>{alex_.name, clinician_.name, kim.name};
  }));
  // Never, in any update: neither carer learns of the other.
  for (const auto& event : sam_watch.events()) {
    for (const auto& present : event.presence().present()) EXPECT_NE(present.person(), kim.name);
  }
  for (const auto& event : kim_watch.events()) {
    for (const auto& present : event.presence().present()) EXPECT_NE(present.person(), sam.name);
  }
}

TEST_F(EditingTest, ASlowWatcherIsToldToResumeAndOthersAreNotDelayed) {
  WatchCollector fast(*clinician_.client, plan_);
  auto narrow = NarrowClient(*server_, *alex_.client);
  WatchCollector slow(*narrow, plan_, 0, false, /*read=*/false);
  ASSERT_TRUE(fast.WaitFor([](const auto& events) { return !events.empty(); }));
  // Large events, so the slow reader's transport window fills and its queue (32) overflows.
  const int kEdits = 100;
  const std::string text(1900, 'x');
  int64_t revision = 1;
  for (int i = 0; i < kEdits; ++i) {
    // The fast reader is kept within half its queue of the head, so that only a reader
    // that stops reading can overflow, however slow this machine is today.
    ASSERT_TRUE(fast.WaitForRevision(revision - 16)) << fast.status().error_message();
    std::vector<v1::EditOperation> ops;
    for (const char* id : {"w0", "w1", "w2", "w3", "w4"}) {
      ops.push_back(UpdateOp(absl::StrCat("crisis_plan.warning_signs[", id, "]"),
                             absl::StrCat(R"({"text": ")", i, text, R"("})")));
    }
    auto edited = Edit(*alex_.client, plan_, revision, ops);
    ASSERT_TRUE(edited.ok()) << edited.status();
    revision = edited->revision();
  }
  const absl::Time last_commit = absl::Now();
  ASSERT_TRUE(fast.WaitForRevision(revision));
  EXPECT_LT(absl::Now() - last_commit, absl::Seconds(5));
  std::vector<int64_t> expected;
  for (int64_t r = 2; r <= revision; ++r) expected.push_back(r);
  EXPECT_EQ(fast.change_revisions(), expected);
  EXPECT_TRUE(fast.status().ok());  // still open

  slow.StartReading();
  ASSERT_TRUE(slow.WaitForEnd());
  ASSERT_EQ(slow.status().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << slow.status().error_message();
  auto status = client::remote::FromGrpcStatus(slow.status());
  auto info = ErrorDetail<google::rpc::ErrorInfo>(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "WATCH_TOO_SLOW");
  const int64_t got = slow.last_revision();
  EXPECT_LT(got, revision);
  // Resuming from what it had gives exactly the rest.
  WatchCollector rest(*alex_.client, plan_, got);
  ASSERT_TRUE(rest.WaitForRevision(revision))
      << "resumed after " << got << ", reached " << rest.last_revision() << ", status "
      << rest.status().error_message();
  // The slow reader started from its own snapshot (an edit may have committed first).
  const std::vector<v1::WatchEvent> slow_events = slow.events();
  ASSERT_FALSE(slow_events.empty());
  ASSERT_TRUE(slow_events[0].has_snapshot());
  std::vector<int64_t> slow_expected;
  for (int64_t r = slow_events[0].snapshot().plan().revision() + 1; r <= revision; ++r) {
    slow_expected.push_back(r);
  }
  std::vector<int64_t> all = slow.change_revisions();
  for (int64_t r : rest.change_revisions()) all.push_back(r);
  EXPECT_EQ(all, slow_expected);
}

TEST_F(EditingTest, AWatcherResumingFromFarBackCatchesUpAtItsOwnPaceAndIsNotEnded) {
  // More revisions than a stream's queue holds (32 in tests), each one large, and nobody
  // watching while they were made: the first watcher resumes from revision 1, as a phone
  // back online would.
  const std::string text(1900, 'z');
  int64_t revision = 1;
  for (int i = 0; i < 80; ++i) {
    auto edited = Edit(*alex_.client, plan_, revision,
                       {UpdateOp("crisis_plan.warning_signs[w0]",
                                 absl::StrCat(R"({"text": ")", i, text, R"("})"))});
    ASSERT_TRUE(edited.ok()) << edited.status();
    revision = edited->revision();
  }
  WatchCollector resumed(*clinician_.client, plan_, 1);
  ASSERT_TRUE(resumed.WaitForRevision(revision))
      << "reached " << resumed.last_revision() << ", " << resumed.status().error_message();
  std::vector<int64_t> expected;
  for (int64_t r = 2; r <= revision; ++r) expected.push_back(r);
  EXPECT_EQ(resumed.change_revisions(), expected);
  EXPECT_FALSE(resumed.WaitForEnd(absl::Milliseconds(200))) << resumed.status().error_message();
}

TEST_F(EditingTest, AWatchReaderResumesBySelfAfterTheServerEndsASlowStream) {
  std::mutex mutex;
  std::vector<int64_t> revisions;
  absl::Notification ended;
  auto narrow = NarrowClient(*server_, *alex_.client);
  client::remote::DelayedRunner resumer;
  client::remote::WatchReaderOptions options;
  options.document = plan_;
  options.resumer = &resumer;
  options.read = false;  // stalled until the edits are done
  options.on_event = [&](const v1::WatchEvent& event) {
    std::lock_guard<std::mutex> lock(mutex);
    if (event.has_change()) revisions.push_back(event.change().revision());
  };
  options.on_end = [&](const grpc::Status&) { ended.Notify(); };
  client::remote::WatchReader reader(&narrow->stub<v1::EditingService::Stub>(),
                                     "Bearer " + narrow->token(), options);
  reader.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const std::string text(1900, 'y');
  int64_t revision = 1;
  for (int i = 0; i < 100; ++i) {
    std::vector<v1::EditOperation> ops;
    for (const char* id : {"w0", "w1", "w2", "w3", "w4"}) {
      ops.push_back(UpdateOp(absl::StrCat("crisis_plan.warning_signs[", id, "]"),
                             absl::StrCat(R"({"text": ")", i, text, R"("})")));
    }
    auto edited = Edit(*alex_.client, plan_, revision, ops);
    ASSERT_TRUE(edited.ok());
    revision = edited->revision();
  }
  reader.StartReading();
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (reader.last_revision() < revision && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  reader.Cancel();
  ended.WaitForNotification();
  std::vector<int64_t> expected;
  for (int64_t r = 2; r <= revision; ++r) expected.push_back(r);
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_EQ(revisions, expected);
  EXPECT_GE(reader.resumes(), 1) << "the server should have ended the slow stream";
  EXPECT_EQ(reader.gaps(), 0);
}

TEST_F(EditingTest, RevokingAGrantEndsTheGranteesStreamAndNextCall) {
  TestUser carer = server_->CreateUser("Jordan");
  const std::string granted = testing::Grant(alex_, carer, plan_, v1::ACCESS_LEVEL_READ);
  ASSERT_FALSE(granted.empty());
  WatchCollector watch(*carer.client, plan_);
  ASSERT_TRUE(watch.WaitFor([](const auto& events) { return !events.empty(); }));
  // A reader cannot edit.
  EXPECT_EQ(Edit(*carer.client, plan_, 1, {SetOp("title", "\"x\"")}).status().code(),
            absl::StatusCode::kPermissionDenied);

  v1::RevokeGrantRequest revoke;
  revoke.set_name(granted);
  ASSERT_TRUE(alex_.client->Call(&v1::PeopleService::Stub::RevokeGrant, revoke).ok());
  ASSERT_TRUE(watch.WaitForEnd(absl::Seconds(10)));
  EXPECT_EQ(watch.status().error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetPlan(*carer.client, plan_).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(EditingTest, ASignOutWhoseRingWasLostStillEndsThePersonsOwnStream) {
  WatchCollector watch(*alex_.client, plan_);
  ASSERT_TRUE(watch.WaitFor([](const auto& events) { return !events.empty(); }));
  {
    // As if signed out on an instance whose ring never arrived: only the row changes.
    pqxx::connection conn(server_->conninfo());
    pqxx::nontransaction tx(conn);
    tx.exec_params("UPDATE sessions SET revoke_time = now() WHERE person_id = $1", alex_.id);
  }
  ASSERT_TRUE(watch.WaitForEnd(absl::Seconds(10)));
  EXPECT_EQ(watch.status().error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(EditingTest, EditsThroughOneInstanceReachWatchersOnAnother) {
  auto second =
      TestServer::Start({.conninfo = server_->conninfo(), .secret_file = server_->secret_file()});
  auto clinician_on_b = second->SignInAs(clinician_.id);
  WatchCollector on_b(*clinician_on_b, plan_);
  ASSERT_TRUE(on_b.WaitFor([](const auto& events) { return !events.empty(); }));
  ASSERT_TRUE(Edit(*alex_.client, plan_, 1, {SetOp("title", "\"from A\"")}).ok());
  ASSERT_TRUE(on_b.WaitForRevision(2, absl::Seconds(10)));

  // Disconnect, miss two edits, resume from the last revision: nothing is missed.
  const int64_t had = on_b.last_revision();
  on_b.Cancel();
  ASSERT_TRUE(Edit(*alex_.client, plan_, 2, {SetOp("title", "\"missed 1\"")}).ok());
  ASSERT_TRUE(Edit(*alex_.client, plan_, 3, {SetOp("title", "\"missed 2\"")}).ok());
  WatchCollector resumed(*clinician_on_b, plan_, had);
  ASSERT_TRUE(resumed.WaitForRevision(4, absl::Seconds(10)));
  EXPECT_THAT(resumed.change_revisions(), ElementsAre(3, 4));
  ASSERT_TRUE(Edit(*alex_.client, plan_, 4, {SetOp("title", "\"live\"")}).ok());
  ASSERT_TRUE(resumed.WaitForRevision(5, absl::Seconds(10)));
  EXPECT_THAT(resumed.change_revisions(), ElementsAre(3, 4, 5));
  second->Stop();
}

TEST_F(EditingTest, WatchersOnAnotherInstanceCatchUpAfterTheDatabaseConnectionsAreCut) {
  auto second =
      TestServer::Start({.conninfo = server_->conninfo(), .secret_file = server_->secret_file()});
  auto clinician_on_b = second->SignInAs(clinician_.id);
  WatchCollector on_b(*clinician_on_b, plan_);
  ASSERT_TRUE(on_b.WaitFor([](const auto& events) { return !events.empty(); }));
  {
    // Cuts every connection, the doorbell listeners' included.
    pqxx::connection admin(server_->conninfo());
    pqxx::nontransaction tx(admin);
    tx.exec(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()");
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        Edit(*alex_.client, plan_, 1 + i, {SetOp("title", absl::StrCat("\"after cut ", i, "\""))})
            .ok());
  }
  ASSERT_TRUE(on_b.WaitForRevision(4, absl::Seconds(15)));
  EXPECT_THAT(on_b.change_revisions(), ElementsAre(2, 3, 4));
  second->Stop();
}

// Many clients make random edits at once, through real gRPC, while watchers on two
// instances follow. Afterwards: every acknowledged batch is in the history exactly once,
// replaying the history rebuilds the document, and every watcher saw exactly the history.
TEST_F(EditingTest, RandomConcurrentEditsKeepHistoryReplayAndWatchersConsistent) {
  auto second =
      TestServer::Start({.conninfo = server_->conninfo(), .secret_file = server_->secret_file()});
  std::vector<std::unique_ptr<client::remote::RpcClient>> editors;
  editors.push_back(server_->SignInAs(alex_.id));
  editors.push_back(server_->SignInAs(clinician_.id));
  editors.push_back(second->SignInAs(alex_.id));
  editors.push_back(second->SignInAs(clinician_.id));
  std::vector<std::unique_ptr<WatchCollector>> watchers;
  watchers.push_back(std::make_unique<WatchCollector>(*alex_.client, plan_));
  auto clinician_on_b = second->SignInAs(clinician_.id);
  watchers.push_back(std::make_unique<WatchCollector>(*clinician_on_b, plan_));
  for (auto& watcher : watchers) {
    ASSERT_TRUE(watcher->WaitFor([](const auto& events) { return !events.empty(); }));
  }

  struct Ack {
    std::string author;
    size_t operations;
  };
  std::mutex acks_mutex;
  std::map<int64_t, Ack> acks;
  std::atomic<int> conflicts{0}, replays{0};
  const int kBatchesPerEditor = 15;
  std::vector<std::thread> threads;
  for (size_t e = 0; e < editors.size(); ++e) {
    threads.emplace_back([&, e] {
      client::remote::RpcClient& client = *editors[e];
      std::mt19937 random(static_cast<unsigned>(e * 7919 + 17));
      auto latest = GetPlan(client, plan_);
      ASSERT_TRUE(latest.ok());
      v1::Plan local = *latest;
      int done = 0;
      while (done < kBatchesPerEditor) {
        const auto& signs = local.crisis_plan().warning_signs();
        auto pick = [&] { return signs.Get(random() % signs.size()).id(); };
        std::vector<v1::EditOperation> ops;
        const int count = 1 + random() % 3;
        std::set<std::string> touched;
        for (int i = 0; i < count; ++i) {
          const std::string id = pick();
          if (!touched.insert(id).second) continue;
          const std::string item = "crisis_plan.warning_signs[" + id + "]";
          switch (random() % 5) {
            case 0:
              ops.push_back(SetOp("title", absl::StrCat("\"title ", e, "-", done, "\"")));
              break;
            case 1:
              ops.push_back(
                  UpdateOp(item, absl::StrCat(R"({"text": "edit )", e, "-", done, R"("})")));
              break;
            case 2:
              if (signs.size() < 40) {
                ops.push_back(InsertOp("crisis_plan.warning_signs",
                                       absl::StrCat(R"({"text": "new )", e, "-", done, R"("})"),
                                       id));
              }
              break;
            case 3:
              if (signs.size() > 3) ops.push_back(RemoveOp(item));
              break;
            case 4: {
              const std::string before = pick();
              if (before != id && !touched.count(before)) ops.push_back(MoveOp(item, before));
              break;
            }
          }
        }
        if (ops.empty()) continue;
        const std::string key = NewRandomToken(12);
        auto result = Edit(client, plan_, local.revision(), ops, key);
        if (result.ok() && random() % 4 == 0) {
          // The reply "was lost": send the same batch again.
          auto again = Edit(client, plan_, local.revision(), ops, key);
          ASSERT_TRUE(again.ok()) << again.status();
          EXPECT_TRUE(again->replayed());
          EXPECT_EQ(again->revision(), result->revision());
          ++replays;
        }
        if (!result.ok()) {
          ASSERT_TRUE(result.status().code() == absl::StatusCode::kAborted ||
                      result.status().code() == absl::StatusCode::kInvalidArgument)
              << result.status();
          ++conflicts;
          auto refreshed = GetPlan(client, plan_);
          ASSERT_TRUE(refreshed.ok());
          local = *refreshed;
          continue;
        }
        {
          std::lock_guard<std::mutex> lock(acks_mutex);
          EXPECT_EQ(acks.count(result->revision()), 0u) << "revision acknowledged twice";
          acks[result->revision()] = Ack{client.person(), ops.size()};
        }
        local = result->document().plan();
        ++done;
      }
    });
  }
  for (auto& thread : threads) thread.join();

  auto final_plan = GetPlan(*alex_.client, plan_);
  ASSERT_TRUE(final_plan.ok());
  auto history = History(*alex_.client, plan_);
  ASSERT_EQ(history.size(), acks.size() + 1) << "every acknowledged batch once, and nothing else";
  for (size_t i = 0; i < history.size(); ++i) {
    EXPECT_EQ(history[i].revision(), static_cast<int64_t>(i + 1));
    if (i == 0) continue;
    auto ack = acks.find(history[i].revision());
    ASSERT_NE(ack, acks.end());
    EXPECT_EQ(history[i].author(), ack->second.author);
    EXPECT_EQ(static_cast<size_t>(history[i].operations_size()), ack->second.operations);
  }
  EXPECT_EQ(Content(Replay(history)), Content(*final_plan));

  const int64_t last = final_plan->revision();
  std::vector<int64_t> expected;
  for (int64_t r = 2; r <= last; ++r) expected.push_back(r);
  for (auto& watcher : watchers) {
    ASSERT_TRUE(watcher->WaitForRevision(last, absl::Seconds(20)))
        << "the watch ended: " << watcher->status().error_code() << " "
        << watcher->status().error_message();
    EXPECT_EQ(watcher->change_revisions(), expected);
    // Applying what the watcher received to its snapshot gives the final document.
    auto events = watcher->events();
    v1::Plan rebuilt = events[0].snapshot().plan();
    for (const auto& event : events) {
      if (!event.has_change()) continue;
      ASSERT_TRUE(ReplayOperations(rebuilt, event.change().operations()).ok());
    }
    EXPECT_EQ(Content(rebuilt), Content(*final_plan));
  }
  std::cout << "random edits: " << acks.size() << " accepted, " << conflicts.load()
            << " rejected as conflicts, " << replays.load() << " retries replayed\n";
  second->Stop();
}

}  // namespace
}  // namespace coplan
