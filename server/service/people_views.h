// How relationship rows read as API resources: grants (with their state now), proxy
// accesses (with their state on a day, by the 16th-birthday rule), care-team members.
//
//   *response.add_grants() = ToGrant(row, caller.now);
#pragma once

#include <optional>
#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "coplan/v1/people_service.pb.h"
#include "server/domain/access_policy.h"
#include "server/store/people_store.h"

namespace coplan {

// Revoked, expired at `now`, or active.
coplan::v1::GrantState StateOf(const GrantRow& grant, absl::Time now);
coplan::v1::Grant ToGrant(const GrantRow& row, absl::Time now);
// `birth_date` is the person's: a proxy set up by staff is suspended from their 16th birthday.
// What the proxy's state follows from.
ProxyStanding StandingOf(const ProxyRow& row);
coplan::v1::ProxyAccess ToProxy(const ProxyRow& row,
                                const std::optional<absl::CivilDay>& birth_date,
                                absl::CivilDay today);
coplan::v1::CareTeamMember ToMember(const std::string& person_id, const CareTeamRow& row);

}  // namespace coplan
