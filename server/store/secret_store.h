// The master secret kept in the database when no secret file is configured (see
// auth/server_keys.h for why a file is better).
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace coplan {

class Database;

// Creates it on first use; every instance on the database reads the same one.
absl::StatusOr<std::string> LoadOrCreateDatabaseSecret(Database& db);

}  // namespace coplan
