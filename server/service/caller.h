// Who is calling, for what, and by when: handed from the API layer to every service.
#pragma once

#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "server/common/proto_time.h"
#include "server/common/resource_names.h"

namespace coplan {

struct Caller {
  std::string person_id;  // authenticated person
  // The session of the server's own tokens, or "idp:{identity}" for an identity
  // provider's (see IdentityCredential); "" for anonymous calls.
  std::string session_id;
  std::string method;  // "coplan.v1.PlanService/GetPlan"
  absl::Time deadline = absl::InfiniteFuture();
  absl::Time now;                                    // when the call started
  absl::Time token_expire = absl::InfiniteFuture();  // when the caller's token expires
  // The client's network address as the sign-in throttle keys it (server/api/
  // client_address.h); set for sign-in only. Never logged or stored.
  std::string peer;

  std::string person_name() const { return PersonName(person_id); }
  absl::CivilDay today() const { return TodayInUk(now); }
};

}  // namespace coplan
