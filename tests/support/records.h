// Records the integration tests build again and again: a crisis plan, an option grid that
// meets every publishing criterion, a care-team membership, a grant.
//
//   v1::Plan plan = CreateCrisisPlan(alex);
//   std::string version = PublishGrid(*author.client, CompleteGrid("Sleep",
//   TodayInUk(absl::Now()))); JoinCareTeam(*server, alex, clinician);
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "coplan/v1/editing_service.pb.h"
#include "coplan/v1/option_grid.pb.h"
#include "coplan/v1/plan.pb.h"
#include "tests/support/test_server.h"

namespace coplan::testing {

// A crisis plan of `person` (warning signs "w0".."w<n-1>"), created by them.
v1::Plan CreateCrisisPlan(TestUser& person, int warning_signs = 1);
// A grid with three options (one "wait and see"), two questions answered with sources,
// authors, funding, conflicts and review dates around `today`: it publishes.
v1::OptionGrid CompleteGrid(const std::string& title, absl::CivilDay today);
// Creates and publishes `grid` as `author` (a grid author); the version's name.
std::string PublishGrid(client::remote::RpcClient& author, const v1::OptionGrid& grid);
// Adds `clinician` to the person's care team (as the administrator).
void JoinCareTeam(TestServer& server, const TestUser& person, const TestUser& clinician);
// The person grants `grantee` access to one document, by an invitation the grantee
// accepts (as with anyone they have no relationship with yet); the grant's name.
std::string Grant(TestUser& person, const TestUser& grantee, const std::string& document,
                  v1::AccessLevel access, std::optional<absl::Time> expire_time = std::nullopt);
// The same for any grant (its grantee left empty).
std::string Grant(TestUser& person, const TestUser& grantee, v1::Grant grant);
// Staff (the administrator) set up `guardian`'s proxy access to the under-16 `young`,
// and `clinician` (in their care team) judges them not competent to decide, so that it
// is active; the proxy access.
v1::ProxyAccess ActiveStaffProxy(TestServer& server, const TestUser& young,
                                 const TestUser& guardian, const TestUser& clinician,
                                 v1::AccessLevel access);
// A care-team clinician's competence decision on a proxy access.
absl::StatusOr<v1::ProxyAccess> DecideCompetence(const TestUser& clinician,
                                                 const std::string& proxy_access, bool competent);
// A document's whole history as `client` reads it (every page), oldest first.
std::vector<v1::Revision> History(client::remote::RpcClient& client, const std::string& name);

}  // namespace coplan::testing
