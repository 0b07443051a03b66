#include "server/store/access_facts_query.h"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "server/common/proto_time.h"
#include "server/store/access_facts_store.h"
#include "server/store/database.h"

namespace coplan {

const char kAccessFactsSelect[] = R"sql(
  a.id IS NOT NULL,
  -- -1: nothing to check (no session, or an identity-provider token whose subject is
  -- still linked, "idp:{identity}"); 0: no live session or link by that id; else when
  -- the session ends.
  CASE WHEN $2 = '' THEN -1
       WHEN left($2, 4) = 'idp:' THEN
         CASE WHEN EXISTS (SELECT 1 FROM external_identities i
                            WHERE i.id = substr($2, 5) AND i.person_id = $1) THEN -1 ELSE 0 END
       ELSE
    coalesce((SELECT time_to_micros(s.expire_time) FROM sessions s
               WHERE s.id = $2 AND s.person_id = $1 AND s.revoke_time IS NULL), 0) END,
  coalesce(a.administrator, false), coalesce(a.clinician, false), coalesce(a.grid_author, false),
  coalesce(a.display_name, ''), coalesce(a.team_id, ''),
  p.id IS NOT NULL,
  coalesce(to_char(p.birth_date, 'YYYY-MM-DD'), ''),
  team.member,
  -- Grants and proxies matter only to someone who is neither the person nor in the
  -- care team: CASE keeps PostgreSQL from reading them otherwise.
  CASE WHEN $1 = $3 OR team.member THEN '[]' ELSE
    (SELECT coalesce(json_agg(json_build_array(g.id, g.documents, g.document_kinds, g.access,
                                               coalesce(time_to_micros(g.expire_time), 0))), '[]')
       FROM grants g
      WHERE g.person_id = $3 AND g.grantee_id = $1 AND g.revoke_time IS NULL) END,
  CASE WHEN $1 = $3 OR team.member THEN '[]' ELSE
    (SELECT coalesce(json_agg(json_build_array(x.id, x.access, x.granted_by_person,
                                               x.judged_competent, x.accept_time IS NOT NULL)),
                     '[]')
       FROM proxy_accesses x
      WHERE x.person_id = $3 AND x.proxy_id = $1 AND x.refuse_time IS NULL) END,
  a.disable_time IS NOT NULL
  FROM (SELECT 1) AS one
  LEFT JOIN people a ON a.id = $1
  LEFT JOIN people p ON p.id = $3
  CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM care_team_members c
                                      WHERE c.person_id = $3 AND c.clinician_id = $1) AS member) team
)sql";

AccessFacts ReadAccessFacts(const pqxx::row& row, int c, const std::string& actor_id,
                            const std::string& subject_id) {
  AccessFacts facts;
  facts.actor_id = actor_id;
  facts.actor.exists = row[c + 0].as<bool>();
  const int64_t session = row[c + 1].as<int64_t>();
  facts.actor.session_needed = session != -1;
  if (session > 0) facts.actor.session_expire_time = MicrosToTime(session);
  facts.actor.administrator = row[c + 2].as<bool>();
  facts.actor.clinician = row[c + 3].as<bool>();
  facts.actor.grid_author = row[c + 4].as<bool>();
  facts.actor.display_name = row[c + 5].as<std::string>();
  facts.actor.team_id = row[c + 6].as<std::string>();
  facts.subject.person_id = subject_id;
  facts.subject.exists = row[c + 7].as<bool>();
  if (auto birth = ParseIsoDate(row[c + 8].as<std::string>())) {
    facts.subject.birth_date = ToCivilDay(*birth);
  }
  facts.subject.in_care_team = row[c + 9].as<bool>();
  for (const auto& grant : nlohmann::json::parse(row[c + 10].c_str())) {
    GrantFact fact;
    fact.grant_id = grant[0].get<std::string>();
    fact.documents = grant[1].get<std::vector<std::string>>();
    fact.document_kinds = grant[2].get<std::vector<int>>();
    fact.access = grant[3].get<int>();
    if (const int64_t expire = grant[4].get<int64_t>(); expire != 0) {
      fact.expire_time = MicrosToTime(expire);
    }
    facts.subject.grants.push_back(std::move(fact));
  }
  for (const auto& proxy : nlohmann::json::parse(row[c + 11].c_str())) {
    ProxyFact fact;
    fact.proxy_id = proxy[0].get<std::string>();
    fact.access = proxy[1].get<int>();
    fact.granted_by_person = proxy[2].get<bool>();
    if (!proxy[3].is_null()) fact.judged_competent = proxy[3].get<bool>();
    fact.accepted = proxy[4].get<bool>();
    facts.subject.proxies.push_back(std::move(fact));
  }
  facts.actor.disabled = !row[c + 12].is_null() && row[c + 12].as<bool>();
  return facts;
}

AccessFactsStore::AccessFactsStore(Database& db) {
  db.Prepare("access_facts", std::string("SELECT ") + kAccessFactsSelect);
}

AccessFacts AccessFactsStore::Load(Transaction& tx, const std::string& actor_id,
                                   const std::string& session_id, const std::string& subject_id) {
  auto result = tx.sql().exec_prepared("access_facts", actor_id, session_id, subject_id);
  return ReadAccessFacts(result[0], 0, actor_id, subject_id);
}

}  // namespace coplan
