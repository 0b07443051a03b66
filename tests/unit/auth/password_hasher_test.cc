// Argon2id password hashing with bounded concurrency.
#include "server/auth/password_hasher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace coplan {
namespace {

TEST(PasswordHasherTest, HashesWithArgon2idAndBoundsConcurrency) {
  PasswordHasher hasher({.max_concurrent = 1});
  auto hash = hasher.Hash("correct horse battery staple", absl::InfiniteFuture());
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(hash->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << *hash;
  EXPECT_TRUE(*hasher.Verify(*hash, "correct horse battery staple", absl::InfiniteFuture()));
  EXPECT_FALSE(*hasher.Verify(*hash, "wrong", absl::InfiniteFuture()));

  std::atomic<int> most{0};
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done) most = std::max(most.load(), hasher.in_flight());
  });
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&hasher, i] {
      (void)hasher.Hash("password-" + std::to_string(i), absl::InfiniteFuture());
    });
  }
  for (auto& thread : threads) thread.join();
  done = true;
  watcher.join();
  EXPECT_EQ(most.load(), 1);
}

}  // namespace
}  // namespace coplan
