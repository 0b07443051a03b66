#include "server/auth/server_keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/common/crypto.h"
#include "server/common/ids.h"
#include "server/common/status_macros.h"

namespace coplan {

ServerKeys DeriveServerKeys(const std::string& master_secret) {
  ServerKeys keys;
  keys.token_key = HmacSha256(master_secret, "coplan token signing v1");
  keys.audit_key = HmacSha256(master_secret, "coplan audit trail v1");
  keys.page_token_key = HmacSha256(master_secret, "coplan page tokens v1");
  return keys;
}

absl::Status WriteSecretFile(const std::string& path, const std::string& secret) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create secret file ", path, ": ", strerror(errno)));
  }
  const bool written =
      ::write(fd, secret.data(), secret.size()) == static_cast<ssize_t>(secret.size()) &&
      ::fsync(fd) == 0;
  ::close(fd);
  if (!written) return absl::InternalError(absl::StrCat("cannot write the secret file ", path));
  return absl::OkStatus();
}

absl::StatusOr<ServerKeys> LoadServerKeys(const std::string& secret_file, bool create_file) {
  if (secret_file.empty()) {
    return absl::FailedPreconditionError(
        "no secret file: with --database_url, set --secret_file (the master secret signs "
        "tokens and seals the audit trail, and is never kept in the database)");
  }
  if (::access(secret_file.c_str(), F_OK) != 0 && create_file) {
    COPLAN_RETURN_IF_ERROR(WriteSecretFile(secret_file, NewRandomToken(32)));
  }
  std::ifstream in(secret_file);
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot read secret file ", secret_file,
        " (create one with: head -c 32 /dev/urandom | base64 > FILE; chmod 600 FILE; a "
        "database that holds the secret of an earlier version: coplan-server "
        "move-secret-to-file)"));
  }
  std::stringstream text;
  text << in.rdbuf();
  const std::string secret(absl::StripAsciiWhitespace(text.str()));
  if (secret.size() < 32) {
    return absl::FailedPreconditionError(
        absl::StrCat("secret file ", secret_file, " holds fewer than 32 characters"));
  }
  return DeriveServerKeys(secret);
}

}  // namespace coplan
