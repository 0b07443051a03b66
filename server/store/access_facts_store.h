// Loads what the database knows about a caller and the person whose records they ask for
// (domain/access_facts.h) in one statement; the access policy decides from it.
//
//   AccessFactsStore facts_store(db);
//   AccessFacts facts = facts_store.Load(tx, caller.person_id, caller.session_id, subject_id);
//   PersonPermissions can = PermissionsForPerson(facts, caller.now);
//
// Expiry (of sessions and grants) is loaded as times, not decided here: the policy
// decides it at the caller's instant.
#pragma once

#include <string>

#include "server/domain/access_facts.h"
#include "server/store/transaction.h"

namespace coplan {

class Database;

class AccessFactsStore {
 public:
  explicit AccessFactsStore(Database& db);

  // `session_id` is "" for tokens that name no session (OpenID Connect).
  AccessFacts Load(Transaction& tx, const std::string& actor_id, const std::string& session_id,
                   const std::string& subject_id);
};

}  // namespace coplan
