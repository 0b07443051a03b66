#include "server/export/zip_stream.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <clocale>
#include <map>
#include <string>
#include <vector>

#include "absl/time/clock.h"

namespace coplan {
namespace {

std::map<std::string, std::string> ReadZip(const std::string& zip) {
  // The reader converts names to the locale's character set.
  setlocale(LC_CTYPE, "C.UTF-8");
  std::map<std::string, std::string> files;
  struct archive* reader = archive_read_new();
  archive_read_support_format_zip(reader);
  EXPECT_EQ(archive_read_open_memory(reader, zip.data(), zip.size()), ARCHIVE_OK);
  struct archive_entry* entry;
  int rc;
  // ARCHIVE_WARN: a UTF-8 name the reader's (C) locale cannot show; the name is still
  // read back in UTF-8 below.
  while ((rc = archive_read_next_header(reader, &entry)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    std::string contents;
    char buffer[4096];
    la_ssize_t n;
    while ((n = archive_read_data(reader, buffer, sizeof buffer)) > 0) contents.append(buffer, n);
    files[archive_entry_pathname_utf8(entry)] = contents;
  }
  EXPECT_EQ(rc, ARCHIVE_EOF) << archive_error_string(reader);
  archive_read_free(reader);
  return files;
}

// Text that does not compress away, so that the archive spans many chunks.
std::string Noise(size_t bytes) {
  std::string text;
  uint64_t state = 88172645463325252ull;
  while (text.size() < bytes) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    text.push_back(static_cast<char>('a' + state % 26));
  }
  return text;
}

TEST(ZipStreamTest, ChunksLeaveAsTheyFillAndTheArchiveReadsBack) {
  std::vector<std::string> chunks;
  ZipStream zip(
      [&](absl::string_view chunk) {
        chunks.emplace_back(chunk);
        return true;
      },
      /*chunk_bytes=*/1024);
  const std::string big = Noise(20000);
  ASSERT_TRUE(zip.Add("plans/crisis/document.json", big, absl::Now()).ok());
  // Already on its way before the archive is finished: never held whole.
  EXPECT_GE(chunks.size(), 10u);
  ASSERT_TRUE(zip.Add("Cynllun argyfwng – ŵ.txt", "Llinellau argyfwng", absl::Now()).ok());
  ASSERT_TRUE(zip.Add("empty.json", "", absl::Now()).ok());
  ASSERT_TRUE(zip.Finish().ok());
  std::string whole;
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (i + 1 < chunks.size()) {
      EXPECT_EQ(chunks[i].size(), 1024u) << i;
    }
    whole += chunks[i];
  }
  EXPECT_EQ(whole.size(), zip.bytes_written());
  const auto files = ReadZip(whole);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files.at("plans/crisis/document.json"), big);
  EXPECT_EQ(files.at("Cynllun argyfwng – ŵ.txt"), "Llinellau argyfwng");
  EXPECT_EQ(files.at("empty.json"), "");

  // Another reader (Python's zipfile, which checks every CRC) agrees, names flagged UTF-8.
  char path[] = "/tmp/coplan-zip-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, whole.data(), whole.size()), static_cast<ssize_t>(whole.size()));
  close(fd);
  const std::string command =
      std::string(
          "python3 -c \"import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); "
          "assert z.testzip() is None; "
          "assert all(i.flag_bits & 0x800 for i in z.infolist() if not i.filename.isascii()); "
          "print(len(z.namelist()))\" ") +
      path;
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char output[64] = {0};
  ASSERT_NE(fgets(output, sizeof output, pipe), nullptr);
  EXPECT_EQ(pclose(pipe), 0);
  EXPECT_EQ(std::string(output), "3\n");
  unlink(path);
}

TEST(ZipStreamTest, AnArchiveGivenUpOnSendsNothingMore) {
  std::string delivered;
  {
    ZipStream zip(
        [&](absl::string_view chunk) {
          delivered.append(chunk.data(), chunk.size());
          return true;
        },
        1024);
    ASSERT_TRUE(zip.Add("person.json", "{}", absl::Now()).ok());
    // An error comes before Finish: the archive is dropped.
  }
  // Not a well-formed (but incomplete) archive: the central directory is never sent.
  EXPECT_EQ(delivered, "");
}

TEST(ZipStreamTest, AReaderThatGoesAwayStopsTheArchive) {
  int delivered = 0;
  ZipStream zip([&](absl::string_view) { return ++delivered < 3; }, 1024);
  absl::Status status = zip.Add("big.txt", Noise(50000), absl::Now());
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  EXPECT_EQ(delivered, 3);
}

}  // namespace
}  // namespace coplan
