#include "local/device_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/common/errors.h"
#include "server/common/status_macros.h"

namespace coplan::client::local {
namespace {

// Raises on a schema this code does not know (a newer app wrote it).
constexpr int kSchemaVersion = 1;

// Times as microseconds since the epoch; NULL for "never".
int64_t Micros(absl::Time time) { return absl::ToUnixMicros(time); }
absl::Time FromMicros(int64_t micros) { return absl::FromUnixMicros(micros); }

absl::Status Unreadable(const absl::Status& cause) {
  absl::Status status = absl::DataLossError(
      absl::StrCat("the offline cache cannot be read: the key is wrong or the file is damaged (",
                   cause.message(), "). Reset it (coplan_cache_destroy) and sign in again"));
  AttachErrorInfo(status, kCacheUnreadable, {});
  return status;
}

std::string JoinPaths(const std::vector<std::string>& paths) {
  // Paths never hold a newline (they are field names and item ids).
  return absl::StrJoin(paths, "\n");
}

std::vector<std::string> SplitPaths(const std::string& text) {
  if (text.empty()) return {};
  return absl::StrSplit(text, '\n');
}

}  // namespace

absl::StatusOr<std::unique_ptr<DeviceCache>> DeviceCache::Open(const std::string& path,
                                                               const std::string& key) {
  const bool in_memory = path.empty();
  if (!in_memory && key.size() != kCacheKeyBytes) {
    return InvalidFieldError("cache_key", absl::StrCat("must be ", kCacheKeyBytes,
                                                       " bytes (256 bits), not ", key.size()));
  }
  if (!in_memory) {
    // The file is the device's alone (0600) even where the process's umask would share
    // it: SQLite gives its journal the same mode as the database file.
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || ::fchmod(fd, 0600) != 0) {
      const int error = errno;
      if (fd >= 0) ::close(fd);
      const std::string message =
          absl::StrCat("cannot open the offline cache ", path, ": ", std::strerror(error));
      return error == EACCES || error == EPERM ? absl::PermissionDeniedError(message)
                                               : absl::FailedPreconditionError(message);
    }
    ::close(fd);
  }
  COPLAN_ASSIGN_OR_RETURN(SqliteDatabase db, SqliteDatabase::Open(in_memory ? ":memory:" : path));
  if (!in_memory) {
    // The key first, then the cipher parameters, before anything reads the file.
    COPLAN_RETURN_IF_ERROR(
        db.Execute(absl::StrCat("PRAGMA key = \"x'", absl::BytesToHexString(key), "'\"")));
    COPLAN_RETURN_IF_ERROR(db.Execute("PRAGMA cipher = 'aes-256-cbc'"));
    COPLAN_RETURN_IF_ERROR(db.Execute("PRAGMA cipher_page_size = 4096"));
    COPLAN_RETURN_IF_ERROR(db.Execute("PRAGMA cipher_use_hmac = ON"));
    COPLAN_RETURN_IF_ERROR(db.Execute("PRAGMA kdf_iter = 64000"));
    // A wrong key or a damaged first page fails here...
    auto tables = db.QueryText("SELECT count(*) FROM sqlite_master");
    if (!tables.ok()) return Unreadable(tables.status());
    // ... and any other damaged page here: every page's HMAC is checked as it is read.
    auto check = db.QueryText("PRAGMA quick_check");
    if (!check.ok()) return Unreadable(check.status());
    if (!check->has_value() || **check != "ok") {
      return Unreadable(absl::DataLossError(check->value_or("no answer")));
    }
  }
  COPLAN_RETURN_IF_ERROR(db.Execute("PRAGMA secure_delete = ON"));
  COPLAN_RETURN_IF_ERROR(db.Execute("PRAGMA synchronous = FULL"));
  COPLAN_RETURN_IF_ERROR(db.Execute("PRAGMA foreign_keys = ON"));
  if (!in_memory) COPLAN_RETURN_IF_ERROR(db.Execute("PRAGMA journal_mode = DELETE"));
  std::unique_ptr<DeviceCache> cache(new DeviceCache(path, std::move(db)));
  absl::Status schema = cache->CreateSchema();
  if (schema.code() == absl::StatusCode::kDataLoss) return Unreadable(schema);
  COPLAN_RETURN_IF_ERROR(schema);
  return cache;
}

absl::Status DeviceCache::Destroy(const std::string& path) {
  if (path.empty()) return absl::OkStatus();
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
    std::error_code error;
    std::filesystem::remove(path + suffix, error);
    if (error) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot delete the cache file ", path, suffix, ": ", error.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status DeviceCache::CreateSchema() {
  COPLAN_ASSIGN_OR_RETURN(auto version, db_.QueryText("PRAGMA user_version"));
  const int existing = version ? std::atoi(version->c_str()) : 0;
  if (existing == kSchemaVersion) return absl::OkStatus();
  if (existing > kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("the offline cache was written by a newer version of the app (schema ",
                     existing, "); update the app or reset the cache"));
  }
  // auto_vacuum must be chosen before the first table exists.
  COPLAN_RETURN_IF_ERROR(db_.Execute("PRAGMA auto_vacuum = FULL"));
  return db_.InTransaction([&] {
    COPLAN_RETURN_IF_ERROR(db_.Execute(R"sql(
      CREATE TABLE session (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        person TEXT NOT NULL,
        session TEXT NOT NULL,
        access_token TEXT NOT NULL,
        access_expire_time INTEGER NOT NULL,
        refresh_token TEXT NOT NULL,
        refresh_expire_time INTEGER NOT NULL);
      CREATE TABLE documents (
        name TEXT PRIMARY KEY,
        body BLOB NOT NULL,
        revision INTEGER NOT NULL,
        last_synced INTEGER,
        shown_until INTEGER);
      CREATE TABLE pending_batches (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        document TEXT NOT NULL REFERENCES documents (name) ON DELETE CASCADE,
        batch BLOB NOT NULL,
        sent_base_revision INTEGER NOT NULL DEFAULT 0,
        conflict BLOB);
      CREATE TABLE revision_paths (
        document TEXT NOT NULL REFERENCES documents (name) ON DELETE CASCADE,
        revision INTEGER NOT NULL,
        own INTEGER NOT NULL,
        paths BLOB NOT NULL,
        PRIMARY KEY (document, revision));
      CREATE TABLE grid_versions (
        name TEXT PRIMARY KEY,
        body BLOB NOT NULL,
        last_synced INTEGER);
      CREATE TABLE access_log (
        person TEXT PRIMARY KEY,
        body BLOB NOT NULL,
        last_synced INTEGER);
    )sql"));
    return db_.Execute(absl::StrCat("PRAGMA user_version = ", kSchemaVersion));
  });
}

absl::StatusOr<std::optional<StoredSession>> DeviceCache::LoadSession() {
  COPLAN_ASSIGN_OR_RETURN(Statement query,
                          db_.Prepare("SELECT person, session, access_token, access_expire_time, "
                                      "refresh_token, refresh_expire_time FROM session"));
  COPLAN_ASSIGN_OR_RETURN(bool row, query.Step());
  if (!row) return std::optional<StoredSession>();
  StoredSession session;
  session.person = query.Text(0);
  session.session = query.Text(1);
  session.access_token = query.Text(2);
  session.access_expire_time = FromMicros(query.Int(3));
  session.refresh_token = query.Text(4);
  session.refresh_expire_time = FromMicros(query.Int(5));
  return std::optional<StoredSession>(std::move(session));
}

absl::Status DeviceCache::SaveSession(const StoredSession& session) {
  COPLAN_ASSIGN_OR_RETURN(
      Statement upsert,
      db_.Prepare("INSERT OR REPLACE INTO session (id, person, session, access_token, "
                  "access_expire_time, refresh_token, refresh_expire_time) "
                  "VALUES (1, ?, ?, ?, ?, ?, ?)"));
  upsert.Bind(1, session.person)
      .Bind(2, session.session)
      .Bind(3, session.access_token)
      .Bind(4, Micros(session.access_expire_time))
      .Bind(5, session.refresh_token)
      .Bind(6, Micros(session.refresh_expire_time));
  return upsert.Run();
}

absl::StatusOr<std::vector<StoredDocument>> DeviceCache::LoadDocuments() {
  COPLAN_ASSIGN_OR_RETURN(
      Statement query,
      db_.Prepare("SELECT name, body, revision, last_synced, shown_until FROM documents"));
  std::vector<StoredDocument> documents;
  for (;;) {
    COPLAN_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    StoredDocument document;
    document.name = query.Text(0);
    if (!document.document.ParseFromString(query.Text(1))) {
      return Unreadable(absl::DataLossError("a stored document does not parse"));
    }
    document.revision = query.Int(2);
    if (!query.IsNull(3)) document.last_synced = FromMicros(query.Int(3));
    if (!query.IsNull(4)) document.shown_until = FromMicros(query.Int(4));
    documents.push_back(std::move(document));
  }
  return documents;
}

absl::Status DeviceCache::SaveDocument(const StoredDocument& document) {
  // An update, else an insert: INSERT OR REPLACE would delete the row first, and with it
  // (by cascade) the document's queued edits.
  COPLAN_ASSIGN_OR_RETURN(
      Statement update,
      db_.Prepare("UPDATE documents SET body = ?2, revision = ?3, last_synced = ?4, "
                  "shown_until = ?5 WHERE name = ?1"));
  COPLAN_ASSIGN_OR_RETURN(
      Statement insert,
      db_.Prepare("INSERT INTO documents (name, body, revision, last_synced, shown_until) "
                  "VALUES (?1, ?2, ?3, ?4, ?5)"));
  for (Statement* statement : {&update, &insert}) {
    statement->Bind(1, document.name)
        .BindBlob(2, document.document.SerializeAsString())
        .Bind(3, document.revision);
    if (document.last_synced == absl::InfinitePast()) {
      statement->BindNull(4);
    } else {
      statement->Bind(4, Micros(document.last_synced));
    }
    if (document.shown_until) {
      statement->Bind(5, Micros(*document.shown_until));
    } else {
      statement->BindNull(5);
    }
    COPLAN_RETURN_IF_ERROR(statement->Run());
    if (db_.Changes() > 0) break;
  }
  return absl::OkStatus();
}

absl::Status DeviceCache::DeleteDocument(const std::string& name) {
  COPLAN_ASSIGN_OR_RETURN(Statement remove, db_.Prepare("DELETE FROM documents WHERE name = ?"));
  remove.Bind(1, name);
  return remove.Run();  // batches and revision paths cascade
}

absl::StatusOr<std::vector<StoredBatch>> DeviceCache::LoadBatches() {
  COPLAN_ASSIGN_OR_RETURN(
      Statement query,
      db_.Prepare(
          "SELECT id, batch, sent_base_revision, conflict FROM pending_batches ORDER BY id"));
  std::vector<StoredBatch> batches;
  for (;;) {
    COPLAN_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    StoredBatch batch;
    if (!batch.batch.ParseFromString(query.Text(1))) {
      return Unreadable(absl::DataLossError("a queued edit does not parse"));
    }
    batch.batch.set_id(query.Int(0));
    batch.sent_base_revision = query.Int(2);
    if (!query.IsNull(3)) {
      batch.conflict.emplace();
      if (!batch.conflict->ParseFromString(query.Text(3))) {
        return Unreadable(absl::DataLossError("a stored conflict does not parse"));
      }
    }
    batches.push_back(std::move(batch));
  }
  return batches;
}

absl::StatusOr<int64_t> DeviceCache::AddBatch(StoredBatch& batch) {
  COPLAN_ASSIGN_OR_RETURN(
      Statement insert,
      db_.Prepare("INSERT INTO pending_batches (document, batch, sent_base_revision) "
                  "VALUES (?, ?, ?)"));
  insert.Bind(1, batch.batch.document())
      .BindBlob(2, batch.batch.SerializeAsString())
      .Bind(3, batch.sent_base_revision);
  COPLAN_RETURN_IF_ERROR(insert.Run());
  const int64_t id = db_.LastInsertId();
  batch.batch.set_id(id);
  return id;
}

absl::Status DeviceCache::UpdateBatch(const StoredBatch& batch) {
  COPLAN_ASSIGN_OR_RETURN(
      Statement update,
      db_.Prepare("UPDATE pending_batches SET batch = ?, sent_base_revision = ?, conflict = ? "
                  "WHERE id = ?"));
  update.BindBlob(1, batch.batch.SerializeAsString()).Bind(2, batch.sent_base_revision);
  if (batch.conflict) {
    update.BindBlob(3, batch.conflict->SerializeAsString());
  } else {
    update.BindNull(3);
  }
  update.Bind(4, batch.batch.id());
  return update.Run();
}

absl::Status DeviceCache::DeleteBatch(int64_t id) {
  COPLAN_ASSIGN_OR_RETURN(Statement remove,
                          db_.Prepare("DELETE FROM pending_batches WHERE id = ?"));
  remove.Bind(1, id);
  return remove.Run();
}

absl::StatusOr<std::vector<RevisionPaths>> DeviceCache::LoadRevisionPaths(
    const std::string& document) {
  COPLAN_ASSIGN_OR_RETURN(Statement query,
                          db_.Prepare("SELECT revision, own, paths FROM revision_paths "
                                      "WHERE document = ? ORDER BY revision"));
  query.Bind(1, document);
  std::vector<RevisionPaths> out;
  for (;;) {
    COPLAN_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    out.push_back({query.Int(0), query.Int(1) != 0, SplitPaths(query.Text(2))});
  }
  return out;
}

absl::Status DeviceCache::AddRevisionPaths(const std::string& document,
                                           const RevisionPaths& paths) {
  COPLAN_ASSIGN_OR_RETURN(Statement insert,
                          db_.Prepare("INSERT OR REPLACE INTO revision_paths "
                                      "(document, revision, own, paths) VALUES (?, ?, ?, ?)"));
  insert.Bind(1, document)
      .Bind(2, paths.revision)
      .Bind(3, int64_t{paths.own ? 1 : 0})
      .BindBlob(4, JoinPaths(paths.changed_paths));
  return insert.Run();
}

absl::Status DeviceCache::PruneRevisionPaths(const std::string& document, int64_t revision) {
  COPLAN_ASSIGN_OR_RETURN(
      Statement remove,
      db_.Prepare("DELETE FROM revision_paths WHERE document = ? AND revision <= ?"));
  remove.Bind(1, document).Bind(2, revision);
  return remove.Run();
}

namespace {

absl::StatusOr<std::optional<StoredPage>> LoadPage(SqliteDatabase& db, const std::string& sql,
                                                   const std::string& key) {
  COPLAN_ASSIGN_OR_RETURN(Statement query, db.Prepare(sql));
  query.Bind(1, key);
  COPLAN_ASSIGN_OR_RETURN(bool row, query.Step());
  if (!row) return std::optional<StoredPage>();
  StoredPage page;
  page.body = query.Text(0);
  if (!query.IsNull(1)) page.last_synced = FromMicros(query.Int(1));
  return std::optional<StoredPage>(std::move(page));
}

absl::Status SavePage(SqliteDatabase& db, const std::string& sql, const std::string& key,
                      const StoredPage& page) {
  COPLAN_ASSIGN_OR_RETURN(Statement upsert, db.Prepare(sql));
  upsert.Bind(1, key).BindBlob(2, page.body).Bind(3, Micros(page.last_synced));
  return upsert.Run();
}

}  // namespace

absl::StatusOr<std::optional<StoredPage>> DeviceCache::LoadGridVersion(const std::string& name) {
  return LoadPage(db_, "SELECT body, last_synced FROM grid_versions WHERE name = ?", name);
}

absl::Status DeviceCache::SaveGridVersion(const std::string& name, const StoredPage& page) {
  return SavePage(db_,
                  "INSERT OR REPLACE INTO grid_versions (name, body, last_synced) VALUES (?, ?, ?)",
                  name, page);
}

absl::StatusOr<std::optional<StoredPage>> DeviceCache::LoadAccessLog(const std::string& person) {
  return LoadPage(db_, "SELECT body, last_synced FROM access_log WHERE person = ?", person);
}

absl::Status DeviceCache::SaveAccessLog(const std::string& person, const StoredPage& page) {
  return SavePage(db_,
                  "INSERT OR REPLACE INTO access_log (person, body, last_synced) VALUES (?, ?, ?)",
                  person, page);
}

absl::Status DeviceCache::WipeAll() {
  COPLAN_RETURN_IF_ERROR(db_.InTransaction([&] {
    return db_.Execute(
        "DELETE FROM pending_batches; DELETE FROM revision_paths; DELETE FROM documents; "
        "DELETE FROM grid_versions; DELETE FROM access_log; DELETE FROM session;");
  }));
  // secure_delete zeroed the old rows and auto_vacuum gave their pages back; VACUUM also
  // rewrites what is left, so nothing of the old layout remains.
  return db_.Execute("VACUUM");
}

}  // namespace coplan::client::local
