// Password hashing with Argon2id (libargon2) at the OWASP-recommended cost:
// 19 MiB of memory, 2 iterations, 1 lane.
//
// Each hash takes ~19 MiB, so at most `max_concurrent` run at once; a burst of sign-ins
// queues (until the call's deadline) instead of exhausting memory.
//
//   PasswordHasher hasher({});
//   COPLAN_ASSIGN_OR_RETURN(std::string encoded, hasher.Hash("correct horse battery", deadline));
//   COPLAN_ASSIGN_OR_RETURN(bool ok, hasher.Verify(encoded, attempt, deadline));
#pragma once

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace coplan {

class PasswordHasher {
 public:
  struct Options {
    uint32_t memory_kib = 19456;
    uint32_t iterations = 2;
    uint32_t parallelism = 1;
    int max_concurrent = 2;
  };

  explicit PasswordHasher(Options options) : options_(options) {}

  // "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>"
  absl::StatusOr<std::string> Hash(const std::string& password, absl::Time deadline);
  // False for a wrong password or an unreadable encoding.
  absl::StatusOr<bool> Verify(const std::string& encoded, const std::string& password,
                              absl::Time deadline);

  int in_flight() const;

 private:
  absl::Status Acquire(absl::Time deadline);
  void Release();

  const Options options_;
  mutable absl::Mutex mutex_;
  int in_flight_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace coplan
