#include "server/service/audit_log.h"

#include "absl/strings/str_cat.h"
#include "server/common/crypto.h"
#include "server/common/log.h"
#include "server/common/proto_time.h"

namespace coplan {
namespace {

std::string BigEndian64(int64_t value) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return out;
}

std::string Canonical(const AuditRow& row) {
  std::string out = "coplan-audit-v1";
  AppendField(&out, BigEndian64(TimeToMicros(row.event_time)));
  AppendField(&out, row.actor_id);
  AppendField(&out, row.on_behalf_of_id);
  AppendField(&out, BigEndian64(row.action));
  AppendField(&out, row.resource);
  AppendField(&out, BigEndian64(row.outcome));
  AppendField(&out, row.method);
  return out;
}

}  // namespace

std::string AuditRowMac(const std::string& key, const AuditRow& row) {
  return HmacSha256(key, Canonical(row));
}

std::string AuditChainHash(const std::string& previous_hash, int64_t chain_seq,
                           const std::string& row_mac) {
  return Sha256(absl::StrCat(previous_hash, BigEndian64(chain_seq), row_mac));
}

std::string AuditHeadMac(const std::string& key, int64_t chain_seq, const std::string& chain_hash) {
  return HmacSha256(key, absl::StrCat("coplan-audit-head", BigEndian64(chain_seq), chain_hash));
}

AuditLog::AuditLog(Database& db, AuditStore& store, const Clock& clock, std::string audit_key,
                   Options options)
    : db_(db), store_(store), clock_(clock), key_(std::move(audit_key)), options_(options) {}

AuditLog::~AuditLog() { Stop(); }

AuditRow AuditLog::ToRow(const AuditEvent& event) const {
  AuditRow row;
  row.event_time = MicrosToTime(TimeToMicros(clock_.Now()));  // what the database keeps
  row.actor_id = event.actor_id;
  row.on_behalf_of_id = event.on_behalf_of_id;
  row.action = event.action;
  row.resource = event.resource;
  row.outcome = event.outcome;
  row.method = event.method;
  row.row_mac = AuditRowMac(key_, row);
  return row;
}

void AuditLog::RecordInTransaction(WriteTransaction& tx, const AuditEvent& event) {
  store_.Insert(tx, {ToRow(event)});
}

absl::Status AuditLog::RecordLater(const AuditEvent& event) {
  AuditRow row = ToRow(event);
  absl::MutexLock lock(&mutex_);
  if (buffer_.size() >= options_.max_buffered) {
    return absl::UnavailableError(
        "the audit trail cannot be written right now, so the call was not served; try again");
  }
  buffer_.push_back(std::move(row));
  return absl::OkStatus();
}

void AuditLog::Start() {
  absl::MutexLock lock(&mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void AuditLog::Stop() {
  std::thread thread;
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
    thread.swap(thread_);
  }
  if (thread.joinable()) thread.join();
  if (!FlushAndSeal().ok()) Log(LogLevel::kError, "audit_final_flush_failed");
}

void AuditLog::Run() {
  for (;;) {
    {
      absl::MutexLock lock(&mutex_);
      mutex_.AwaitWithTimeout(absl::Condition(&stopping_), options_.flush_interval);
      if (stopping_) return;
    }
    absl::Status status = FlushAndSeal();
    if (!status.ok()) Log(LogLevel::kWarning, "audit_flush_failed");
  }
}

absl::Status AuditLog::FlushAndSeal() {
  absl::MutexLock flush_lock(&flush_mutex_);
  absl::Status status = Flush();
  if (!status.ok()) return status;
  return SealPending();
}

absl::Status AuditLog::Flush() {
  std::vector<AuditRow> batch;
  {
    absl::MutexLock lock(&mutex_);
    batch.swap(buffer_);
  }
  if (batch.empty()) return absl::OkStatus();
  absl::Status status = db_.Write(absl::Now() + absl::Seconds(10), [&](WriteTransaction& tx) {
    store_.Insert(tx, batch);
    return absl::OkStatus();
  });
  if (!status.ok()) {
    // Keep the events (in order, before newer ones) for the next attempt.
    absl::MutexLock lock(&mutex_);
    batch.insert(batch.end(), std::make_move_iterator(buffer_.begin()),
                 std::make_move_iterator(buffer_.end()));
    buffer_.swap(batch);
  }
  return status;
}

absl::Status AuditLog::SealPending() {
  // Rows with an invalid MAC stay unsealed for ever; page past them, never loop on them.
  int64_t after_id = 0;
  int64_t invalid = 0;
  int64_t first_invalid = 0;
  for (;;) {
    // Per attempt: a retried transaction starts again from the same page.
    size_t read = 0;
    int64_t page_last_id = after_id;
    int64_t page_invalid = 0;
    int64_t page_first_invalid = 0;
    absl::Status status = db_.Write(absl::Now() + absl::Seconds(30), [&](WriteTransaction& tx) {
      read = 0;
      page_last_id = after_id;
      page_invalid = 0;
      page_first_invalid = 0;
      if (!store_.TrySealLock(tx)) return absl::OkStatus();  // another instance is sealing
      std::vector<AuditRow> rows = store_.LockUnsealed(tx, after_id, options_.seal_batch);
      read = rows.size();
      if (rows.empty()) return absl::OkStatus();
      page_last_id = rows.back().id;
      ChainHead head = store_.LockHead(tx).value_or(ChainHead{});
      std::vector<AuditStore::Seal> seals;
      for (const AuditRow& row : rows) {
        if (!ConstantTimeEquals(row.row_mac, AuditRowMac(key_, row))) {
          // Not written by a server holding the key: never vouch for it in the chain.
          if (page_invalid++ == 0) page_first_invalid = row.id;
          continue;
        }
        head.chain_seq += 1;
        head.chain_hash = AuditChainHash(head.chain_hash, head.chain_seq, row.row_mac);
        seals.push_back({row.id, head.chain_seq, head.chain_hash});
      }
      store_.SealRows(tx, seals);
      head.head_mac = AuditHeadMac(key_, head.chain_seq, head.chain_hash);
      store_.SaveHead(tx, head);
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    after_id = page_last_id;
    if (page_invalid > 0 && invalid == 0) first_invalid = page_first_invalid;
    invalid += page_invalid;
    if (read < static_cast<size_t>(options_.seal_batch)) break;
  }
  // Said once, not on every pass over the same rows.
  if (invalid != reported_invalid_.exchange(invalid) && invalid > 0) {
    Log(LogLevel::kError, "audit_rows_mac_invalid")
        .Int("rows", invalid)
        .Int("first_row", first_invalid);
  }
  return absl::OkStatus();
}

AuditVerification VerifyAuditTrail(Database& db, AuditStore& store, const std::string& key) {
  AuditVerification report;
  auto problem = [&](std::string text) {
    report.ok = false;
    if (report.problems.size() < 100) report.problems.push_back(std::move(text));
  };
  absl::Status status = db.Write(absl::InfiniteFuture(), [&](WriteTransaction& tx) {
    store.UseOneSnapshot(tx);  // for the rows and the head
    int64_t expected_seq = 1;
    std::string chain_hash;
    store.ForEachRow(tx, [&](const AuditRow& row) {
      const bool mac_ok = ConstantTimeEquals(row.row_mac, AuditRowMac(key, row));
      if (!row.chain_seq) {
        ++report.unsealed_rows;
        if (!mac_ok) {
          problem(absl::StrCat("row ", row.id,
                               " (not yet sealed): its MAC is invalid; it was not written by "
                               "the server (inserted or edited directly)"));
        }
        return;
      }
      ++report.sealed_rows;
      if (!mac_ok) {
        problem(absl::StrCat("row ", row.id, " at chain position ", *row.chain_seq,
                             ": content does not match its MAC (the row was edited)"));
      }
      if (*row.chain_seq != expected_seq) {
        problem(absl::StrCat("chain position ", expected_seq, " is missing (next is ",
                             *row.chain_seq, "): rows were deleted or renumbered"));
        expected_seq = *row.chain_seq;
      }
      const std::string recomputed = AuditChainHash(chain_hash, *row.chain_seq, row.row_mac);
      if (!ConstantTimeEquals(recomputed, row.chain_hash)) {
        problem(absl::StrCat("row ", row.id, " at chain position ", *row.chain_seq,
                             ": the chain is broken here (rows deleted, inserted or reordered, "
                             "or the row edited)"));
      }
      chain_hash = row.chain_hash;
      ++expected_seq;
    });
    auto head = store.ReadHead(tx);
    const int64_t last_seq = expected_seq - 1;
    if (!head) {
      if (last_seq > 0) problem("the chain head is missing");
    } else {
      if (!ConstantTimeEquals(head->head_mac,
                              AuditHeadMac(key, head->chain_seq, head->chain_hash))) {
        problem("the chain head's MAC is invalid (the head was edited)");
      }
      if (head->chain_seq != last_seq || !ConstantTimeEquals(head->chain_hash, chain_hash)) {
        problem(absl::StrCat("the chain head records ", head->chain_seq,
                             " sealed rows but the trail ends at ", last_seq,
                             " (rows removed from the end, or the head replaced)"));
      }
    }
    return absl::OkStatus();
  });
  if (!status.ok()) problem(absl::StrCat("could not read the audit trail: ", status.message()));
  return report;
}

}  // namespace coplan
