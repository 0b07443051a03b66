// A small RAII layer over SQLCipher's SQLite API for the on-device cache: a database
// handle, prepared statements with typed binds and columns, and transactions. Errors come
// back as absl::Status; nothing here throws.
//
//   COPLAN_ASSIGN_OR_RETURN(SqliteDatabase db, SqliteDatabase::Open(path));
//   COPLAN_RETURN_IF_ERROR(db.Execute("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY)"));
//   COPLAN_ASSIGN_OR_RETURN(Statement insert, db.Prepare("INSERT INTO t VALUES (?)"));
//   insert.Bind(1, "x");
//   COPLAN_RETURN_IF_ERROR(insert.Run());
//
// SQLCipher 3.4.1 carries SQLite 3.15: no UPSERT, no RETURNING.
//
// Only SQLCipher's build of SQLite is used (<sqlcipher/sqlite3.h>, -lsqlcipher): linking
// it next to the system's plain libsqlite3 in one binary would let either one's symbols
// win, and the plain one would write the cache unencrypted (checked by a test).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct sqlite3;
struct sqlite3_stmt;

namespace coplan::client::local {

class Statement {
 public:
  Statement() = default;
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  ~Statement();

  // Parameters count from 1, as in SQL.
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, absl::string_view text);
  Statement& BindBlob(int index, absl::string_view bytes);
  Statement& BindNull(int index);

  // Steps once: true while there is a row to read, false when done.
  absl::StatusOr<bool> Step();
  // Steps to the end (statements without rows), then resets for another use.
  absl::Status Run();
  // Clears the bindings and rewinds, for another use.
  void Reset();

  int64_t Int(int column) const;
  std::string Text(int column) const;
  bool IsNull(int column) const;

 private:
  friend class SqliteDatabase;
  Statement(sqlite3* db, sqlite3_stmt* statement) : db_(db), statement_(statement) {}
  absl::Status Error(int code) const;

  sqlite3* db_ = nullptr;
  sqlite3_stmt* statement_ = nullptr;
};

class SqliteDatabase {
 public:
  // Opens (creating) the file; ":memory:" for a database that lives in memory only.
  static absl::StatusOr<SqliteDatabase> Open(const std::string& path);

  SqliteDatabase() = default;
  SqliteDatabase(SqliteDatabase&& other) noexcept;
  SqliteDatabase& operator=(SqliteDatabase&& other) noexcept;
  ~SqliteDatabase();

  absl::Status Execute(const std::string& sql);
  absl::StatusOr<Statement> Prepare(absl::string_view sql);
  // The first column of the first row of `sql`, as text (nullopt without a row).
  absl::StatusOr<std::optional<std::string>> QueryText(const std::string& sql);

  // Runs `body` in one transaction (BEGIN IMMEDIATE ... COMMIT), rolled back on error.
  template <typename Body>
  absl::Status InTransaction(Body&& body) {
    absl::Status begun = Execute("BEGIN IMMEDIATE");
    if (!begun.ok()) return begun;
    absl::Status status = body();
    if (!status.ok()) {
      (void)Execute("ROLLBACK");
      return status;
    }
    return Execute("COMMIT");
  }

  // Rows changed by the last statement, and the last inserted row id.
  int64_t Changes() const;
  int64_t LastInsertId() const;

  // Closes the handle (idempotent).
  void Close();
  bool is_open() const { return db_ != nullptr; }

 private:
  explicit SqliteDatabase(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

// The SQLite result code of a failed call, as an absl::Status: SQLITE_NOTADB and
// SQLITE_CORRUPT (an unreadable file) are DATA_LOSS, a full disk RESOURCE_EXHAUSTED, the
// rest INTERNAL; the message carries SQLite's own words.
absl::Status SqliteError(int code, absl::string_view message);

}  // namespace coplan::client::local
