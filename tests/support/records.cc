#include "tests/support/records.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "server/common/proto_time.h"

namespace coplan::testing {

v1::Plan CreateCrisisPlan(TestUser& person, int warning_signs) {
  v1::CreatePlanRequest request;
  request.set_parent(person.name);
  auto* plan = request.mutable_plan();
  plan->set_title("My crisis plan");
  for (int i = 0; i < warning_signs; ++i) {
    auto* sign = plan->mutable_crisis_plan()->add_warning_signs();
    sign->set_id(absl::StrCat("w", i));
    sign->set_text(absl::StrCat("warning sign ", i));
  }
  auto created = person.client->Call(&v1::PlanService::Stub::CreatePlan, request);
  EXPECT_TRUE(created.ok()) << created.status();
  return created.ok() ? *created : v1::Plan();
}

v1::OptionGrid CompleteGrid(const std::string& title, absl::CivilDay today) {
  v1::OptionGrid grid;
  grid.set_title(title);
  grid.set_locale("en-GB");
  grid.set_decision_question("What could help me sleep better?");
  for (const auto& [id, name] : std::vector<std::pair<std::string, std::string>>{
           {"habits", "Change my habits"}, {"app", "Use a sleep app"}, {"wait", "Wait and see"}}) {
    auto* option = grid.add_options();
    option->set_id(id);
    option->set_title(name);
    option->set_wait_and_see(id == "wait");
  }
  for (const auto& [id, text] : std::vector<std::pair<std::string, std::string>>{
           {"how", "What do I do?"}, {"soon", "How soon does it work?"}}) {
    auto* question = grid.add_questions();
    question->set_id(id);
    question->set_question(text);
    for (const char* option : {"habits", "app", "wait"}) {
      auto* answer = question->add_answers();
      answer->set_option_id(option);
      answer->set_text("It is simple. You try it for two weeks.");
      answer->add_source_ids("guide");
    }
  }
  auto* source = grid.add_sources();
  source->set_id("guide");
  source->set_citation("NHS. Insomnia.");
  source->set_url("https://www.nhs.uk/conditions/insomnia/");
  grid.add_authors()->set_name("Test author");
  grid.set_funding("None");
  grid.set_conflict_of_interest("None");
  *grid.mutable_last_review_date() = ToDate(today - 1);
  *grid.mutable_next_review_date() = ToDate(today + 300);
  return grid;
}

std::string PublishGrid(client::remote::RpcClient& author, const v1::OptionGrid& grid) {
  v1::CreateOptionGridRequest create;
  *create.mutable_option_grid() = grid;
  auto draft = author.Call(&v1::OptionGridService::Stub::CreateOptionGrid, create);
  EXPECT_TRUE(draft.ok()) << draft.status();
  if (!draft.ok()) return "";
  v1::PublishOptionGridRequest publish;
  publish.set_name(draft->name());
  auto version = author.Call(&v1::OptionGridService::Stub::PublishOptionGrid, publish);
  EXPECT_TRUE(version.ok()) << version.status();
  return version.ok() ? version->name() : "";
}

void JoinCareTeam(TestServer& server, const TestUser& person, const TestUser& clinician) {
  v1::CreateCareTeamMemberRequest member;
  member.set_parent(person.name);
  member.mutable_care_team_member()->set_clinician(clinician.name);
  auto joined = server.admin().Call(&v1::PeopleService::Stub::CreateCareTeamMember, member);
  EXPECT_TRUE(joined.ok()) << joined.status();
}

std::string Grant(TestUser& person, const TestUser& grantee, const std::string& document,
                  v1::AccessLevel access, std::optional<absl::Time> expire_time) {
  v1::Grant grant;
  grant.add_documents(document);
  grant.set_access(access);
  if (expire_time) *grant.mutable_expire_time() = ToTimestamp(*expire_time);
  return Grant(person, grantee, std::move(grant));
}

std::string Grant(TestUser& person, const TestUser& grantee, v1::Grant grant) {
  // By invitation, as with anyone the person has no relationship with yet.
  v1::CreateGrantRequest request;
  request.set_parent(person.name);
  *request.mutable_grant() = std::move(grant);
  auto invitation = person.client->Call(&v1::PeopleService::Stub::CreateGrant, request);
  EXPECT_TRUE(invitation.ok()) << invitation.status();
  if (!invitation.ok()) return "";
  v1::AcceptGrantInvitationRequest accept;
  accept.set_invitation_code(invitation->invitation_code());
  auto accepted = grantee.client->Call(&v1::PeopleService::Stub::AcceptGrantInvitation, accept);
  EXPECT_TRUE(accepted.ok()) << accepted.status();
  return accepted.ok() ? accepted->name() : "";
}

v1::ProxyAccess ActiveStaffProxy(TestServer& server, const TestUser& young,
                                 const TestUser& guardian, const TestUser& clinician,
                                 v1::AccessLevel access) {
  v1::CreateProxyAccessRequest request;
  request.set_parent(young.name);
  request.mutable_proxy_access()->set_proxy(guardian.name);
  request.mutable_proxy_access()->set_access(access);
  auto created = server.admin().Call(&v1::PeopleService::Stub::CreateProxyAccess, request);
  EXPECT_TRUE(created.ok()) << created.status();
  if (!created.ok()) return {};
  EXPECT_EQ(created->state(), v1::PROXY_STATE_AWAITING_COMPETENCE_DECISION);
  auto decided = DecideCompetence(clinician, created->name(), /*competent=*/false);
  EXPECT_TRUE(decided.ok()) << decided.status();
  return decided.ok() ? *decided : *created;
}

absl::StatusOr<v1::ProxyAccess> DecideCompetence(const TestUser& clinician,
                                                 const std::string& proxy_access, bool competent) {
  v1::RecordCompetenceDecisionRequest request;
  request.set_name(proxy_access);
  request.set_decision(competent ? v1::COMPETENCE_DECISION_COMPETENT
                                 : v1::COMPETENCE_DECISION_NOT_COMPETENT);
  request.set_reason(competent ? "understands what sharing with a parent means and can weigh it"
                               : "cannot yet weigh up what sharing their records means");
  return clinician.client->Call(&v1::PeopleService::Stub::RecordCompetenceDecision, request);
}

std::vector<v1::Revision> History(client::remote::RpcClient& client, const std::string& name) {
  std::vector<v1::Revision> all;
  v1::ListRevisionsRequest request;
  request.set_parent(name);
  request.set_page_size(100);
  do {
    auto page = client.Call(&v1::EditingService::Stub::ListRevisions, request);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) break;
    for (const auto& revision : page->revisions()) all.push_back(revision);
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty());
  return all;
}

}  // namespace coplan::testing
