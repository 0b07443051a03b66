#include "server/auth/password_hasher.h"

#include <argon2.h>
#include <openssl/rand.h>

#include <vector>

#include "server/common/errors.h"

namespace coplan {

absl::Status PasswordHasher::Acquire(absl::Time deadline) {
  absl::MutexLock lock(&mutex_);
  auto free = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return in_flight_ < options_.max_concurrent;
  };
  if (!mutex_.AwaitWithDeadline(absl::Condition(&free), deadline)) {
    absl::Status status =
        absl::UnavailableError("too many sign-ins at once; try again in a moment");
    AttachErrorInfo(status, reason::kUnavailable);
    return status;
  }
  ++in_flight_;
  return absl::OkStatus();
}

void PasswordHasher::Release() {
  absl::MutexLock lock(&mutex_);
  --in_flight_;
}

int PasswordHasher::in_flight() const {
  absl::MutexLock lock(&mutex_);
  return in_flight_;
}

absl::StatusOr<std::string> PasswordHasher::Hash(const std::string& password, absl::Time deadline) {
  unsigned char salt[16];
  if (RAND_bytes(salt, sizeof salt) != 1) return absl::InternalError("no randomness for a salt");
  const size_t encoded_length = argon2_encodedlen(options_.iterations, options_.memory_kib,
                                                  options_.parallelism, sizeof salt, 32, Argon2_id);
  std::vector<char> encoded(encoded_length);
  if (auto status = Acquire(deadline); !status.ok()) return status;
  const int result = argon2id_hash_encoded(options_.iterations, options_.memory_kib,
                                           options_.parallelism, password.data(), password.size(),
                                           salt, sizeof salt, 32, encoded.data(), encoded.size());
  Release();
  if (result != ARGON2_OK) return absl::InternalError(argon2_error_message(result));
  return std::string(encoded.data());
}

absl::StatusOr<bool> PasswordHasher::Verify(const std::string& encoded, const std::string& password,
                                            absl::Time deadline) {
  if (auto status = Acquire(deadline); !status.ok()) return status;
  const int result = argon2id_verify(encoded.c_str(), password.data(), password.size());
  Release();
  return result == ARGON2_OK;
}

}  // namespace coplan
