// The audit trail: what is recorded and who can read it; that a read is in the trail
// before its answer; that the server's own database role cannot cut, wipe or unprotect
// it; and that `coplan-server audit verify` (which only reads) catches what someone
// with more power does directly in PostgreSQL (edited, deleted, inserted rows, a cut-off
// tail, a wiped trail, a forged checkpoint) against the checkpoints kept outside it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "server/service/audit_log.h"
#include "tests/support/edit_operations.h"
#include "tests/support/process.h"
#include "tests/support/records.h"
#include "tests/support/test_cluster.h"
#include "tests/support/test_server.h"
#include "tests/support/watch_collector.h"

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
    checkpoint_file_ = testing::MakeTempDir("coplan-audit") + "/checkpoints.jsonl";
    server_ = TestServer::Start({.configure = [this](ServerConfig& config) {
      config.audit_checkpoint_file = checkpoint_file_;
      config.stream_read_audit_interval = absl::Seconds(1);
    }});
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

  // As the server's role, in transactions that may only read.
  testing::ProcessResult Verify() {
    return testing::RunProgram({testing::ServerBinary(), "audit", "verify",
                                "--database_url=" + server_->server_conninfo() +
                                    " options='-c default_transaction_read_only=on'",
                                "--secret_file=" + server_->secret_file(),
                                "--audit_checkpoint_file=" + checkpoint_file_,
                                "--log_level=error"});
  }

  int64_t Count(const std::string& sql) {
    pqxx::connection conn(server_->conninfo());
    pqxx::nontransaction tx(conn);
    return tx.exec(sql)[0][0].as<int64_t>();
  }

  std::string checkpoint_file_;
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
  const std::string granted = testing::Grant(person_, stranger_, plan_, v1::ACCESS_LEVEL_READ);
  ASSERT_FALSE(granted.empty());
  // The grantee looks at what was shared with them and whom they are connected with.
  v1::ListGrantsRequest received;
  received.set_received(true);
  auto listed = stranger_.client->Call(&v1::PeopleService::Stub::ListGrants, received);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->grants_size(), 1);
  auto connections = stranger_.client->Call(&v1::PeopleService::Stub::ListConnections,
                                            v1::ListConnectionsRequest());
  ASSERT_TRUE(connections.ok()) << connections.status();
  ASSERT_GE(connections->connections_size(), 1);
  v1::RevokeGrantRequest revoke;
  revoke.set_name(granted);
  ASSERT_TRUE(person_.client->Call(&v1::PeopleService::Stub::RevokeGrant, revoke).ok());

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
  EXPECT_TRUE(
      Contains(events, {person_.name, v1::AUDIT_ACTION_GRANT, granted, v1::AUDIT_OUTCOME_ALLOWED}));
  EXPECT_TRUE(Contains(
      events, {person_.name, v1::AUDIT_ACTION_REVOKE, granted, v1::AUDIT_OUTCOME_ALLOWED}));
  EXPECT_TRUE(Contains(events, {person_.name, v1::AUDIT_ACTION_SIGN_IN, person_.name + "/account",
                                v1::AUDIT_OUTCOME_ALLOWED}));
  EXPECT_TRUE(Contains(
      events, {stranger_.name, v1::AUDIT_ACTION_READ, granted, v1::AUDIT_OUTCOME_ALLOWED}));
  EXPECT_TRUE(Contains(
      events, {stranger_.name, v1::AUDIT_ACTION_READ, person_.name, v1::AUDIT_OUTCOME_ALLOWED}));
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

// Written before the answer, not batched for later: a server killed right after
// answering cannot lose the row.
// A stream's reads are audited as ranges of revisions per reader, document and stream: at
// its start (the snapshot), every interval while it delivers, and at its end, so that
// together they name every revision it delivered, once.
TEST_F(AuditTest, AStreamsReadsAreAuditedAsTheRevisionRangesItDelivered) {
  int64_t revision = 1;
  auto edit = [&](const std::string& sign) {
    v1::EditDocumentRequest request;
    request.set_name(plan_);
    request.set_base_revision(revision);
    request.set_idempotency_key("stream-audit-" + sign);
    *request.add_operations() =
        testing::InsertOp("crisis_plan.warning_signs", absl::StrCat("{\"text\": \"", sign, "\"}"));
    auto edited = person_.client->Call(&v1::EditingService::Stub::EditDocument, request);
    ASSERT_TRUE(edited.ok()) << edited.status();
    revision = edited->revision();
  };
  {
    testing::WatchCollector watch(*clinician_.client, plan_);
    ASSERT_TRUE(watch.WaitFor([](const auto& events) { return !events.empty(); }));
    edit("a");
    edit("b");
    ASSERT_TRUE(watch.WaitForRevision(3));
    absl::SleepFor(absl::Milliseconds(1600));  // past an audit interval
    edit("c");
    ASSERT_TRUE(watch.WaitForRevision(4));
  }  // the stream ends here
  // The last row is written as the stream closes on the server, just after the client sees it.
  std::vector<v1::AccessEvent> rows;
  for (int attempt = 0; attempt < 50; ++attempt) {
    v1::ListAccessEventsRequest list;
    list.set_parent(person_.name);
    list.set_actor(clinician_.name);
    list.set_page_size(500);
    auto events = person_.client->Call(&v1::AuditService::Stub::ListAccessEvents, list);
    ASSERT_TRUE(events.ok()) << events.status();
    rows.clear();
    for (const auto& event : events->events()) {
      if (event.method() == "coplan.v1.EditingService/WatchDocument") rows.push_back(event);
    }
    if (!rows.empty() && rows.front().revision_to() == 4) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  std::reverse(rows.begin(), rows.end());  // oldest first
  ASSERT_GE(rows.size(), 3u);
  EXPECT_EQ(rows[0].action(), v1::AUDIT_ACTION_WATCH);
  EXPECT_EQ(rows[0].revision_from(), 1);  // the snapshot
  EXPECT_EQ(rows[0].revision_to(), 1);
  // The rest cover 2..4 in order, each revision once, in at least two rows: one written
  // while the stream was open (2..3), one at its end (4).
  int64_t next = 2;
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].action(), v1::AUDIT_ACTION_READ);
    EXPECT_EQ(rows[i].resource(), plan_);
    EXPECT_EQ(rows[i].revision_from(), next) << i;
    EXPECT_GE(rows[i].revision_to(), rows[i].revision_from());
    next = rows[i].revision_to() + 1;
  }
  EXPECT_EQ(next, 5);
  EXPECT_EQ(rows[1].revision_to(), 3) << "the row written while the stream was open";
  // The ranges are sealed with their rows: the trail verifies.
  auto verified = Verify();
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
}

// Whoever is given access to the person's records, and by whom, is in the person's own
// log: "Dr Lee was given access to your records by <administrator>".
TEST_F(AuditTest, ThePersonSeesWhoWasGivenAccessToTheirRecordsAndByWhom) {
  ASSERT_FALSE(testing::Grant(person_, stranger_, plan_, v1::ACCESS_LEVEL_READ).empty());
  v1::ListAccessEventsRequest list;
  list.set_parent(person_.name);
  list.set_page_size(500);
  auto events = person_.client->Call(&v1::AuditService::Stub::ListAccessEvents, list);
  ASSERT_TRUE(events.ok()) << events.status();
  const v1::AccessEvent* joined = nullptr;
  const v1::AccessEvent* accepted = nullptr;
  const v1::AccessEvent* invited = nullptr;
  for (const auto& event : events->events()) {
    if (event.method() == "coplan.v1.PeopleService/CreateCareTeamMember") joined = &event;
    if (event.method() == "coplan.v1.PeopleService/AcceptGrantInvitation") accepted = &event;
    if (event.method() == "coplan.v1.PeopleService/CreateGrant") invited = &event;
  }
  ASSERT_NE(joined, nullptr);
  EXPECT_EQ(joined->access_given_to(), clinician_.name);
  EXPECT_EQ(joined->access_given_to_display_name(), "Dr Lee");
  EXPECT_NE(joined->actor(), clinician_.name);  // the administrator who added them
  EXPECT_FALSE(joined->actor_display_name().empty());
  ASSERT_NE(accepted, nullptr);
  EXPECT_EQ(accepted->access_given_to(), stranger_.name);
  EXPECT_EQ(accepted->actor(), stranger_.name);
  ASSERT_NE(invited, nullptr);
  EXPECT_TRUE(invited->access_given_to().empty()) << "an invitation gives no one access yet";
  auto verified = Verify();
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
}

TEST_F(AuditTest, AReadAndARefusalAreInTheTrailBeforeTheirAnswers) {
  ASSERT_TRUE(Read(*clinician_.client).ok());
  EXPECT_EQ(
      Count(absl::StrCat("SELECT count(*) FROM audit_events WHERE actor_id = '", clinician_.id,
                         "' AND resource = '", plan_, "' AND action = 1 AND outcome = 1")),
      1);
  ASSERT_EQ(Read(*stranger_.client).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM audit_events WHERE actor_id = '", stranger_.id,
                               "' AND resource = '", plan_, "' AND outcome = 2")),
            1);
  // Sealed as inserted: every row has its nonce and transaction from the start.
  EXPECT_EQ(Count("SELECT count(*) FROM audit_events WHERE event_nonce IS NULL"), 0);
}

TEST_F(AuditTest, CheckpointsChainTheTrailAndLeaveTheDatabase) {
  auto first = server_->app().audit().Checkpoint();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->has_value());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Read(*clinician_.client).ok());
  auto second = server_->app().audit().Checkpoint();
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE(second->has_value());
  EXPECT_EQ((*second)->seq, (*first)->seq + 1);
  EXPECT_EQ((*second)->rows_total, (*first)->rows_total + 3);
  // Nothing new: no checkpoint.
  auto idle = server_->app().audit().Checkpoint();
  ASSERT_TRUE(idle.ok());
  EXPECT_FALSE(idle->has_value());

  std::ifstream in(checkpoint_file_);
  std::string line, last;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    last = line;
  }
  EXPECT_EQ(lines, (*second)->seq);
  auto parsed = ParseAuditCheckpointJson(last);
  ASSERT_TRUE(parsed.ok()) << last;
  EXPECT_EQ(parsed->digest, (*second)->digest);
  EXPECT_EQ(parsed->mac, (*second)->mac);
}

// Done as the server's own role: refused by the database, whatever the statement.
TEST_F(AuditTest, TheServersRoleCannotCutWipeOrUnprotectTheTrail) {
  ASSERT_TRUE(server_->app().audit().Checkpoint().ok());
  const int64_t rows = Count("SELECT count(*) FROM audit_events");
  const int64_t checkpoints = Count("SELECT count(*) FROM audit_checkpoints");
  ASSERT_GT(checkpoints, 0);
  for (const char* sql : {
           "DELETE FROM audit_events WHERE id > (SELECT max(id) - 2 FROM audit_events)",
           "DELETE FROM audit_events",
           "TRUNCATE audit_events",
           "UPDATE audit_events SET resource = 'x'",
           "DELETE FROM audit_checkpoints",
           "UPDATE audit_checkpoints SET rows_total = 0",
           "TRUNCATE audit_checkpoints",
           "ALTER TABLE audit_events DISABLE TRIGGER ALL",
           "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
           "DROP TRIGGER audit_events_append_only ON audit_events",
           "DROP TABLE audit_events",
           "SET session_replication_role = replica",
           "DELETE FROM document_revisions",
           "DELETE FROM schema_migrations",
       }) {
    pqxx::connection conn(server_->server_conninfo());
    pqxx::nontransaction tx(conn);
    EXPECT_THROW(tx.exec(sql), pqxx::sql_error) << sql;
  }
  EXPECT_EQ(Count("SELECT count(*) FROM audit_events"), rows);
  EXPECT_EQ(Count("SELECT count(*) FROM audit_checkpoints"), checkpoints);

  // A row cannot be slipped in among those a checkpoint covers: the database stamps it
  // with the inserting transaction, whatever the INSERT says.
  {
    pqxx::connection conn(server_->server_conninfo());
    pqxx::nontransaction tx(conn);
    tx.exec(
        "INSERT INTO audit_events (event_time, actor_id, on_behalf_of_id, action, resource,"
        " outcome, method, row_mac, tx_id) VALUES (now(), 'intruder', 'someone', 1,"
        " 'people/someone', 1, 'm', '\\x00', '1'::xid8)");
  }
  EXPECT_EQ(Count("SELECT count(*) FROM audit_events WHERE actor_id = 'intruder' AND tx_id = "
                  "'1'::xid8"),
            0);
}

TEST_F(AuditTest, VerifyOnlyReadsAndCatchesTamperingAgainstTheCheckpoints) {
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(Read(*clinician_.client).ok());
  ASSERT_TRUE(server_->app().audit().Checkpoint().ok());
  ASSERT_TRUE(Read(*clinician_.client).ok());  // newer than the last checkpoint
  ASSERT_TRUE(server_->app().audit().Checkpoint().ok());
  ASSERT_TRUE(Read(*clinician_.client).ok());
  server_->Stop();  // and its last checkpoint
  const int64_t checkpoints = Count("SELECT count(*) FROM audit_checkpoints");
  auto intact = Verify();
  ASSERT_EQ(intact.exit_code, 0) << intact.output;
  EXPECT_THAT(intact.output, HasSubstr("intact"));
  EXPECT_THAT(intact.output, HasSubstr(absl::StrCat(checkpoints, " checkpoints matched")));
  EXPECT_EQ(Count("SELECT count(*) FROM audit_checkpoints"), checkpoints);

  struct Tamper {
    std::string name;
    std::string sql;
    std::string expected;
  };
  const std::string second_row =
      "(SELECT id FROM audit_events ORDER BY tx_id, id OFFSET 1 LIMIT 1)";
  const std::vector<Tamper> tampers = {
      {"edit",
       "UPDATE audit_events SET resource = 'people/someone-else/plans/x' WHERE id = " + second_row,
       "does not match its MAC"},
      {"delete", "DELETE FROM audit_events WHERE id = " + second_row, "are not as they were"},
      {"insert into a checkpointed stretch",
       "INSERT INTO audit_events (event_time, actor_id, on_behalf_of_id, action, resource, outcome,"
       " method, row_mac, tx_id) SELECT now(), 'intruder', 'someone', 1, 'people/someone/plans/p',"
       " 1, 'coplan.v1.PlanService/GetPlan', '\\x00', min(tx_id) FROM audit_events",
       "are not as they were"},
      {"cut the tail and its checkpoint",
       "DELETE FROM audit_checkpoints WHERE seq = (SELECT max(seq) FROM audit_checkpoints);"
       "DELETE FROM audit_events WHERE tx_id >="
       " (SELECT max(horizon) FROM audit_checkpoints)",
       "but not in the database: the trail was cut back or wiped"},
      {"wipe", "DELETE FROM audit_events; DELETE FROM audit_checkpoints",
       "but not in the database: the trail was cut back or wiped"},
      {"forge a checkpoint",
       "UPDATE audit_checkpoints SET rows_total = rows_total - 1 WHERE seq = 1",
       "has an invalid MAC"},
  };
  for (const Tamper& tamper : tampers) {
    // Each starts from the intact trail. session_replication_role (superusers only)
    // switches the append-only triggers off, as someone with that power could.
    {
      pqxx::connection conn(server_->conninfo());
      pqxx::work tx(conn);
      tx.exec("SET LOCAL session_replication_role = replica");
      tx.exec("CREATE TABLE IF NOT EXISTS saved_audit AS TABLE audit_events WITH NO DATA");
      tx.exec(
          "CREATE TABLE IF NOT EXISTS saved_checkpoints AS TABLE audit_checkpoints WITH NO DATA");
      if (tx.exec("SELECT count(*) FROM saved_audit")[0][0].as<int>() == 0) {
        tx.exec("INSERT INTO saved_audit SELECT * FROM audit_events");
        tx.exec("INSERT INTO saved_checkpoints SELECT * FROM audit_checkpoints");
      } else {
        tx.exec("DELETE FROM audit_events");
        tx.exec("INSERT INTO audit_events OVERRIDING SYSTEM VALUE SELECT * FROM saved_audit");
        tx.exec("DELETE FROM audit_checkpoints");
        tx.exec("INSERT INTO audit_checkpoints SELECT * FROM saved_checkpoints");
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

// The chain is extended only from a head that checks out: not from a forged checkpoint,
// and not from a database that lost checkpoints the file holds.
TEST_F(AuditTest, TheCheckpointerDoesNotExtendAForgedOrCutChain) {
  ASSERT_TRUE(server_->app().audit().Checkpoint().ok());
  ASSERT_TRUE(Read(*clinician_.client).ok());
  ASSERT_TRUE(server_->app().audit().Checkpoint().ok());
  auto tamper = [&](const std::string& sql) {
    pqxx::connection conn(server_->conninfo());
    pqxx::work tx(conn);
    tx.exec("SET LOCAL session_replication_role = replica");
    tx.exec(sql);
    tx.commit();
  };
  tamper("DELETE FROM audit_checkpoints WHERE seq = (SELECT max(seq) FROM audit_checkpoints)");
  ASSERT_TRUE(Read(*clinician_.client).ok());
  auto cut = server_->app().audit().Checkpoint();
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(cut.status().message()), HasSubstr("was cut back or wiped"));

  tamper("UPDATE audit_checkpoints SET rows_total = rows_total + 1");
  auto forged = server_->app().audit().Checkpoint();
  EXPECT_EQ(forged.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(forged.status().message()), HasSubstr("invalid MAC"));
}

}  // namespace
}  // namespace coplan
