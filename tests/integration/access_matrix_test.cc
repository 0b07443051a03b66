// The access matrix: every RPC, called by every kind of relationship, on the subject's
// records, with the exact answer each cell must get. Roles:
//
//   owner          the young person (15) on their own records
//   clinician      a clinician in their care team
//   other clin.    a clinician not in the team (who is a grid author)
//   carer+grant    a carer the person granted READ on crisis plans
//   carer          a carer without a grant
//   guardian<16    a guardian with proxy (EDIT) access, the person under 16
//   guardian>=16   a guardian whose proxy was set up before the person turned 16 (ten
//                  days ago) and not re-granted by them: suspended
//   stranger       a signed-in person with no relationship
//   no token       no credentials
//
// OK = allowed; NF = NOT_FOUND (indistinguishable from a missing record); PD =
// PERMISSION_DENIED (the caller may know the record exists, but not do this); UA =
// UNAUTHENTICATED. The whole matrix is printed after the run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <iomanip>
#include <pqxx/pqxx>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "server/common/ids.h"
#include "server/common/proto_time.h"
#include "tests/support/edit_operations.h"
#include "tests/support/records.h"
#include "tests/support/sync_collector.h"
#include "tests/support/test_server.h"
#include "tests/support/watch_collector.h"

namespace coplan {
namespace {

using testing::TestServer;
using testing::TestUser;
using Code = absl::StatusCode;

constexpr int kRoles = 9;
const char* const kRoleNames[kRoles] = {"owner",        "clinician", "other clin.",
                                        "carer+grant",  "carer",     "guardian<16",
                                        "guardian>=16", "stranger",  "no token"};

std::string Short(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kNotFound:
      return "NF";
    case Code::kPermissionDenied:
      return "PD";
    case Code::kUnauthenticated:
      return "UA";
    default:
      return absl::StatusCodeToString(code);
  }
}

google::type::Date InDays(int days) { return ToDate(TodayInUk(absl::Now()) + days); }

struct Subject {
  TestUser person;
  std::string crisis;  // plan names
  std::string care;
  std::string decision;  // open decision
};

class AccessMatrixTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = TestServer::Start().release();
    fx_ = new Fixture();
    fx_->Build();
  }
  static void TearDownTestSuite() {
    delete fx_;
    delete server_;
  }

  struct Fixture {
    Subject young;    // 15
    Subject sixteen;  // turned 16 ten days ago
    TestUser clinician, other_clinician, carer_granted, carer, guardian, guardian_suspended,
        stranger;
    TestUser bystander;        // receives grants and proxies made during cells; plays no role
    TestUser spare_clinician;  // joins and leaves care teams during cells; plays no role
    std::unique_ptr<client::remote::RpcClient> anonymous;
    std::string grid_version;
    std::string draft_grid;

    client::remote::RpcClient* ClientOf(int role) {
      switch (role) {
        case 0:
          return young.person.client.get();
        case 1:
          return clinician.client.get();
        case 2:
          return other_clinician.client.get();
        case 3:
          return carer_granted.client.get();
        case 4:
          return carer.client.get();
        case 5:
          return guardian.client.get();
        case 6:
          return guardian_suspended.client.get();
        case 7:
          return stranger.client.get();
        default:
          return anonymous.get();
      }
    }
    Subject& SubjectOf(int role) { return role == 6 ? sixteen : young; }

    Subject MakeSubject(const std::string& display, google::type::Date birth) {
      Subject subject;
      subject.person = server_->CreateUser(display, {.birth_date = birth});
      subject.crisis = CreatePlan(subject, true);
      subject.care = CreatePlan(subject, false);
      subject.decision = CreateDecision(subject, false);
      return subject;
    }

    std::string CreatePlan(Subject& subject, bool crisis) {
      v1::CreatePlanRequest request;
      request.set_parent(subject.person.name);
      if (crisis) {
        request.mutable_plan()->mutable_crisis_plan()->add_warning_signs()->set_text(
            "not sleeping");
      } else {
        request.mutable_plan()->mutable_care_plan()->add_goals()->set_description("college");
      }
      auto plan = subject.person.client->Call(&v1::PlanService::Stub::CreatePlan, request);
      EXPECT_TRUE(plan.ok()) << plan.status();
      return plan.ok() ? plan->name() : "";
    }

    std::string CreateDecision(Subject& subject, bool decided) {
      v1::CreateDecisionRecordRequest request;
      request.set_parent(subject.person.name);
      auto* record = request.mutable_decision_record();
      record->set_option_grid_version(grid_version);
      if (decided) {
        record->set_status(v1::DECISION_STATUS_DECIDED);
        record->mutable_outcome()->set_option_id("a");
        *record->mutable_outcome()->mutable_decided_on() = InDays(0);
      }
      auto created =
          subject.person.client->Call(&v1::DecisionService::Stub::CreateDecisionRecord, request);
      EXPECT_TRUE(created.ok()) << created.status();
      return created.ok() ? created->name() : "";
    }

    v1::OptionGrid Grid() {
      v1::OptionGrid grid;
      grid.set_title("Matrix grid");
      grid.set_locale("en-GB");
      grid.set_decision_question("Which one?");
      for (const char* id : {"a", "b"}) {
        auto* option = grid.add_options();
        option->set_id(id);
        option->set_title(std::string("Option ") + id);
      }
      auto* question = grid.add_questions();
      question->set_question("Is it good?");
      for (const char* id : {"a", "b"}) {
        auto* answer = question->add_answers();
        answer->set_option_id(id);
        answer->set_text("Yes it is.");
        answer->add_source_ids("s");
      }
      auto* source = grid.add_sources();
      source->set_id("s");
      source->set_citation("A source.");
      grid.add_authors()->set_name("Author");
      grid.set_funding("None");
      grid.set_conflict_of_interest("None");
      *grid.mutable_last_review_date() = InDays(-1);
      *grid.mutable_next_review_date() = InDays(100);
      return grid;
    }

    std::string CreateDraft() {
      v1::CreateOptionGridRequest request;
      *request.mutable_option_grid() = Grid();
      auto draft =
          other_clinician.client->Call(&v1::OptionGridService::Stub::CreateOptionGrid, request);
      EXPECT_TRUE(draft.ok()) << draft.status();
      return draft.ok() ? draft->name() : "";
    }

    void Build() {
      clinician = server_->CreateUser("Clinician", {.clinician = true});
      other_clinician =
          server_->CreateUser("Other clinician", {.clinician = true, .grid_author = true});
      carer_granted = server_->CreateUser("Carer with grant");
      carer = server_->CreateUser("Carer");
      guardian = server_->CreateUser("Guardian");
      guardian_suspended = server_->CreateUser("Guardian of a 16 year old");
      stranger = server_->CreateUser("Stranger");
      bystander = server_->CreateUser("Bystander");
      spare_clinician = server_->CreateUser("Spare clinician", {.clinician = true});
      anonymous = server_->NewClient();
      draft_grid = CreateDraft();
      v1::PublishOptionGridRequest publish;
      publish.set_name(draft_grid);
      auto version =
          other_clinician.client->Call(&v1::OptionGridService::Stub::PublishOptionGrid, publish);
      ASSERT_TRUE(version.ok()) << version.status();
      grid_version = version->name();

      young = MakeSubject("Young person", testing::BirthDateTurning(16, 10));
      sixteen = MakeSubject("Just sixteen", testing::BirthDateTurning(16, -10));
      for (Subject* subject : {&young, &sixteen}) {
        // The bystander is connected with both (proxies are set up only for people who are).
        ASSERT_FALSE(
            testing::Grant(subject->person, bystander, subject->care, v1::ACCESS_LEVEL_READ)
                .empty());
        v1::CreateCareTeamMemberRequest member;
        member.set_parent(subject->person.name);
        member.mutable_care_team_member()->set_clinician(clinician.name);
        ASSERT_TRUE(
            server_->admin().Call(&v1::PeopleService::Stub::CreateCareTeamMember, member).ok());
      }
      v1::Grant grant;
      grant.add_document_kinds(v1::DOCUMENT_KIND_CRISIS_PLAN);
      grant.set_access(v1::ACCESS_LEVEL_READ);
      ASSERT_FALSE(testing::Grant(young.person, carer_granted, grant).empty());
      ASSERT_EQ(testing::ActiveStaffProxy(*server_, young.person, guardian, clinician,
                                          v1::ACCESS_LEVEL_EDIT)
                    .state(),
                v1::PROXY_STATE_ACTIVE);
      // The sixteen-year-old's guardian was set up while they were 15 (the API no longer
      // allows it, so the row is written as it would have been then).
      pqxx::connection conn(server_->conninfo());
      pqxx::work tx(conn);
      tx.exec_params(
          "INSERT INTO proxy_accesses (id, person_id, proxy_id, access, granted_by_person,"
          " created_by, create_time) VALUES ($1, $2, $3, 2, false, 'admin', now() - interval '1 "
          "year')",
          NewResourceId(), sixteen.person.id, guardian_suspended.id);
      tx.commit();
    }
  };

  using Call =
      std::function<absl::Status(int role, client::remote::RpcClient& client, Subject& subject)>;
  struct Row {
    std::string rpc;
    std::string expected;  // nine space-separated codes
    Call call;
  };

  static TestServer* server_;
  static Fixture* fx_;
};

TestServer* AccessMatrixTest::server_ = nullptr;
AccessMatrixTest::Fixture* AccessMatrixTest::fx_ = nullptr;

template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& result) {
  return result.status();
}

TEST_F(AccessMatrixTest, EveryRpcGivesEachRelationshipExactlyItsAccess) {
  Fixture& f = *fx_;
  std::vector<Row> rows = {
      // Plans.
      {"PlanService.GetPlan (crisis)", "OK OK NF OK NF OK NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::GetPlanRequest r;
         r.set_name(s.crisis);
         return StatusOf(c.Call(&v1::PlanService::Stub::GetPlan, r));
       }},
      {"PlanService.GetPlan (care)", "OK OK NF NF NF OK NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::GetPlanRequest r;
         r.set_name(s.care);
         return StatusOf(c.Call(&v1::PlanService::Stub::GetPlan, r));
       }},
      {"PlanService.ListPlans", "OK OK NF OK NF OK NF NF UA",
       [](int role, client::remote::RpcClient& c, Subject& s) -> absl::Status {
         v1::ListPlansRequest r;
         r.set_parent(s.person.name);
         auto list = c.Call(&v1::PlanService::Stub::ListPlans, r);
         if (!list.ok()) return list.status();
         // A grantee sees only what was shared with them.
         const int expected = role == 3 ? 1 : 2;
         if (list->plans_size() < expected || (role == 3 && list->plans_size() != 1)) {
           return absl::InternalError(absl::StrCat("listed ", list->plans_size(), " plans"));
         }
         return absl::OkStatus();
       }},
      {"PlanService.CreatePlan", "OK OK NF PD NF OK NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::CreatePlanRequest r;
         r.set_parent(s.person.name);
         r.mutable_plan()->mutable_crisis_plan()->add_warning_signs()->set_text("x");
         return StatusOf(c.Call(&v1::PlanService::Stub::CreatePlan, r));
       }},
      {"PlanService.UpdatePlan", "OK OK NF PD NF OK NF NF UA",
       [](int role, client::remote::RpcClient& c, Subject& s) {
         v1::UpdatePlanRequest r;
         r.mutable_plan()->set_name(s.crisis);
         r.mutable_plan()->set_title(absl::StrCat("title by role ", role));
         r.mutable_update_mask()->add_paths("title");
         return StatusOf(c.Call(&v1::PlanService::Stub::UpdatePlan, r));
       }},
      {"PlanService.DeletePlan", "OK OK NF PD NF PD NF NF UA",
       [&f](int, client::remote::RpcClient& c, Subject& s) {
         v1::DeletePlanRequest r;
         r.set_name(f.CreatePlan(s, true));
         return StatusOf(c.Call(&v1::PlanService::Stub::DeletePlan, r));
       }},
      // A deleted plan is there only for those who may undelete it (finding 16).
      {"PlanService.UndeletePlan", "OK OK NF NF NF NF NF NF UA",
       [&f](int, client::remote::RpcClient& c, Subject& s) {
         v1::DeletePlanRequest d;
         d.set_name(f.CreatePlan(s, true));
         EXPECT_TRUE(s.person.client->Call(&v1::PlanService::Stub::DeletePlan, d).ok());
         v1::UndeletePlanRequest r;
         r.set_name(d.name());
         return StatusOf(c.Call(&v1::PlanService::Stub::UndeletePlan, r));
       }},
      // Co-editing.
      {"EditingService.EditDocument", "OK OK NF PD NF OK NF NF UA",
       [](int role, client::remote::RpcClient& c, Subject& s) {
         v1::GetPlanRequest g;
         g.set_name(s.crisis);
         auto plan = s.person.client->Call(&v1::PlanService::Stub::GetPlan, g);
         v1::EditDocumentRequest r;
         r.set_name(s.crisis);
         r.set_base_revision(plan->revision());
         r.set_idempotency_key(NewRandomToken(12));
         *r.add_operations() = testing::SetOp("title", absl::StrCat("\"edit by ", role, "\""));
         return StatusOf(c.Call(&v1::EditingService::Stub::EditDocument, r));
       }},
      {"EditingService.GetDocumentRevision", "OK OK NF OK NF OK NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::GetDocumentRevisionRequest r;
         r.set_name(s.crisis + "/revisions/1");
         return StatusOf(c.Call(&v1::EditingService::Stub::GetDocumentRevision, r));
       }},
      {"EditingService.ListRevisions", "OK OK NF OK NF OK NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::ListRevisionsRequest r;
         r.set_parent(s.crisis);
         return StatusOf(c.Call(&v1::EditingService::Stub::ListRevisions, r));
       }},
      {"EditingService.SignOffDocument", "OK OK NF PD NF PD NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::GetPlanRequest g;
         g.set_name(s.crisis);
         auto plan = s.person.client->Call(&v1::PlanService::Stub::GetPlan, g);
         v1::SignOffDocumentRequest r;
         r.set_name(s.crisis);
         r.set_revision(plan->revision());
         return StatusOf(c.Call(&v1::EditingService::Stub::SignOffDocument, r));
       }},
      {"EditingService.WatchDocument", "OK OK NF OK NF OK NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) -> absl::Status {
         auto context = c.NewContext(absl::Seconds(5));
         v1::WatchDocumentRequest r;
         r.set_name(s.crisis);
         auto reader = c.stub<v1::EditingService::Stub>().WatchDocument(context.get(), r);
         v1::WatchEvent event;
         if (reader->Read(&event) && event.has_snapshot()) {
           context->TryCancel();
           (void)reader->Finish();
           return absl::OkStatus();
         }
         return client::remote::FromGrpcStatus(reader->Finish());
       }},
      // People and relationships.
      {"PeopleService.GetPerson", "OK OK NF OK NF OK NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::GetPersonRequest r;
         r.set_name(s.person.name);
         return StatusOf(c.Call(&v1::PeopleService::Stub::GetPerson, r));
       }},
      {"PeopleService.ListCareTeamMembers", "OK OK NF PD NF OK NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::ListCareTeamMembersRequest r;
         r.set_parent(s.person.name);
         return StatusOf(c.Call(&v1::PeopleService::Stub::ListCareTeamMembers, r));
       }},
      // An invitation (no grantee): see GrantsToSomeoneNewAreByInvitationOnly.
      {"PeopleService.CreateGrant", "OK PD NF PD NF PD NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::CreateGrantRequest r;
         r.set_parent(s.person.name);
         r.mutable_grant()->add_documents(s.crisis);
         r.mutable_grant()->set_access(v1::ACCESS_LEVEL_READ);
         r.mutable_grant()->mutable_expire_time()->set_seconds(absl::ToUnixSeconds(absl::Now()) +
                                                               3600);
         auto grant = c.Call(&v1::PeopleService::Stub::CreateGrant, r);
         if (grant.ok()) {
           v1::RevokeGrantRequest revoke;
           revoke.set_name(grant->name());
           EXPECT_TRUE(s.person.client->Call(&v1::PeopleService::Stub::RevokeGrant, revoke).ok());
         }
         return grant.status();
       }},
      // Anyone signed in may redeem a code; a made-up one is no one's.
      {"PeopleService.AcceptGrantInvitation", "NF NF NF NF NF NF NF NF UA",
       [](int, client::remote::RpcClient& c, Subject&) {
         v1::AcceptGrantInvitationRequest r;
         r.set_invitation_code("cgi_" + NewRandomToken(20));
         return StatusOf(c.Call(&v1::PeopleService::Stub::AcceptGrantInvitation, r));
       }},
      {"PeopleService.ListGrants (a person's)", "OK PD NF PD NF PD NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::ListGrantsRequest r;
         r.set_parent(s.person.name);
         return StatusOf(c.Call(&v1::PeopleService::Stub::ListGrants, r));
       }},
      {"PeopleService.ListGrants (received)", "OK OK OK OK OK OK OK OK UA",
       [](int, client::remote::RpcClient& c, Subject&) {
         v1::ListGrantsRequest r;
         r.set_received(true);
         return StatusOf(c.Call(&v1::PeopleService::Stub::ListGrants, r));
       }},
      {"PeopleService.RevokeGrant", "OK PD NF PD NF PD NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::CreateGrantRequest g;
         g.set_parent(s.person.name);
         g.mutable_grant()->add_documents(s.care);
         g.mutable_grant()->set_access(v1::ACCESS_LEVEL_READ);
         auto grant = s.person.client->Call(&v1::PeopleService::Stub::CreateGrant, g);
         EXPECT_TRUE(grant.ok());
         v1::RevokeGrantRequest r;
         r.set_name(grant->name());
         auto result = c.Call(&v1::PeopleService::Stub::RevokeGrant, r);
         (void)s.person.client->Call(&v1::PeopleService::Stub::RevokeGrant, r);  // clean up
         return result.status();
       }},
      {"PeopleService.CreateProxyAccess", "OK OK NF PD NF PD NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         // A new candidate each time: a refused proxy cannot be set up again by staff. They
         // are connected with the person first (an accepted grant): no one names a stranger.
         TestUser candidate = server_->CreateUser("Proxy candidate");
         if (testing::Grant(s.person, candidate, s.crisis, v1::ACCESS_LEVEL_READ).empty()) {
           return absl::InternalError("could not connect the candidate");
         }
         v1::CreateProxyAccessRequest r;
         r.set_parent(s.person.name);
         r.mutable_proxy_access()->set_proxy(candidate.name);
         r.mutable_proxy_access()->set_access(v1::ACCESS_LEVEL_READ);
         auto proxy = c.Call(&v1::PeopleService::Stub::CreateProxyAccess, r);
         if (proxy.ok()) {
           v1::RefuseProxyAccessRequest refuse;
           refuse.set_name(proxy->name());
           EXPECT_TRUE(
               s.person.client->Call(&v1::PeopleService::Stub::RefuseProxyAccess, refuse).ok());
         }
         return proxy.status();
       }},
      // On a new proxy set up by staff for the young person (15).
      {"PeopleService.RecordCompetenceDecision", "PD OK NF PD NF PD NF NF UA",
       [&f](int, client::remote::RpcClient& c, Subject&) -> absl::Status {
         TestUser candidate = server_->CreateUser("Proxy awaiting a decision");
         v1::CreateProxyAccessRequest setup;
         setup.set_parent(f.young.person.name);
         setup.mutable_proxy_access()->set_proxy(candidate.name);
         setup.mutable_proxy_access()->set_access(v1::ACCESS_LEVEL_READ);
         auto proxy = server_->admin().Call(&v1::PeopleService::Stub::CreateProxyAccess, setup);
         if (!proxy.ok()) return proxy.status();
         v1::RecordCompetenceDecisionRequest r;
         r.set_name(proxy->name());
         r.set_decision(v1::COMPETENCE_DECISION_COMPETENT);
         r.set_reason("can weigh it up");
         return StatusOf(c.Call(&v1::PeopleService::Stub::RecordCompetenceDecision, r));
       }},
      {"PeopleService.AcceptProxyAccess", "OK PD NF PD NF PD NF NF UA",
       [&f](int, client::remote::RpcClient& c, Subject&) -> absl::Status {
         TestUser candidate = server_->CreateUser("Proxy awaiting acceptance");
         v1::CreateProxyAccessRequest setup;
         setup.set_parent(f.young.person.name);
         setup.mutable_proxy_access()->set_proxy(candidate.name);
         setup.mutable_proxy_access()->set_access(v1::ACCESS_LEVEL_READ);
         auto proxy = server_->admin().Call(&v1::PeopleService::Stub::CreateProxyAccess, setup);
         if (!proxy.ok()) return proxy.status();
         v1::AcceptProxyAccessRequest r;
         r.set_name(proxy->name());
         auto result = StatusOf(c.Call(&v1::PeopleService::Stub::AcceptProxyAccess, r));
         v1::RefuseProxyAccessRequest refuse;  // leaves no active proxy behind
         refuse.set_name(proxy->name());
         (void)f.young.person.client->Call(&v1::PeopleService::Stub::RefuseProxyAccess, refuse);
         return result;
       }},
      {"PeopleService.ListProxyAccesses", "OK OK NF PD NF PD NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::ListProxyAccessesRequest r;
         r.set_parent(s.person.name);
         return StatusOf(c.Call(&v1::PeopleService::Stub::ListProxyAccesses, r));
       }},
      {"PeopleService.RefuseProxyAccess", "OK PD NF PD NF PD NF NF UA",
       [&f](int, client::remote::RpcClient& c, Subject& s) {
         v1::CreateProxyAccessRequest p;
         p.set_parent(s.person.name);
         p.mutable_proxy_access()->set_proxy(f.bystander.name);
         p.mutable_proxy_access()->set_access(v1::ACCESS_LEVEL_READ);
         auto proxy = s.person.client->Call(&v1::PeopleService::Stub::CreateProxyAccess, p);
         EXPECT_TRUE(proxy.ok()) << proxy.status();
         v1::RefuseProxyAccessRequest r;
         r.set_name(proxy->name());
         auto result = c.Call(&v1::PeopleService::Stub::RefuseProxyAccess, r);
         (void)s.person.client->Call(&v1::PeopleService::Stub::RefuseProxyAccess, r);
         return result.status();
       }},
      {"PeopleService.CreateCareTeamMember", "PD OK NF PD NF PD NF NF UA",
       [&f](int, client::remote::RpcClient& c, Subject& s) {
         v1::CreateCareTeamMemberRequest r;
         r.set_parent(s.person.name);
         r.mutable_care_team_member()->set_clinician(f.spare_clinician.name);
         auto member = c.Call(&v1::PeopleService::Stub::CreateCareTeamMember, r);
         if (member.ok()) {
           v1::DeleteCareTeamMemberRequest remove;
           remove.set_name(member->name());
           EXPECT_TRUE(
               server_->admin().Call(&v1::PeopleService::Stub::DeleteCareTeamMember, remove).ok());
         }
         return member.status();
       }},
      {"PeopleService.DeleteCareTeamMember", "PD OK NF PD NF PD NF NF UA",
       [&f](int, client::remote::RpcClient& c, Subject& s) {
         v1::CreateCareTeamMemberRequest add;
         add.set_parent(s.person.name);
         add.mutable_care_team_member()->set_clinician(f.spare_clinician.name);
         auto member = server_->admin().Call(&v1::PeopleService::Stub::CreateCareTeamMember, add);
         EXPECT_TRUE(member.ok()) << member.status();
         v1::DeleteCareTeamMemberRequest r;
         r.set_name(member->name());
         auto result = c.Call(&v1::PeopleService::Stub::DeleteCareTeamMember, r);
         (void)server_->admin().Call(&v1::PeopleService::Stub::DeleteCareTeamMember, r);
         return result.status();
       }},
      {"PeopleService.CreatePerson", "PD PD PD PD PD PD PD PD UA",
       [](int, client::remote::RpcClient& c, Subject&) {
         v1::CreatePersonRequest r;
         r.mutable_person()->set_display_name("Nobody");
         return StatusOf(c.Call(&v1::PeopleService::Stub::CreatePerson, r));
       }},
      {"PeopleService.UpdatePerson", "PD PD PD PD PD PD PD PD UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::UpdatePersonRequest r;
         r.mutable_person()->set_name(s.person.name);
         r.mutable_person()->set_display_name("Renamed");
         r.mutable_update_mask()->add_paths("display_name");
         return StatusOf(c.Call(&v1::PeopleService::Stub::UpdatePerson, r));
       }},
      {"PeopleService.CreateAccount", "PD PD PD PD PD PD PD PD UA",
       [&f](int, client::remote::RpcClient& c, Subject&) {
         v1::CreateAccountRequest r;
         r.set_parent(f.stranger.name);
         r.set_username("someone-new");
         r.set_password("a-long-enough-password");
         return StatusOf(c.Call(&v1::PeopleService::Stub::CreateAccount, r));
       }},
      {"PeopleService.CreateExternalIdentity", "PD PD PD PD PD PD PD PD UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::CreateExternalIdentityRequest r;
         r.set_parent(s.person.name);
         r.mutable_external_identity()->set_issuer("https://idp.example");
         r.mutable_external_identity()->set_subject("12345");
         return StatusOf(c.Call(&v1::PeopleService::Stub::CreateExternalIdentity, r));
       }},
      {"PeopleService.ListExternalIdentities", "PD PD PD PD PD PD PD PD UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::ListExternalIdentitiesRequest r;
         r.set_parent(s.person.name);
         return StatusOf(c.Call(&v1::PeopleService::Stub::ListExternalIdentities, r));
       }},
      {"PeopleService.DeleteExternalIdentity", "PD PD PD PD PD PD PD PD UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::DeleteExternalIdentityRequest r;
         r.set_name(s.person.name + "/externalIdentities/abcd1234");
         return StatusOf(c.Call(&v1::PeopleService::Stub::DeleteExternalIdentity, r));
       }},
      {"PeopleService.DisableAccount", "PD PD PD PD PD PD PD PD UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::DisableAccountRequest r;
         r.set_name(s.person.name);
         return StatusOf(c.Call(&v1::PeopleService::Stub::DisableAccount, r));
       }},
      {"PeopleService.EnableAccount", "PD PD PD PD PD PD PD PD UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::EnableAccountRequest r;
         r.set_name(s.person.name);
         return StatusOf(c.Call(&v1::PeopleService::Stub::EnableAccount, r));
       }},
      {"PeopleService.ListConnections", "OK OK OK OK OK OK OK OK UA",
       [](int, client::remote::RpcClient& c, Subject&) {
         return StatusOf(
             c.Call(&v1::PeopleService::Stub::ListConnections, v1::ListConnectionsRequest()));
       }},
      // The access log.
      {"AuditService.ListAccessEvents", "OK PD NF PD NF PD NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::ListAccessEventsRequest r;
         r.set_parent(s.person.name);
         return StatusOf(c.Call(&v1::AuditService::Stub::ListAccessEvents, r));
       }},
      {"AuditService.ListMyActions", "OK OK OK OK OK OK OK OK UA",
       [](int, client::remote::RpcClient& c, Subject&) {
         return StatusOf(
             c.Call(&v1::AuditService::Stub::ListMyActions, v1::ListMyActionsRequest()));
       }},
      // Exports: exactly what each may read, as FHIR, as the archive, printed.
      {"ExportService.ExportFhirBundle", "OK OK NF OK NF OK NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::ExportFhirBundleRequest r;
         r.set_parent(s.person.name);
         return StatusOf(c.Call(&v1::ExportService::Stub::ExportFhirBundle, r));
       }},
      {"ExportService.ExportPersonalData", "OK OK NF OK NF OK NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::ExportPersonalDataRequest r;
         r.set_parent(s.person.name);
         auto context = c.NewContext(absl::Seconds(30));
         auto reader = c.stub<v1::ExportService::Stub>().ExportPersonalData(context.get(), r);
         v1::ExportChunk chunk;
         while (reader->Read(&chunk)) {
         }
         return client::remote::FromGrpcStatus(reader->Finish());
       }},
      {"ExportService.PrintCrisisPlan", "OK OK NF OK NF OK NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::PrintCrisisPlanRequest r;
         r.set_name(s.crisis);
         return StatusOf(c.Call(&v1::ExportService::Stub::PrintCrisisPlan, r));
       }},
      // Decisions.
      {"DecisionService.CreateDecisionRecord", "OK OK NF PD NF OK NF NF UA",
       [&f](int, client::remote::RpcClient& c, Subject& s) {
         v1::CreateDecisionRecordRequest r;
         r.set_parent(s.person.name);
         r.mutable_decision_record()->set_option_grid_version(f.grid_version);
         return StatusOf(c.Call(&v1::DecisionService::Stub::CreateDecisionRecord, r));
       }},
      {"DecisionService.GetDecisionRecord", "OK OK NF NF NF OK NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::GetDecisionRecordRequest r;
         r.set_name(s.decision);
         return StatusOf(c.Call(&v1::DecisionService::Stub::GetDecisionRecord, r));
       }},
      {"DecisionService.ListDecisionRecords", "OK OK NF OK NF OK NF NF UA",
       [](int role, client::remote::RpcClient& c, Subject& s) -> absl::Status {
         v1::ListDecisionRecordsRequest r;
         r.set_parent(s.person.name);
         auto list = c.Call(&v1::DecisionService::Stub::ListDecisionRecords, r);
         if (list.ok() && role == 3 && list->decision_records_size() != 0) {
           return absl::InternalError("a crisis-plan grant lists decisions");
         }
         return list.status();
       }},
      {"DecisionService.UpdateDecisionRecord", "OK OK NF NF NF OK NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::UpdateDecisionRecordRequest r;
         r.mutable_decision_record()->set_name(s.decision);
         r.mutable_decision_record()->set_stage(v1::DECISION_STAGE_CONSIDERING);
         r.mutable_update_mask()->add_paths("stage");
         return StatusOf(c.Call(&v1::DecisionService::Stub::UpdateDecisionRecord, r));
       }},
      {"DecisionService.DeleteDecisionRecord", "OK OK NF NF NF PD NF NF UA",
       [&f](int, client::remote::RpcClient& c, Subject& s) {
         v1::DeleteDecisionRecordRequest r;
         r.set_name(f.CreateDecision(s, false));
         return StatusOf(c.Call(&v1::DecisionService::Stub::DeleteDecisionRecord, r));
       }},
      {"DecisionService.CreateCollaborateResponse", "OK PD NF NF NF PD NF NF UA",
       [&f](int, client::remote::RpcClient& c, Subject& s) {
         v1::CreateCollaborateResponseRequest r;
         r.set_parent(f.CreateDecision(s, true));
         r.mutable_collaborate_response()->set_clinician(f.clinician.name);
         r.mutable_collaborate_response()->set_understand_health_issues(8);
         return StatusOf(c.Call(&v1::DecisionService::Stub::CreateCollaborateResponse, r));
       }},
      {"DecisionService.GetCollaborateSummary", "PD OK PD PD PD PD PD PD UA",
       [&f](int, client::remote::RpcClient& c, Subject&) {
         v1::GetCollaborateSummaryRequest r;
         r.set_subject(f.clinician.name);
         return StatusOf(c.Call(&v1::DecisionService::Stub::GetCollaborateSummary, r));
       }},
      {"DecisionService.ListCaseloadDecisions", "PD OK OK PD PD PD PD PD UA",
       [](int, client::remote::RpcClient& c, Subject&) {
         return StatusOf(c.Call(&v1::DecisionService::Stub::ListCaseloadDecisions,
                                v1::ListCaseloadDecisionsRequest()));
       }},
      // The option grid library.
      {"OptionGridService.GetOptionGrid", "OK OK OK OK OK OK OK OK UA",
       [&f](int, client::remote::RpcClient& c, Subject&) {
         v1::GetOptionGridRequest r;
         r.set_name(f.draft_grid);
         return StatusOf(c.Call(&v1::OptionGridService::Stub::GetOptionGrid, r));
       }},
      {"OptionGridService.ListOptionGrids", "OK OK OK OK OK OK OK OK UA",
       [](int, client::remote::RpcClient& c, Subject&) {
         return StatusOf(
             c.Call(&v1::OptionGridService::Stub::ListOptionGrids, v1::ListOptionGridsRequest()));
       }},
      {"OptionGridService.GetOptionGridVersion", "OK OK OK OK OK OK OK OK UA",
       [&f](int, client::remote::RpcClient& c, Subject&) {
         v1::GetOptionGridVersionRequest r;
         r.set_name(f.grid_version);
         return StatusOf(c.Call(&v1::OptionGridService::Stub::GetOptionGridVersion, r));
       }},
      {"OptionGridService.CreateOptionGrid", "PD PD OK PD PD PD PD PD UA",
       [&f](int, client::remote::RpcClient& c, Subject&) {
         v1::CreateOptionGridRequest r;
         *r.mutable_option_grid() = f.Grid();
         return StatusOf(c.Call(&v1::OptionGridService::Stub::CreateOptionGrid, r));
       }},
      {"OptionGridService.UpdateOptionGrid", "PD PD OK PD PD PD PD PD UA",
       [&f](int, client::remote::RpcClient& c, Subject&) {
         v1::UpdateOptionGridRequest r;
         r.mutable_option_grid()->set_name(f.draft_grid);
         r.mutable_option_grid()->set_funding("Still none");
         r.mutable_update_mask()->add_paths("funding");
         return StatusOf(c.Call(&v1::OptionGridService::Stub::UpdateOptionGrid, r));
       }},
      {"OptionGridService.PublishOptionGrid", "PD PD OK PD PD PD PD PD UA",
       [&f](int, client::remote::RpcClient& c, Subject&) {
         v1::PublishOptionGridRequest r;
         r.set_name(f.CreateDraft());
         return StatusOf(c.Call(&v1::OptionGridService::Stub::PublishOptionGrid, r));
       }},
      // Sign-out (of a second session, so the role's client stays signed in).
      {"AuthService.SignOut", "OK OK OK OK OK OK OK OK UA",
       [&f](int role, client::remote::RpcClient& c, Subject&) -> absl::Status {
         if (role == 8)
           return StatusOf(c.Call(&v1::AuthService::Stub::SignOut, v1::SignOutRequest()));
         const std::string id = role == 0   ? f.young.person.id
                                : role == 6 ? f.guardian_suspended.id
                                            : std::vector<std::string>{"",
                                                                       f.clinician.id,
                                                                       f.other_clinician.id,
                                                                       f.carer_granted.id,
                                                                       f.carer.id,
                                                                       f.guardian.id,
                                                                       "",
                                                                       f.stranger.id}[role];
         auto second = server_->SignInAs(id);
         return StatusOf(second->Call(&v1::AuthService::Stub::SignOut, v1::SignOutRequest()));
       }},
      // Device sessions: a person's own only.
      {"AuthService.ListSessions", "OK PD NF PD NF PD NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) {
         v1::ListSessionsRequest r;
         r.set_parent(s.person.name);
         return StatusOf(c.Call(&v1::AuthService::Stub::ListSessions, r));
       }},
      {"AuthService.RevokeSession", "OK PD NF PD NF PD NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) -> absl::Status {
         v1::SignInRequest sign_in;
         sign_in.set_username(s.person.id);
         sign_in.set_password(TestServer::kPassword);
         sign_in.set_device_name("a phone");
         auto device = server_->NewClient()->Call(&v1::AuthService::Stub::SignIn, sign_in);
         if (!device.ok()) return device.status();
         v1::RevokeSessionRequest r;
         r.set_name(device->session());
         return StatusOf(c.Call(&v1::AuthService::Stub::RevokeSession, r));
       }},
      // Everyone changes only their own password, proven by the current one (wrong here).
      {"AuthService.ChangePassword", "PD PD PD PD PD PD PD PD UA",
       [](int, client::remote::RpcClient& c, Subject&) {
         v1::ChangePasswordRequest r;
         r.set_current_password("not anyone's password");
         r.set_new_password("a-long-enough-password");
         return StatusOf(c.Call(&v1::AuthService::Stub::ChangePassword, r));
       }},
      // The sync stream: a target answers as GetPlan does (a refusal ends only the target).
      {"SyncService.Sync (crisis)", "OK OK NF OK NF OK NF NF UA",
       [](int, client::remote::RpcClient& c, Subject& s) -> absl::Status {
         testing::SyncCollector sync(c);
         sync.Add(1, s.crisis);
         if (!sync.WaitForTargetStart(1)) {
           return client::remote::FromGrpcStatus(sync.status());
         }
         if (auto end = sync.target_end(1)) {
           return absl::Status(static_cast<absl::StatusCode>(end->code()), end->message());
         }
         return absl::OkStatus();
       }},
  };
  // Every RPC of the API has its row (SignIn and RefreshSession take no caller: a
  // password or a refresh token is the credential, whoever sends it).
  std::set<std::string> covered = {"AuthService.SignIn", "AuthService.RefreshSession"};
  for (const Row& row : rows) covered.insert(row.rpc.substr(0, row.rpc.find(' ')));
  for (const char* name :
       {"PlanService", "EditingService", "PeopleService", "AuthService", "AuditService",
        "DecisionService", "OptionGridService", "SyncService", "ExportService"}) {
    const auto* service = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
        absl::StrCat("coplan.v1.", name));
    ASSERT_NE(service, nullptr) << name;
    for (int m = 0; m < service->method_count(); ++m) {
      const std::string rpc = absl::StrCat(service->name(), ".", service->method(m)->name());
      EXPECT_TRUE(covered.count(rpc)) << rpc << " has no row in the access matrix";
    }
  }

  std::ostringstream table;
  table << std::left << std::setw(42) << "RPC";
  for (const char* role : kRoleNames) table << std::setw(13) << role;
  table << "\n";
  int cells = 0, wrong = 0;
  for (const Row& row : rows) {
    std::vector<std::string> expected = absl::StrSplit(row.expected, ' ');
    ASSERT_EQ(expected.size(), static_cast<size_t>(kRoles)) << row.rpc;
    table << std::setw(42) << row.rpc;
    for (int role = 0; role < kRoles; ++role) {
      absl::Status status = row.call(role, *f.ClientOf(role), f.SubjectOf(role));
      const std::string got = Short(status.code());
      ++cells;
      const bool match = got == expected[role];
      if (!match) ++wrong;
      EXPECT_EQ(got, expected[role]) << row.rpc << " as " << kRoleNames[role] << ": " << status;
      table << std::setw(13) << (match ? got : got + "(want " + expected[role] + ")");
    }
    table << "\n";
  }
  std::cout << "\nAccess matrix (" << cells << " cells, " << wrong << " wrong):\n" << table.str();
}

TEST_F(AccessMatrixTest, NoRelationshipLooksExactlyLikeNoRecord) {
  Fixture& f = *fx_;
  v1::GetPlanRequest existing, missing;
  existing.set_name(f.young.crisis);
  missing.set_name(f.young.person.name + "/plans/does-not-exist");
  auto denied = f.stranger.client->Call(&v1::PlanService::Stub::GetPlan, existing);
  auto absent = f.young.person.client->Call(&v1::PlanService::Stub::GetPlan, missing);
  ASSERT_EQ(denied.status().code(), Code::kNotFound);
  ASSERT_EQ(absent.status().code(), Code::kNotFound);
  // Same message shape, same details: only the name asked for differs.
  std::string denied_text(denied.status().message()), absent_text(absent.status().message());
  EXPECT_EQ(denied_text.substr(0, denied_text.rfind(':')),
            absent_text.substr(0, absent_text.rfind(':')));
  int denied_payloads = 0, absent_payloads = 0;
  denied.status().ForEachPayload([&](absl::string_view, const absl::Cord&) { ++denied_payloads; });
  absent.status().ForEachPayload([&](absl::string_view, const absl::Cord&) { ++absent_payloads; });
  EXPECT_EQ(denied_payloads, absent_payloads);
  // And for a person who does not exist at all.
  v1::ListPlansRequest nobody;
  nobody.set_parent("people/nobody-at-all");
  EXPECT_EQ(f.stranger.client->Call(&v1::PlanService::Stub::ListPlans, nobody).status().code(),
            Code::kNotFound);
}

TEST_F(AccessMatrixTest, AYoungPersonCanReGrantProxyAccessAfterSixteenAndRefuseItBefore) {
  Fixture& f = *fx_;
  // The suspended guardian gets access back only when the young person grants it.
  v1::CreateProxyAccessRequest regrant;
  regrant.set_parent(f.sixteen.person.name);
  regrant.mutable_proxy_access()->set_proxy(f.guardian_suspended.name);
  regrant.mutable_proxy_access()->set_access(v1::ACCESS_LEVEL_READ);
  EXPECT_EQ(f.clinician.client->Call(&v1::PeopleService::Stub::CreateProxyAccess, regrant)
                .status()
                .code(),
            Code::kFailedPrecondition);
  auto granted =
      f.sixteen.person.client->Call(&v1::PeopleService::Stub::CreateProxyAccess, regrant);
  ASSERT_TRUE(granted.ok()) << granted.status();
  EXPECT_TRUE(granted->granted_by_person());
  EXPECT_EQ(granted->state(), v1::PROXY_STATE_ACTIVE);
  v1::GetPlanRequest read;
  read.set_name(f.sixteen.crisis);
  EXPECT_TRUE(f.guardian_suspended.client->Call(&v1::PlanService::Stub::GetPlan, read).ok());
  v1::ListProxyAccessesRequest list;
  list.set_parent(f.sixteen.person.name);
  auto proxies = f.sixteen.person.client->Call(&v1::PeopleService::Stub::ListProxyAccesses, list);
  ASSERT_TRUE(proxies.ok());
  int suspended = 0;
  for (const auto& proxy : proxies->proxy_accesses()) {
    if (proxy.state() == v1::PROXY_STATE_SUSPENDED_AT_16) ++suspended;
  }
  EXPECT_EQ(suspended, 1);
  v1::RefuseProxyAccessRequest refuse;
  refuse.set_name(granted->name());
  ASSERT_TRUE(
      f.sixteen.person.client->Call(&v1::PeopleService::Stub::RefuseProxyAccess, refuse).ok());
  EXPECT_EQ(
      f.guardian_suspended.client->Call(&v1::PlanService::Stub::GetPlan, read).status().code(),
      Code::kNotFound);

  // A competent fifteen-year-old refuses their guardian: access ends at once.
  TestUser young =
      server_->CreateUser("Fifteen", {.birth_date = testing::BirthDateTurning(16, 100)});
  TestUser parent = server_->CreateUser("Parent");
  v1::CreatePlanRequest plan;
  plan.set_parent(young.name);
  plan.mutable_plan()->mutable_crisis_plan()->add_warning_signs()->set_text("x");
  auto created = young.client->Call(&v1::PlanService::Stub::CreatePlan, plan);
  ASSERT_TRUE(created.ok());
  v1::CreateProxyAccessRequest setup;
  setup.set_parent(young.name);
  setup.mutable_proxy_access()->set_proxy(parent.name);
  setup.mutable_proxy_access()->set_access(v1::ACCESS_LEVEL_READ);
  auto proxy = server_->admin().Call(&v1::PeopleService::Stub::CreateProxyAccess, setup);
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  read.set_name(created->name());
  // No access before a competence decision or the young person's own acceptance.
  EXPECT_EQ(proxy->state(), v1::PROXY_STATE_AWAITING_COMPETENCE_DECISION);
  EXPECT_EQ(parent.client->Call(&v1::PlanService::Stub::GetPlan, read).status().code(),
            Code::kNotFound);
  v1::AcceptProxyAccessRequest accept;
  accept.set_name(proxy->name());
  auto accepted = young.client->Call(&v1::PeopleService::Stub::AcceptProxyAccess, accept);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->state(), v1::PROXY_STATE_ACTIVE);
  EXPECT_TRUE(parent.client->Call(&v1::PlanService::Stub::GetPlan, read).ok());
  refuse.set_name(proxy->name());
  auto refused = young.client->Call(&v1::PeopleService::Stub::RefuseProxyAccess, refuse);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->state(), v1::PROXY_STATE_REFUSED);
  EXPECT_EQ(parent.client->Call(&v1::PlanService::Stub::GetPlan, read).status().code(),
            Code::kNotFound);
  // Staff cannot override the refusal by setting it up again; the young person can.
  EXPECT_EQ(
      server_->admin().Call(&v1::PeopleService::Stub::CreateProxyAccess, setup).status().code(),
      Code::kFailedPrecondition);
  EXPECT_EQ(parent.client->Call(&v1::PlanService::Stub::GetPlan, read).status().code(),
            Code::kNotFound);
  auto regranted = young.client->Call(&v1::PeopleService::Stub::CreateProxyAccess, setup);
  ASSERT_TRUE(regranted.ok()) << regranted.status();
  EXPECT_TRUE(parent.client->Call(&v1::PlanService::Stub::GetPlan, read).ok());
  // Their own grant lifts the refusal: staff may set this proxy up again.
  auto restaffed = server_->admin().Call(&v1::PeopleService::Stub::CreateProxyAccess, setup);
  EXPECT_TRUE(restaffed.ok()) << restaffed.status();
  // Nobody on the staff side can make themself a proxy.
  TestUser staff = server_->CreateUser("Second admin", {.administrator = true});
  setup.mutable_proxy_access()->set_proxy(staff.name);
  auto self = staff.client->Call(&v1::PeopleService::Stub::CreateProxyAccess, setup);
  EXPECT_EQ(self.status().code(), Code::kInvalidArgument) << self.status();
}

// Proxy access set up by staff for an under-16, through every transition of its state
// machine (coplan.v1.ProxyState), over real gRPC: access only in ACTIVE.
TEST_F(AccessMatrixTest, AStaffMadeProxyWaitsForACompetenceDecisionAndTheYoungPersonsAcceptance) {
  TestUser young =
      server_->CreateUser("Fourteen", {.birth_date = testing::BirthDateTurning(16, 700)});
  TestUser mum = server_->CreateUser("Mum proxy");
  TestUser dad = server_->CreateUser("Dad proxy");
  TestUser clinician = server_->CreateUser("Dr Patel", {.clinician = true});
  TestUser outsider = server_->CreateUser("Dr Other", {.clinician = true});
  testing::JoinCareTeam(*server_, young, clinician);
  const v1::Plan plan = testing::CreateCrisisPlan(young);
  auto reads = [&](const TestUser& who) {
    v1::GetPlanRequest get;
    get.set_name(plan.name());
    return who.client->Call(&v1::PlanService::Stub::GetPlan, get).status().code();
  };
  auto set_up = [&](const TestUser& proxy) {
    v1::CreateProxyAccessRequest request;
    request.set_parent(young.name);
    request.mutable_proxy_access()->set_proxy(proxy.name);
    request.mutable_proxy_access()->set_access(v1::ACCESS_LEVEL_READ);
    return server_->admin().Call(&v1::PeopleService::Stub::CreateProxyAccess, request);
  };

  // Created by staff: waiting for a decision, no access.
  auto mums = set_up(mum);
  ASSERT_TRUE(mums.ok()) << mums.status();
  EXPECT_EQ(mums->state(), v1::PROXY_STATE_AWAITING_COMPETENCE_DECISION);
  EXPECT_EQ(reads(mum), Code::kNotFound);
  // Only a clinician of the care team decides, with a reason; not an administrator.
  EXPECT_EQ(testing::DecideCompetence(outsider, mums->name(), false).status().code(),
            Code::kNotFound);
  v1::RecordCompetenceDecisionRequest by_admin;
  by_admin.set_name(mums->name());
  by_admin.set_decision(v1::COMPETENCE_DECISION_NOT_COMPETENT);
  by_admin.set_reason("admin says so");
  EXPECT_EQ(server_->admin()
                .Call(&v1::PeopleService::Stub::RecordCompetenceDecision, by_admin)
                .status()
                .code(),
            Code::kPermissionDenied);
  v1::RecordCompetenceDecisionRequest no_reason = by_admin;
  no_reason.set_reason("  ");
  auto refused =
      clinician.client->Call(&v1::PeopleService::Stub::RecordCompetenceDecision, no_reason);
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()), ::testing::HasSubstr("reason"));
  v1::RecordCompetenceDecisionRequest no_decision = by_admin;
  no_decision.set_decision(v1::COMPETENCE_DECISION_UNSPECIFIED);
  EXPECT_EQ(clinician.client->Call(&v1::PeopleService::Stub::RecordCompetenceDecision, no_decision)
                .status()
                .code(),
            Code::kInvalidArgument);
  EXPECT_EQ(reads(mum), Code::kNotFound);

  // "Competent": waits for the young person; their acceptance makes it active.
  auto competent = testing::DecideCompetence(clinician, mums->name(), true);
  ASSERT_TRUE(competent.ok()) << competent.status();
  EXPECT_EQ(competent->state(), v1::PROXY_STATE_AWAITING_ACCEPTANCE);
  EXPECT_EQ(competent->competence(), v1::COMPETENCE_DECISION_COMPETENT);
  EXPECT_FALSE(competent->competence_reason().empty());
  EXPECT_EQ(competent->competence_decided_by(), clinician.name);
  EXPECT_EQ(reads(mum), Code::kNotFound);
  v1::AcceptProxyAccessRequest accept;
  accept.set_name(mums->name());
  EXPECT_EQ(mum.client->Call(&v1::PeopleService::Stub::AcceptProxyAccess, accept).status().code(),
            Code::kNotFound)
      << "only the young person accepts";
  auto accepted = young.client->Call(&v1::PeopleService::Stub::AcceptProxyAccess, accept);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->state(), v1::PROXY_STATE_ACTIVE);
  EXPECT_TRUE(accepted->has_accept_time());
  EXPECT_EQ(reads(mum), Code::kOk);

  // "Not competent": active at once; judged competent later, it waits again and an open
  // watch ends.
  auto dads = set_up(dad);
  ASSERT_TRUE(dads.ok()) << dads.status();
  auto not_competent = testing::DecideCompetence(clinician, dads->name(), false);
  ASSERT_TRUE(not_competent.ok()) << not_competent.status();
  EXPECT_EQ(not_competent->state(), v1::PROXY_STATE_ACTIVE);
  EXPECT_EQ(reads(dad), Code::kOk);
  {
    testing::WatchCollector watch(*dad.client, plan.name());
    ASSERT_TRUE(watch.WaitFor([](const auto& events) { return !events.empty(); }));
    auto reassessed = testing::DecideCompetence(clinician, dads->name(), true);
    ASSERT_TRUE(reassessed.ok()) << reassessed.status();
    EXPECT_EQ(reassessed->state(), v1::PROXY_STATE_AWAITING_ACCEPTANCE);
    ASSERT_TRUE(watch.WaitForEnd(absl::Seconds(5)));
    EXPECT_EQ(watch.status().error_code(), grpc::StatusCode::NOT_FOUND);
  }
  EXPECT_EQ(reads(dad), Code::kNotFound);

  // The young person refuses, in any state; a decision cannot revive it.
  v1::RefuseProxyAccessRequest refuse;
  refuse.set_name(dads->name());
  auto gone = young.client->Call(&v1::PeopleService::Stub::RefuseProxyAccess, refuse);
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_EQ(gone->state(), v1::PROXY_STATE_REFUSED);
  EXPECT_EQ(testing::DecideCompetence(clinician, dads->name(), false).status().code(),
            Code::kFailedPrecondition);
  accept.set_name(dads->name());
  EXPECT_EQ(young.client->Call(&v1::PeopleService::Stub::AcceptProxyAccess, accept).status().code(),
            Code::kFailedPrecondition);
  refuse.set_name(mums->name());
  ASSERT_TRUE(young.client->Call(&v1::PeopleService::Stub::RefuseProxyAccess, refuse).ok());
  EXPECT_EQ(reads(mum), Code::kNotFound);
  // (At 16 every proxy set up by staff is suspended: clock_rules_e2e_test.)
}

// Separation of duties: no one administers accounts and sees records as a clinician.
TEST_F(AccessMatrixTest, AnAdministratorCannotAlsoBeAClinician) {
  v1::CreatePersonRequest both;
  both.mutable_person()->set_display_name("Admin and clinician");
  both.mutable_person()->set_administrator(true);
  both.mutable_person()->set_clinician(true);
  auto refused = server_->admin().Call(&v1::PeopleService::Stub::CreatePerson, both);
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()), ::testing::HasSubstr("person.clinician"));
  both.mutable_person()->set_administrator(false);
  EXPECT_TRUE(server_->admin().Call(&v1::PeopleService::Stub::CreatePerson, both).ok());
}

TEST_F(AccessMatrixTest, WithheldInformationIsHiddenFromTheNamedPeopleOnly) {
  TestUser person = server_->CreateUser("Riley");
  TestUser mum = server_->CreateUser("Mum");
  TestUser dad = server_->CreateUser("Dad");
  v1::CreatePlanRequest create;
  create.set_parent(person.name);
  auto* crisis = create.mutable_plan()->mutable_crisis_plan();
  auto* contact = crisis->add_help_contacts();
  contact->set_id("friend");
  contact->set_name("Alex (friend)");
  crisis->add_warning_signs()->set_text("stop eating");
  crisis->add_refusals_if_unwell()->set_text("don't tell my mum about the self-harm");
  auto* withholding = create.mutable_plan()->add_withholdings();
  withholding->add_paths("crisis_plan.refusals_if_unwell");
  withholding->add_paths("crisis_plan.help_contacts[friend]");
  withholding->add_withheld_from(mum.name);
  auto plan = person.client->Call(&v1::PlanService::Stub::CreatePlan, create);
  ASSERT_TRUE(plan.ok()) << plan.status();
  for (const TestUser* carer : {&mum, &dad}) {
    ASSERT_FALSE(testing::Grant(person, *carer, plan->name(), v1::ACCESS_LEVEL_EDIT).empty());
  }
  v1::GetPlanRequest get;
  get.set_name(plan->name());
  auto as_mum = mum.client->Call(&v1::PlanService::Stub::GetPlan, get);
  auto as_dad = dad.client->Call(&v1::PlanService::Stub::GetPlan, get);
  ASSERT_TRUE(as_mum.ok() && as_dad.ok());
  EXPECT_EQ(as_mum->crisis_plan().refusals_if_unwell_size(), 0);
  EXPECT_EQ(as_mum->crisis_plan().help_contacts_size(), 0);
  EXPECT_EQ(as_mum->crisis_plan().warning_signs_size(), 1);
  EXPECT_EQ(as_mum->withholdings_size(), 0);  // only the person sees the list
  EXPECT_EQ(as_dad->crisis_plan().refusals_if_unwell_size(), 1);
  EXPECT_EQ(as_dad->crisis_plan().help_contacts_size(), 1);
  EXPECT_EQ(as_dad->withholdings_size(), 0);
  // Mum cannot write what she cannot see, nor the list itself.
  v1::EditDocumentRequest edit;
  edit.set_name(plan->name());
  edit.set_base_revision(1);
  edit.set_idempotency_key("withheld-edit-1");
  *edit.add_operations() = testing::SetOp("crisis_plan.refusals_if_unwell", "[]");
  EXPECT_EQ(mum.client->Call(&v1::EditingService::Stub::EditDocument, edit).status().code(),
            Code::kPermissionDenied);
  edit.set_idempotency_key("withheld-edit-2");
  edit.mutable_operations(0)->mutable_set_field()->set_path("withholdings");
  EXPECT_EQ(mum.client->Call(&v1::EditingService::Stub::EditDocument, edit).status().code(),
            Code::kPermissionDenied);
  // Her allowed edits, and whole-field updates of what she sees, keep what is hidden.
  edit.set_idempotency_key("withheld-edit-3");
  *edit.mutable_operations(0) =
      testing::InsertOp("crisis_plan.warning_signs", R"({"text": "quiet"})");
  ASSERT_TRUE(mum.client->Call(&v1::EditingService::Stub::EditDocument, edit).ok());
  v1::UpdatePlanRequest update;
  *update.mutable_plan() = *as_mum;
  update.mutable_plan()->set_title("From mum");
  update.mutable_plan()->clear_etag();
  update.mutable_update_mask()->add_paths("title");
  ASSERT_TRUE(mum.client->Call(&v1::PlanService::Stub::UpdatePlan, update).ok());
  auto as_owner = person.client->Call(&v1::PlanService::Stub::GetPlan, get);
  EXPECT_EQ(as_owner->crisis_plan().refusals_if_unwell_size(), 1);
  EXPECT_EQ(as_owner->crisis_plan().help_contacts_size(), 1);
  EXPECT_EQ(as_owner->withholdings_size(), 1);
  // The history she reads does not leak it either.
  v1::ListRevisionsRequest history;
  history.set_parent(plan->name());
  auto revisions = mum.client->Call(&v1::EditingService::Stub::ListRevisions, history);
  ASSERT_TRUE(revisions.ok());
  const std::string dump = revisions->DebugString();
  EXPECT_EQ(dump.find("self-harm"), std::string::npos);
  EXPECT_EQ(dump.find("Alex (friend)"), std::string::npos);
  EXPECT_NE(dump.find("stop eating"), std::string::npos);
}

// Ids cannot be tried out: a grant names only someone the person already has a
// relationship with, and the answer for anyone else is the same whether the id exists or
// not. Everyone else is invited: the code works once, for whoever redeems it first, and
// until then gives no access.
TEST_F(AccessMatrixTest, GrantsToSomeoneNewAreByInvitationOnly) {
  TestUser person = server_->CreateUser("Robin");
  TestUser clinician = server_->CreateUser("Dr Okoro", {.clinician = true});
  TestUser carer = server_->CreateUser("Sam, Robin's aunt");
  TestUser other = server_->CreateUser("Someone else");
  testing::JoinCareTeam(*server_, person, clinician);
  const v1::Plan plan = testing::CreateCrisisPlan(person);
  auto grant_to = [&](const std::string& grantee) {
    v1::CreateGrantRequest r;
    r.set_parent(person.name);
    r.mutable_grant()->set_grantee(grantee);
    r.mutable_grant()->add_documents(plan.name());
    r.mutable_grant()->set_access(v1::ACCESS_LEVEL_READ);
    return person.client->Call(&v1::PeopleService::Stub::CreateGrant, r);
  };
  auto existing = grant_to(carer.name);
  auto unknown = grant_to("people/no-such-person");
  ASSERT_FALSE(existing.ok());
  EXPECT_EQ(existing.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(existing.status().message(), unknown.status().message());
  EXPECT_EQ(existing.status().code(), unknown.status().code());
  EXPECT_TRUE(grant_to(clinician.name).ok()) << "the care team is a relationship";
  // Proxies likewise: the same answer for a stranger and an id that does not exist.
  auto proxy_to = [&](const std::string& proxy) {
    v1::CreateProxyAccessRequest r;
    r.set_parent(person.name);
    r.mutable_proxy_access()->set_proxy(proxy);
    r.mutable_proxy_access()->set_access(v1::ACCESS_LEVEL_READ);
    return person.client->Call(&v1::PeopleService::Stub::CreateProxyAccess, r).status();
  };
  absl::Status stranger_proxy = proxy_to(other.name);
  EXPECT_EQ(stranger_proxy.code(), Code::kInvalidArgument);
  EXPECT_EQ(stranger_proxy.message(), proxy_to("people/no-such-person").message());

  v1::CreateGrantRequest invite;
  invite.set_parent(person.name);
  invite.mutable_grant()->add_documents(plan.name());
  invite.mutable_grant()->set_access(v1::ACCESS_LEVEL_READ);
  auto invitation = person.client->Call(&v1::PeopleService::Stub::CreateGrant, invite);
  ASSERT_TRUE(invitation.ok()) << invitation.status();
  EXPECT_EQ(invitation->state(), v1::GRANT_STATE_INVITED);
  EXPECT_TRUE(invitation->grantee().empty());
  // At least 128 bits: 20 random bytes after the prefix.
  EXPECT_GE(invitation->invitation_code().size(), 4u + 27u);
  EXPECT_GT(invitation->invitation_expire_time().seconds(), absl::ToUnixSeconds(absl::Now()));
  // Until accepted it gives no access, and the person sees it waiting.
  v1::GetPlanRequest read;
  read.set_name(plan.name());
  EXPECT_EQ(carer.client->Call(&v1::PlanService::Stub::GetPlan, read).status().code(),
            Code::kNotFound);
  v1::ListGrantsRequest mine;
  mine.set_parent(person.name);
  auto listed = person.client->Call(&v1::PeopleService::Stub::ListGrants, mine);
  ASSERT_TRUE(listed.ok()) << listed.status();
  bool waiting = false;
  for (const auto& grant : listed->grants()) {
    if (grant.name() == invitation->name()) {
      waiting = grant.state() == v1::GRANT_STATE_INVITED;
      EXPECT_TRUE(grant.invitation_code().empty()) << "the code is shown once";
    }
  }
  EXPECT_TRUE(waiting);

  v1::AcceptGrantInvitationRequest accept;
  accept.set_invitation_code(invitation->invitation_code());
  EXPECT_EQ(
      person.client->Call(&v1::PeopleService::Stub::AcceptGrantInvitation, accept).status().code(),
      Code::kNotFound)
      << "not one's own";
  auto accepted = carer.client->Call(&v1::PeopleService::Stub::AcceptGrantInvitation, accept);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->grantee(), carer.name);
  EXPECT_EQ(accepted->state(), v1::GRANT_STATE_ACTIVE);
  EXPECT_TRUE(accepted->has_accept_time());
  EXPECT_TRUE(carer.client->Call(&v1::PlanService::Stub::GetPlan, read).ok());
  // Once only.
  EXPECT_EQ(
      other.client->Call(&v1::PeopleService::Stub::AcceptGrantInvitation, accept).status().code(),
      Code::kNotFound);
  EXPECT_EQ(other.client->Call(&v1::PlanService::Stub::GetPlan, read).status().code(),
            Code::kNotFound);
  // Now a relationship: the person may name the carer directly.
  EXPECT_TRUE(grant_to(carer.name).ok());

  // A revoked invitation cannot be redeemed, nor one given a past expiry.
  auto second = person.client->Call(&v1::PeopleService::Stub::CreateGrant, invite);
  ASSERT_TRUE(second.ok());
  v1::RevokeGrantRequest revoke;
  revoke.set_name(second->name());
  ASSERT_TRUE(person.client->Call(&v1::PeopleService::Stub::RevokeGrant, revoke).ok());
  accept.set_invitation_code(second->invitation_code());
  EXPECT_EQ(
      other.client->Call(&v1::PeopleService::Stub::AcceptGrantInvitation, accept).status().code(),
      Code::kNotFound);
  v1::CreateGrantRequest too_long = invite;
  too_long.mutable_grant()->mutable_invitation_expire_time()->set_seconds(
      absl::ToUnixSeconds(absl::Now() + absl::Hours(24 * 31)));
  auto refused = person.client->Call(&v1::PeopleService::Stub::CreateGrant, too_long);
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()), ::testing::HasSubstr("30 days"));
}

TEST_F(AccessMatrixTest, OnlyThePersonSaysWhatIsWithheld) {
  TestUser person = server_->CreateUser("Morgan");
  TestUser clinician = server_->CreateUser("Dr Shah", {.clinician = true});
  TestUser mum = server_->CreateUser("Mum");
  testing::JoinCareTeam(*server_, person, clinician);
  // The clinician may create the person's plans, but not plant "prefer not to share"
  // choices in them (here: hiding the warning signs from mum).
  v1::CreatePlanRequest create;
  create.set_parent(person.name);
  create.mutable_plan()->mutable_crisis_plan()->add_warning_signs()->set_text("not sleeping");
  auto* withholding = create.mutable_plan()->add_withholdings();
  withholding->add_paths("crisis_plan.warning_signs");
  withholding->add_withheld_from(mum.name);
  auto planted = clinician.client->Call(&v1::PlanService::Stub::CreatePlan, create);
  EXPECT_EQ(planted.status().code(), Code::kPermissionDenied);
  EXPECT_NE(planted.status().message().find("plan.withholdings"), std::string::npos)
      << planted.status();
  v1::ListPlansRequest list;
  list.set_parent(person.name);
  auto plans = person.client->Call(&v1::PlanService::Stub::ListPlans, list);
  ASSERT_TRUE(plans.ok()) << plans.status();
  EXPECT_EQ(plans->plans_size(), 0);  // nothing was created
  // A stranger still learns nothing: the same NOT_FOUND as for any unknown person.
  TestUser stranger = server_->CreateUser("Stranger");
  EXPECT_EQ(stranger.client->Call(&v1::PlanService::Stub::CreatePlan, create).status().code(),
            Code::kNotFound);
  // The person sets them (a person has one crisis plan: theirs is the one made here).
  auto own = person.client->Call(&v1::PlanService::Stub::CreatePlan, create);
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(own->withholdings_size(), 1);
}

// What an error says counts only what the writer can see (which item, how many), and an
// answer that depends on a withheld part is a refusal that says no more and is in the
// person's access log, so that probing what is withheld leaves a trace.
TEST_F(AccessMatrixTest, ErrorsCountOnlyWhatTheWriterSeesAndProbesOfWithheldPartsAreAudited) {
  TestUser person = server_->CreateUser("Quinn");
  TestUser mum = server_->CreateUser("Mum probing");
  v1::CreatePlanRequest create;
  create.set_parent(person.name);
  auto* crisis = create.mutable_plan()->mutable_crisis_plan();
  for (int i = 0; i < 30; ++i) {  // the most a plan may hold; the first withheld from mum
    auto* contact = crisis->add_help_contacts();
    contact->set_id(i == 0 ? "secret" : absl::StrCat("c", i));
    contact->set_name(absl::StrCat("Contact ", i));
  }
  crisis->add_refusals_if_unwell()->set_text("no visits from my uncle");
  auto* withholding = create.mutable_plan()->add_withholdings();
  withholding->add_paths("crisis_plan.help_contacts[secret]");
  withholding->add_paths("crisis_plan.refusals_if_unwell");
  withholding->add_withheld_from(mum.name);
  auto plan = person.client->Call(&v1::PlanService::Stub::CreatePlan, create);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_FALSE(testing::Grant(person, mum, plan->name(), v1::ACCESS_LEVEL_EDIT).empty());
  auto edit = [&](const v1::EditOperation& op, const std::string& key) {
    v1::EditDocumentRequest request;
    request.set_name(plan->name());
    request.set_base_revision(plan->revision());
    request.set_idempotency_key(key);
    *request.add_operations() = op;
    return mum.client->Call(&v1::EditingService::Stub::EditDocument, request).status();
  };

  // Mum sees 29 contacts; a 30th would be one too many only because of the hidden one.
  absl::Status full =
      edit(testing::InsertOp("crisis_plan.help_contacts", R"({"name": "Sam"})"), "thirty-first");
  EXPECT_EQ(full.code(), Code::kPermissionDenied) << full;
  EXPECT_EQ(std::string(full.message()).find("31"), std::string::npos) << full;
  EXPECT_EQ(std::string(full.message()).find("30"), std::string::npos) << full;
  // An invalid contact is named by its place among the contacts mum sees (c1 is her first).
  absl::Status too_long =
      edit(testing::UpdateOp("crisis_plan.help_contacts[c1]",
                             absl::StrCat(R"({"phone": ")", std::string(60, '0'), R"("})")),
           "long-phone");
  EXPECT_EQ(too_long.code(), Code::kInvalidArgument) << too_long;
  EXPECT_NE(std::string(too_long.message()).find("help_contacts[0]"), std::string::npos)
      << too_long;
  // Writing a withheld field is refused; first in the batch or not, the answer is the same.
  absl::Status probe =
      edit(testing::SetOp("crisis_plan.refusals_if_unwell", "[]"), "probe-withheld");
  EXPECT_EQ(probe.code(), Code::kPermissionDenied) << probe;

  // Both refusals that depended on what is withheld are in Quinn's log, as mum's attempts.
  v1::ListAccessEventsRequest list;
  list.set_parent(person.name);
  list.set_actor(mum.name);
  list.set_page_size(500);
  auto events = person.client->Call(&v1::AuditService::Stub::ListAccessEvents, list);
  ASSERT_TRUE(events.ok()) << events.status();
  int denied_edits = 0;
  for (const auto& event : events->events()) {
    if (event.method() == "coplan.v1.EditingService/EditDocument" &&
        event.outcome() == v1::AUDIT_OUTCOME_DENIED) {
      ++denied_edits;
      EXPECT_EQ(event.resource(), plan->name());
    }
  }
  EXPECT_EQ(denied_edits, 2);
  // Nothing changed.
  v1::GetPlanRequest get;
  get.set_name(plan->name());
  auto now = person.client->Call(&v1::PlanService::Stub::GetPlan, get);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->revision(), plan->revision());
}

TEST_F(AccessMatrixTest, WithheldItemsDoNotExistForTheWriterTheyAreWithheldFrom) {
  TestUser person = server_->CreateUser("Sasha");
  TestUser mum = server_->CreateUser("Mum");
  v1::CreatePlanRequest create;
  create.set_parent(person.name);
  auto* contact = create.mutable_plan()->mutable_crisis_plan()->add_help_contacts();
  contact->set_id("friend");
  contact->set_name("Alex (friend)");
  auto* withholding = create.mutable_plan()->add_withholdings();
  withholding->add_paths("crisis_plan.help_contacts[friend]");
  withholding->add_withheld_from(mum.name);
  auto plan = person.client->Call(&v1::PlanService::Stub::CreatePlan, create);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_FALSE(testing::Grant(person, mum, plan->name(), v1::ACCESS_LEVEL_EDIT).empty());
  v1::GetPlanRequest get;
  get.set_name(plan->name());
  auto as_mum = mum.client->Call(&v1::PlanService::Stub::GetPlan, get);
  ASSERT_TRUE(as_mum.ok());
  ASSERT_EQ(as_mum->crisis_plan().help_contacts_size(), 0);

  // Sending back the whole plan as she sees it, with a contact added, keeps the hidden one.
  v1::UpdatePlanRequest update;
  *update.mutable_plan() = *as_mum;
  auto* added = update.mutable_plan()->mutable_crisis_plan()->add_help_contacts();
  added->set_id("c2");
  added->set_name("Sam");
  update.mutable_update_mask()->add_paths("*");
  auto updated = mum.client->Call(&v1::PlanService::Stub::UpdatePlan, update);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->crisis_plan().help_contacts_size(), 1);
  auto as_owner = person.client->Call(&v1::PlanService::Stub::GetPlan, get);
  ASSERT_EQ(as_owner->crisis_plan().help_contacts_size(), 2);
  EXPECT_EQ(as_owner->crisis_plan().help_contacts(0).name(), "Alex (friend)");
  EXPECT_EQ(as_owner->crisis_plan().help_contacts(1).name(), "Sam");
  const int64_t base = as_owner->revision();

  // The person rewrites the list; mum's stale edit conflicts, and the conflict shows
  // her the list without the hidden contact.
  v1::EditDocumentRequest rewrite;
  rewrite.set_name(plan->name());
  rewrite.set_base_revision(base);
  rewrite.set_idempotency_key("owner-rewrite");
  *rewrite.add_operations() = testing::SetOp(
      "crisis_plan.help_contacts",
      R"json([{"id": "friend", "name": "Alex (friend)"}, {"id": "c2", "name": "Samuel"}])json");
  ASSERT_TRUE(person.client->Call(&v1::EditingService::Stub::EditDocument, rewrite).ok());
  v1::EditDocumentRequest stale;
  stale.set_name(plan->name());
  stale.set_base_revision(base);
  stale.set_idempotency_key("mum-stale");
  *stale.add_operations() =
      testing::UpdateOp("crisis_plan.help_contacts[c2]", R"({"phone": "0770"})");
  auto conflict = mum.client->Call(&v1::EditingService::Stub::EditDocument, stale);
  ASSERT_EQ(conflict.status().code(), Code::kAborted) << conflict.status();
  auto detail = client::remote::ErrorDetail<v1::EditConflict>(conflict.status());
  ASSERT_TRUE(detail.has_value());
  const std::string shown = detail->current_value().DebugString();
  EXPECT_NE(shown.find("Samuel"), std::string::npos) << shown;
  EXPECT_EQ(shown.find("Alex"), std::string::npos) << shown;
  EXPECT_EQ(std::string(conflict.status().message()).find("friend"), std::string::npos);

  // Naming the hidden item, or re-using its id, reads exactly like an unknown item.
  auto by_name = [&](const v1::EditOperation& op, const std::string& key) {
    v1::EditDocumentRequest edit;
    edit.set_name(plan->name());
    edit.set_base_revision(base + 1);
    edit.set_idempotency_key(key);
    *edit.add_operations() = op;
    return mum.client->Call(&v1::EditingService::Stub::EditDocument, edit).status();
  };
  absl::Status hidden =
      by_name(testing::UpdateOp("crisis_plan.help_contacts[friend]", R"({"phone": "1"})"),
              "hidden-item-h1");
  absl::Status unknown =
      by_name(testing::UpdateOp("crisis_plan.help_contacts[nobody]", R"({"phone": "1"})"),
              "hidden-item-h2");
  EXPECT_EQ(hidden.code(), Code::kInvalidArgument);
  EXPECT_EQ(hidden.code(), unknown.code());
  EXPECT_NE(hidden.message().find("no item"), absl::string_view::npos) << hidden;
  absl::Status reused =
      by_name(testing::InsertOp("crisis_plan.help_contacts", R"({"id": "friend", "name": "x"})"),
              "hidden-item-h3");
  absl::Status taken =
      by_name(testing::InsertOp("crisis_plan.help_contacts", R"({"id": "c2", "name": "x"})"),
              "hidden-item-h4");
  EXPECT_EQ(reused.code(), Code::kInvalidArgument);
  EXPECT_EQ(reused.message().find("already"), absl::string_view::npos) << reused;
  std::string reused_text(reused.message());
  ASSERT_NE(reused_text.find("friend"), std::string::npos) << reused;
  EXPECT_EQ(reused_text.replace(reused_text.find("friend"), 6, "c2"), std::string(taken.message()));
  absl::Status field =
      by_name(testing::SetOp("crisis_plan.help_contacts[friend].name", R"("x")"), "hidden-item-h5");
  EXPECT_EQ(field.code(), Code::kInvalidArgument) << field;
  EXPECT_NE(field.message().find("no item"), absl::string_view::npos) << field;
  auto after = person.client->Call(&v1::PlanService::Stub::GetPlan, get);
  EXPECT_EQ(after->revision(), base + 1);  // none of it changed anything

  // Setting the whole list in an edit keeps the hidden contact as well, and the history
  // she reads of that edit does not show it.
  v1::EditDocumentRequest whole;
  whole.set_name(plan->name());
  whole.set_base_revision(base + 1);
  whole.set_idempotency_key("mum-whole-list");
  *whole.add_operations() =
      testing::SetOp("crisis_plan.help_contacts",
                     R"json([{"id": "c2", "name": "Samuel"}, {"id": "c3", "name": "Jo"}])json");
  auto rewritten = mum.client->Call(&v1::EditingService::Stub::EditDocument, whole);
  ASSERT_TRUE(rewritten.ok()) << rewritten.status();
  EXPECT_EQ(rewritten->document().plan().crisis_plan().help_contacts_size(), 2);
  as_owner = person.client->Call(&v1::PlanService::Stub::GetPlan, get);
  ASSERT_EQ(as_owner->crisis_plan().help_contacts_size(), 3);
  EXPECT_EQ(as_owner->crisis_plan().help_contacts(0).name(), "Alex (friend)");
  v1::ListRevisionsRequest history;
  history.set_parent(plan->name());
  auto revisions = mum.client->Call(&v1::EditingService::Stub::ListRevisions, history);
  ASSERT_TRUE(revisions.ok()) << revisions.status();
  EXPECT_EQ(revisions->DebugString().find("Alex"), std::string::npos) << revisions->DebugString();
  EXPECT_EQ(revisions->DebugString().find("friend"), std::string::npos) << revisions->DebugString();
}

}  // namespace
}  // namespace coplan
