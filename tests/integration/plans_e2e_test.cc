// Care plans and crisis plans end to end: the standard methods, paging, update masks,
// etags, soft delete, and every kind of bad input, through real gRPC against a real
// PostgreSQL, plus health and reflection as any client sees them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "coplan/v1/field_rules.pb.h"
#include "google/rpc/error_details.pb.h"
#include "server/common/crypto.h"
#include "tests/support/edit_operations.h"
#include "tests/support/grpc_probe.h"
#include "tests/support/records.h"
#include "tests/support/test_server.h"

namespace coplan {
namespace {

using client::remote::ErrorDetail;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::TestServer;
using testing::TestUser;

class PlansTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = TestServer::Start().release(); }
  static void TearDownTestSuite() { delete server_; }

  void SetUp() override { alex_ = server_->CreateUser("Alex"); }

  v1::Plan NewCarePlan() {
    v1::Plan plan;
    plan.set_title("My care plan");
    auto* care = plan.mutable_care_plan();
    care->mutable_about_me()->set_what_matters("My dog and my friends");
    auto* goal = care->add_goals();
    goal->set_description("Go back to college");
    goal->add_steps()->set_text("Mornings first");
    goal->add_steps()->set_text("Then full days");
    return plan;
  }

  absl::StatusOr<v1::Plan> Create(client::remote::RpcClient& client, const v1::Plan& plan,
                                  const std::string& id = "") {
    v1::CreatePlanRequest request;
    request.set_parent(alex_.name);
    *request.mutable_plan() = plan;
    request.set_plan_id(id);
    return client.Call(&v1::PlanService::Stub::CreatePlan, request);
  }

  absl::StatusOr<v1::Plan> Get(const std::string& name) {
    v1::GetPlanRequest request;
    request.set_name(name);
    return alex_.client->Call(&v1::PlanService::Stub::GetPlan, request);
  }

  int CountPlans(bool show_deleted = false) {
    v1::ListPlansRequest request;
    request.set_parent(alex_.name);
    request.set_page_size(100);
    request.set_show_deleted(show_deleted);
    auto list = alex_.client->Call(&v1::PlanService::Stub::ListPlans, request);
    EXPECT_TRUE(list.ok()) << list.status();
    return list.ok() ? list->plans_size() : -1;
  }

  static std::string FieldOf(const absl::Status& status) {
    auto bad = ErrorDetail<google::rpc::BadRequest>(status);
    return bad && bad->field_violations_size() > 0 ? bad->field_violations(0).field() : "";
  }

  static TestServer* server_;
  TestUser alex_;
};

TestServer* PlansTest::server_ = nullptr;

TEST_F(PlansTest, HealthIsServingAndReflectionListsTheServices) {
  auto channel = server_->NewClient()->channel();
  auto health = testing::CheckHealth(channel);
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, 1);  // SERVING
  auto services = testing::ListServicesByReflection(channel);
  ASSERT_TRUE(services.ok()) << services.status();
  for (const char* service :
       {"coplan.v1.PlanService", "coplan.v1.PeopleService", "coplan.v1.AuthService",
        "coplan.v1.AuditService", "grpc.health.v1.Health"}) {
    EXPECT_THAT(*services, Contains(service));
  }
  auto files = testing::FilesContainingSymbol(channel, "coplan.v1.PlanService");
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_THAT(*files, Contains("coplan/v1/plan_service.proto"));
}

TEST_F(PlansTest, CreatesAndReadsACarePlanWithStableItemIds) {
  auto created = Create(*alex_.client, NewCarePlan());
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_THAT(created->name(), HasSubstr(alex_.name + "/plans/"));
  EXPECT_EQ(created->revision(), 1);
  EXPECT_FALSE(created->etag().empty());
  EXPECT_EQ(created->creator(), alex_.name);
  EXPECT_EQ(created->last_editor(), alex_.name);
  EXPECT_TRUE(created->has_create_time());
  const auto& goal = created->care_plan().goals(0);
  EXPECT_FALSE(goal.id().empty());
  EXPECT_FALSE(goal.steps(0).id().empty());
  EXPECT_NE(goal.steps(0).id(), goal.steps(1).id());

  auto read = Get(created->name());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->SerializeAsString(), created->SerializeAsString());
}

TEST_F(PlansTest, CreatesACrisisPlanWithAChosenIdOnce) {
  v1::Plan plan;
  plan.mutable_crisis_plan()->add_warning_signs()->set_text("I stop replying to friends");
  auto* line = plan.mutable_crisis_plan()->add_professional_contacts();
  line->set_name("Samaritans");
  line->set_phone("116 123");
  line->set_hours("24 hours");
  line->set_crisis_service(true);
  auto created = Create(*alex_.client, plan, "crisis");
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->name(), alex_.name + "/plans/crisis");
  EXPECT_TRUE(created->has_crisis_plan());
  auto again = Create(*alex_.client, plan, "crisis");
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(CountPlans(), 1);
}

TEST_F(PlansTest, PagesThroughPlansNewestFirstAndFiltersByKind) {
  std::vector<std::string> names;
  for (int i = 0; i < 5; ++i) {
    v1::Plan plan = NewCarePlan();
    if (i % 2 == 1) {
      plan.clear_care_plan();
      plan.mutable_crisis_plan()->add_reasons_for_living()->set_text("my sister");
    }
    plan.set_title("plan " + std::to_string(i));
    auto created = Create(*alex_.client, plan);
    ASSERT_TRUE(created.ok()) << created.status();
    names.push_back(created->name());
  }
  std::vector<std::string> seen;
  v1::ListPlansRequest request;
  request.set_parent(alex_.name);
  request.set_page_size(2);
  int pages = 0;
  do {
    auto page = alex_.client->Call(&v1::PlanService::Stub::ListPlans, request);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LE(page->plans_size(), 2);
    for (const auto& plan : page->plans()) seen.push_back(plan.name());
    request.set_page_token(page->next_page_token());
    ++pages;
  } while (!request.page_token().empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  std::vector<std::string> expected(names.rbegin(), names.rend());
  EXPECT_EQ(seen, expected);

  v1::ListPlansRequest crisis_only;
  crisis_only.set_parent(alex_.name);
  crisis_only.set_kind(v1::PLAN_KIND_CRISIS_PLAN);
  auto crisis = alex_.client->Call(&v1::PlanService::Stub::ListPlans, crisis_only);
  ASSERT_TRUE(crisis.ok());
  EXPECT_EQ(crisis->plans_size(), 2);
  for (const auto& plan : crisis->plans()) EXPECT_TRUE(plan.has_crisis_plan());

  // A token used with different filters is refused.
  v1::ListPlansRequest first;
  first.set_parent(alex_.name);
  first.set_page_size(2);
  auto page = alex_.client->Call(&v1::PlanService::Stub::ListPlans, first);
  ASSERT_TRUE(page.ok());
  crisis_only.set_page_token(page->next_page_token());
  auto mixed = alex_.client->Call(&v1::PlanService::Stub::ListPlans, crisis_only);
  EXPECT_EQ(mixed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(mixed.status()), "page_token");
}

TEST_F(PlansTest, UpdatesWithMaskAndEtagAndKeepsItemIds) {
  auto created = Create(*alex_.client, NewCarePlan());
  ASSERT_TRUE(created.ok());
  const std::string goal_id = created->care_plan().goals(0).id();

  v1::UpdatePlanRequest update;
  *update.mutable_plan() = *created;
  update.mutable_plan()->set_title("Alex's plan");
  update.mutable_plan()->mutable_care_plan()->mutable_goals(0)->set_description("College 3 days");
  update.mutable_plan()->mutable_care_plan()->add_goals()->set_description("Sleep better");
  update.mutable_update_mask()->add_paths("title");
  update.mutable_update_mask()->add_paths("care_plan.goals");
  auto updated = alex_.client->Call(&v1::PlanService::Stub::UpdatePlan, update);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->revision(), 2);
  EXPECT_EQ(updated->title(), "Alex's plan");
  EXPECT_NE(updated->etag(), created->etag());
  ASSERT_EQ(updated->care_plan().goals_size(), 2);
  EXPECT_EQ(updated->care_plan().goals(0).id(), goal_id);
  EXPECT_EQ(updated->care_plan().goals(0).description(), "College 3 days");
  EXPECT_FALSE(updated->care_plan().goals(1).id().empty());
  // Fields outside the mask are untouched.
  EXPECT_EQ(updated->care_plan().about_me().what_matters(), "My dog and my friends");

  // The old etag is stale now.
  update.mutable_plan()->set_title("stale");
  update.mutable_update_mask()->Clear();
  update.mutable_update_mask()->add_paths("title");
  auto stale = alex_.client->Call(&v1::PlanService::Stub::UpdatePlan, update);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition) << stale.status();
  auto info = ErrorDetail<google::rpc::ErrorInfo>(stale.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "ETAG_MISMATCH");
  EXPECT_EQ(Get(created->name())->title(), "Alex's plan");

  // Without an etag the update is unconditional.
  update.mutable_plan()->clear_etag();
  auto unconditional = alex_.client->Call(&v1::PlanService::Stub::UpdatePlan, update);
  ASSERT_TRUE(unconditional.ok()) << unconditional.status();
  EXPECT_EQ(unconditional->revision(), 3);

  // An update that changes nothing makes no revision.
  auto same = alex_.client->Call(&v1::PlanService::Stub::UpdatePlan, update);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->revision(), 3);

  // A plan never changes kind.
  v1::UpdatePlanRequest switch_kind;
  switch_kind.mutable_plan()->set_name(created->name());
  switch_kind.mutable_plan()->mutable_crisis_plan()->add_warning_signs()->set_text("x");
  auto switched = alex_.client->Call(&v1::PlanService::Stub::UpdatePlan, switch_kind);
  EXPECT_EQ(switched.status().code(), absl::StatusCode::kInvalidArgument) << switched.status();
  EXPECT_EQ(Get(created->name())->revision(), 3);
}

TEST_F(PlansTest, DeleteIsSoftAndCanBeUndone) {
  auto created = Create(*alex_.client, NewCarePlan());
  ASSERT_TRUE(created.ok());
  v1::DeletePlanRequest stale_delete;
  stale_delete.set_name(created->name());
  stale_delete.set_etag("not-the-etag");
  EXPECT_EQ(alex_.client->Call(&v1::PlanService::Stub::DeletePlan, stale_delete).status().code(),
            absl::StatusCode::kFailedPrecondition);

  v1::DeletePlanRequest request;
  request.set_name(created->name());
  request.set_etag(created->etag());
  auto deleted = alex_.client->Call(&v1::PlanService::Stub::DeletePlan, request);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_TRUE(deleted->has_delete_time());
  EXPECT_TRUE(Get(created->name())->has_delete_time());
  EXPECT_EQ(CountPlans(false), 0);
  EXPECT_EQ(CountPlans(true), 1);
  EXPECT_EQ(alex_.client->Call(&v1::PlanService::Stub::DeletePlan, request).status().code(),
            absl::StatusCode::kFailedPrecondition);

  v1::UpdatePlanRequest update;
  update.mutable_plan()->set_name(created->name());
  update.mutable_plan()->set_title("changed");
  update.mutable_update_mask()->add_paths("title");
  EXPECT_EQ(alex_.client->Call(&v1::PlanService::Stub::UpdatePlan, update).status().code(),
            absl::StatusCode::kFailedPrecondition);

  v1::UndeletePlanRequest undelete;
  undelete.set_name(created->name());
  auto restored = alex_.client->Call(&v1::PlanService::Stub::UndeletePlan, undelete);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_FALSE(restored->has_delete_time());
  EXPECT_EQ(CountPlans(false), 1);
  EXPECT_EQ(restored->care_plan().goals(0).description(), "Go back to college");
}

TEST_F(PlansTest, BadInputGetsAClearErrorAndChangesNothing) {
  auto created = Create(*alex_.client, NewCarePlan());
  ASSERT_TRUE(created.ok());

  struct Case {
    std::string name;
    absl::StatusCode code;
    std::string field;
  };
  for (const Case& c :
       {Case{"", absl::StatusCode::kInvalidArgument, "name"},
        Case{"plans/x", absl::StatusCode::kInvalidArgument, "name"},
        Case{alex_.name + "/plans/UPPER", absl::StatusCode::kInvalidArgument, "name"},
        Case{alex_.name + "/plans/a/b", absl::StatusCode::kInvalidArgument, "name"},
        Case{alex_.name + "/decisions/x", absl::StatusCode::kInvalidArgument, "name"},
        Case{alex_.name + "/plans/nope", absl::StatusCode::kNotFound, ""},
        Case{"people/nobody/plans/nope", absl::StatusCode::kNotFound, ""}}) {
    auto got = Get(c.name);
    EXPECT_EQ(got.status().code(), c.code) << c.name << ": " << got.status();
    if (!c.field.empty()) {
      EXPECT_EQ(FieldOf(got.status()), c.field) << c.name;
    }
  }

  v1::Plan empty_goal = NewCarePlan();
  empty_goal.mutable_care_plan()->mutable_goals(0)->clear_description();
  auto missing = Create(*alex_.client, empty_goal);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(missing.status()), "plan.care_plan.goals[0].description");

  v1::Plan long_text = NewCarePlan();
  long_text.mutable_care_plan()->mutable_goals(0)->set_description(std::string(2001, 'a'));
  auto too_long = Create(*alex_.client, long_text);
  EXPECT_EQ(too_long.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(too_long.status()), "plan.care_plan.goals[0].description");
  EXPECT_THAT(std::string(too_long.status().message()), HasSubstr("2000"));

  v1::Plan many_goals = NewCarePlan();
  for (int i = 0; i < 50; ++i) many_goals.mutable_care_plan()->add_goals()->set_description("g");
  auto too_many = Create(*alex_.client, many_goals);
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(too_many.status()), "plan.care_plan.goals");

  v1::Plan no_kind;
  no_kind.set_title("neither");
  EXPECT_EQ(Create(*alex_.client, no_kind).status().code(), absl::StatusCode::kInvalidArgument);

  v1::Plan bad_date = NewCarePlan();
  bad_date.mutable_care_plan()->mutable_review_date()->set_year(2026);
  bad_date.mutable_care_plan()->mutable_review_date()->set_month(2);
  bad_date.mutable_care_plan()->mutable_review_date()->set_day(30);
  auto date = Create(*alex_.client, bad_date);
  EXPECT_EQ(date.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(date.status()), "plan.care_plan.review_date");

  v1::Plan bad_enum = NewCarePlan();
  bad_enum.mutable_care_plan()->mutable_goals(0)->set_status(static_cast<v1::GoalStatus>(99));
  EXPECT_EQ(Create(*alex_.client, bad_enum).status().code(), absl::StatusCode::kInvalidArgument);

  v1::Plan duplicate_ids = NewCarePlan();
  duplicate_ids.mutable_care_plan()->mutable_goals(0)->mutable_steps(0)->set_id("s1");
  duplicate_ids.mutable_care_plan()->mutable_goals(0)->mutable_steps(1)->set_id("s1");
  auto duplicated = Create(*alex_.client, duplicate_ids);
  EXPECT_EQ(duplicated.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(duplicated.status()), "plan.care_plan.goals[0].steps[1].id");

  EXPECT_EQ(Create(*alex_.client, NewCarePlan(), "Bad_Id").status().code(),
            absl::StatusCode::kInvalidArgument);

  v1::UpdatePlanRequest bad_mask;
  bad_mask.mutable_plan()->set_name(created->name());
  bad_mask.mutable_update_mask()->add_paths("care_plan.nonsense");
  auto masked = alex_.client->Call(&v1::PlanService::Stub::UpdatePlan, bad_mask);
  EXPECT_EQ(masked.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(masked.status()), "update_mask.paths[0]");
  bad_mask.mutable_update_mask()->set_paths(0, "revision");
  EXPECT_EQ(alex_.client->Call(&v1::PlanService::Stub::UpdatePlan, bad_mask).status().code(),
            absl::StatusCode::kInvalidArgument);

  // A mask's cost is bounded before the plan is locked: too many paths, or a field named
  // twice (each path once copied the whole request), and nothing changes.
  v1::UpdatePlanRequest many;
  many.mutable_plan()->set_name(created->name());
  many.mutable_plan()->set_title("many");
  for (int i = 0; i < 101; ++i) many.mutable_update_mask()->add_paths("title");
  auto too_many_paths = alex_.client->Call(&v1::PlanService::Stub::UpdatePlan, many);
  EXPECT_EQ(too_many_paths.status().code(), absl::StatusCode::kInvalidArgument)
      << too_many_paths.status();
  EXPECT_EQ(FieldOf(too_many_paths.status()), "update_mask.paths");
  v1::UpdatePlanRequest twice = many;
  twice.mutable_update_mask()->clear_paths();
  twice.mutable_update_mask()->add_paths("care_plan");
  twice.mutable_update_mask()->add_paths("title");
  twice.mutable_update_mask()->add_paths("care_plan.goals");
  auto overlapping = alex_.client->Call(&v1::PlanService::Stub::UpdatePlan, twice);
  EXPECT_EQ(overlapping.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(overlapping.status()), "update_mask.paths[2]");
  v1::GetPlanRequest get;
  get.set_name(created->name());
  auto unchanged = alex_.client->Call(&v1::PlanService::Stub::GetPlan, get);
  ASSERT_TRUE(unchanged.ok());
  EXPECT_EQ(unchanged->revision(), created->revision());
  EXPECT_EQ(unchanged->title(), created->title());

  v1::ListPlansRequest negative;
  negative.set_parent(alex_.name);
  negative.set_page_size(-1);
  EXPECT_EQ(alex_.client->Call(&v1::PlanService::Stub::ListPlans, negative).status().code(),
            absl::StatusCode::kInvalidArgument);

  // None of it was written.
  EXPECT_EQ(CountPlans(true), 1);
  EXPECT_EQ(Get(created->name())->revision(), 1);
}

// 2,000 "€" (three bytes each in UTF-8) is the longest text a crisis-plan item takes; 50
// items the most a list takes. Fifty of them keep every field's limit and still pass the
// whole document's, which the proto states on Plan itself.
TEST_F(PlansTest, APlanWithinEveryFieldsLimitCanBeTooLargeAsAWholeAndTheErrorSaysSo) {
  const int32_t limit = v1::Plan::descriptor()->options().GetExtension(v1::max_serialized_bytes);
  ASSERT_EQ(limit, 256 * 1024);
  std::string long_text;
  for (int i = 0; i < 2000; ++i) long_text += "\u20ac";
  v1::Plan plan;
  plan.set_title("Long");
  for (int i = 0; i < 50; ++i) plan.mutable_crisis_plan()->add_warning_signs()->set_text(long_text);
  ASSERT_GT(plan.ByteSizeLong(), static_cast<size_t>(limit));

  auto refused = Create(*alex_.client, plan);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(refused.status()), "plan");  // a real field of CreatePlanRequest
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("262144 bytes"));
  EXPECT_THAT(std::string(refused.status().message()),
              Not(HasSubstr(std::to_string(plan.ByteSizeLong()))));  // the limit, not the size
  EXPECT_EQ(CountPlans(), 0);

  // An edit that grows a plan past the limit names its operations.
  plan.mutable_crisis_plan()->mutable_warning_signs()->DeleteSubrange(40, 10);
  auto created = Create(*alex_.client, plan);
  ASSERT_TRUE(created.ok()) << created.status();
  v1::EditDocumentRequest edit;
  edit.set_name(created->name());
  edit.set_base_revision(created->revision());
  edit.set_idempotency_key("too-large");
  for (int i = 0; i < 10; ++i) {
    *edit.add_operations() =
        testing::InsertOp("crisis_plan.warning_signs", "{\"text\": \"" + long_text + "\"}");
  }
  auto grown = alex_.client->Call(&v1::EditingService::Stub::EditDocument, edit);
  EXPECT_EQ(grown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(grown.status()), "operations") << grown.status();
  EXPECT_EQ(Get(created->name())->revision(), created->revision());
}

// Page tokens are MAC'd with the server's key and bound to the caller and the query: one
// made by hand (as the old unkeyed checksum allowed, with any position in it) is refused,
// and so is one handed to someone else.
// A carer shown one of three plans pages over that one only: no empty page, no "more
// results" and no token that would tell them other plans exist.
TEST_F(PlansTest, AListPagesOverWhatTheCallerMayReadOnly) {
  auto shared = Create(*alex_.client, NewCarePlan());
  ASSERT_TRUE(shared.ok()) << shared.status();
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(Create(*alex_.client, NewCarePlan()).ok());
  TestUser carer = server_->CreateUser("Jordan");
  testing::Grant(alex_, carer, shared->name(), v1::ACCESS_LEVEL_READ);
  for (int page_size : {1, 2, 20}) {
    v1::ListPlansRequest request;
    request.set_parent(alex_.name);
    request.set_page_size(page_size);
    auto page = carer.client->Call(&v1::PlanService::Stub::ListPlans, request);
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_EQ(page->plans_size(), 1) << "page size " << page_size;
    EXPECT_EQ(page->plans(0).name(), shared->name());
    EXPECT_TRUE(page->next_page_token().empty()) << "page size " << page_size;
  }
}

TEST_F(PlansTest, APageTokenCannotBeForgedOrUsedBySomeoneElse) {
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(Create(*alex_.client, NewCarePlan()).ok());
  v1::ListPlansRequest request;
  request.set_parent(alex_.name);
  request.set_page_size(1);
  auto first = alex_.client->Call(&v1::PlanService::Stub::ListPlans, request);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_FALSE(first->next_page_token().empty());

  const std::string body = "9223372036854775807\n1";
  const std::string fingerprint = absl::StrCat(alex_.name, "|1|0|0");
  v1::ListPlansRequest forged = request;
  forged.set_page_token(Base64UrlEncode(Sha256(body + "\n" + fingerprint).substr(0, 9) + body));
  auto refused = alex_.client->Call(&v1::PlanService::Stub::ListPlans, forged);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
  EXPECT_EQ(FieldOf(refused.status()), "page_token");

  // Alex's own token works for Alex, and not for a clinician of their care team.
  TestUser clinician = server_->CreateUser("Dr Shah", {.clinician = true});
  testing::JoinCareTeam(*server_, alex_, clinician);
  request.set_page_token(first->next_page_token());
  auto second = alex_.client->Call(&v1::PlanService::Stub::ListPlans, request);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->plans_size(), 1);
  auto borrowed = clinician.client->Call(&v1::PlanService::Stub::ListPlans, request);
  EXPECT_EQ(borrowed.status().code(), absl::StatusCode::kInvalidArgument) << borrowed.status();
  EXPECT_EQ(FieldOf(borrowed.status()), "page_token");
}

TEST_F(PlansTest, TheCallersDeadlineIsHonouredInsideTheDatabase) {
  auto created = Create(*alex_.client, NewCarePlan());
  ASSERT_TRUE(created.ok());
  // Someone else holds the plan's row lock, so the update has to wait for it.
  pqxx::connection blocker(server_->conninfo());
  pqxx::work lock(blocker);
  lock.exec_params("SELECT 1 FROM documents WHERE document_id = $1 FOR UPDATE",
                   created->name().substr(created->name().rfind('/') + 1));
  v1::UpdatePlanRequest update;
  update.mutable_plan()->set_name(created->name());
  update.mutable_plan()->set_title("too late");
  update.mutable_update_mask()->add_paths("title");
  auto late = alex_.client->Call(&v1::PlanService::Stub::UpdatePlan, update,
                                 {.deadline = absl::Milliseconds(600)});
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded) << late.status();
  absl::SleepFor(absl::Milliseconds(800));  // past the deadline, the server must have given up
  lock.commit();
  absl::SleepFor(absl::Milliseconds(300));
  // Had the database kept waiting, the update would have gone through once the lock went.
  auto after = Get(created->name());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->revision(), 1);
  EXPECT_EQ(after->title(), "My care plan");
}

TEST_F(PlansTest, CallsSucceedAfterEveryDatabaseConnectionIsCut) {
  auto created = Create(*alex_.client, NewCarePlan());
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(Get(created->name()).ok());  // connections are open and pooled
  {
    pqxx::connection admin(server_->conninfo());
    pqxx::nontransaction tx(admin);
    auto killed = tx.exec(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()");
    EXPECT_GT(killed[0][0].as<int>(), 0);
  }
  for (int i = 0; i < 5; ++i) {
    auto read = Get(created->name());
    EXPECT_TRUE(read.ok()) << "after the cut, call " << i << ": " << read.status();
  }
  v1::UpdatePlanRequest update;
  update.mutable_plan()->set_name(created->name());
  update.mutable_plan()->set_title("written after the cut");
  update.mutable_update_mask()->add_paths("title");
  EXPECT_TRUE(alex_.client->Call(&v1::PlanService::Stub::UpdatePlan, update).ok());
}

TEST_F(PlansTest, CallsWithoutATokenAreUnauthenticated) {
  auto anonymous = server_->NewClient();
  v1::GetPlanRequest request;
  request.set_name(alex_.name + "/plans/anything");
  auto got = anonymous->Call(&v1::PlanService::Stub::GetPlan, request);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("authorization"));
}

}  // namespace
}  // namespace coplan
