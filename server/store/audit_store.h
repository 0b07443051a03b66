// SQL for the audit trail: appending events (sealed as inserted), checkpoints of the
// trail, reading it back for verification, and listing events for people.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/store/transaction.h"

namespace coplan {

class Database;

// One audit event, as stored. Rows are complete when inserted and never updated.
struct AuditRow {
  int64_t id = 0;
  absl::Time event_time;
  std::string actor_id;
  std::string on_behalf_of_id;
  int action = 0;  // coplan.v1.AuditAction
  std::string resource;
  int outcome = 0;  // coplan.v1.AuditOutcome
  std::string method;
  // For a stream's reads: the revisions it delivered, first to last (0 and 0: none).
  int64_t revision_from = 0;
  int64_t revision_to = 0;
  // Who was given access by this event (a person id), if it gave any.
  std::string access_given_to;
  std::string nonce;    // random, unique; empty on rows written before migration 0007
  std::string row_mac;  // HMAC with the audit key over the content and the nonce
  uint64_t tx_id = 0;   // the writing transaction (stamped by the database)
};

// A checkpoint of the trail: every row of a transaction older than `horizon`, chained.
struct AuditCheckpoint {
  int64_t seq = 0;
  uint64_t horizon = 0;
  int64_t rows_total = 0;
  std::string digest;  // 32 bytes
  absl::Time made_at;
  std::string mac;  // 32 bytes
};

// 9999-12-31T23:59:59.999999Z: an end time later than any event, within timestamptz range.
inline constexpr int64_t kFarFutureMicros = 253402300799999999;

// Filters for listing events (newest first).
struct AuditQuery {
  std::string on_behalf_of_id;  // one of these two is set
  std::string actor_id;
  std::string resource_prefix;  // "" for all
  std::string by_actor_id;      // further filter on the actor when listing by subject
  int64_t start_micros = 0;
  int64_t end_micros = kFarFutureMicros;
  // Continue after (event_time, id).
  int64_t before_micros = INT64_MAX;
  int64_t before_id = INT64_MAX;
  int limit = 50;
};

class AuditStore {
 public:
  explicit AuditStore(Database& db);

  // Writes rows as they are kept (sealed: nothing updates them later).
  void Insert(Transaction& tx, const std::vector<AuditRow>& rows);

  // Checkpoints. The lock keeps instances from making the same checkpoint twice.
  bool TryCheckpointLock(WriteTransaction& tx);
  std::optional<AuditCheckpoint> LastCheckpoint(Transaction& tx);
  std::optional<AuditCheckpoint> CheckpointAt(Transaction& tx, int64_t seq);
  std::vector<AuditCheckpoint> Checkpoints(Transaction& tx);
  void InsertCheckpoint(WriteTransaction& tx, const AuditCheckpoint& checkpoint);
  // The oldest transaction still running: every row of an older one is there for good.
  uint64_t FinishedHorizon(Transaction& tx);
  // Rows of transactions in [from_tx, to_tx), in (tx_id, id) order, read in batches.
  void ForEachRow(Transaction& tx, uint64_t from_tx, uint64_t to_tx,
                  const std::function<void(const AuditRow&)>& visit);

  // Makes the rest of the transaction read-only and from one snapshot (first statement).
  void UseOneReadOnlySnapshot(WriteTransaction& tx);

  std::vector<AuditRow> List(Transaction& tx, const AuditQuery& query);
  // Display names of people, by id (for listings).
  std::map<std::string, std::string> DisplayNames(Transaction& tx,
                                                  const std::vector<std::string>& ids);

 private:
  Database& db_;
};

}  // namespace coplan
