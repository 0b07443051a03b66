// One cold open of the device measure (bench/device_cache.cc): a fresh process that opens
// the encrypted cache with the server unreachable and reads the crisis plan. It links the
// client core alone, as an app does, so its start-up is the library's, not the benchmark's.
//
//   coplan-cold-open --cache_path=P --key_file=K --document=D --spawned_ns=N
//
// prints "started_ns=" (main reached) and "in_hand_ns=" (the plan read), both in
// nanoseconds since the parent's CLOCK_MONOTONIC stamp `spawned_ns`.
#include <fstream>
#include <iostream>
#include <iterator>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "bench/device_client.h"

namespace coplan::bench {
namespace {

int ColdOpen(const std::string& cache_path, const std::string& key_file,
             const std::string& document, int64_t spawned_ns, int64_t main_ns) {
  std::ifstream in(key_file, std::ios::binary);
  const std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto client = CoplanClient::Open(DeviceOptions(kUnreachableServer, cache_path, key));
  if (!client.ok()) {
    std::cerr << "cold-open: " << client.status() << "\n";
    return 1;
  }
  Answer<cv1::CachedDocument> copy;
  (*client)->GetDocument(document, copy.callback());
  auto cached = copy.Get(absl::Seconds(30));
  const int64_t in_hand_ns = MonotonicNanos();
  if (!cached.ok() || !cached->document().plan().has_crisis_plan()) {
    std::cerr << "cold-open: no crisis plan from the cache: " << cached.status() << "\n";
    return 1;
  }
  std::cout << "started_ns=" << (main_ns - spawned_ns)
            << "\nin_hand_ns=" << (in_hand_ns - spawned_ns) << std::endl;
  return 0;
}

}  // namespace
}  // namespace coplan::bench

int main(int argc, char** argv) {
  const int64_t main_ns = coplan::bench::MonotonicNanos();
  std::string cache_path, key_file, document;
  int64_t spawned_ns = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (absl::StartsWith(arg, "--cache_path=")) {
      cache_path = arg.substr(13);
    } else if (absl::StartsWith(arg, "--key_file=")) {
      key_file = arg.substr(11);
    } else if (absl::StartsWith(arg, "--document=")) {
      document = arg.substr(11);
    } else if (!absl::StartsWith(arg, "--spawned_ns=") ||
               !absl::SimpleAtoi(arg.substr(13), &spawned_ns)) {
      std::cerr << "usage: coplan-cold-open --cache_path=P --key_file=K --document=D "
                   "--spawned_ns=N\n";
      return 2;
    }
  }
  return coplan::bench::ColdOpen(cache_path, key_file, document, spawned_ns, main_ns);
}
