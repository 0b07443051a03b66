// Delays between attempts that grow exponentially, with ±50% jitter so that clients that
// failed together do not all come back together (Firestore's remote/exponential_backoff.h
// is the model). The first attempt is immediate.
//
//   ExponentialBackoff backoff(absl::Milliseconds(100), absl::Seconds(5));
//   queue.EnqueueAfter(backoff.Next(), [&] { Connect(); });
//   backoff.Reset();   // after a success
#pragma once

#include <random>

#include "absl/time/time.h"

namespace coplan::client::remote {

class ExponentialBackoff {
 public:
  ExponentialBackoff(absl::Duration initial, absl::Duration max, double factor = 2.0);

  // The delay before the next attempt (zero for the first after a Reset).
  absl::Duration Next();
  // Starts again from no delay.
  void Reset() { current_ = absl::ZeroDuration(); }
  // Waits the longest from now on (the server said it is overloaded).
  void ResetToMax() { current_ = max_; }

 private:
  const absl::Duration initial_;
  const absl::Duration max_;
  const double factor_;
  absl::Duration current_ = absl::ZeroDuration();
  std::mt19937_64 random_{std::random_device{}()};
};

}  // namespace coplan::client::remote
