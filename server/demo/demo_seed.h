// Demo data for the first README command: a young person (Alex, 17), their clinician
// (Dr Sam Okafor), their parent and carer (Jordan), an administrator, accounts for each,
// a care plan and a crisis plan written with Alex, the crisis plan shared with Jordan,
// an option grid written by the project and a decision in progress.
//
// Seeding goes through the same services as the API (so it is validated and audited)
// and happens once: a second run finds Alex and leaves everything as it is.
#pragma once

#include "absl/status/status.h"
#include "server/common/clock.h"

namespace coplan {

class PeopleService;
class DocumentService;
class OptionGridService;
class DecisionService;

struct DemoServices {
  PeopleService& people;
  DocumentService& documents;
  OptionGridService& grids;
  DecisionService& decisions;
  const Clock& clock;  // dates in the demo (Alex's age, review dates) are from it
};

// Demo accounts (username / password), as printed in the README.
inline constexpr const char* kDemoAccounts[][3] = {
    {"alex", "alex-demo-password", "Alex Morgan, 17, service user"},
    {"okafor", "okafor-demo-password", "Dr Sam Okafor, clinician in Alex's care team"},
    {"jordan", "jordan-demo-password", "Jordan Morgan, Alex's parent and carer"},
    {"admin", "admin-demo-password", "administrator (registers people; sees no records)"},
};

absl::Status SeedDemo(const DemoServices& services);

}  // namespace coplan
