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
// The person grants `grantee` access to one document; the grant's name.
std::string Grant(TestUser& person, const TestUser& grantee, const std::string& document,
                  v1::AccessLevel access, std::optional<absl::Time> expire_time = std::nullopt);
// A document's whole history as `client` reads it (every page), oldest first.
std::vector<v1::Revision> History(client::remote::RpcClient& client, const std::string& name);

}  // namespace coplan::testing
