#include "server/store/migrations.h"

#include <openssl/evp.h>

#include <map>
#include <pqxx/pqxx>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/common/log.h"

namespace coplan {
namespace {

// Arbitrary constant identifying Coplan's migration lock among advisory locks.
constexpr int64_t kMigrationLockId = 0x636f706c616e01;

std::string Sha256Hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), length));
}

absl::StatusOr<int> VersionOf(const std::string& name) {
  int version = 0;
  if (name.size() < 10 || name[4] != '_' || !absl::SimpleAtoi(name.substr(0, 4), &version) ||
      version <= 0 || name.substr(name.size() - 4) != ".sql") {
    return absl::InternalError(absl::StrCat("migration file name ", name, " is not NNNN_name.sql"));
  }
  return version;
}

}  // namespace

absl::StatusOr<MigrationReport> ApplyMigrations(const std::string& conninfo) {
  return ApplyMigrations(conninfo, EmbeddedMigrations());
}

absl::StatusOr<MigrationReport> ApplyMigrations(const std::string& conninfo,
                                                const std::vector<MigrationFile>& files) {
  MigrationReport report;
  try {
    pqxx::connection conn(conninfo);
    pqxx::work tx(conn);
    tx.exec("SET LOCAL lock_timeout = '60s'");
    tx.exec(absl::StrCat("SELECT pg_advisory_xact_lock(", kMigrationLockId, ")"));
    tx.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "  version integer PRIMARY KEY,"
        "  name text NOT NULL,"
        "  checksum text NOT NULL,"
        "  applied_time timestamptz NOT NULL DEFAULT now())");
    std::map<int, std::pair<std::string, std::string>> applied;
    for (const auto& row : tx.exec("SELECT version, name, checksum FROM schema_migrations")) {
      applied[row[0].as<int>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
    }
    int previous = 0;
    for (const MigrationFile& file : files) {
      auto version = VersionOf(file.name);
      if (!version.ok()) return version.status();
      if (*version <= previous) {
        return absl::InternalError(absl::StrCat("migration ", file.name, " is out of order"));
      }
      previous = *version;
      const std::string checksum = Sha256Hex(file.sql);
      auto found = applied.find(*version);
      if (found != applied.end()) {
        if (found->second.second != checksum) {
          return absl::FailedPreconditionError(absl::StrCat(
              "migration ", file.name, " was changed after it was applied (applied as ",
              found->second.first, "); landed migrations must never be edited"));
        }
        ++report.already_applied;
        continue;
      }
      tx.exec(file.sql);
      tx.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                     *version, std::string(file.name), checksum);
      report.applied.push_back(file.name);
    }
    // The database knows a migration this binary does not: an older binary on a newer schema.
    for (const auto& [version, entry] : applied) {
      if (version > previous) {
        return absl::FailedPreconditionError(
            absl::StrCat("the database has migration ", entry.first,
                         " which this server does not know; run a newer coplan-server"));
      }
    }
    tx.commit();
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("applying migrations failed: ", e.what()));
  }
  for (const auto& name : report.applied)
    Log(LogLevel::kInfo, "migration_applied").Str("file", name);
  return report;
}

absl::Status CheckDatabaseIsReadyForServer(const std::string& conninfo) {
  return CheckDatabaseIsReadyForServer(conninfo, EmbeddedMigrations());
}

absl::Status CheckDatabaseIsReadyForServer(const std::string& conninfo,
                                           const std::vector<MigrationFile>& files) {
  try {
    pqxx::connection conn(conninfo);
    pqxx::nontransaction tx(conn);
    std::map<int, std::string> applied;
    if (!tx.exec("SELECT to_regclass('schema_migrations')")[0][0].is_null()) {
      for (const auto& row : tx.exec("SELECT version, checksum FROM schema_migrations")) {
        applied[row[0].as<int>()] = row[1].as<std::string>();
      }
    }
    for (const MigrationFile& file : files) {
      auto version = VersionOf(file.name);
      if (!version.ok()) return version.status();
      auto found = applied.find(*version);
      if (found == applied.end() || found->second != Sha256Hex(file.sql)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the database schema is older than this server needs (", file.name,
            " is not applied); run `coplan-server migrate` with the schema owner's credentials "
            "first (the server's own role may not change the schema)"));
      }
    }
    auto role = tx.exec(
        "SELECT current_user, r.rolsuper, pg_has_role(current_user, c.relowner, 'USAGE')"
        " FROM pg_roles r, pg_class c"
        " WHERE r.rolname = current_user AND c.oid = 'audit_events'::regclass");
    if (role.empty()) return absl::FailedPreconditionError("the audit trail table is missing");
    if (role[0][1].as<bool>() || role[0][2].as<bool>()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the server's database role ", role[0][0].as<std::string>(),
          " is a superuser or acts as the schema's owner, so it could switch the audit "
          "trail's protections off; connect as a role with data access only (a member of ",
          kServerGroupRole, ": see deploy/postgres-setup.sql)"));
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot check the database: ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace coplan
