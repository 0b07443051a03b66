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
    "method, row_mac, event_nonce, tx_id::text, coalesce(revision_from, 0), "
    "coalesce(revision_to, 0), coalesce(access_given_to, '')";
constexpr char kCheckpointColumns[] =
    "seq, horizon::text, rows_total, digest, time_to_micros(made_at), mac";

// Arbitrary constant naming the advisory lock of the audit checkpointer.
constexpr int64_t kCheckpointLockId = 0x636f706c616e03;

uint64_t ParseXid(const pqxx::field& field) { return std::stoull(field.as<std::string>()); }

AuditCheckpoint ReadCheckpoint(const pqxx::row& row) {
  AuditCheckpoint out;
  out.seq = row[0].as<int64_t>();
  out.horizon = ParseXid(row[1]);
  out.rows_total = row[2].as<int64_t>();
  out.digest = pqxx::binarystring(row[3]).str();
  out.made_at = MicrosToTime(row[4].as<int64_t>());
  out.mac = pqxx::binarystring(row[5]).str();
  return out;
}

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
  if (!row[9].is_null()) out.nonce = pqxx::binarystring(row[9]).str();
  out.tx_id = ParseXid(row[10]);
  out.revision_from = row[11].as<int64_t>();
  out.revision_to = row[12].as<int64_t>();
  out.access_given_to = row[13].as<std::string>();
  return out;
}

}  // namespace

AuditStore::AuditStore(Database& db) : db_(db) {
  // Many rows in one statement: the rows travel as one JSON array.
  // Many rows in one statement: the rows travel as one JSON array.
  db_.Prepare("audit_insert",
              "INSERT INTO audit_events (event_time, actor_id, on_behalf_of_id, action, resource,"
              " outcome, method, event_nonce, row_mac, revision_from, revision_to,"
              " access_given_to)"
              " SELECT micros_to_time((e->>0)::bigint), e->>1, e->>2, (e->>3)::smallint, e->>4,"
              " (e->>5)::smallint, e->>6, decode(e->>7, 'hex'), decode(e->>8, 'hex'),"
              " nullif((e->>9)::bigint, 0), nullif((e->>10)::bigint, 0), nullif(e->>11, '')"
              " FROM json_array_elements($1::json) AS e");
  db_.Prepare("audit_rows_between",
              std::string("SELECT ") + kRowColumns +
                  " FROM audit_events WHERE tx_id >= $1::xid8 AND tx_id < $2::xid8"
                  " AND (tx_id, id) > ($3::xid8, $4) ORDER BY tx_id, id LIMIT 5000");
  db_.Prepare("audit_last_checkpoint", std::string("SELECT ") + kCheckpointColumns +
                                           " FROM audit_checkpoints ORDER BY seq DESC LIMIT 1");
  db_.Prepare("audit_checkpoint_at", std::string("SELECT ") + kCheckpointColumns +
                                         " FROM audit_checkpoints WHERE seq = $1");
  db_.Prepare("audit_insert_checkpoint",
              "INSERT INTO audit_checkpoints (seq, horizon, rows_total, digest, made_at, mac)"
              " VALUES ($1, $2::xid8, $3, $4, micros_to_time($5), $6)");
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
                     row.resource, row.outcome, row.method, absl::BytesToHexString(row.nonce),
                     absl::BytesToHexString(row.row_mac), row.revision_from, row.revision_to,
                     row.access_given_to});
  }
  tx.sql().exec_prepared("audit_insert", array.dump());
}

bool AuditStore::TryCheckpointLock(WriteTransaction& tx) {
  return tx.sql()
      .exec("SELECT pg_try_advisory_xact_lock(" + std::to_string(kCheckpointLockId) + ")")[0][0]
      .as<bool>();
}

std::optional<AuditCheckpoint> AuditStore::LastCheckpoint(Transaction& tx) {
  auto result = tx.sql().exec_prepared("audit_last_checkpoint");
  if (result.empty()) return std::nullopt;
  return ReadCheckpoint(result[0]);
}

std::optional<AuditCheckpoint> AuditStore::CheckpointAt(Transaction& tx, int64_t seq) {
  auto result = tx.sql().exec_prepared("audit_checkpoint_at", seq);
  if (result.empty()) return std::nullopt;
  return ReadCheckpoint(result[0]);
}

std::vector<AuditCheckpoint> AuditStore::Checkpoints(Transaction& tx) {
  std::vector<AuditCheckpoint> out;
  for (const auto& row : tx.sql().exec(std::string("SELECT ") + kCheckpointColumns +
                                       " FROM audit_checkpoints ORDER BY seq")) {
    out.push_back(ReadCheckpoint(row));
  }
  return out;
}

void AuditStore::InsertCheckpoint(WriteTransaction& tx, const AuditCheckpoint& checkpoint) {
  tx.sql().exec_prepared("audit_insert_checkpoint", checkpoint.seq,
                         std::to_string(checkpoint.horizon), checkpoint.rows_total,
                         pqxx::binarystring(checkpoint.digest), TimeToMicros(checkpoint.made_at),
                         pqxx::binarystring(checkpoint.mac));
}

uint64_t AuditStore::FinishedHorizon(Transaction& tx) {
  return ParseXid(tx.sql().exec("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")[0][0]);
}

void AuditStore::ForEachRow(Transaction& tx, uint64_t from_tx, uint64_t to_tx,
                            const std::function<void(const AuditRow&)>& visit) {
  // Keyset pages, to keep memory flat on a long trail.
  std::string after_tx = "0";
  int64_t after_id = 0;
  for (;;) {
    auto result = tx.sql().exec_prepared("audit_rows_between", std::to_string(from_tx),
                                         std::to_string(to_tx), after_tx, after_id);
    if (result.empty()) break;
    for (const auto& row : result) {
      AuditRow parsed = ReadRow(row);
      after_tx = std::to_string(parsed.tx_id);
      after_id = parsed.id;
      visit(parsed);
    }
  }
}

void AuditStore::UseOneReadOnlySnapshot(WriteTransaction& tx) {
  tx.sql().exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
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
