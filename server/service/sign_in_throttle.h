// Rate limits on password sign-in, checked before any database work or password hash:
// one token bucket per username (known or not, so a refusal says nothing about whether the
// account exists) and one per network peer (the client's address, see
// server/api/client_address.h).
//
// Behind a load balancer without --trusted_proxies, or a ward's shared NAT, many people
// are one peer, so the peer limit must not shut them out: a device that signed in to the
// account before shows it with a device cookie (AuthService) and is not limited by peer;
// the username limit and the account's pause after repeated failures still bound
// guessing with it. A successful sign-in gives its tokens back, and buckets
// refill continuously, so someone new behind an address under attack is only slowed while
// the flood lasts.
//   SignInThrottle throttle({.per_username_per_minute = 20, .per_peer_per_minute = 60});
//   COPLAN_RETURN_IF_ERROR(throttle.Admit(username, caller.peer, caller.now, known_device));
//   ... on success: throttle.Succeeded(username, caller.peer, caller.now, known_device);
#pragma once

#include <cstddef>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace coplan {

// ErrorInfo reason of a throttled sign-in; a RetryInfo detail says when to try again.
inline constexpr char kSignInThrottledReason[] = "SIGN_IN_THROTTLED";

class SignInThrottle {
 public:
  struct Options {
    // Attempts allowed at once and refilled per minute (0: no limit of that kind).
    int per_username_per_minute = 20;
    int per_peer_per_minute = 60;
    // Buckets kept of each kind; past it, full buckets are dropped (they are the same as
    // none), then the oldest.
    size_t max_tracked = 100000;
  };

  explicit SignInThrottle(Options options) : options_(options) {}

  // OK and one token of each bucket taken, or RESOURCE_EXHAUSTED (ErrorInfo
  // SIGN_IN_THROTTLED, RetryInfo) and nothing taken. `peer` "" or a `known_device` is not
  // limited by peer.
  absl::Status Admit(const std::string& username, const std::string& peer, absl::Time now,
                     bool known_device = false);
  // A sign-in that succeeded gives back the tokens its Admit took (the same arguments).
  void Succeeded(const std::string& username, const std::string& peer, absl::Time now,
                 bool known_device = false);

  size_t tracked_usernames() const;
  size_t tracked_peers() const;

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time updated;
  };
  using Buckets = absl::flat_hash_map<std::string, Bucket>;

  // The bucket for `key`, refilled to `now` (a new one is full).
  Bucket& Refilled(Buckets& buckets, const std::string& key, int per_minute, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void Prune(Buckets& buckets, int per_minute, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void GiveBack(Buckets& buckets, const std::string& key, int per_minute, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const Options options_;
  mutable absl::Mutex mutex_;
  Buckets usernames_ ABSL_GUARDED_BY(mutex_);
  Buckets peers_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace coplan
