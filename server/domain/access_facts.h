// What the database knows about a caller and the person whose records they ask for:
// the input of every access decision (see access_policy.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"

namespace coplan {

// The caller.
struct ActorFacts {
  bool exists = false;         // a person row exists for the caller
  bool session_valid = false;  // built-in token's session is live (always true for OIDC)
  bool administrator = false;
  bool clinician = false;
  bool grid_author = false;
  std::string display_name;
  std::string team_id;
};

// A live grant from the subject to the caller (revoked and expired ones are not loaded).
struct GrantFact {
  std::string grant_id;
  std::vector<std::string> documents;  // "plans/{id}", "decisions/{id}"
  std::vector<int> document_kinds;     // coplan.v1.DocumentKind values
  int access = 0;                      // coplan.v1.AccessLevel
};

// A proxy access of the caller for the subject that the subject has not refused.
struct ProxyFact {
  std::string proxy_id;
  int access = 0;  // coplan.v1.AccessLevel
  bool granted_by_person = false;
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
