// What time it is, for rules: grant and token expiry, the 16th birthday, review and
// follow-up dates, audit timestamps. Passed to whatever decides by time, so that tests
// can decide at chosen instants (Envoy's TimeSource is the pattern):
//
//   RealClock clock;                 // production: the system clock
//   caller.now = clock.Now();
//
//   FakeClock clock(absl::FromCivil(absl::CivilSecond(2026, 3, 14, 0, 0, 0), absl::UTCTimeZone()));
//   clock.Advance(absl::Hours(24));  // tests (tests/support/fake_clock.h)
//
// Deadlines, timeouts and timer periods are not rules: they measure real waiting and
// keep using absl::Now() and real sleeps.
#pragma once

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace coplan {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

// The process-wide real clock, for code with no clock passed to it (command-line tools).
Clock& SystemClock();

}  // namespace coplan
