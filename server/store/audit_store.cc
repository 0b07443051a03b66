#include "server/store/audit_store.h"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "absl/strings/escaping.h"
#include "server/common/proto_time.h"
#include "server/store/database.h"

namespace coplan {
namespace {

constexpr char kRowColumns[] =
    "id, time_to_micros(event_time), actor_id, on_behalf_of_id, action, resource, outcome, "
    "method, row_mac, chain_seq, chain_hash";

// Arbitrary constant naming the advisory lock of the audit sealer.
constexpr int64_t kSealLockId = 0x636f706c616e02;

AuditRow ReadRow(const pqxx::row& row) {
  AuditRow out;
  out.id = row[0].as<int64_t>();
  out.event_time = MicrosToTime(row[1].as<int64_t>());
  out.actor_id = row[2].as<std::string>();
  out.on_behalf_of_id = row[3].as<std::string>();
  out.action = row[4].as<int>();
  out.resource = row[5].as<std::string>();
  out.outcome = row[6].as<int>();
  out.method = row[7].as<std::string>();
  out.row_mac = pqxx::binarystring(row[8]).str();
  if (!row[9].is_null()) out.chain_seq = row[9].as<int64_t>();
  if (!row[10].is_null()) out.chain_hash = pqxx::binarystring(row[10]).str();
  return out;
}

}  // namespace

AuditStore::AuditStore(Database& db) : db_(db) {
  // Many rows in one statement: the rows travel as one JSON array.
  db_.Prepare("audit_insert",
              "INSERT INTO audit_events (event_time, actor_id, on_behalf_of_id, action, resource,"
              " outcome, method, row_mac)"
              " SELECT micros_to_time((e->>0)::bigint), e->>1, e->>2, (e->>3)::smallint, e->>4,"
              " (e->>5)::smallint, e->>6, decode(e->>7, 'hex')"
              " FROM json_array_elements($1::json) AS e");
  db_.Prepare("audit_lock_unsealed",
              std::string("SELECT ") + kRowColumns +
                  " FROM audit_events WHERE chain_seq IS NULL AND id > $1 ORDER BY id LIMIT $2"
                  " FOR UPDATE");
  db_.Prepare("audit_lock_head",
              "SELECT chain_seq, chain_hash, head_mac FROM audit_chain_head FOR UPDATE");
  db_.Prepare("audit_seal",
              "UPDATE audit_events a SET chain_seq = v.seq, chain_hash = decode(v.hash, 'hex')"
              " FROM json_to_recordset($1::json) AS v(id bigint, seq bigint, hash text)"
              " WHERE a.id = v.id");
  db_.Prepare("audit_save_head",
              "INSERT INTO audit_chain_head (singleton, chain_seq, chain_hash, head_mac)"
              " VALUES (true, $1, $2, $3) ON CONFLICT (singleton) DO UPDATE"
              " SET chain_seq = $1, chain_hash = $2, head_mac = $3");
  db_.Prepare("audit_list",
              std::string("SELECT ") + kRowColumns +
                  " FROM audit_events WHERE"
                  " (($1 <> '' AND on_behalf_of_id = $1) OR ($2 <> '' AND actor_id = $2))"
                  " AND ($3 = '' OR resource = $3 OR resource LIKE $3 || '/%')"
                  " AND ($4 = '' OR actor_id = $4)"
                  " AND event_time >= micros_to_time($5) AND event_time < micros_to_time($6)"
                  " AND (time_to_micros(event_time), id) < ($7, $8)"
                  " ORDER BY event_time DESC, id DESC LIMIT $9");
  db_.Prepare("people_display_names",
              "SELECT id, display_name FROM people"
              " WHERE id IN (SELECT json_array_elements_text($1::json))");
}

void AuditStore::Insert(Transaction& tx, const std::vector<AuditRow>& rows) {
  if (rows.empty()) return;
  nlohmann::json array = nlohmann::json::array();
  for (const AuditRow& row : rows) {
    array.push_back({TimeToMicros(row.event_time), row.actor_id, row.on_behalf_of_id, row.action,
                     row.resource, row.outcome, row.method, absl::BytesToHexString(row.row_mac)});
  }
  tx.sql().exec_prepared("audit_insert", array.dump());
}

std::vector<AuditRow> AuditStore::LockUnsealed(WriteTransaction& tx, int64_t after_id, int limit) {
  std::vector<AuditRow> rows;
  for (const auto& row : tx.sql().exec_prepared("audit_lock_unsealed", after_id, limit))
    rows.push_back(ReadRow(row));
  return rows;
}

std::optional<ChainHead> AuditStore::LockHead(WriteTransaction& tx) {
  auto result = tx.sql().exec_prepared("audit_lock_head");
  if (result.empty()) return std::nullopt;
  return ChainHead{result[0][0].as<int64_t>(), pqxx::binarystring(result[0][1]).str(),
                   pqxx::binarystring(result[0][2]).str()};
}

void AuditStore::UseOneSnapshot(WriteTransaction& tx) {
  tx.sql().exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
}

std::optional<ChainHead> AuditStore::ReadHead(Transaction& tx) {
  auto result = tx.sql().exec("SELECT chain_seq, chain_hash, head_mac FROM audit_chain_head");
  if (result.empty()) return std::nullopt;
  return ChainHead{result[0][0].as<int64_t>(), pqxx::binarystring(result[0][1]).str(),
                   pqxx::binarystring(result[0][2]).str()};
}

void AuditStore::SealRows(WriteTransaction& tx, const std::vector<Seal>& seals) {
  if (seals.empty()) return;
  nlohmann::json rows = nlohmann::json::array();
  for (const Seal& seal : seals) {
    rows.push_back({{"id", seal.id},
                    {"seq", seal.chain_seq},
                    {"hash", absl::BytesToHexString(seal.chain_hash)}});
  }
  tx.sql().exec_prepared("audit_seal", rows.dump());
}

void AuditStore::SaveHead(WriteTransaction& tx, const ChainHead& head) {
  tx.sql().exec_prepared("audit_save_head", head.chain_seq, pqxx::binarystring(head.chain_hash),
                         pqxx::binarystring(head.head_mac));
}

bool AuditStore::TrySealLock(WriteTransaction& tx) {
  return tx.sql()
      .exec("SELECT pg_try_advisory_xact_lock(" + std::to_string(kSealLockId) + ")")[0][0]
      .as<bool>();
}

void AuditStore::ForEachRow(Transaction& tx, const std::function<void(const AuditRow&)>& visit) {
  // In batches, to keep memory flat on a long trail.
  int64_t after_seq = -1;
  for (;;) {
    auto result = tx.sql().exec_params(std::string("SELECT ") + kRowColumns +
                                           " FROM audit_events WHERE chain_seq > $1"
                                           " ORDER BY chain_seq LIMIT 10000",
                                       after_seq);
    if (result.empty()) break;
    for (const auto& row : result) {
      AuditRow parsed = ReadRow(row);
      after_seq = *parsed.chain_seq;
      visit(parsed);
    }
  }
  for (const auto& row : tx.sql().exec(std::string("SELECT ") + kRowColumns +
                                       " FROM audit_events WHERE chain_seq IS NULL ORDER BY id")) {
    visit(ReadRow(row));
  }
}

std::vector<AuditRow> AuditStore::List(Transaction& tx, const AuditQuery& query) {
  std::vector<AuditRow> rows;
  for (const auto& row : tx.sql().exec_prepared(
           "audit_list", query.on_behalf_of_id, query.actor_id, query.resource_prefix,
           query.by_actor_id, query.start_micros, query.end_micros, query.before_micros,
           query.before_id, query.limit)) {
    rows.push_back(ReadRow(row));
  }
  return rows;
}

std::map<std::string, std::string> AuditStore::DisplayNames(Transaction& tx,
                                                            const std::vector<std::string>& ids) {
  std::map<std::string, std::string> names;
  if (ids.empty()) return names;
  nlohmann::json array = ids;
  for (const auto& row : tx.sql().exec_prepared("people_display_names", array.dump())) {
    names[row[0].as<std::string>()] = row[1].as<std::string>();
  }
  return names;
}

}  // namespace coplan
