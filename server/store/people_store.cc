#include "server/store/people_store.h"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "server/common/errors.h"
#include "server/common/proto_time.h"
#include "server/common/resource_names.h"
#include "server/store/database.h"

namespace coplan {
namespace {

std::optional<absl::Time> OptionalTime(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return MicrosToTime(field.as<int64_t>());
}

constexpr char kGrantColumns[] =
    "g.id, g.person_id, coalesce(g.grantee_id, ''), coalesce(p.display_name, ''),"
    " array_to_json(g.documents)::text, array_to_json(g.document_kinds)::text, g.access,"
    " time_to_micros(g.expire_time), time_to_micros(g.create_time), time_to_micros(g.revoke_time),"
    " time_to_micros(g.invitation_expire_time), time_to_micros(g.accept_time)";

GrantRow ReadGrant(const pqxx::row& row) {
  GrantRow grant;
  grant.id = row[0].as<std::string>();
  grant.person_id = row[1].as<std::string>();
  grant.grantee_id = row[2].as<std::string>();
  grant.grantee_display_name = row[3].as<std::string>();
  grant.documents = nlohmann::json::parse(row[4].as<std::string>()).get<std::vector<std::string>>();
  grant.document_kinds = nlohmann::json::parse(row[5].as<std::string>()).get<std::vector<int>>();
  grant.access = row[6].as<int>();
  grant.expire_time = OptionalTime(row[7]);
  grant.create_time = MicrosToTime(row[8].as<int64_t>());
  grant.revoke_time = OptionalTime(row[9]);
  grant.invitation_expire_time = OptionalTime(row[10]);
  grant.accept_time = OptionalTime(row[11]);
  return grant;
}

constexpr char kProxyColumns[] =
    "x.id, x.person_id, x.proxy_id, p.display_name, x.access, x.granted_by_person,"
    " time_to_micros(x.create_time), time_to_micros(x.refuse_time), x.judged_competent,"
    " coalesce(x.competence_reason, ''), coalesce(x.competence_decided_by, ''),"
    " time_to_micros(x.competence_decision_time), time_to_micros(x.accept_time)";

ProxyRow ReadProxy(const pqxx::row& row) {
  ProxyRow proxy;
  proxy.id = row[0].as<std::string>();
  proxy.person_id = row[1].as<std::string>();
  proxy.proxy_id = row[2].as<std::string>();
  proxy.proxy_display_name = row[3].as<std::string>();
  proxy.access = row[4].as<int>();
  proxy.granted_by_person = row[5].as<bool>();
  proxy.create_time = MicrosToTime(row[6].as<int64_t>());
  proxy.refuse_time = OptionalTime(row[7]);
  if (!row[8].is_null()) proxy.judged_competent = row[8].as<bool>();
  proxy.competence_reason = row[9].as<std::string>();
  proxy.competence_decided_by = row[10].as<std::string>();
  proxy.competence_decision_time = OptionalTime(row[11]);
  proxy.accept_time = OptionalTime(row[12]);
  return proxy;
}

}  // namespace

PeopleStore::PeopleStore(Database& db) : db_(db) {
  db_.Prepare("person_insert",
              "INSERT INTO people (id, display_name, birth_date, clinician, grid_author,"
              " administrator, team_id, nhs_number) VALUES ($1, $2, NULLIF($3, '')::date, $4,"
              " $5, $6, NULLIF($7, ''), NULLIF($8, '')) ON CONFLICT DO NOTHING RETURNING id");
  db_.Prepare("person_exists", "SELECT 1 FROM people WHERE id = $1");
  db_.Prepare("person_get",
              "SELECT id, display_name, coalesce(to_char(birth_date, 'YYYY-MM-DD'), ''), clinician,"
              " grid_author, administrator, coalesce(team_id, ''), time_to_micros(create_time),"
              " time_to_micros(disable_time), coalesce(nhs_number, '') FROM people WHERE id = $1");
  db_.Prepare("person_update_details",
              "UPDATE people SET display_name = $2, nhs_number = NULLIF($3, '') WHERE id = $1"
              " AND NOT EXISTS (SELECT 1 FROM people o WHERE o.nhs_number = NULLIF($3, '')"
              "   AND o.id <> $1) RETURNING id");
  db_.Prepare("person_set_disabled",
              "UPDATE people SET disable_time = CASE WHEN $2::bigint = 0 THEN NULL"
              " ELSE micros_to_time($2) END WHERE id = $1 RETURNING id");
  db_.Prepare("account_insert",
              "INSERT INTO accounts (person_id, username, password_hash) VALUES ($1, $2, $3)"
              " ON CONFLICT DO NOTHING RETURNING person_id");
  db_.Prepare("account_find",
              "SELECT a.person_id, a.username, a.password_hash, a.failed_attempts,"
              " time_to_micros(a.locked_until), p.disable_time IS NOT NULL"
              " FROM accounts a JOIN people p ON p.id = a.person_id WHERE a.username = $1");
  db_.Prepare("account_of",
              "SELECT a.person_id, a.username, a.password_hash, a.failed_attempts,"
              " time_to_micros(a.locked_until), p.disable_time IS NOT NULL"
              " FROM accounts a JOIN people p ON p.id = a.person_id WHERE a.person_id = $1");
  db_.Prepare("account_set_password",
              "UPDATE accounts SET password_hash = $3 WHERE person_id = $1 AND password_hash = $2"
              " RETURNING person_id");
  // $2 failures within $3 seconds of each other lock the account for $3 seconds, doubled
  // for each lock since the last success (at most 16 times). A failure $3 seconds after
  // the previous one, or after a lock ran out, counts from 1 again; a day without
  // failures forgets earlier locks.
  db_.Prepare("account_failure",
              "UPDATE accounts a SET failed_attempts = f.attempts, last_failure_time = now(),"
              " locked_until = CASE WHEN f.attempts >= $2 THEN now() + make_interval(secs =>"
              "   $3 * power(2, least(f.locks, 4))) ELSE NULL END,"
              " lock_count = f.locks + CASE WHEN f.attempts >= $2 THEN 1 ELSE 0 END"
              " FROM (SELECT CASE WHEN last_failure_time IS NULL OR locked_until <= now()"
              "         OR last_failure_time < now() - make_interval(secs => $3) THEN 1"
              "         ELSE failed_attempts + 1 END AS attempts,"
              "       CASE WHEN last_failure_time < now() - interval '1 day' THEN 0"
              "         ELSE lock_count END AS locks"
              "       FROM accounts WHERE person_id = $1) AS f"
              " WHERE a.person_id = $1");
  db_.Prepare("account_success",
              "UPDATE accounts SET failed_attempts = 0, locked_until = NULL, lock_count = 0,"
              " last_failure_time = NULL WHERE person_id = $1");
  db_.Prepare("identity_insert",
              "INSERT INTO external_identities (id, person_id, issuer, subject)"
              " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id");
  db_.Prepare("identity_find",
              "SELECT id, person_id, issuer, subject FROM external_identities"
              " WHERE issuer = $1 AND subject = $2");
  db_.Prepare("identity_list",
              "SELECT id, person_id, issuer, subject FROM external_identities"
              " WHERE person_id = $1 ORDER BY create_time, id LIMIT 100");
  db_.Prepare("identity_delete",
              "DELETE FROM external_identities WHERE person_id = $1 AND id = $2"
              " RETURNING id, person_id, issuer, subject");
  db_.Prepare("care_team_insert",
              "INSERT INTO care_team_members (person_id, clinician_id, role) VALUES ($1, $2, $3)"
              " ON CONFLICT DO NOTHING RETURNING person_id");
  db_.Prepare("care_team_list",
              "SELECT c.clinician_id, p.display_name, c.role, time_to_micros(c.create_time)"
              " FROM care_team_members c JOIN people p ON p.id = c.clinician_id"
              " WHERE c.person_id = $1 AND c.clinician_id > $2 ORDER BY c.clinician_id LIMIT $3");
  db_.Prepare("care_team_delete",
              "DELETE FROM care_team_members c USING people p WHERE c.person_id = $1"
              " AND c.clinician_id = $2 AND p.id = c.clinician_id"
              " RETURNING c.clinician_id, p.display_name, c.role, time_to_micros(c.create_time)");
  db_.Prepare("grant_insert",
              "INSERT INTO grants (id, person_id, grantee_id, documents, document_kinds, access,"
              " expire_time, create_time, invitation_hash, invitation_expire_time)"
              " VALUES ($1, $2, NULLIF($3, ''),"
              " ARRAY(SELECT json_array_elements_text($4::json)),"
              " ARRAY(SELECT json_array_elements_text($5::json)::smallint), $6,"
              " CASE WHEN $7::bigint = 0 THEN NULL ELSE micros_to_time($7) END, micros_to_time($8),"
              " CASE WHEN $9 = ''::bytea THEN NULL ELSE $9 END,"
              " CASE WHEN $10::bigint = 0 THEN NULL ELSE micros_to_time($10) END)");
  // Single use: the grantee is set once, on a live invitation only.
  db_.Prepare("grant_accept",
              "UPDATE grants SET grantee_id = $2, accept_time = micros_to_time($3)"
              " WHERE invitation_hash = $1 AND grantee_id IS NULL AND revoke_time IS NULL"
              " AND invitation_expire_time > micros_to_time($3) AND person_id <> $2"
              " RETURNING id, person_id");
  db_.Prepare("relationship_exists",
              "SELECT EXISTS (SELECT 1 FROM care_team_members WHERE person_id = $1"
              "                AND clinician_id = $2)"
              " OR EXISTS (SELECT 1 FROM grants WHERE person_id = $1 AND grantee_id = $2)"
              " OR EXISTS (SELECT 1 FROM proxy_accesses WHERE person_id = $1 AND proxy_id = $2)");
  db_.Prepare("grant_get", std::string("SELECT ") + kGrantColumns +
                               " FROM grants g LEFT JOIN people p ON p.id = g.grantee_id"
                               " WHERE g.person_id = $1 AND g.id = $2");
  db_.Prepare("grant_list",
              std::string("SELECT ") + kGrantColumns +
                  " FROM grants g LEFT JOIN people p ON p.id = g.grantee_id"
                  " WHERE (($1 <> '' AND g.person_id = $1) OR ($2 <> '' AND g.grantee_id = $2))"
                  " AND ($3 OR (g.revoke_time IS NULL AND"
                  "             (g.expire_time IS NULL OR g.expire_time > micros_to_time($8))))"
                  " AND (NOT $4 OR (time_to_micros(g.create_time), g.id) < ($5, $6))"
                  " ORDER BY g.create_time DESC, g.id DESC LIMIT $7");
  db_.Prepare(
      "grant_revoke",
      "UPDATE grants SET revoke_time = micros_to_time($2) WHERE id = $1 AND revoke_time IS NULL");
  db_.Prepare("documents_count",
              "SELECT count(*) FROM documents WHERE person_id = $1 AND"
              " collection || '/' || document_id IN (SELECT json_array_elements_text($2::json))");
  db_.Prepare("proxy_insert",
              "INSERT INTO proxy_accesses (id, person_id, proxy_id, access, granted_by_person,"
              " created_by, create_time) VALUES ($1, $2, $3, $4, $5, $6, micros_to_time($7))");
  db_.Prepare("proxy_get", std::string("SELECT ") + kProxyColumns +
                               " FROM proxy_accesses x JOIN people p ON p.id = x.proxy_id"
                               " WHERE x.person_id = $1 AND x.id = $2");
  db_.Prepare("proxy_list", std::string("SELECT ") + kProxyColumns +
                                " FROM proxy_accesses x JOIN people p ON p.id = x.proxy_id"
                                " WHERE x.person_id = $1 AND (NOT $2 OR"
                                " (time_to_micros(x.create_time), x.id) < ($3, $4))"
                                " ORDER BY x.create_time DESC, x.id DESC LIMIT $5");
  db_.Prepare("proxy_was_refused",
              "SELECT EXISTS (SELECT 1 FROM proxy_accesses r WHERE r.person_id = $1"
              " AND r.proxy_id = $2 AND r.refuse_time IS NOT NULL AND NOT EXISTS ("
              "   SELECT 1 FROM proxy_accesses g WHERE g.person_id = $1 AND g.proxy_id = $2"
              "   AND g.granted_by_person AND g.create_time > r.refuse_time))");
  db_.Prepare("proxy_record_competence",
              "UPDATE proxy_accesses SET judged_competent = $3, competence_reason = $4,"
              " competence_decided_by = $5, competence_decision_time = micros_to_time($6)"
              " WHERE person_id = $1 AND id = $2 AND NOT granted_by_person"
              " AND refuse_time IS NULL RETURNING id");
  db_.Prepare("proxy_accept",
              "UPDATE proxy_accesses SET accept_time = micros_to_time($3)"
              " WHERE person_id = $1 AND id = $2 AND NOT granted_by_person"
              " AND refuse_time IS NULL AND accept_time IS NULL RETURNING id");
  db_.Prepare("proxy_refuse",
              "UPDATE proxy_accesses SET refuse_time = micros_to_time($2) WHERE id = $1"
              " AND refuse_time IS NULL");
  db_.Prepare("connections",
              "SELECT c.person_id, p.display_name, 1, '', false, NULL::boolean, false"
              " FROM care_team_members c"
              "   JOIN people p ON p.id = c.person_id WHERE c.clinician_id = $1"
              " UNION ALL SELECT DISTINCT g.person_id, p.display_name, 2, '', false, NULL::boolean,"
              "   false FROM grants g"
              "   JOIN people p ON p.id = g.person_id WHERE g.grantee_id = $1"
              "   AND g.revoke_time IS NULL AND (g.expire_time IS NULL OR g.expire_time > "
              "micros_to_time($2))"
              " UNION ALL SELECT x.person_id, p.display_name, 3,"
              "   coalesce(to_char(p.birth_date, 'YYYY-MM-DD'), ''), x.granted_by_person,"
              "   x.judged_competent, x.accept_time IS NOT NULL"
              "   FROM proxy_accesses x JOIN people p ON p.id = x.person_id"
              "   WHERE x.proxy_id = $1 AND x.refuse_time IS NULL"
              " ORDER BY 2, 1, 3");
}

absl::Status PeopleStore::InsertPerson(WriteTransaction& tx, const std::string& id,
                                       const v1::Person& person) {
  auto result = tx.sql().exec_prepared(
      "person_insert", id, person.display_name(), ToIsoDate(person.birth_date()),
      person.clinician(), person.grid_author(), person.administrator(),
      person.team().empty() ? "" : person.team().substr(6), person.nhs_number());
  if (result.empty()) {
    // Either the id or the NHS number is taken (only administrators register people).
    if (!tx.sql().exec_prepared("person_exists", id).empty()) {
      return AlreadyExistsError("person", PersonName(id));
    }
    return absl::AlreadyExistsError("another person already has this NHS number");
  }
  return absl::OkStatus();
}

std::optional<v1::Person> PeopleStore::GetPerson(Transaction& tx, const std::string& id) {
  auto result = tx.sql().exec_prepared("person_get", id);
  if (result.empty()) return std::nullopt;
  const auto& row = result[0];
  v1::Person person;
  person.set_name(PersonName(row[0].as<std::string>()));
  person.set_display_name(row[1].as<std::string>());
  if (auto birth = ParseIsoDate(row[2].as<std::string>())) *person.mutable_birth_date() = *birth;
  person.set_clinician(row[3].as<bool>());
  person.set_grid_author(row[4].as<bool>());
  person.set_administrator(row[5].as<bool>());
  if (!row[6].as<std::string>().empty()) person.set_team("teams/" + row[6].as<std::string>());
  *person.mutable_create_time() = ToTimestamp(MicrosToTime(row[7].as<int64_t>()));
  if (auto disabled = OptionalTime(row[8])) *person.mutable_disable_time() = ToTimestamp(*disabled);
  person.set_nhs_number(row[9].as<std::string>());
  return person;
}

absl::Status PeopleStore::InsertAccount(WriteTransaction& tx, const std::string& person_id,
                                        const std::string& username,
                                        const std::string& password_hash) {
  auto result = tx.sql().exec_prepared("account_insert", person_id, username, password_hash);
  if (result.empty()) {
    return AlreadyExistsError("account",
                              "this person already has an account, or the username is taken");
  }
  return absl::OkStatus();
}

namespace {

std::optional<AccountRow> ReadAccount(const pqxx::result& result) {
  if (result.empty()) return std::nullopt;
  AccountRow row;
  row.person_id = result[0][0].as<std::string>();
  row.username = result[0][1].as<std::string>();
  row.password_hash = result[0][2].as<std::string>();
  row.failed_attempts = result[0][3].as<int>();
  row.locked_until = OptionalTime(result[0][4]);
  row.disabled = result[0][5].as<bool>();
  return row;
}

IdentityRow ReadIdentity(const pqxx::row& row) {
  return IdentityRow{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                     row[3].as<std::string>()};
}

}  // namespace

std::optional<AccountRow> PeopleStore::FindAccount(Transaction& tx, const std::string& username) {
  return ReadAccount(tx.sql().exec_prepared("account_find", username));
}

std::optional<AccountRow> PeopleStore::AccountOf(Transaction& tx, const std::string& person_id) {
  return ReadAccount(tx.sql().exec_prepared("account_of", person_id));
}

bool PeopleStore::ReplacePasswordHash(WriteTransaction& tx, const std::string& person_id,
                                      const std::string& expected_hash,
                                      const std::string& new_hash) {
  return !tx.sql()
              .exec_prepared("account_set_password", person_id, expected_hash, new_hash)
              .empty();
}

absl::Status PeopleStore::UpdateDetails(WriteTransaction& tx, const std::string& id,
                                        const std::string& display_name,
                                        const std::string& nhs_number) {
  try {
    if (!tx.sql().exec_prepared("person_update_details", id, display_name, nhs_number).empty()) {
      return absl::OkStatus();
    }
  } catch (const pqxx::unique_violation&) {
    // Another administrator gave the number to someone else at the same moment.
    return absl::AlreadyExistsError("another person already has this NHS number");
  }
  if (tx.sql().exec_prepared("person_exists", id).empty()) {
    return NotFoundError("person", PersonName(id));
  }
  return absl::AlreadyExistsError("another person already has this NHS number");
}

bool PeopleStore::SetDisabled(WriteTransaction& tx, const std::string& id,
                              std::optional<absl::Time> when) {
  const int64_t micros = when ? TimeToMicros(*when) : 0;
  return !tx.sql().exec_prepared("person_set_disabled", id, micros).empty();
}

void PeopleStore::RecordSignInFailure(WriteTransaction& tx, const std::string& person_id,
                                      int max_failures, absl::Duration lock_for) {
  tx.sql().exec_prepared("account_failure", person_id, max_failures,
                         absl::ToInt64Seconds(lock_for));
}

void PeopleStore::RecordSignInSuccess(WriteTransaction& tx, const std::string& person_id) {
  tx.sql().exec_prepared("account_success", person_id);
}

absl::Status PeopleStore::InsertIdentity(WriteTransaction& tx, const std::string& id,
                                         const std::string& person_id, const std::string& issuer,
                                         const std::string& subject) {
  if (tx.sql().exec_prepared("identity_insert", id, person_id, issuer, subject).empty()) {
    return AlreadyExistsError("external identity", "this issuer and subject are already linked");
  }
  return absl::OkStatus();
}

std::optional<IdentityRow> PeopleStore::FindIdentity(Transaction& tx, const std::string& issuer,
                                                     const std::string& subject) {
  auto result = tx.sql().exec_prepared("identity_find", issuer, subject);
  if (result.empty()) return std::nullopt;
  return ReadIdentity(result[0]);
}

std::vector<IdentityRow> PeopleStore::ListIdentities(Transaction& tx,
                                                     const std::string& person_id) {
  std::vector<IdentityRow> rows;
  for (const auto& row : tx.sql().exec_prepared("identity_list", person_id)) {
    rows.push_back(ReadIdentity(row));
  }
  return rows;
}

std::optional<IdentityRow> PeopleStore::DeleteIdentity(WriteTransaction& tx,
                                                       const std::string& person_id,
                                                       const std::string& identity_id) {
  auto result = tx.sql().exec_prepared("identity_delete", person_id, identity_id);
  if (result.empty()) return std::nullopt;
  return ReadIdentity(result[0]);
}

absl::Status PeopleStore::InsertCareTeamMember(WriteTransaction& tx, const std::string& person_id,
                                               const std::string& clinician_id,
                                               const std::string& role) {
  if (tx.sql().exec_prepared("care_team_insert", person_id, clinician_id, role).empty()) {
    return AlreadyExistsError("care team member",
                              "people/" + person_id + "/careTeamMembers/" + clinician_id);
  }
  return absl::OkStatus();
}

std::vector<CareTeamRow> PeopleStore::ListCareTeam(Transaction& tx, const std::string& person_id,
                                                   const std::string& after_clinician, int limit) {
  std::vector<CareTeamRow> rows;
  for (const auto& row :
       tx.sql().exec_prepared("care_team_list", person_id, after_clinician, limit)) {
    rows.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                    MicrosToTime(row[3].as<int64_t>())});
  }
  return rows;
}

std::optional<CareTeamRow> PeopleStore::DeleteCareTeamMember(WriteTransaction& tx,
                                                             const std::string& person_id,
                                                             const std::string& clinician_id) {
  auto result = tx.sql().exec_prepared("care_team_delete", person_id, clinician_id);
  if (result.empty()) return std::nullopt;
  const auto& row = result[0];
  return CareTeamRow{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                     MicrosToTime(row[3].as<int64_t>())};
}

void PeopleStore::InsertGrant(WriteTransaction& tx, const GrantRow& grant) {
  tx.sql().exec_prepared(
      "grant_insert", grant.id, grant.person_id, grant.grantee_id,
      nlohmann::json(grant.documents).dump(), nlohmann::json(grant.document_kinds).dump(),
      grant.access, grant.expire_time ? TimeToMicros(*grant.expire_time) : int64_t{0},
      TimeToMicros(grant.create_time), pqxx::binarystring(grant.invitation_hash),
      grant.invitation_expire_time ? TimeToMicros(*grant.invitation_expire_time) : int64_t{0});
}

std::optional<GrantRow> PeopleStore::AcceptInvitation(WriteTransaction& tx,
                                                      const std::string& invitation_hash,
                                                      const std::string& grantee_id,
                                                      absl::Time now) {
  auto accepted = tx.sql().exec_prepared("grant_accept", pqxx::binarystring(invitation_hash),
                                         grantee_id, TimeToMicros(now));
  if (accepted.empty()) return std::nullopt;
  return GetGrant(tx, accepted[0][1].as<std::string>(), accepted[0][0].as<std::string>());
}

bool PeopleStore::HasRelationship(Transaction& tx, const std::string& person_id,
                                  const std::string& other_id) {
  return tx.sql().exec_prepared("relationship_exists", person_id, other_id)[0][0].as<bool>();
}

std::optional<GrantRow> PeopleStore::GetGrant(Transaction& tx, const std::string& person_id,
                                              const std::string& grant_id) {
  auto result = tx.sql().exec_prepared("grant_get", person_id, grant_id);
  if (result.empty()) return std::nullopt;
  return ReadGrant(result[0]);
}

std::vector<GrantRow> PeopleStore::ListGrants(Transaction& tx, const std::string& person_id,
                                              const std::string& grantee_id, bool show_inactive,
                                              absl::Time now, int64_t before_micros,
                                              const std::string& before_id, int limit) {
  std::vector<GrantRow> rows;
  const bool has_cursor = !before_id.empty();
  for (const auto& row :
       tx.sql().exec_prepared("grant_list", person_id, grantee_id, show_inactive, has_cursor,
                              before_micros, before_id, limit, TimeToMicros(now))) {
    rows.push_back(ReadGrant(row));
  }
  return rows;
}

void PeopleStore::RevokeGrant(WriteTransaction& tx, const std::string& grant_id, absl::Time when) {
  tx.sql().exec_prepared("grant_revoke", grant_id, TimeToMicros(when));
}

int PeopleStore::CountDocuments(Transaction& tx, const std::string& person_id,
                                const std::vector<std::string>& documents) {
  return tx.sql()
      .exec_prepared("documents_count", person_id, nlohmann::json(documents).dump())[0][0]
      .as<int>();
}

void PeopleStore::InsertProxy(WriteTransaction& tx, const ProxyRow& proxy,
                              const std::string& created_by) {
  tx.sql().exec_prepared("proxy_insert", proxy.id, proxy.person_id, proxy.proxy_id, proxy.access,
                         proxy.granted_by_person, created_by, TimeToMicros(proxy.create_time));
}

std::optional<ProxyRow> PeopleStore::GetProxy(Transaction& tx, const std::string& person_id,
                                              const std::string& proxy_id) {
  auto result = tx.sql().exec_prepared("proxy_get", person_id, proxy_id);
  if (result.empty()) return std::nullopt;
  return ReadProxy(result[0]);
}

std::vector<ProxyRow> PeopleStore::ListProxies(Transaction& tx, const std::string& person_id,
                                               int64_t before_micros, const std::string& before_id,
                                               int limit) {
  std::vector<ProxyRow> rows;
  const bool has_cursor = !before_id.empty();
  for (const auto& row : tx.sql().exec_prepared("proxy_list", person_id, has_cursor, before_micros,
                                                before_id, limit)) {
    rows.push_back(ReadProxy(row));
  }
  return rows;
}

bool PeopleStore::ProxyWasRefused(Transaction& tx, const std::string& person_id,
                                  const std::string& proxy_id) {
  return tx.sql().exec_prepared("proxy_was_refused", person_id, proxy_id)[0][0].as<bool>();
}

bool PeopleStore::RecordCompetenceDecision(WriteTransaction& tx, const std::string& person_id,
                                           const std::string& proxy_id, bool competent,
                                           const std::string& reason, const std::string& decided_by,
                                           absl::Time when) {
  return !tx.sql()
              .exec_prepared("proxy_record_competence", person_id, proxy_id, competent, reason,
                             decided_by, TimeToMicros(when))
              .empty();
}

bool PeopleStore::AcceptProxy(WriteTransaction& tx, const std::string& person_id,
                              const std::string& proxy_id, absl::Time when) {
  return !tx.sql().exec_prepared("proxy_accept", person_id, proxy_id, TimeToMicros(when)).empty();
}

void PeopleStore::RefuseProxy(WriteTransaction& tx, const std::string& proxy_id, absl::Time when) {
  tx.sql().exec_prepared("proxy_refuse", proxy_id, TimeToMicros(when));
}

std::vector<ConnectionRow> PeopleStore::ListConnections(Transaction& tx,
                                                        const std::string& actor_id,
                                                        absl::Time now) {
  std::vector<ConnectionRow> rows;
  for (const auto& row : tx.sql().exec_prepared("connections", actor_id, TimeToMicros(now))) {
    ConnectionRow connection;
    connection.person_id = row[0].as<std::string>();
    connection.display_name = row[1].as<std::string>();
    connection.kind = static_cast<v1::ConnectionKind>(row[2].as<int>());
    connection.birth_date = row[3].as<std::string>();
    connection.granted_by_person = row[4].as<bool>();
    if (!row[5].is_null()) connection.judged_competent = row[5].as<bool>();
    connection.accepted = row[6].as<bool>();
    rows.push_back(std::move(connection));
  }
  return rows;
}

}  // namespace coplan
