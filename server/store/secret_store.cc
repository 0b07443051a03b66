#include "server/store/secret_store.h"

#include <pqxx/pqxx>

#include "server/store/database.h"

namespace coplan {

absl::StatusOr<std::optional<std::string>> ReadDatabaseSecret(Database& db) {
  std::optional<std::string> secret;
  absl::Status status = db.Read(absl::Now() + absl::Seconds(30), [&](Transaction& tx) {
    pqxx::result rows = tx.sql().exec("SELECT value FROM server_secrets WHERE name = 'master'");
    if (!rows.empty()) secret = pqxx::binarystring(rows[0][0]).str();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return secret;
}

absl::Status DeleteDatabaseSecret(Database& db) {
  return db.Write(absl::Now() + absl::Seconds(30), [&](WriteTransaction& tx) {
    tx.sql().exec("DELETE FROM server_secrets WHERE name = 'master'");
    return absl::OkStatus();
  });
}

}  // namespace coplan
