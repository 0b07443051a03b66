#include "server/service/sign_in_throttle.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "server/common/errors.h"
#include "server/common/metrics.h"

namespace coplan {

namespace {

// Seconds until a bucket refilling `per_minute` tokens a minute holds one again.
double SecondsUntilOneToken(double tokens, int per_minute) {
  return std::max(0.0, (1.0 - tokens) * 60.0 / per_minute);
}

absl::Status Throttled(double retry_seconds) {
  // Whole seconds, at least one: a client that retries at once only spends its next token.
  const int64_t seconds = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(retry_seconds)));
  absl::Status status = absl::ResourceExhaustedError(
      absl::StrCat("too many sign-in attempts; try again in ", seconds, " s"));
  AttachErrorInfo(status, kSignInThrottledReason, {{"retry_after_seconds", absl::StrCat(seconds)}});
  google::rpc::RetryInfo retry;
  retry.mutable_retry_delay()->set_seconds(seconds);
  AttachDetail(status, retry);
  return status;
}

// The time below which the older half of `times` lies.
absl::Time MedianOf(std::vector<absl::Time> times) {
  auto middle = times.begin() + times.size() / 2;
  std::nth_element(times.begin(), middle, times.end());
  return *middle;
}

}  // namespace

SignInThrottle::Bucket& SignInThrottle::Refilled(Buckets& buckets, const std::string& key,
                                                 int per_minute, absl::Time now) {
  auto [it, inserted] = buckets.try_emplace(key);
  Bucket& bucket = it->second;
  if (inserted) {
    bucket.tokens = per_minute;
  } else if (now > bucket.updated) {
    const double refill = absl::ToDoubleMinutes(now - bucket.updated) * per_minute;
    bucket.tokens = std::min<double>(per_minute, bucket.tokens + refill);
  }
  bucket.updated = std::max(bucket.updated, now);
  return bucket;
}

void SignInThrottle::Prune(Buckets& buckets, int per_minute, absl::Time now) {
  if (buckets.size() < options_.max_tracked) return;
  // A full bucket limits nothing: dropping it changes no answer.
  absl::erase_if(buckets, [&](const auto& entry) {
    const Bucket& bucket = entry.second;
    return bucket.tokens + absl::ToDoubleMinutes(now - bucket.updated) * per_minute >= per_minute;
  });
  // Each prune frees at least a quarter, so its cost is spread over that many new keys.
  if (buckets.size() <= options_.max_tracked * 3 / 4) return;
  // A flood of distinct names or addresses within a minute: forget the older half.
  // Those keys start again from a full bucket, and memory stays bounded.
  std::vector<absl::Time> times;
  times.reserve(buckets.size());
  for (const auto& [key, bucket] : buckets) times.push_back(bucket.updated);
  const absl::Time cutoff = MedianOf(std::move(times));
  absl::erase_if(buckets, [&](const auto& entry) { return entry.second.updated <= cutoff; });
}

absl::Status SignInThrottle::Admit(const std::string& username, const std::string& peer,
                                   absl::Time now, bool known_device) {
  absl::MutexLock lock(&mutex_);
  Bucket* by_name = nullptr;
  Bucket* by_peer = nullptr;
  if (options_.per_username_per_minute > 0) {
    Prune(usernames_, options_.per_username_per_minute, now);
    by_name = &Refilled(usernames_, username, options_.per_username_per_minute, now);
  }
  if (options_.per_peer_per_minute > 0 && !peer.empty() && !known_device) {
    Prune(peers_, options_.per_peer_per_minute, now);
    by_peer = &Refilled(peers_, peer, options_.per_peer_per_minute, now);
  }
  // Both are checked before either is spent, so a refusal takes nothing.
  double wait = 0;
  if (by_name && by_name->tokens < 1) {
    wait = std::max(wait, SecondsUntilOneToken(by_name->tokens, options_.per_username_per_minute));
  }
  if (by_peer && by_peer->tokens < 1) {
    wait = std::max(wait, SecondsUntilOneToken(by_peer->tokens, options_.per_peer_per_minute));
  }
  const bool name_empty = by_name && by_name->tokens < 1;
  const bool peer_empty = by_peer && by_peer->tokens < 1;
  if (name_empty || peer_empty) {
    static CounterFamily& throttled = Metrics().Counters(
        "coplan_sign_in_throttled_total",
        "Sign-in attempts refused by a rate limit, by the limit (both count when both are spent)",
        {"limit"});
    if (name_empty) throttled.Add({"username"});
    if (peer_empty) throttled.Add({"peer"});
    return Throttled(wait);
  }
  if (by_name) by_name->tokens -= 1;
  if (by_peer) by_peer->tokens -= 1;
  return absl::OkStatus();
}

void SignInThrottle::GiveBack(Buckets& buckets, const std::string& key, int per_minute,
                              absl::Time now) {
  // A bucket pruned meanwhile was full, and stays so.
  if (per_minute <= 0 || !buckets.contains(key)) return;
  Bucket& bucket = Refilled(buckets, key, per_minute, now);
  bucket.tokens = std::min<double>(per_minute, bucket.tokens + 1);
}

void SignInThrottle::Succeeded(const std::string& username, const std::string& peer, absl::Time now,
                               bool known_device) {
  absl::MutexLock lock(&mutex_);
  GiveBack(usernames_, username, options_.per_username_per_minute, now);
  if (!peer.empty() && !known_device) GiveBack(peers_, peer, options_.per_peer_per_minute, now);
}

size_t SignInThrottle::tracked_usernames() const {
  absl::MutexLock lock(&mutex_);
  return usernames_.size();
}

size_t SignInThrottle::tracked_peers() const {
  absl::MutexLock lock(&mutex_);
  return peers_.size();
}

}  // namespace coplan
