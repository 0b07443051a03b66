// The audit trail: what is recorded and who can read it, that reads are durable within a
// second, and that `coplan-server audit verify` catches every kind of tampering done
// directly in PostgreSQL (edited, deleted, reordered, inserted rows, a cut-off tail).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <pqxx/pqxx>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "server/service/audit_log.h"
#include "tests/support/process.h"
#include "tests/support/test_server.h"

namespace coplan {
namespace {

using ::testing::HasSubstr;
using testing::TestServer;
using testing::TestUser;

struct Seen {
  std::string actor;
  v1::AuditAction action;
  std::string resource;
  v1::AuditOutcome outcome;
};

std::vector<v1::AccessEvent> AllEvents(client::remote::RpcClient& client,
                                       v1::ListAccessEventsRequest request) {
  std::vector<v1::AccessEvent> events;
  do {
    auto page = client.Call(&v1::AuditService::Stub::ListAccessEvents, request);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) break;
    for (const auto& event : page->events()) events.push_back(event);
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty());
  return events;
}

bool Contains(const std::vector<v1::AccessEvent>& events, const Seen& seen) {
  for (const auto& event : events) {
    if (event.actor() == seen.actor && event.action() == seen.action &&
        event.resource() == seen.resource && event.outcome() == seen.outcome) {
      return true;
    }
  }
  return false;
}

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = TestServer::Start();
    person_ = server_->CreateUser("Casey");
    clinician_ = server_->CreateUser("Dr Lee", {.clinician = true});
    stranger_ = server_->CreateUser("Stranger");
    v1::CreateCareTeamMemberRequest member;
    member.set_parent(person_.name);
    member.mutable_care_team_member()->set_clinician(clinician_.name);
    ASSERT_TRUE(server_->admin().Call(&v1::PeopleService::Stub::CreateCareTeamMember, member).ok());
    v1::CreatePlanRequest create;
    create.set_parent(person_.name);
    create.set_plan_id("crisis");
    create.mutable_plan()->mutable_crisis_plan()->add_warning_signs()->set_text("not sleeping");
    auto plan = person_.client->Call(&v1::PlanService::Stub::CreatePlan, create);
    ASSERT_TRUE(plan.ok()) << plan.status();
    plan_ = plan->name();
  }

  absl::Status Read(client::remote::RpcClient& client) {
    v1::GetPlanRequest get;
    get.set_name(plan_);
    return client.Call(&v1::PlanService::Stub::GetPlan, get).status();
  }

  testing::ProcessResult Verify() {
    return testing::RunProgram({testing::ServerBinary(), "audit", "verify",
                                "--database_url=" + server_->conninfo(),
                                "--secret_file=" + server_->secret_file(), "--log_level=error"});
  }

  std::unique_ptr<TestServer> server_;
  TestUser person_, clinician_, stranger_;
  std::string plan_;
};

TEST_F(AuditTest, RecordsEveryKindOfAccessAndThePersonCanReadIt) {
  ASSERT_TRUE(Read(*clinician_.client).ok());
  EXPECT_EQ(Read(*stranger_.client).code(), absl::StatusCode::kNotFound);
  v1::UpdatePlanRequest update;
  update.mutable_plan()->set_name(plan_);
  update.mutable_plan()->set_title("Updated by clinician");
  update.mutable_update_mask()->add_paths("title");
  ASSERT_TRUE(clinician_.client->Call(&v1::PlanService::Stub::UpdatePlan, update).ok());
  v1::CreateGrantRequest grant;
  grant.set_parent(person_.name);
  grant.mutable_grant()->set_grantee(stranger_.name);
  grant.mutable_grant()->add_documents(plan_);
  grant.mutable_grant()->set_access(v1::ACCESS_LEVEL_READ);
  auto granted = person_.client->Call(&v1::PeopleService::Stub::CreateGrant, grant);
  ASSERT_TRUE(granted.ok());
  v1::RevokeGrantRequest revoke;
  revoke.set_name(granted->name());
  ASSERT_TRUE(person_.client->Call(&v1::PeopleService::Stub::RevokeGrant, revoke).ok());
  ASSERT_TRUE(server_->app().audit().FlushAndSeal().ok());

  v1::ListAccessEventsRequest request;
  request.set_parent(person_.name);
  request.set_page_size(3);
  auto events = AllEvents(*person_.client, request);
  EXPECT_TRUE(
      Contains(events, {clinician_.name, v1::AUDIT_ACTION_READ, plan_, v1::AUDIT_OUTCOME_ALLOWED}));
  EXPECT_TRUE(
      Contains(events, {stranger_.name, v1::AUDIT_ACTION_READ, plan_, v1::AUDIT_OUTCOME_DENIED}));
  EXPECT_TRUE(Contains(
      events, {clinician_.name, v1::AUDIT_ACTION_UPDATE, plan_, v1::AUDIT_OUTCOME_ALLOWED}));
  EXPECT_TRUE(
      Contains(events, {person_.name, v1::AUDIT_ACTION_CREATE, plan_, v1::AUDIT_OUTCOME_ALLOWED}));
  EXPECT_TRUE(Contains(
      events, {person_.name, v1::AUDIT_ACTION_GRANT, granted->name(), v1::AUDIT_OUTCOME_ALLOWED}));
  EXPECT_TRUE(Contains(
      events, {person_.name, v1::AUDIT_ACTION_REVOKE, granted->name(), v1::AUDIT_OUTCOME_ALLOWED}));
  EXPECT_TRUE(Contains(events, {person_.name, v1::AUDIT_ACTION_SIGN_IN, person_.name + "/account",
                                v1::AUDIT_OUTCOME_ALLOWED}));
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_GE(absl::ToUnixMicros(absl::FromUnixSeconds(events[i - 1].event_time().seconds()) +
                                 absl::Nanoseconds(events[i - 1].event_time().nanos())),
              absl::ToUnixMicros(absl::FromUnixSeconds(events[i].event_time().seconds()) +
                                 absl::Nanoseconds(events[i].event_time().nanos())))
        << "newest first";
  }
  for (const auto& event : events) {
    if (event.actor() == clinician_.name) {
      EXPECT_EQ(event.actor_display_name(), "Dr Lee");
    }
  }

  // Filters: by actor, by document, by time.
  request.set_page_size(100);
  request.set_actor(clinician_.name);
  for (const auto& event : AllEvents(*person_.client, request))
    EXPECT_EQ(event.actor(), clinician_.name);
  request.clear_actor();
  request.set_document(plan_);
  for (const auto& event : AllEvents(*person_.client, request)) EXPECT_EQ(event.resource(), plan_);
  request.clear_document();
  request.mutable_start_time()->set_seconds(absl::ToUnixSeconds(absl::Now()) + 3600);
  EXPECT_TRUE(AllEvents(*person_.client, request).empty());

  // The clinician sees their own actions, and only those.
  auto mine =
      clinician_.client->Call(&v1::AuditService::Stub::ListMyActions, v1::ListMyActionsRequest());
  ASSERT_TRUE(mine.ok());
  EXPECT_GE(mine->events_size(), 2);
  for (const auto& event : mine->events()) EXPECT_EQ(event.actor(), clinician_.name);
}

TEST_F(AuditTest, AReadIsDurableWithinASecond) {
  ASSERT_TRUE(Read(*clinician_.client).ok());
  absl::SleepFor(absl::Milliseconds(1000));
  pqxx::connection conn(server_->conninfo());
  pqxx::nontransaction tx(conn);
  auto rows = tx.exec_params(
      "SELECT count(*) FROM audit_events WHERE actor_id = $1 AND resource = $2 AND action = $3",
      clinician_.id, plan_, static_cast<int>(v1::AUDIT_ACTION_READ));
  EXPECT_EQ(rows[0][0].as<int>(), 1);
}

TEST_F(AuditTest, VerifyCatchesEditedDeletedReorderedInsertedAndCutRows) {
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(Read(*clinician_.client).ok());
  ASSERT_TRUE(server_->app().audit().FlushAndSeal().ok());
  server_->Stop();
  auto intact = Verify();
  ASSERT_EQ(intact.exit_code, 0) << intact.output;
  EXPECT_THAT(intact.output, HasSubstr("intact"));

  struct Tamper {
    std::string name;
    std::string sql;
    std::string expected;
  };
  const std::vector<Tamper> tampers = {
      {"edit",
       "UPDATE audit_events SET resource = 'people/someone-else/plans/x' WHERE chain_seq = 3",
       "content does not match its MAC"},
      {"delete", "DELETE FROM audit_events WHERE chain_seq = 4", "chain position 4 is missing"},
      {"reorder",
       "UPDATE audit_events SET chain_seq = -2 WHERE chain_seq = 2;"
       "UPDATE audit_events SET chain_seq = 2 WHERE chain_seq = 5;"
       "UPDATE audit_events SET chain_seq = 5 WHERE chain_seq = -2",
       "the chain is broken"},
      {"insert",
       "INSERT INTO audit_events (event_time, actor_id, on_behalf_of_id, action, resource, outcome,"
       " method, row_mac) VALUES (now(), 'intruder', 'someone', 1, 'people/someone/plans/p', 1,"
       " 'coplan.v1.PlanService/GetPlan', '\\x00')",
       "its MAC is invalid"},
      {"cut tail",
       "DELETE FROM audit_events WHERE chain_seq >= (SELECT max(chain_seq) - 1 FROM audit_events)",
       "rows removed from the end"},
  };
  for (const Tamper& tamper : tampers) {
    // Each tampering starts from the intact trail.
    {
      pqxx::connection conn(server_->conninfo());
      pqxx::work tx(conn);
      tx.exec("CREATE TABLE IF NOT EXISTS saved_audit AS TABLE audit_events WITH NO DATA");
      tx.exec("CREATE TABLE IF NOT EXISTS saved_head AS TABLE audit_chain_head WITH NO DATA");
      tx.exec("SET LOCAL session_replication_role = replica");  // bypasses the append-only triggers
      if (tx.exec("SELECT count(*) FROM saved_audit")[0][0].as<int>() == 0) {
        tx.exec("INSERT INTO saved_audit SELECT * FROM audit_events");
        tx.exec("INSERT INTO saved_head SELECT * FROM audit_chain_head");
      } else {
        tx.exec("DELETE FROM audit_events");
        tx.exec("INSERT INTO audit_events OVERRIDING SYSTEM VALUE SELECT * FROM saved_audit");
        tx.exec("DELETE FROM audit_chain_head");
        tx.exec("INSERT INTO audit_chain_head SELECT * FROM saved_head");
      }
      tx.exec(tamper.sql);
      tx.commit();
    }
    auto report = Verify();
    EXPECT_EQ(report.exit_code, 3) << tamper.name << ":\n" << report.output;
    EXPECT_THAT(report.output, HasSubstr("TAMPERED")) << tamper.name;
    EXPECT_THAT(report.output, HasSubstr(tamper.expected)) << tamper.name << ":\n" << report.output;
  }
}

TEST_F(AuditTest, SealingPagesPastForgedRowsAndStillSealsTheRealOnes) {
  // More forged rows than one sealing batch holds (5,000): they are never sealed, and
  // must not keep the sealer reading the same batch for ever (ctest's timeout catches a hang).
  {
    pqxx::connection conn(server_->conninfo());
    pqxx::work tx(conn);
    tx.exec(
        "INSERT INTO audit_events (event_time, actor_id, on_behalf_of_id, action, resource,"
        " outcome, method, row_mac) SELECT now(), 'intruder', 'someone', 1, 'people/someone',"
        " 1, 'coplan.v1.PlanService/GetPlan', '\\x00' FROM generate_series(1, 5001)");
    tx.commit();
  }
  ASSERT_TRUE(Read(*clinician_.client).ok());
  ASSERT_TRUE(server_->app().audit().FlushAndSeal().ok());
  pqxx::connection conn(server_->conninfo());
  pqxx::nontransaction tx(conn);
  EXPECT_EQ(tx.exec("SELECT count(*) FROM audit_events WHERE chain_seq IS NULL")[0][0].as<int>(),
            5001);
  EXPECT_EQ(
      tx.exec_params("SELECT count(*) FROM audit_events WHERE chain_seq IS NULL AND actor_id = $1",
                     clinician_.id)[0][0]
          .as<int>(),
      0);
}

TEST_F(AuditTest, TheAppendOnlyTriggersRefuseChangesFromTheApplicationRole) {
  ASSERT_TRUE(server_->app().audit().FlushAndSeal().ok());
  pqxx::connection conn(server_->conninfo());
  pqxx::nontransaction tx(conn);
  EXPECT_THROW(tx.exec("UPDATE audit_events SET resource = 'x'"), pqxx::sql_error);
  EXPECT_THROW(tx.exec("DELETE FROM audit_events"), pqxx::sql_error);
  EXPECT_THROW(tx.exec("DELETE FROM document_revisions"), pqxx::sql_error);
}

}  // namespace
}  // namespace coplan
