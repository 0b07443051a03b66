// SQL for the audit trail: appending events, sealing them into the hash chain, reading
// the chain back for verification, and listing events for people.
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

// One audit event, as stored.
struct AuditRow {
  int64_t id = 0;
  absl::Time event_time;
  std::string actor_id;
  std::string on_behalf_of_id;
  int action = 0;  // coplan.v1.AuditAction
  std::string resource;
  int outcome = 0;  // coplan.v1.AuditOutcome
  std::string method;
  std::string row_mac;
  std::optional<int64_t> chain_seq;
  std::string chain_hash;
};

struct ChainHead {
  int64_t chain_seq = 0;
  std::string chain_hash;
  std::string head_mac;
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

  void Insert(Transaction& tx, const std::vector<AuditRow>& rows);

  // Sealing: unsealed rows in id order (locked), the head (locked), and the updates.
  std::vector<AuditRow> LockUnsealed(WriteTransaction& tx, int64_t after_id, int limit);
  std::optional<ChainHead> LockHead(WriteTransaction& tx);
  struct Seal {
    int64_t id;
    int64_t chain_seq;
    std::string chain_hash;
  };
  // Gives rows their chain positions and hashes, all in one statement.
  void SealRows(WriteTransaction& tx, const std::vector<Seal>& seals);
  void SaveHead(WriteTransaction& tx, const ChainHead& head);
  // Returns false if another instance holds the sealing lock.
  bool TrySealLock(WriteTransaction& tx);

  // Makes the rest of the transaction read from one snapshot (first statement only).
  void UseOneSnapshot(WriteTransaction& tx);
  // Verification: every row, sealed ones in chain order then unsealed ones by id.
  void ForEachRow(Transaction& tx, const std::function<void(const AuditRow&)>& visit);
  std::optional<ChainHead> ReadHead(Transaction& tx);

  std::vector<AuditRow> List(Transaction& tx, const AuditQuery& query);
  // Display names of people, by id (for listings).
  std::map<std::string, std::string> DisplayNames(Transaction& tx,
                                                  const std::vector<std::string>& ids);

 private:
  Database& db_;
};

}  // namespace coplan
