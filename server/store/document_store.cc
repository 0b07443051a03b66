#include "server/store/document_store.h"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "server/common/errors.h"
#include "server/common/proto_time.h"
#include "server/store/access_facts_query.h"
#include "server/store/database.h"

namespace coplan {
namespace {

// Columns of a document row, in the order ReadDocument expects.
constexpr char kDocumentColumns[] = R"sql(
  d.key, d.kind, d.body, d.revision, time_to_micros(d.create_time), time_to_micros(d.update_time),
  d.creator_id, d.last_editor_id, coalesce(time_to_micros(d.delete_time), 0),
  d.collection, d.document_id, d.person_id,
  coalesce((SELECT max(s1.revision) FROM sign_offs s1
             WHERE s1.document_key = d.key AND s1.role = 1
               AND EXISTS (SELECT 1 FROM sign_offs s2 WHERE s2.document_key = d.key
                              AND s2.revision = s1.revision AND s2.role = 2)), 0),
  (SELECT coalesce(json_agg(json_build_array(l.person_id, l.role, l.revision,
                                             time_to_micros(l.sign_time))), '[]')
     FROM (SELECT DISTINCT ON (person_id) person_id, role, revision, sign_time
             FROM sign_offs WHERE document_key = d.key
            ORDER BY person_id, revision DESC) l)
)sql";

StoredDocument ReadDocument(const pqxx::row& row, int c) {
  StoredDocument doc;
  doc.key = row[c + 0].as<int64_t>();
  doc.kind = row[c + 1].as<int>();
  doc.body = pqxx::binarystring(row[c + 2]).str();
  doc.revision = row[c + 3].as<int64_t>();
  doc.create_time = MicrosToTime(row[c + 4].as<int64_t>());
  doc.update_time = MicrosToTime(row[c + 5].as<int64_t>());
  doc.creator_id = row[c + 6].as<std::string>();
  doc.last_editor_id = row[c + 7].as<std::string>();
  if (int64_t deleted = row[c + 8].as<int64_t>(); deleted != 0) {
    doc.delete_time = MicrosToTime(deleted);
  }
  doc.name.collection =
      row[c + 9].as<std::string>() == "plans" ? Collection::kPlans : Collection::kDecisions;
  doc.name.document_id = row[c + 10].as<std::string>();
  doc.name.person_id = row[c + 11].as<std::string>();
  const int64_t agreed = row[c + 12].as<int64_t>();
  doc.agreement.set_agreed_revision(agreed);
  doc.agreement.set_out_of_date(agreed > 0 && agreed < doc.revision);
  for (const auto& entry : nlohmann::json::parse(row[c + 13].as<std::string>())) {
    auto* sign_off = doc.agreement.add_sign_offs();
    sign_off->set_person(PersonName(entry[0].get<std::string>()));
    sign_off->set_role(static_cast<v1::SignOffRole>(entry[1].get<int>()));
    sign_off->set_revision(entry[2].get<int64_t>());
    *sign_off->mutable_sign_time() = ToTimestamp(MicrosToTime(entry[3].get<int64_t>()));
  }
  return doc;
}

std::string CollectionText(Collection collection) {
  return std::string(CollectionSegment(collection));
}

RevisionRow ReadRevision(const pqxx::row& row, bool with_snapshot) {
  RevisionRow out;
  out.document_key = row[0].as<int64_t>();
  out.revision.ParseFromString(pqxx::binarystring(row[1]).str());
  if (with_snapshot) out.snapshot = pqxx::binarystring(row[2]).str();
  out.idempotency_key = row[3].is_null() ? "" : row[3].as<std::string>();
  out.request_hash = row[4].is_null() ? "" : pqxx::binarystring(row[4]).str();
  return out;
}

}  // namespace

DocumentStore::DocumentStore(Database& db) : db_(db) {
  db_.Prepare("doc_load_with_facts",
              absl::StrCat("SELECT f.*, ", kDocumentColumns, " FROM (SELECT ", kAccessFactsSelect,
                           ") f LEFT JOIN documents d ON d.person_id = $3 AND d.collection = $4 "
                           "AND d.document_id = $5"));
  db_.Prepare("doc_lock_with_facts",
              absl::StrCat("SELECT f.*, d.* FROM (SELECT ", kAccessFactsSelect,
                           ") f LEFT JOIN LATERAL (SELECT ", kDocumentColumns,
                           " FROM documents d WHERE d.person_id = $3 AND d.collection = $4"
                           " AND d.document_id = $5 FOR UPDATE) d ON true"));
  db_.Prepare("doc_list",
              absl::StrCat("SELECT ", kDocumentColumns,
                           " FROM documents d WHERE d.person_id = $1 AND d.collection = $2"
                           " AND ($3 = 0 OR d.kind = $3) AND ($4 OR d.delete_time IS NULL)"
                           " AND (time_to_micros(d.create_time), d.key) < ($5, $6)"
                           " ORDER BY d.create_time DESC, d.key DESC LIMIT $7"));
  db_.Prepare("doc_lock", absl::StrCat("SELECT ", kDocumentColumns,
                                       " FROM documents d WHERE d.person_id = $1 AND"
                                       " d.collection = $2 AND d.document_id = $3 FOR UPDATE"));
  db_.Prepare("doc_by_key",
              absl::StrCat("SELECT ", kDocumentColumns, " FROM documents d WHERE d.key = $1"));
  db_.Prepare("doc_latest_revisions",
              "SELECT key, revision FROM documents"
              " WHERE key IN (SELECT json_array_elements_text($1::json)::bigint)");
  db_.Prepare("doc_insert",
              "INSERT INTO documents (person_id, collection, document_id, kind, body, revision,"
              " create_time, update_time, creator_id, last_editor_id)"
              " VALUES ($1, $2, $3, $4, $5, $6, micros_to_time($7), micros_to_time($7), $8, $8)"
              " ON CONFLICT (person_id, collection, document_id) DO NOTHING RETURNING key");
  db_.Prepare(
      "doc_write_revision",
      "WITH updated AS (UPDATE documents SET body = $2, revision = $3,"
      " update_time = micros_to_time($4), last_editor_id = $5,"
      " delete_time = CASE WHEN $6::bigint = 0 THEN NULL ELSE micros_to_time($6) END"
      " WHERE key = $1)"
      " INSERT INTO document_revisions (document_key, revision, kind, author_id, create_time,"
      " operations, changed_paths, snapshot, idempotency_key, request_hash)"
      " VALUES ($1, $3, $7, $5, micros_to_time($4), $8,"
      " ARRAY(SELECT json_array_elements_text($9::json)), $2, NULLIF($10, ''),"
      " CASE WHEN $10 = '' THEN NULL ELSE $11::bytea END)");
  db_.Prepare("rev_insert",
              "INSERT INTO document_revisions (document_key, revision, kind, author_id,"
              " create_time, operations, changed_paths, snapshot, idempotency_key, request_hash)"
              " VALUES ($1, $2, $3, $4, micros_to_time($5), $6,"
              " ARRAY(SELECT json_array_elements_text($7::json)), $8, NULLIF($9, ''),"
              " CASE WHEN $9 = '' THEN NULL ELSE $10::bytea END)");
  db_.Prepare("rev_retried_batch",
              "SELECT operations, snapshot, request_hash FROM document_revisions"
              " WHERE document_key = $1 AND author_id = $2 AND idempotency_key = $3");
  db_.Prepare("rev_changes_since",
              "SELECT revision, array_to_json(changed_paths)::text FROM document_revisions"
              " WHERE document_key = $1 AND revision > $2 ORDER BY revision LIMIT $3");
  db_.Prepare(
      "sign_off_insert",
      "INSERT INTO sign_offs (document_key, person_id, role, revision) VALUES ($1, $2, $3, $4)"
      " ON CONFLICT DO NOTHING");
  db_.Prepare("rev_get",
              "SELECT document_key, operations, snapshot, idempotency_key, request_hash"
              " FROM document_revisions WHERE document_key = $1 AND revision = $2");
  db_.Prepare("rev_list",
              "SELECT document_key, operations, NULL, idempotency_key, request_hash"
              " FROM document_revisions WHERE document_key = $1 AND revision > $2"
              " ORDER BY revision LIMIT $3");
}

absl::StatusOr<LoadedDocument> DocumentStore::LoadWithAccess(Transaction& tx,
                                                             const std::string& actor_id,
                                                             const std::string& session_id,
                                                             const DocumentName& name) {
  return ReadWithAccess(tx, "doc_load_with_facts", actor_id, session_id, name);
}

absl::StatusOr<LoadedDocument> DocumentStore::LockWithAccess(WriteTransaction& tx,
                                                             const std::string& actor_id,
                                                             const std::string& session_id,
                                                             const DocumentName& name) {
  return ReadWithAccess(tx, "doc_lock_with_facts", actor_id, session_id, name);
}

LoadedDocument DocumentStore::ReadWithAccess(Transaction& tx, const char* statement,
                                             const std::string& actor_id,
                                             const std::string& session_id,
                                             const DocumentName& name) {
  auto result = tx.sql().exec_prepared(statement, actor_id, session_id, name.person_id,
                                       CollectionText(name.collection), name.document_id);
  LoadedDocument loaded;
  const pqxx::row row = result[0];
  loaded.facts = ReadAccessFacts(row, 0, actor_id, name.person_id);
  if (!row[kAccessFactsColumns].is_null()) {
    loaded.document = ReadDocument(row, kAccessFactsColumns);
  }
  return loaded;
}

absl::StatusOr<std::vector<StoredDocument>> DocumentStore::List(
    Transaction& tx, const std::string& person_id, Collection collection, int kind,
    bool show_deleted, const DocumentCursor& after, int limit) {
  auto result = tx.sql().exec_prepared("doc_list", person_id, CollectionText(collection), kind,
                                       show_deleted, after.create_micros, after.key, limit);
  std::vector<StoredDocument> out;
  out.reserve(result.size());
  for (const auto& row : result) out.push_back(ReadDocument(row, 0));
  return out;
}

absl::StatusOr<std::optional<StoredDocument>> DocumentStore::LockForUpdate(
    WriteTransaction& tx, const DocumentName& name) {
  auto result = tx.sql().exec_prepared("doc_lock", name.person_id, CollectionText(name.collection),
                                       name.document_id);
  if (result.empty()) return std::optional<StoredDocument>();
  return std::optional<StoredDocument>(ReadDocument(result[0], 0));
}

absl::StatusOr<int64_t> DocumentStore::Insert(WriteTransaction& tx,
                                              const StoredDocument& document) {
  auto result = tx.sql().exec_prepared(
      "doc_insert", document.name.person_id, CollectionText(document.name.collection),
      document.name.document_id, document.kind, pqxx::binarystring(document.body),
      document.revision, TimeToMicros(document.create_time), document.creator_id);
  if (result.empty()) return AlreadyExistsError("document", FormatDocumentName(document.name));
  return result[0][0].as<int64_t>();
}

void DocumentStore::InsertRevision(WriteTransaction& tx, const RevisionRow& row) {
  nlohmann::json paths = nlohmann::json::array();
  for (const auto& path : row.revision.changed_paths()) paths.push_back(path);
  std::string operations;
  row.revision.SerializeToString(&operations);
  tx.sql().exec_prepared("rev_insert", row.document_key, row.revision.revision(),
                         static_cast<int>(row.revision.kind()), row.author_id,
                         TimeToMicros(FromTimestamp(row.revision.create_time())),
                         pqxx::binarystring(operations), paths.dump(),
                         pqxx::binarystring(row.snapshot), row.idempotency_key,
                         pqxx::binarystring(row.request_hash));
}

void DocumentStore::WriteRevision(WriteTransaction& tx, const StoredDocument& document,
                                  const RevisionRow& row) {
  nlohmann::json paths = nlohmann::json::array();
  for (const auto& path : row.revision.changed_paths()) paths.push_back(path);
  std::string operations;
  row.revision.SerializeToString(&operations);
  tx.sql().exec_prepared("doc_write_revision", document.key, pqxx::binarystring(document.body),
                         document.revision, TimeToMicros(document.update_time),
                         document.last_editor_id,
                         document.delete_time ? TimeToMicros(*document.delete_time) : int64_t{0},
                         static_cast<int>(row.revision.kind()), pqxx::binarystring(operations),
                         paths.dump(), row.idempotency_key, pqxx::binarystring(row.request_hash));
}

void DocumentStore::InsertSignOff(WriteTransaction& tx, int64_t document_key,
                                  const std::string& person_id, int role, int64_t revision) {
  tx.sql().exec_prepared("sign_off_insert", document_key, person_id, role, revision);
}

std::optional<RevisionRow> DocumentStore::FindRetriedBatch(Transaction& tx, int64_t document_key,
                                                           const std::string& author_id,
                                                           const std::string& idempotency_key) {
  pqxx::result rows =
      tx.sql().exec_prepared("rev_retried_batch", document_key, author_id, idempotency_key);
  if (rows.empty()) return std::nullopt;
  RevisionRow earlier;
  earlier.document_key = document_key;
  earlier.author_id = author_id;
  earlier.revision.ParseFromString(pqxx::binarystring(rows[0][0]).str());
  earlier.snapshot = pqxx::binarystring(rows[0][1]).str();
  earlier.idempotency_key = idempotency_key;
  earlier.request_hash = rows[0][2].is_null() ? "" : pqxx::binarystring(rows[0][2]).str();
  return earlier;
}

std::vector<PriorChange> DocumentStore::LoadChangesSince(Transaction& tx, int64_t document_key,
                                                         int64_t base_revision,
                                                         int64_t max_revisions) {
  std::vector<PriorChange> changes;
  for (const auto& row :
       tx.sql().exec_prepared("rev_changes_since", document_key, base_revision, max_revisions)) {
    const int64_t revision = row[0].as<int64_t>();
    for (const auto& path : nlohmann::json::parse(row[1].c_str())) {
      changes.push_back({revision, path.get<std::string>()});
    }
  }
  return changes;
}

absl::StatusOr<std::optional<RevisionRow>> DocumentStore::GetRevision(Transaction& tx,
                                                                      int64_t document_key,
                                                                      int64_t revision) {
  auto result = tx.sql().exec_prepared("rev_get", document_key, revision);
  if (result.empty()) return std::optional<RevisionRow>();
  return std::optional<RevisionRow>(ReadRevision(result[0], /*with_snapshot=*/true));
}

std::optional<StoredDocument> DocumentStore::LoadByKey(Transaction& tx, int64_t key) {
  auto result = tx.sql().exec_prepared("doc_by_key", key);
  if (result.empty()) return std::nullopt;
  return ReadDocument(result[0], 0);
}

std::map<int64_t, int64_t> DocumentStore::LatestRevisions(Transaction& tx,
                                                          const std::vector<int64_t>& keys) {
  std::map<int64_t, int64_t> latest;
  if (keys.empty()) return latest;
  for (const auto& row :
       tx.sql().exec_prepared("doc_latest_revisions", nlohmann::json(keys).dump())) {
    latest[row[0].as<int64_t>()] = row[1].as<int64_t>();
  }
  return latest;
}

std::vector<RevisionRow> DocumentStore::ListRevisions(Transaction& tx, int64_t document_key,
                                                      int64_t after_revision, int limit) {
  std::vector<RevisionRow> out;
  for (const auto& row : tx.sql().exec_prepared("rev_list", document_key, after_revision, limit)) {
    out.push_back(ReadRevision(row, /*with_snapshot=*/false));
  }
  return out;
}

}  // namespace coplan
