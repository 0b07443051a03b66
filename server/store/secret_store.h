// The master secret that earlier versions kept in the database (server_secrets) when no
// secret file was configured. The server no longer reads it: anyone who can read that table
// could mint tokens for any person. `coplan-server move-secret-to-file` takes it out once,
// so that audit trails sealed with it stay verifiable.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace coplan {

class Database;

// The secret held in the database, if one is.
absl::StatusOr<std::optional<std::string>> ReadDatabaseSecret(Database& db);
// Removes it (once it is kept in a file).
absl::Status DeleteDatabaseSecret(Database& db);

}  // namespace coplan
