#include "server/store/secret_store.h"

#include <pqxx/pqxx>

#include "server/common/ids.h"
#include "server/store/database.h"

namespace coplan {

absl::StatusOr<std::string> LoadOrCreateDatabaseSecret(Database& db) {
  std::string secret;
  absl::Status status = db.Write(absl::Now() + absl::Seconds(30), [&](WriteTransaction& tx) {
    tx.sql().exec_params(
        "INSERT INTO server_secrets (name, value) VALUES ('master', $1) ON CONFLICT DO NOTHING",
        pqxx::binarystring(NewRandomToken(32)));
    secret = pqxx::binarystring(
                 tx.sql().exec("SELECT value FROM server_secrets WHERE name = 'master'")[0][0])
                 .str();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return secret;
}

}  // namespace coplan
