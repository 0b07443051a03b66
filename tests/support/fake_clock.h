// A clock tests move by hand, to check rules at chosen instants (grant and token expiry,
// the 16th birthday). Thread-safe: the server reads it from its own threads.
//
//   FakeClock clock(absl::FromCivil(absl::CivilSecond(2026, 6, 30, 12, 0, 0),
//   absl::UTCTimeZone())); auto server = TestServer::Start({.clock = &clock});
//   clock.Advance(absl::Hours(13));
#pragma once

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/common/clock.h"

namespace coplan::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start) : now_(start) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mutex_);
    return now_;
  }
  void Set(absl::Time now) {
    absl::MutexLock lock(&mutex_);
    now_ = now;
  }
  void Advance(absl::Duration by) {
    absl::MutexLock lock(&mutex_);
    now_ += by;
  }

 private:
  mutable absl::Mutex mutex_;
  absl::Time now_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace coplan::testing
