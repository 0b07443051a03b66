// Schema migrations: the numbered SQL files of db/migrations, embedded in the binary.
//
// ApplyMigrations runs the pending ones in order, in one transaction, under an advisory
// lock (so several instances starting together apply each file once) and records each
// in schema_migrations with a checksum. A landed file that was edited afterwards is
// refused: migrations are never edited once landed; add a new one.
//
//   COPLAN_ASSIGN_OR_RETURN(MigrationReport report, ApplyMigrations(conninfo));
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace coplan {

struct MigrationFile {
  const char* name;  // "0001_people_and_documents.sql"
  const char* sql;
};

// Generated at build time from db/migrations/*.sql, in file-name order.
const std::vector<MigrationFile>& EmbeddedMigrations();

struct MigrationReport {
  std::vector<std::string> applied;  // names applied by this call
  int already_applied = 0;
};

absl::StatusOr<MigrationReport> ApplyMigrations(const std::string& conninfo);
absl::StatusOr<MigrationReport> ApplyMigrations(const std::string& conninfo,
                                                const std::vector<MigrationFile>& files);

// The group role the server's login role belongs to; migrations grant it data access
// only (db/migrations/0007_audit_sealed_on_insert_and_server_role.sql).
inline constexpr char kServerGroupRole[] = "coplan_server";

// What `coplan-server serve` checks before it starts on a database it does not own:
// every migration this binary knows is applied (FAILED_PRECONDITION naming the first
// missing one otherwise: the server never migrates with its own role), and the role it
// connects as is neither a superuser nor able to act as the schema's owner, either of
// which could switch the audit trail's protections off (FAILED_PRECONDITION).
absl::Status CheckDatabaseIsReadyForServer(const std::string& conninfo);
absl::Status CheckDatabaseIsReadyForServer(const std::string& conninfo,
                                           const std::vector<MigrationFile>& files);

}  // namespace coplan
