// What the database knows about a caller and the person whose records they ask for:
// the input of every access decision (see access_policy.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace coplan {

// The caller.
struct ActorFacts {
  bool exists = false;  // a person row exists for the caller
  // The server's own tokens name a session, which must be live; OpenID Connect tokens
  // name the link of their subject to the person, which must still exist.
  bool session_needed = false;
  // When the named session ends, if it exists and has not been revoked.
  std::optional<absl::Time> session_expire_time;
  // An administrator disabled the caller's account: nothing they present counts.
  bool disabled = false;
  bool administrator = false;
  bool clinician = false;
  bool grid_author = false;
  std::string display_name;
  std::string team_id;
};

// A grant from the subject to the caller that has not been revoked (it may have expired:
// the policy decides that at the instant it is asked).
struct GrantFact {
  std::string grant_id;
  std::vector<std::string> documents;  // "plans/{id}", "decisions/{id}"
  std::vector<int> document_kinds;     // coplan.v1.DocumentKind values
  int access = 0;                      // coplan.v1.AccessLevel
  std::optional<absl::Time> expire_time;
};

// A proxy access of the caller for the subject that the subject has not refused.
struct ProxyFact {
  std::string proxy_id;
  int access = 0;  // coplan.v1.AccessLevel
  bool granted_by_person = false;
  std::optional<bool> judged_competent;  // set up by staff: a care-team clinician's decision
  bool accepted = false;                 // the young person accepted it themself
};

// The person whose records are asked for, as seen from the caller.
struct SubjectFacts {
  std::string person_id;
  bool exists = false;
  std::optional<absl::CivilDay> birth_date;
  bool in_care_team = false;
  std::vector<GrantFact> grants;
  std::vector<ProxyFact> proxies;
};

struct AccessFacts {
  std::string actor_id;
  ActorFacts actor;
  SubjectFacts subject;
  bool is_self() const { return actor.exists && actor_id == subject.person_id; }
};

}  // namespace coplan
