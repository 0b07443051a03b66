// The audit trail: records who did what to whose records, and proves it was not altered.
//
//   audit.RecordInTransaction(tx, event);   // writes: commits (or not) with the change
//   audit.RecordNow(event, deadline);       // reads and refusals: written before the answer
//   AuditVerification check = VerifyAuditTrail(db, store, key, {checkpoint_file});
//
// Every row is complete when it is inserted and never updated: it carries a random nonce
// and a MAC (HMAC-SHA256 with the audit key, which only the servers hold) over its
// content and nonce, and the database stamps it with the id of the transaction that
// wrote it. The database's own role for the server may only insert and read it.
//
// Checkpoints chain the rows, keyed: checkpoint n covers every row of a transaction that
// had finished when it was taken (tx_id < horizon), in (tx_id, id) order,
//   digest[n] = SHA-256 over digest[n-1] and each new row's id and MAC,
//   mac[n]    = HMAC(audit key, n, horizon, rows_total, digest[n], made_at),
// and leaves the database: each is written to the log (event audit_checkpoint) and
// appended to the checkpoint file. Before extending the chain the checkpointer checks
// the last checkpoint's MAC and that the database still has the last one its file holds.
// Verification only reads: an edited or hand-made row fails its MAC, a copied one its
// nonce's uniqueness, a deleted, added or reordered row the digest of the checkpoint
// covering it, and rows cut from the end or a wiped trail the checkpoints kept outside.
// Rows newer than the last checkpoint are checked by MAC only until the next one.
#pragma once

#include <atomic>
#include <climits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coplan/v1/audit_service.pb.h"
#include "server/common/clock.h"
#include "server/store/audit_store.h"
#include "server/store/database.h"

namespace coplan {

struct AuditEvent {
  std::string actor_id;         // "" when the caller is unknown
  std::string on_behalf_of_id;  // whose record
  coplan::v1::AuditAction action = coplan::v1::AUDIT_ACTION_UNSPECIFIED;
  std::string resource;
  coplan::v1::AuditOutcome outcome = coplan::v1::AUDIT_OUTCOME_ALLOWED;
  std::string method;
  // A stream's reads: the revisions it delivered (0 and 0 for every other event).
  int64_t revision_from = 0;
  int64_t revision_to = 0;
  // A person id: who this event gave access to the records of `on_behalf_of_id`.
  std::string access_given_to;
};

struct AuditVerification {
  bool ok = true;
  int64_t rows = 0;
  int64_t checkpoints = 0;
  int64_t rows_after_last_checkpoint = 0;  // checked by MAC only
  int64_t file_checkpoints = 0;            // checkpoints read from files and matched
  std::vector<std::string> problems;       // empty when ok
  std::vector<std::string> notes;          // what could not be checked
};

class AuditLog {
 public:
  struct Options {
    absl::Duration checkpoint_interval = absl::Seconds(10);
    // Where checkpoints are appended outside the database; "" for the log only.
    std::string checkpoint_file;
  };

  // Events are stamped with `clock`'s time.
  AuditLog(Database& db, AuditStore& store, const Clock& clock, std::string audit_key,
           Options options);
  ~AuditLog();  // Stop()

  // Writes the event in the caller's transaction.
  void RecordInTransaction(WriteTransaction& tx, const AuditEvent& event);
  // Writes the event now, in a statement of its own that commits before this returns:
  // a read is answered only once its row is in the trail (kept across a server kill).
  absl::Status RecordNow(const AuditEvent& event, absl::Time deadline);
  // Writes the events now, all in one statement.
  absl::Status RecordAllNow(const std::vector<AuditEvent>& events, absl::Time deadline);

  // Starts the background checkpointer.
  void Start();
  // Stops it, after a last checkpoint.
  void Stop();
  // Makes a checkpoint now if rows were written since the last one (another instance
  // may be making it: then nothing). DATA_LOSS when the chain may not be extended: the
  // last checkpoint is forged, or the database lacks or changed one the file holds.
  absl::StatusOr<std::optional<AuditCheckpoint>> Checkpoint();
  // When this instance last found every finished row sealed by a checkpoint (it made one,
  // or there was nothing new); InfinitePast before the first time. The audit backlog's
  // age for the metrics: while checkpoints fail it falls behind.
  absl::Time sealed_as_of() const;

 private:
  AuditRow ToRow(const AuditEvent& event) const;
  absl::Status CheckAgainstFile(Transaction& tx, const std::optional<AuditCheckpoint>& last);
  void WriteOutside(const AuditCheckpoint& checkpoint);
  void Run();

  Database& db_;
  AuditStore& store_;
  const Clock& clock_;
  const std::string key_;
  const Options options_;
  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_ ABSL_GUARDED_BY(mutex_);
  absl::Mutex checkpoint_mutex_;  // one checkpoint at a time in this process
  std::string reported_problem_ ABSL_GUARDED_BY(checkpoint_mutex_);
  std::atomic<int64_t> sealed_as_of_micros_{INT64_MIN};
};

// The MAC of a row, a step of the checkpoint digest, and a checkpoint's MAC, as the
// checkpointer and the verifier compute them.
std::string AuditRowMac(const std::string& key, const AuditRow& row);
std::string AuditDigestStep(const std::string& digest, const AuditRow& row);
std::string AuditCheckpointMac(const std::string& key, const AuditCheckpoint& checkpoint);

// A checkpoint as one line of the checkpoint file and the log, and back.
std::string AuditCheckpointJson(const AuditCheckpoint& checkpoint);
absl::StatusOr<AuditCheckpoint> ParseAuditCheckpointJson(const std::string& line);

// Reads the whole trail in one read-only snapshot and checks it against its checkpoints
// and against those kept in `checkpoint_files`.
AuditVerification VerifyAuditTrail(Database& db, AuditStore& store, const std::string& key,
                                   const std::vector<std::string>& checkpoint_files);

}  // namespace coplan
