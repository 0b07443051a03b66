// The device cache (client-lib/src/local/device_cache.cc) on real SQLCipher files: what is
// written survives reopening, nothing is in the clear on disk (the file and its journal),
// and a wrong key, a flipped byte or a truncated file is DATA_LOSS, never wrong data.
#include "local/device_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"

namespace coplan::client::local {
namespace {

std::string TempDir() {
  char pattern[] = "/tmp/coplan-cache-test-XXXXXX";
  const char* dir = mkdtemp(pattern);
  EXPECT_NE(dir, nullptr);
  return dir == nullptr ? "/tmp" : dir;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string Key(char seed) {
  std::string key(kCacheKeyBytes, '\0');
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<char>(seed + 3 * i);
  return key;
}

StoredDocument CrisisPlan(const std::string& secret) {
  StoredDocument stored;
  stored.name = "people/p1/plans/crisis";
  stored.revision = 3;
  stored.last_synced = absl::FromUnixSeconds(1'800'000'000);
  stored.document.mutable_plan()->set_name(stored.name);
  stored.document.mutable_plan()->set_title(secret);
  return stored;
}

void ExpectUnreadable(const absl::StatusOr<std::unique_ptr<DeviceCache>>& opened) {
  ASSERT_FALSE(opened.ok()) << "a damaged or foreign cache opened";
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss) << opened.status();
}

class DeviceCacheTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = TempDir() + "/device.cache"; }
  // A cache holding one plan titled `secret` and a queued batch, closed.
  void Fill(const std::string& secret) {
    auto cache = DeviceCache::Open(path_, Key(1));
    ASSERT_TRUE(cache.ok()) << cache.status();
    ASSERT_TRUE((*cache)->SaveDocument(CrisisPlan(secret)).ok());
    StoredBatch batch;
    batch.batch.set_document("people/p1/plans/crisis");
    batch.batch.set_base_revision(3);
    batch.batch.set_idempotency_key(absl::StrCat("key-", secret));
    ASSERT_TRUE((*cache)->AddBatch(batch).ok());
  }
  std::string path_;
};

TEST_F(DeviceCacheTest, WhatIsWrittenIsThereAfterReopeningWithTheKey) {
  Fill("text my sister");
  auto cache = DeviceCache::Open(path_, Key(1));
  ASSERT_TRUE(cache.ok()) << cache.status();
  auto documents = (*cache)->LoadDocuments();
  ASSERT_TRUE(documents.ok()) << documents.status();
  ASSERT_EQ(documents->size(), 1u);
  EXPECT_EQ((*documents)[0].document.plan().title(), "text my sister");
  EXPECT_EQ((*documents)[0].revision, 3);
  EXPECT_EQ((*documents)[0].last_synced, absl::FromUnixSeconds(1'800'000'000));
  auto batches = (*cache)->LoadBatches();
  ASSERT_TRUE(batches.ok());
  ASSERT_EQ(batches->size(), 1u);
  EXPECT_EQ((*batches)[0].batch.idempotency_key(), "key-text my sister");
}

TEST_F(DeviceCacheTest, NothingIsInTheClearInTheFileOrItsJournal) {
  Fill("Morwenna-4421");
  const std::string file = ReadAll(path_);
  ASSERT_GT(file.size(), 0u);
  EXPECT_EQ(file.find("SQLite format 3"), std::string::npos);
  EXPECT_EQ(file.find("Morwenna-4421"), std::string::npos);
  EXPECT_EQ(file.find("people/p1"), std::string::npos);
  EXPECT_EQ(file.find("CREATE TABLE"), std::string::npos);
  // A transaction left open writes the rollback journal: it is encrypted too.
  auto cache = DeviceCache::Open(path_, Key(1));
  ASSERT_TRUE(cache.ok());
  std::string journal;
  ASSERT_TRUE((*cache)
                  ->InTransaction([&] {
                    absl::Status saved = (*cache)->SaveDocument(CrisisPlan("Bryony-9981"));
                    journal = ReadAll(path_ + "-journal");
                    return saved;
                  })
                  .ok());
  EXPECT_FALSE(journal.empty()) << "no journal was written during the transaction";
  EXPECT_EQ(journal.find("Morwenna-4421"), std::string::npos);
  EXPECT_EQ(journal.find("people/p1"), std::string::npos);
  EXPECT_EQ(ReadAll(path_).find("Bryony-9981"), std::string::npos);
}

// Another user of the device (or an app that may read shared storage) cannot even read
// the ciphertext: the file and its journal are 0600 whatever the process's umask, also
// for a file left readable by an older version.
TEST_F(DeviceCacheTest, TheFileAndItsJournalAreTheOwnersAlone) {
  const mode_t previous = ::umask(022);
  Fill("private");
  auto cache = DeviceCache::Open(path_, Key(1));
  ASSERT_TRUE(cache.ok()) << cache.status();
  struct stat file_info, journal_info;
  ASSERT_TRUE((*cache)
                  ->InTransaction([&] {
                    absl::Status saved = (*cache)->SaveDocument(CrisisPlan("again"));
                    EXPECT_EQ(::stat((path_ + "-journal").c_str(), &journal_info), 0);
                    return saved;
                  })
                  .ok());
  cache->reset();
  ASSERT_EQ(::stat(path_.c_str(), &file_info), 0);
  EXPECT_EQ(file_info.st_mode & 0777, 0600u);
  EXPECT_EQ(journal_info.st_mode & 0777, 0600u);
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  ASSERT_TRUE(DeviceCache::Open(path_, Key(1)).ok());
  ASSERT_EQ(::stat(path_.c_str(), &file_info), 0);
  EXPECT_EQ(file_info.st_mode & 0777, 0600u);
  ::umask(previous);
}

// A cache in a folder that does not exist is a clear error, not a crash or an empty cache.
TEST_F(DeviceCacheTest, ACacheInAMissingFolderIsAClearError) {
  auto cache = DeviceCache::Open(path_ + ".d/missing/device.cache", Key(1));
  ASSERT_FALSE(cache.ok());
  EXPECT_EQ(cache.status().code(), absl::StatusCode::kFailedPrecondition) << cache.status();
  EXPECT_THAT(std::string(cache.status().message()), ::testing::HasSubstr("missing"));
}

TEST_F(DeviceCacheTest, AWrongKeyIsDataLossAndLeavesTheFileAsItWas) {
  Fill("plan");
  const std::string before = ReadAll(path_);
  ExpectUnreadable(DeviceCache::Open(path_, Key(2)));
  EXPECT_EQ(ReadAll(path_), before);
  EXPECT_TRUE(DeviceCache::Open(path_, Key(1)).ok());
  // A key of the wrong size is the app's mistake, said as such.
  auto short_key = DeviceCache::Open(path_, "too short");
  ASSERT_FALSE(short_key.ok());
  EXPECT_EQ(short_key.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DeviceCacheTest, AFlippedByteOrATruncatedFileIsDataLossNotWrongData) {
  Fill("plan");
  const std::string good = ReadAll(path_);
  ASSERT_GE(good.size(), 3 * 4096u);
  // One bit in the middle of the second page (past the salt of the first).
  std::string flipped = good;
  flipped[4096 + 1000] ^= 0x01;
  WriteAll(path_, flipped);
  ExpectUnreadable(DeviceCache::Open(path_, Key(1)));

  WriteAll(path_, good.substr(0, good.size() - 4096 - 17));
  ExpectUnreadable(DeviceCache::Open(path_, Key(1)));

  // The app's way out: destroy it and start again, empty.
  ASSERT_TRUE(DeviceCache::Destroy(path_).ok());
  EXPECT_NE(access(path_.c_str(), F_OK), 0);
  auto fresh = DeviceCache::Open(path_, Key(1));
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_TRUE((*fresh)->LoadDocuments()->empty());
}

TEST_F(DeviceCacheTest, WipingLeavesNoRowsBehindAcrossAReopen) {
  Fill("Carys-5151");
  {
    auto cache = DeviceCache::Open(path_, Key(1));
    ASSERT_TRUE(cache.ok());
    ASSERT_TRUE((*cache)->WipeAll().ok());
    EXPECT_TRUE((*cache)->LoadDocuments()->empty());
    EXPECT_TRUE((*cache)->LoadBatches()->empty());
    EXPECT_FALSE((*cache)->LoadSession()->has_value());
  }
  auto reopened = DeviceCache::Open(path_, Key(1));
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE((*reopened)->LoadDocuments()->empty());
}

}  // namespace
}  // namespace coplan::client::local
