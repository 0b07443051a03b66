// The audit trail: records who did what to whose records, and proves it was not altered.
//
//   audit.RecordInTransaction(tx, event);   // writes: commits (or not) with the change
//   audit.RecordLater(event);               // reads and refusals: batched, durable < 1 s
//   AuditVerification check = VerifyAuditTrail(db, key);   // coplan-server audit verify
//
// Every row carries a MAC (HMAC-SHA256 with the audit key, which lives outside the
// database when a secret file is configured). A background sealer numbers rows into a
// chain, chain_hash[n] = SHA-256(chain_hash[n-1] || n || row_mac[n]), and keeps a
// MAC'd head. Verification recomputes everything: an edited row fails its MAC, a deleted,
// inserted or reordered row breaks the chain, rows cut from the end disagree with the
// head, and a row inserted by hand cannot carry a valid MAC.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
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
};

struct AuditVerification {
  bool ok = true;
  int64_t sealed_rows = 0;
  int64_t unsealed_rows = 0;
  std::vector<std::string> problems;  // empty when ok
};

class AuditLog {
 public:
  struct Options {
    absl::Duration flush_interval = absl::Milliseconds(200);
    size_t max_buffered = 100000;  // beyond this, calls are refused (fail closed)
    int seal_batch = 5000;
  };

  // Events are stamped with `clock`'s time.
  AuditLog(Database& db, AuditStore& store, const Clock& clock, std::string audit_key,
           Options options);
  ~AuditLog();  // Stop()

  // Writes the event in the caller's transaction.
  void RecordInTransaction(WriteTransaction& tx, const AuditEvent& event);
  // Buffers the event; UNAVAILABLE if the buffer is full (the database is unreachable).
  absl::Status RecordLater(const AuditEvent& event);

  // Starts the background flusher and sealer.
  void Start();
  // Flushes what is buffered, seals, and stops the background thread.
  void Stop();
  // Writes buffered events and seals all rows now (tests, shutdown, verification).
  absl::Status FlushAndSeal();

 private:
  AuditRow ToRow(const AuditEvent& event) const;
  absl::Status Flush();
  absl::Status SealPending();
  void Run();

  Database& db_;
  AuditStore& store_;
  const Clock& clock_;
  const std::string key_;
  const Options options_;
  absl::Mutex mutex_;
  std::vector<AuditRow> buffer_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_ ABSL_GUARDED_BY(mutex_);
  std::atomic<int64_t> reported_invalid_{0};  // forged rows last logged by the sealer
  absl::Mutex flush_mutex_;                   // one flush (and seal) at a time
};

// The MAC of a row's content and the chain step, as the sealer and verifier compute them.
std::string AuditRowMac(const std::string& key, const AuditRow& row);
std::string AuditChainHash(const std::string& previous_hash, int64_t chain_seq,
                           const std::string& row_mac);
std::string AuditHeadMac(const std::string& key, int64_t chain_seq, const std::string& chain_hash);

AuditVerification VerifyAuditTrail(Database& db, AuditStore& store, const std::string& key);

}  // namespace coplan
