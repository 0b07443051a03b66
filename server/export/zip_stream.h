// Writes a ZIP archive as a stream of chunks (libarchive), so that an archive of any size
// is never held whole in memory: each chunk goes to the sink as soon as it is full.
//
//   ZipStream zip([&](absl::string_view chunk) { return writer->Write(chunk); });
//   COPLAN_RETURN_IF_ERROR(zip.Add("manifest.json", manifest, export_time));
//   COPLAN_RETURN_IF_ERROR(zip.Finish());
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct archive;

namespace coplan {

class ZipStream {
 public:
  // Returns false when the chunk could not be delivered (the reader went away): the
  // archive then stops with CANCELLED.
  using Sink = std::function<bool(absl::string_view chunk)>;

  explicit ZipStream(Sink sink, size_t chunk_bytes = 64 * 1024);
  ~ZipStream();
  ZipStream(const ZipStream&) = delete;
  ZipStream& operator=(const ZipStream&) = delete;

  // Adds one file (deflated). `path` is UTF-8, relative, with '/' between folders.
  absl::Status Add(const std::string& path, absl::string_view contents, absl::Time modified);
  // Writes the central directory and the last chunk. Nothing may be added after it.
  absl::Status Finish();

  // Bytes handed to the sink so far.
  size_t bytes_written() const { return bytes_written_; }

 private:
  static long WriteCallback(struct archive* a, void* self, const void* buffer, size_t length);
  absl::Status Error(const char* what);

  Sink sink_;
  struct archive* archive_ = nullptr;
  bool sink_failed_ = false;
  bool finished_ = false;
  size_t bytes_written_ = 0;
};

}  // namespace coplan
