// The server's secret keys, derived from one master secret:
//   token_key  signs the server's own access tokens (HMAC-SHA256);
//   audit_key  MACs audit rows and the audit chain head;
//   page_token_key  MACs page tokens (service/page_token.h).
//
// The master secret comes from a file (--secret-file), created on first use for the
// embedded database. Several instances on one database must share it. Without a file,
// it is generated once and kept in the database (server_secrets), which works but lets
// someone with database access forge tokens and audit rows: real deployments set a file.
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"

namespace coplan {

struct ServerKeys {
  std::string token_key;
  std::string audit_key;
  std::string page_token_key;
  bool from_file = false;
};

// The master secret kept in the database, created on first use (store/secret_store.h).
using DatabaseSecret = std::function<absl::StatusOr<std::string>()>;

// `secret_file` empty: use the database. `create_file`: generate the file when missing.
absl::StatusOr<ServerKeys> LoadServerKeys(const std::string& secret_file, bool create_file,
                                          const DatabaseSecret& database_secret);
ServerKeys DeriveServerKeys(const std::string& master_secret, bool from_file);

}  // namespace coplan
