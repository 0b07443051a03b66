#include "server/export/zip_stream.h"

#include <archive.h>
#include <archive_entry.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace coplan {

ZipStream::ZipStream(Sink sink, size_t chunk_bytes) : sink_(std::move(sink)) {
  archive_ = archive_write_new();
  archive_write_set_format_zip(archive_);
  archive_write_set_format_option(archive_, "zip", "compression", "deflate");
  // Names are UTF-8 (the person's own words may be in any script) and flagged as such.
  archive_write_set_format_option(archive_, "zip", "hdrcharset", "UTF-8");
  // Chunks of `chunk_bytes`; the last one is not padded to a full block.
  archive_write_set_bytes_per_block(archive_, static_cast<int>(chunk_bytes));
  archive_write_set_bytes_in_last_block(archive_, 1);
  archive_write_open2(archive_, this, /*opener=*/nullptr, &ZipStream::WriteCallback,
                      /*closer=*/nullptr, /*freer=*/nullptr);
}

ZipStream::~ZipStream() {
  // An archive given up on (an error before Finish) ends here: what libarchive still
  // writes on closing (the central directory) is discarded, so the reader never gets a
  // well-formed but incomplete archive.
  if (!finished_) sink_failed_ = true;
  if (archive_ != nullptr) archive_write_free(archive_);
}

long ZipStream::WriteCallback(struct archive* a, void* self, const void* buffer, size_t length) {
  auto* stream = static_cast<ZipStream*>(self);
  // Once the reader is gone the rest is discarded rather than refused: libarchive, told
  // of a failed write in the middle of an entry, never ends the entry's deflate stream
  // (its buffers leak, 260 KiB per cancelled export). Add and Finish report CANCELLED.
  if (stream->sink_failed_) return static_cast<long>(length);
  if (!stream->sink_(absl::string_view(static_cast<const char*>(buffer), length))) {
    stream->sink_failed_ = true;
    return static_cast<long>(length);
  }
  stream->bytes_written_ += length;
  return static_cast<long>(length);
}

absl::Status ZipStream::Error(const char* what) {
  if (sink_failed_) return absl::CancelledError("the archive's reader went away");
  const char* detail = archive_error_string(archive_);
  return absl::InternalError(
      absl::StrCat("zip archive: ", what, ": ", detail != nullptr ? detail : "unknown error"));
}

absl::Status ZipStream::Add(const std::string& path, absl::string_view contents,
                            absl::Time modified) {
  if (finished_) return absl::FailedPreconditionError("zip archive: already finished");
  struct archive_entry* entry = archive_entry_new();
  archive_entry_set_pathname_utf8(entry, path.c_str());
  archive_entry_set_filetype(entry, AE_IFREG);
  archive_entry_set_perm(entry, 0600);
  archive_entry_set_size(entry, static_cast<la_int64_t>(contents.size()));
  archive_entry_set_mtime(entry, absl::ToUnixSeconds(modified), 0);
  int rc = archive_write_header(archive_, entry);
  archive_entry_free(entry);
  if (rc != ARCHIVE_OK) return Error("cannot start an entry");
  size_t offset = 0;
  while (offset < contents.size()) {
    la_ssize_t written =
        archive_write_data(archive_, contents.data() + offset, contents.size() - offset);
    if (written <= 0) return Error("cannot write an entry");
    offset += static_cast<size_t>(written);
  }
  if (archive_write_finish_entry(archive_) != ARCHIVE_OK) return Error("cannot end an entry");
  if (sink_failed_) return Error("the reader went away");
  return absl::OkStatus();
}

absl::Status ZipStream::Finish() {
  if (finished_) return absl::OkStatus();
  finished_ = true;
  if (archive_write_close(archive_) != ARCHIVE_OK) return Error("cannot finish");
  if (sink_failed_) return Error("the reader went away");
  return absl::OkStatus();
}

}  // namespace coplan
