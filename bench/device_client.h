// What the device measures (bench/device_cache.cc) and their cold-open program
// (bench/cold_open_main.cc) share: a client core configured as a phone, and waiting for
// its callbacks.
#pragma once

#include <time.h>

#include <cstdint>
#include <functional>
#include <future>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coplan/client/coplan_client.h"

namespace coplan::bench {

using coplan::client::ClientOptions;
using coplan::client::CoplanClient;
namespace cv1 = coplan::client::v1;

// Nothing listens here: the "no signal" server.
inline constexpr char kUnreachableServer[] = "127.0.0.1:1";

inline int64_t MonotonicNanos() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

// Waits for one callback of the client core.
template <typename T>
class Answer {
 public:
  std::function<void(absl::StatusOr<T>)> callback() {
    return [this](absl::StatusOr<T> value) { promise_.set_value(std::move(value)); };
  }
  absl::StatusOr<T> Get(absl::Duration timeout = absl::Seconds(60)) {
    auto future = promise_.get_future();
    if (future.wait_for(absl::ToChronoNanoseconds(timeout)) != std::future_status::ready) {
      return absl::DeadlineExceededError("the client core did not answer in time");
    }
    return future.get();
  }

 private:
  std::promise<absl::StatusOr<T>> promise_;
};

inline absl::Status AwaitStatus(const std::function<void(std::function<void(absl::Status)>)>& call,
                                absl::Duration timeout) {
  std::promise<absl::Status> promise;
  call([&promise](absl::Status status) { promise.set_value(std::move(status)); });
  auto future = promise.get_future();
  if (future.wait_for(absl::ToChronoNanoseconds(timeout)) != std::future_status::ready) {
    return absl::DeadlineExceededError("the client core did not answer in time");
  }
  return future.get();
}

inline ClientOptions DeviceOptions(const std::string& server, const std::string& cache_path,
                                   const std::string& key) {
  ClientOptions options;
  options.server = server;
  options.cache_path = cache_path;
  options.cache_key = key;
  options.device_name = "bench phone";
  options.call_deadline = absl::Seconds(10);
  options.max_backoff = absl::Milliseconds(200);
  return options;
}

}  // namespace coplan::bench
