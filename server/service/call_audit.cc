#include "server/service/call_audit.h"

#include "server/common/errors.h"
#include "server/domain/access_facts.h"
#include "server/domain/access_policy.h"

namespace coplan {

absl::Status RequireValidCaller(const AccessFacts& facts, const Caller& caller) {
  if (!facts.actor.exists) {
    return UnauthenticatedError("the token's person is not known to this server");
  }
  if (facts.actor.disabled) {
    return UnauthenticatedError("this account is disabled; ask an administrator");
  }
  if (!CallerIsValid(facts, caller.now)) {
    return UnauthenticatedError("this session has ended (signed out or expired); sign in again");
  }
  return absl::OkStatus();
}

}  // namespace coplan
