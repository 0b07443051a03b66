// The on-device cache: everything the phone keeps so that a crisis plan opens with no
// signal, and so that edits made offline survive the app being killed.
//
// What it holds, each with the revision the server last confirmed and when:
//   - the device session (the refresh token; never the app's key);
//   - the documents the device follows (plans, decision records) as the server last gave
//     them, with when the reader's access ends by time alone;
//   - the option-grid versions those decision records point at;
//   - the person's latest access-log page;
//   - the pending-batch queue (edits not yet accepted) and the paths every revision after
//     their base changed, for rebasing them.
//
// Encryption at rest: SQLCipher (Debian's 3.4.1), not per-record AES-GCM over plain SQLite.
// SQLCipher encrypts every page of the file and of its rollback journal, so nothing is in
// the clear: not the plan's text, nor the names of people and resources, nor the schema,
// nor the number or size of rows (per-record encryption leaves keys, indexes, row counts
// and sizes readable, and each new query would have to remember to encrypt). Every page
// carries an HMAC, so a damaged or altered file fails to read instead of giving wrong data.
// The cipher parameters are set explicitly (3.4.1's defaults differ from 4.x's, and a
// file must stay readable across library updates): AES-256-CBC, 4096-byte pages,
// HMAC-SHA1 per page. The 256-bit key comes from the app (Android Keystore, iOS
// Keychain) as raw bytes, so no passphrase derivation is involved; it is never stored.
//
// Deleted content must not linger in free pages (a carer's copy purged after a
// revocation): secure_delete overwrites it, and auto_vacuum=FULL returns free pages to
// the file system at each commit. Every write commits durably (journal_mode=DELETE,
// synchronous=FULL) before the app is told it happened.
//
// A wrong key, a truncated file or a single flipped byte: Open fails with DATA_LOSS
// (ErrorInfo reason CACHE_UNREADABLE) and the app may Destroy the file and start again.
//
// Not thread-safe: the client's work queue owns it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coplan/client/v1/device.pb.h"
#include "coplan/v1/editing.pb.h"
#include "local/sqlite_database.h"

namespace coplan::client::local {

// The ErrorInfo reason of an unreadable cache.
inline constexpr char kCacheUnreadable[] = "CACHE_UNREADABLE";
inline constexpr size_t kCacheKeyBytes = 32;

struct StoredSession {
  std::string person;   // "people/{person}"
  std::string session;  // "people/{person}/sessions/{session}"
  std::string access_token;
  absl::Time access_expire_time = absl::InfinitePast();
  std::string refresh_token;
  absl::Time refresh_expire_time = absl::InfinitePast();
};

struct StoredDocument {
  std::string name;
  coplan::v1::Document document;  // as the server gave it, at `revision`
  int64_t revision = 0;           // 0: followed, but no copy yet
  absl::Time last_synced = absl::InfinitePast();
  std::optional<absl::Time> shown_until;
};

struct StoredBatch {
  coplan::client::v1::PendingBatch batch;  // id, document, base revision, operations, key
  // The base revision it was last sent with (0: never sent). A resend after a crash must
  // repeat it, so that the server recognises the batch by its key and replays its answer.
  int64_t sent_base_revision = 0;
  std::optional<coplan::client::v1::Conflict> conflict;
};

// One revision after a pending batch's base: what it changed, and whether it was ours.
struct RevisionPaths {
  int64_t revision = 0;
  bool own = false;
  std::vector<std::string> changed_paths;
};

struct StoredPage {
  std::string body;  // serialized message
  absl::Time last_synced = absl::InfinitePast();
};

class DeviceCache {
 public:
  // Opens the cache at `path` with `key` (32 bytes), creating it when absent; an empty
  // path keeps everything in memory (nothing survives the process).
  static absl::StatusOr<std::unique_ptr<DeviceCache>> Open(const std::string& path,
                                                           const std::string& key);
  // Deletes the cache file and its journal (a forgotten device, or an unreadable cache).
  static absl::Status Destroy(const std::string& path);

  const std::string& path() const { return path_; }

  absl::StatusOr<std::optional<StoredSession>> LoadSession();
  absl::Status SaveSession(const StoredSession& session);

  absl::StatusOr<std::vector<StoredDocument>> LoadDocuments();
  absl::Status SaveDocument(const StoredDocument& document);
  // The document, its queued batches and its revision paths.
  absl::Status DeleteDocument(const std::string& name);

  absl::StatusOr<std::vector<StoredBatch>> LoadBatches();
  // Stores a new batch; returns its id (also set in the stored batch).
  absl::StatusOr<int64_t> AddBatch(StoredBatch& batch);
  absl::Status UpdateBatch(const StoredBatch& batch);
  absl::Status DeleteBatch(int64_t id);

  absl::StatusOr<std::vector<RevisionPaths>> LoadRevisionPaths(const std::string& document);
  absl::Status AddRevisionPaths(const std::string& document, const RevisionPaths& paths);
  // Forgets the revisions at or before `revision` (no batch is based before it).
  absl::Status PruneRevisionPaths(const std::string& document, int64_t revision);

  absl::StatusOr<std::optional<StoredPage>> LoadGridVersion(const std::string& name);
  absl::Status SaveGridVersion(const std::string& name, const StoredPage& page);
  absl::StatusOr<std::optional<StoredPage>> LoadAccessLog(const std::string& person);
  absl::Status SaveAccessLog(const std::string& person, const StoredPage& page);

  // Removes everything (sign-out): the file stays, empty, with no free page left holding
  // old content.
  absl::Status WipeAll();

  // Runs `body` as one durable transaction.
  template <typename Body>
  absl::Status InTransaction(Body&& body) {
    return db_.InTransaction(std::forward<Body>(body));
  }

  void Close() { db_.Close(); }

 private:
  DeviceCache(std::string path, SqliteDatabase db) : path_(std::move(path)), db_(std::move(db)) {}
  absl::Status CreateSchema();

  const std::string path_;
  SqliteDatabase db_;
};

}  // namespace coplan::client::local
