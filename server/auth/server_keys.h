// The server's secret keys, derived from one master secret:
//   token_key  signs the server's own access tokens (HMAC-SHA256);
//   audit_key  MACs audit rows and the audit chain head;
//   page_token_key  MACs page tokens (service/page_token.h).
//
// The master secret comes from a file (--secret_file), created on first use for the
// embedded database beside its data directory. Several instances on one database must
// share it. It is never kept in the database: anyone who can read a table there could then
// mint tokens and reseal the audit trail.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace coplan {

struct ServerKeys {
  std::string token_key;
  std::string audit_key;
  std::string page_token_key;
};

// Reads `secret_file`; `create_file`: generates it first when missing.
absl::StatusOr<ServerKeys> LoadServerKeys(const std::string& secret_file, bool create_file);
// Writes `secret` to a new file readable by its owner only; refuses to replace one.
absl::Status WriteSecretFile(const std::string& path, const std::string& secret);
ServerKeys DeriveServerKeys(const std::string& master_secret);

}  // namespace coplan
