#include "server/service/call_audit.h"

#include "server/common/errors.h"
#include "server/domain/access_facts.h"

namespace coplan {

absl::Status RequireValidCaller(const AccessFacts& facts) {
  if (!facts.actor.exists) {
    return UnauthenticatedError("the token's person is not known to this server");
  }
  if (!facts.actor.session_valid) {
    return UnauthenticatedError("this session has ended (signed out or expired); sign in again");
  }
  return absl::OkStatus();
}

}  // namespace coplan
