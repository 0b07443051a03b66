// Every call about a person's records passes the access gate (server/service/access_gate.h)
// exactly once, whether it is allowed or refused: no call decides access on its own, and
// none checks twice. Counted on the server's gate around each call, over real gRPC.
#include <gtest/gtest.h>

#include <functional>

#include "absl/strings/str_cat.h"
#include "server/common/ids.h"
#include "server/common/proto_time.h"
#include "server/service/access_gate.h"
#include "tests/support/edit_operations.h"
#include "tests/support/records.h"
#include "tests/support/test_server.h"
#include "tests/support/watch_collector.h"

namespace coplan {
namespace {

using testing::TestServer;
using testing::TestUser;

class AccessGateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = TestServer::Start().release(); }
  static void TearDownTestSuite() { delete server_; }

  // How many times the gate was passed while `call` ran.
  static int64_t Passes(const std::function<void()>& call) {
    const int64_t before = server_->app().gate().passes();
    call();
    return server_->app().gate().passes() - before;
  }

  static TestServer* server_;
};

TestServer* AccessGateTest::server_ = nullptr;

template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& result) {
  return result.status();
}

TEST_F(AccessGateTest, EveryDocumentDecisionAndPeopleCallPassesOnce) {
  TestUser owner = server_->CreateUser("Owner", {.birth_date = testing::Date(2009, 3, 14)});
  TestUser clinician = server_->CreateUser("Clinician", {.clinician = true, .grid_author = true});
  TestUser stranger = server_->CreateUser("Stranger");
  testing::JoinCareTeam(*server_, owner, clinician);
  const std::string version = testing::PublishGrid(
      *clinician.client, testing::CompleteGrid("Gate grid", TodayInUk(absl::Now())));
  const v1::Plan plan = testing::CreateCrisisPlan(owner);
  v1::CreateDecisionRecordRequest create_decision;
  create_decision.set_parent(owner.name);
  create_decision.mutable_decision_record()->set_option_grid_version(version);
  auto decision =
      owner.client->Call(&v1::DecisionService::Stub::CreateDecisionRecord, create_decision);
  ASSERT_TRUE(decision.ok()) << decision.status();

  // Each call as someone it allows and as a stranger it refuses.
  struct Call {
    std::string rpc;
    std::function<absl::Status(client::remote::RpcClient&)> run;
  };
  int64_t revision = plan.revision();
  std::vector<Call> calls = {
      {"GetPlan",
       [&](client::remote::RpcClient& c) {
         v1::GetPlanRequest r;
         r.set_name(plan.name());
         return StatusOf(c.Call(&v1::PlanService::Stub::GetPlan, r));
       }},
      {"ListPlans",
       [&](client::remote::RpcClient& c) {
         v1::ListPlansRequest r;
         r.set_parent(owner.name);
         return StatusOf(c.Call(&v1::PlanService::Stub::ListPlans, r));
       }},
      {"CreatePlan",
       [&](client::remote::RpcClient& c) {
         v1::CreatePlanRequest r;
         r.set_parent(owner.name);
         r.mutable_plan()->mutable_crisis_plan()->add_warning_signs()->set_text("x");
         return StatusOf(c.Call(&v1::PlanService::Stub::CreatePlan, r));
       }},
      {"UpdatePlan",
       [&](client::remote::RpcClient& c) {
         v1::UpdatePlanRequest r;
         r.mutable_plan()->set_name(plan.name());
         r.mutable_plan()->set_title(NewRandomToken(6));
         r.mutable_update_mask()->add_paths("title");
         auto updated = c.Call(&v1::PlanService::Stub::UpdatePlan, r);
         if (updated.ok()) revision = updated->revision();
         return updated.status();
       }},
      {"EditDocument",
       [&](client::remote::RpcClient& c) {
         v1::EditDocumentRequest r;
         r.set_name(plan.name());
         r.set_base_revision(revision);
         r.set_idempotency_key(NewRandomToken(12));
         *r.add_operations() = testing::SetOp("title", "\"edited\"");
         auto edited = c.Call(&v1::EditingService::Stub::EditDocument, r);
         if (edited.ok()) revision = edited->revision();
         return edited.status();
       }},
      {"GetDocumentRevision",
       [&](client::remote::RpcClient& c) {
         v1::GetDocumentRevisionRequest r;
         r.set_name(plan.name() + "/revisions/1");
         return StatusOf(c.Call(&v1::EditingService::Stub::GetDocumentRevision, r));
       }},
      {"ListRevisions",
       [&](client::remote::RpcClient& c) {
         v1::ListRevisionsRequest r;
         r.set_parent(plan.name());
         return StatusOf(c.Call(&v1::EditingService::Stub::ListRevisions, r));
       }},
      {"SignOffDocument",
       [&](client::remote::RpcClient& c) {
         v1::SignOffDocumentRequest r;
         r.set_name(plan.name());
         r.set_revision(revision);
         return StatusOf(c.Call(&v1::EditingService::Stub::SignOffDocument, r));
       }},
      {"DeletePlan",
       [&](client::remote::RpcClient& c) {
         v1::DeletePlanRequest r;
         r.set_name(plan.name());
         auto deleted = c.Call(&v1::PlanService::Stub::DeletePlan, r);
         if (deleted.ok()) revision = deleted->revision();
         return deleted.status();
       }},
      {"UndeletePlan",
       [&](client::remote::RpcClient& c) {
         v1::UndeletePlanRequest r;
         r.set_name(plan.name());
         auto restored = c.Call(&v1::PlanService::Stub::UndeletePlan, r);
         if (restored.ok()) revision = restored->revision();
         return restored.status();
       }},
      {"GetDecisionRecord",
       [&](client::remote::RpcClient& c) {
         v1::GetDecisionRecordRequest r;
         r.set_name(decision->name());
         return StatusOf(c.Call(&v1::DecisionService::Stub::GetDecisionRecord, r));
       }},
      {"ListDecisionRecords",
       [&](client::remote::RpcClient& c) {
         v1::ListDecisionRecordsRequest r;
         r.set_parent(owner.name);
         return StatusOf(c.Call(&v1::DecisionService::Stub::ListDecisionRecords, r));
       }},
      {"UpdateDecisionRecord",
       [&](client::remote::RpcClient& c) {
         v1::UpdateDecisionRecordRequest r;
         r.mutable_decision_record()->set_name(decision->name());
         r.mutable_decision_record()->set_stage(v1::DECISION_STAGE_CONSIDERING);
         r.mutable_update_mask()->add_paths("stage");
         return StatusOf(c.Call(&v1::DecisionService::Stub::UpdateDecisionRecord, r));
       }},
      {"CreateDecisionRecord",
       [&](client::remote::RpcClient& c) {
         return StatusOf(c.Call(&v1::DecisionService::Stub::CreateDecisionRecord, create_decision));
       }},
      {"ListCaseloadDecisions",
       [&](client::remote::RpcClient& c) {
         return StatusOf(c.Call(&v1::DecisionService::Stub::ListCaseloadDecisions,
                                v1::ListCaseloadDecisionsRequest()));
       }},
      {"GetPerson",
       [&](client::remote::RpcClient& c) {
         v1::GetPersonRequest r;
         r.set_name(owner.name);
         return StatusOf(c.Call(&v1::PeopleService::Stub::GetPerson, r));
       }},
      {"ListCareTeamMembers",
       [&](client::remote::RpcClient& c) {
         v1::ListCareTeamMembersRequest r;
         r.set_parent(owner.name);
         return StatusOf(c.Call(&v1::PeopleService::Stub::ListCareTeamMembers, r));
       }},
      {"ListGrants",
       [&](client::remote::RpcClient& c) {
         v1::ListGrantsRequest r;
         r.set_parent(owner.name);
         return StatusOf(c.Call(&v1::PeopleService::Stub::ListGrants, r));
       }},
      {"ListProxyAccesses",
       [&](client::remote::RpcClient& c) {
         v1::ListProxyAccessesRequest r;
         r.set_parent(owner.name);
         return StatusOf(c.Call(&v1::PeopleService::Stub::ListProxyAccesses, r));
       }},
      {"ListAccessEvents",
       [&](client::remote::RpcClient& c) {
         v1::ListAccessEventsRequest r;
         r.set_parent(owner.name);
         return StatusOf(c.Call(&v1::AuditService::Stub::ListAccessEvents, r));
       }},
  };
  for (const Call& call : calls) {
    // The clinician for the caseload (a person's own view otherwise).
    client::remote::RpcClient& allowed =
        call.rpc == "ListCaseloadDecisions" || call.rpc == "SignOffDocument" ? *clinician.client
                                                                             : *owner.client;
    absl::Status allowed_status;
    EXPECT_EQ(Passes([&] { allowed_status = call.run(allowed); }), 1) << call.rpc << " (allowed)";
    EXPECT_TRUE(allowed_status.ok()) << call.rpc << ": " << allowed_status;
    absl::Status refused_status;
    EXPECT_EQ(Passes([&] { refused_status = call.run(*stranger.client); }), 1)
        << call.rpc << " (refused)";
    EXPECT_FALSE(refused_status.ok()) << call.rpc << " was allowed to a stranger";
  }

  // A watch passes once to start (its later re-checks are the stream's, not a call's).
  int64_t passes = Passes([&] {
    testing::WatchCollector watch(*owner.client, plan.name());
    ASSERT_TRUE(watch.WaitFor([](const auto& events) { return !events.empty(); }));
  });
  EXPECT_EQ(passes, 1) << "WatchDocument";
}

}  // namespace
}  // namespace coplan
