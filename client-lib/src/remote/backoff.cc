#include "remote/backoff.h"

#include <algorithm>

namespace coplan::client::remote {

ExponentialBackoff::ExponentialBackoff(absl::Duration initial, absl::Duration max, double factor)
    : initial_(initial), max_(max), factor_(factor) {}

absl::Duration ExponentialBackoff::Next() {
  const absl::Duration base = current_;
  current_ = current_ == absl::ZeroDuration() ? initial_ : std::min(max_, current_ * factor_);
  std::uniform_real_distribution<double> jitter(0.5, 1.5);
  return base * jitter(random_);
}

}  // namespace coplan::client::remote
