#include "server/store/session_store.h"

#include <pqxx/pqxx>

#include "server/common/proto_time.h"
#include "server/store/database.h"

namespace coplan {
namespace {

constexpr char kSessionColumns[] =
    "id, person_id, coalesce(device_name, ''), time_to_micros(create_time),"
    " time_to_micros(expire_time), coalesce(time_to_micros(revoke_time), 0),"
    " coalesce(time_to_micros(last_refresh_time), 0)";

SessionRow ReadSession(const pqxx::row& row) {
  SessionRow session;
  session.id = row[0].as<std::string>();
  session.person_id = row[1].as<std::string>();
  session.device_name = row[2].as<std::string>();
  session.create_time = MicrosToTime(row[3].as<int64_t>());
  session.expire_time = MicrosToTime(row[4].as<int64_t>());
  if (const int64_t revoked = row[5].as<int64_t>(); revoked != 0) {
    session.revoke_time = MicrosToTime(revoked);
  }
  if (const int64_t refreshed = row[6].as<int64_t>(); refreshed != 0) {
    session.last_refresh_time = MicrosToTime(refreshed);
  }
  return session;
}

}  // namespace

SessionStore::SessionStore(Database& db) {
  db.Prepare("session_insert",
             "INSERT INTO sessions (id, person_id, device_name, create_time, expire_time,"
             " refresh_token_hash) VALUES ($1, $2, NULLIF($3, ''), micros_to_time($4),"
             " micros_to_time($5), CASE WHEN $6 = ''::bytea THEN NULL ELSE $6 END)");
  db.Prepare("session_by_refresh",
             std::string("SELECT ") + kSessionColumns +
                 ", refresh_token_hash = $1 FROM sessions"
                 " WHERE refresh_token_hash = $1 OR previous_refresh_hash = $1 FOR UPDATE");
  db.Prepare("session_rotate",
             "UPDATE sessions SET previous_refresh_hash = refresh_token_hash,"
             " refresh_token_hash = $2, last_refresh_time = micros_to_time($3),"
             " expire_time = micros_to_time($4) WHERE id = $1");
  db.Prepare("session_revoke",
             "UPDATE sessions SET revoke_time = micros_to_time($3) WHERE id = $1 AND person_id = $2"
             " AND revoke_time IS NULL RETURNING id");
  db.Prepare("session_revoke_all_but",
             "UPDATE sessions SET revoke_time = micros_to_time($3) WHERE person_id = $1"
             " AND id <> $2 AND revoke_time IS NULL RETURNING id");
  db.Prepare("session_list_live",
             std::string("SELECT ") + kSessionColumns +
                 " FROM sessions WHERE person_id = $1 AND revoke_time IS NULL"
                 " AND expire_time > micros_to_time($2) ORDER BY create_time DESC, id LIMIT $3");
}

void SessionStore::Insert(WriteTransaction& tx, const SessionRow& session,
                          const std::string& refresh_hash) {
  tx.sql().exec_prepared("session_insert", session.id, session.person_id, session.device_name,
                         TimeToMicros(session.create_time), TimeToMicros(session.expire_time),
                         pqxx::binarystring(refresh_hash));
}

std::optional<RefreshMatch> SessionStore::FindByRefreshHash(WriteTransaction& tx,
                                                            const std::string& hash) {
  auto result = tx.sql().exec_prepared("session_by_refresh", pqxx::binarystring(hash));
  if (result.empty()) return std::nullopt;
  RefreshMatch match;
  match.session = ReadSession(result[0]);
  match.current = result[0][7].as<bool>();
  return match;
}

void SessionStore::Rotate(WriteTransaction& tx, const std::string& session_id,
                          const std::string& new_hash, absl::Time now, absl::Time expire) {
  tx.sql().exec_prepared("session_rotate", session_id, pqxx::binarystring(new_hash),
                         TimeToMicros(now), TimeToMicros(expire));
}

bool SessionStore::Revoke(WriteTransaction& tx, const std::string& session_id,
                          const std::string& person_id, absl::Time when) {
  return !tx.sql()
              .exec_prepared("session_revoke", session_id, person_id, TimeToMicros(when))
              .empty();
}

std::vector<std::string> SessionStore::RevokeAllBut(WriteTransaction& tx,
                                                    const std::string& person_id,
                                                    const std::string& kept_session_id,
                                                    absl::Time when) {
  std::vector<std::string> revoked;
  for (const auto& row : tx.sql().exec_prepared("session_revoke_all_but", person_id,
                                                kept_session_id, TimeToMicros(when))) {
    revoked.push_back(row[0].as<std::string>());
  }
  return revoked;
}

std::vector<SessionRow> SessionStore::ListLive(Transaction& tx, const std::string& person_id,
                                               absl::Time now, int limit) {
  std::vector<SessionRow> sessions;
  for (const auto& row :
       tx.sql().exec_prepared("session_list_live", person_id, TimeToMicros(now), limit)) {
    sessions.push_back(ReadSession(row));
  }
  return sessions;
}

}  // namespace coplan
