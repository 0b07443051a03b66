#include "server/service/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/common/crypto.h"
#include "server/common/ids.h"
#include "server/common/log.h"
#include "server/common/metrics.h"
#include "server/common/proto_time.h"
#include "server/common/status_macros.h"

namespace coplan {
namespace {

CounterFamily& AuditRowsRecorded() {
  static CounterFamily& rows = Metrics().Counters(
      "coplan_audit_rows_recorded_total",
      "Audit rows written by this instance (a row written in a call's own transaction counts "
      "even if that transaction then rolls back)",
      {});
  return rows;
}

CounterFamily& AuditWriteFailures() {
  static CounterFamily& failures = Metrics().Counters(
      "coplan_audit_write_failures_total",
      "Audit rows that could not be written, so that their calls were refused UNAVAILABLE", {});
  return failures;
}

CounterFamily& AuditCheckpoints() {
  static CounterFamily& checkpoints =
      Metrics().Counters("coplan_audit_checkpoints_total",
                         "Audit checkpoints this instance made or failed to make", {"result"});
  return checkpoints;
}

CounterFamily& AuditRowsSealed() {
  static CounterFamily& rows =
      Metrics().Counters("coplan_audit_rows_checkpointed_total",
                         "Audit rows sealed by this instance's checkpoints", {});
  return rows;
}

// xid8's largest value: "every transaction" as the end of a range of rows.
constexpr uint64_t kLastTransaction = UINT64_MAX;

std::string BigEndian64(uint64_t value) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return out;
}

// Rows written before migration 0007 have no nonce and were MAC'd without one.
std::string Canonical(const AuditRow& row) {
  std::string out = row.nonce.empty() ? "coplan-audit-v1" : "coplan-audit-v2";
  if (!row.nonce.empty()) AppendField(&out, row.nonce);
  AppendField(&out, BigEndian64(TimeToMicros(row.event_time)));
  AppendField(&out, row.actor_id);
  AppendField(&out, row.on_behalf_of_id);
  AppendField(&out, BigEndian64(row.action));
  AppendField(&out, row.resource);
  AppendField(&out, BigEndian64(row.outcome));
  AppendField(&out, row.method);
  // Only rows with a range carry it, so that every row written before ranges existed
  // keeps the MAC it was sealed with.
  if (row.revision_from != 0 || row.revision_to != 0) {
    AppendField(&out, "revisions");
    AppendField(&out, BigEndian64(static_cast<uint64_t>(row.revision_from)));
    AppendField(&out, BigEndian64(static_cast<uint64_t>(row.revision_to)));
  }
  if (!row.access_given_to.empty()) {
    AppendField(&out, "given_to");
    AppendField(&out, row.access_given_to);
  }
  return out;
}

bool SameCheckpoint(const AuditCheckpoint& a, const AuditCheckpoint& b) {
  return a.seq == b.seq && a.horizon == b.horizon && a.rows_total == b.rows_total &&
         a.digest == b.digest && a.made_at == b.made_at && a.mac == b.mac;
}

// The last well-formed line of a checkpoint file (none when the file is missing or empty).
absl::StatusOr<std::optional<AuditCheckpoint>> LastCheckpointIn(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::optional<AuditCheckpoint>();
  std::optional<AuditCheckpoint> last;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto parsed = ParseAuditCheckpointJson(line);
    if (!parsed.ok()) {
      return absl::DataLossError(
          absl::StrCat("the checkpoint file ", path, " has a line that is not a checkpoint"));
    }
    last = *parsed;
  }
  return last;
}

}  // namespace

std::string AuditRowMac(const std::string& key, const AuditRow& row) {
  return HmacSha256(key, Canonical(row));
}

std::string AuditDigestStep(const std::string& digest, const AuditRow& row) {
  return Sha256(absl::StrCat(digest, BigEndian64(row.id), row.row_mac));
}

std::string AuditCheckpointMac(const std::string& key, const AuditCheckpoint& checkpoint) {
  std::string text = "coplan-audit-checkpoint-v1";
  AppendField(&text, BigEndian64(checkpoint.seq));
  AppendField(&text, BigEndian64(checkpoint.horizon));
  AppendField(&text, BigEndian64(checkpoint.rows_total));
  AppendField(&text, checkpoint.digest);
  AppendField(&text, BigEndian64(TimeToMicros(checkpoint.made_at)));
  return HmacSha256(key, text);
}

std::string AuditCheckpointJson(const AuditCheckpoint& checkpoint) {
  nlohmann::json line = {
      {"seq", checkpoint.seq},
      {"horizon", std::to_string(checkpoint.horizon)},
      {"rows_total", checkpoint.rows_total},
      {"digest", absl::BytesToHexString(checkpoint.digest)},
      {"made_at", absl::FormatTime(absl::RFC3339_full, checkpoint.made_at, absl::UTCTimeZone())},
      {"made_at_micros", TimeToMicros(checkpoint.made_at)},
      {"mac", absl::BytesToHexString(checkpoint.mac)}};
  return line.dump();
}

absl::StatusOr<AuditCheckpoint> ParseAuditCheckpointJson(const std::string& line) {
  try {
    const nlohmann::json json = nlohmann::json::parse(line);
    AuditCheckpoint checkpoint;
    checkpoint.seq = json.at("seq").get<int64_t>();
    checkpoint.horizon = std::stoull(json.at("horizon").get<std::string>());
    checkpoint.rows_total = json.at("rows_total").get<int64_t>();
    checkpoint.digest = absl::HexStringToBytes(json.at("digest").get<std::string>());
    checkpoint.made_at = MicrosToTime(json.at("made_at_micros").get<int64_t>());
    checkpoint.mac = absl::HexStringToBytes(json.at("mac").get<std::string>());
    return checkpoint;
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("not a checkpoint line: ", e.what()));
  }
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
  row.revision_from = event.revision_from;
  row.revision_to = event.revision_to;
  row.access_given_to = event.access_given_to;
  row.nonce = NewRandomToken(16);
  row.row_mac = AuditRowMac(key_, row);
  return row;
}

void AuditLog::RecordInTransaction(WriteTransaction& tx, const AuditEvent& event) {
  store_.Insert(tx, {ToRow(event)});
  AuditRowsRecorded().Add({});
}

absl::Status AuditLog::RecordNow(const AuditEvent& event, absl::Time deadline) {
  return RecordAllNow({event}, deadline);
}

absl::Status AuditLog::RecordAllNow(const std::vector<AuditEvent>& events, absl::Time deadline) {
  std::vector<AuditRow> rows;
  rows.reserve(events.size());
  for (const AuditEvent& event : events) rows.push_back(ToRow(event));
  // One autocommit INSERT: durable (synchronous_commit) when it returns.
  absl::Status status = db_.Read(deadline, [&](Transaction& tx) {
    store_.Insert(tx, rows);
    return absl::OkStatus();
  });
  if (!status.ok()) {
    const bool denied = !events.empty() && events.front().outcome == v1::AUDIT_OUTCOME_DENIED;
    Log(LogLevel::kError, "audit_write_failed")
        .Str("outcome", denied ? "denied" : "allowed")
        .Num("rows", static_cast<double>(events.size()))
        .Str("code", absl::StatusCodeToString(status.code()));
    AuditWriteFailures().Add({}, events.size());
    return absl::UnavailableError(
        "the audit trail cannot be written right now, so the call was not served; try again");
  }
  AuditRowsRecorded().Add({}, events.size());
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
  if (!thread.joinable()) return;
  thread.join();
  if (!Checkpoint().ok()) Log(LogLevel::kError, "audit_final_checkpoint_failed");
}

void AuditLog::Run() {
  for (;;) {
    {
      absl::MutexLock lock(&mutex_);
      mutex_.AwaitWithTimeout(absl::Condition(&stopping_), options_.checkpoint_interval);
      if (stopping_) return;
    }
    // Problems are logged (once each) by Checkpoint itself.
    Checkpoint().IgnoreError();
  }
}

absl::Status AuditLog::CheckAgainstFile(Transaction& tx,
                                        const std::optional<AuditCheckpoint>& last) {
  if (options_.checkpoint_file.empty()) return absl::OkStatus();
  auto kept = LastCheckpointIn(options_.checkpoint_file);
  if (!kept.ok()) return kept.status();
  if (!kept->has_value()) return absl::OkStatus();
  const AuditCheckpoint& outside = **kept;
  if (!last || last->seq < outside.seq) {
    return absl::DataLossError(absl::StrCat(
        "the database's audit checkpoints end at ", last ? last->seq : 0, " but ",
        options_.checkpoint_file, " holds checkpoint ", outside.seq,
        ": the trail was cut back or wiped, or the database restored from a backup (see the "
        "README: after a restore)"));
  }
  std::optional<AuditCheckpoint> same =
      last->seq == outside.seq ? last : store_.CheckpointAt(tx, outside.seq);
  if (!same || !SameCheckpoint(*same, outside)) {
    return absl::DataLossError(absl::StrCat("audit checkpoint ", outside.seq,
                                            " in the database differs from the one in ",
                                            options_.checkpoint_file, ": it was replaced"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<AuditCheckpoint>> AuditLog::Checkpoint() {
  absl::MutexLock lock(&checkpoint_mutex_);
  std::optional<AuditCheckpoint> made;
  bool sealed_all = false;
  int64_t sealed_rows = 0;
  absl::Status status = db_.Write(absl::Now() + absl::Seconds(60), [&](WriteTransaction& tx) {
    made.reset();
    sealed_all = false;
    sealed_rows = 0;
    if (!store_.TryCheckpointLock(tx)) return absl::OkStatus();  // another instance is at it
    std::optional<AuditCheckpoint> last = store_.LastCheckpoint(tx);
    if (last && !ConstantTimeEquals(last->mac, AuditCheckpointMac(key_, *last))) {
      return absl::DataLossError(absl::StrCat(
          "audit checkpoint ", last->seq,
          " in the database has an invalid MAC (it was not made by a server holding the key)"));
    }
    COPLAN_RETURN_IF_ERROR(CheckAgainstFile(tx, last));
    const uint64_t from = last ? last->horizon : 0;
    const uint64_t horizon = store_.FinishedHorizon(tx);
    sealed_all = true;
    if (horizon <= from) return absl::OkStatus();
    AuditCheckpoint next;
    next.seq = last ? last->seq + 1 : 1;
    next.horizon = horizon;
    next.rows_total = last ? last->rows_total : 0;
    next.digest = last ? last->digest : std::string();
    int64_t added = 0;
    store_.ForEachRow(tx, from, horizon, [&](const AuditRow& row) {
      next.digest = AuditDigestStep(next.digest, row);
      ++added;
    });
    if (added == 0) return absl::OkStatus();
    next.rows_total += added;
    // Real time, not the rules' clock: operators compare it with backups and restores.
    next.made_at = MicrosToTime(TimeToMicros(absl::Now()));
    next.mac = AuditCheckpointMac(key_, next);
    store_.InsertCheckpoint(tx, next);
    made = next;
    sealed_rows = added;
    return absl::OkStatus();
  });
  if (!status.ok()) {
    // Said once per distinct problem, not every interval.
    const std::string problem(status.message());
    AuditCheckpoints().Add({"failed"});
    if (problem != reported_problem_) {
      reported_problem_ = problem;
      Log(status.code() == absl::StatusCode::kDataLoss ? LogLevel::kError : LogLevel::kWarning,
          status.code() == absl::StatusCode::kDataLoss ? "audit_trail_altered"
                                                       : "audit_checkpoint_failed")
          .Str("problem", problem);
    }
    return status;
  }
  reported_problem_.clear();
  // Real time, not the rules' clock: operators compare it with time() in their alerts.
  if (sealed_all) sealed_as_of_micros_.store(absl::ToUnixMicros(absl::Now()));
  if (made) {
    AuditCheckpoints().Add({"made"});
    AuditRowsSealed().Add({}, static_cast<uint64_t>(sealed_rows));
    WriteOutside(*made);
  }
  return made;
}

absl::Time AuditLog::sealed_as_of() const {
  const int64_t micros = sealed_as_of_micros_.load();
  return micros == INT64_MIN ? absl::InfinitePast() : absl::FromUnixMicros(micros);
}

void AuditLog::WriteOutside(const AuditCheckpoint& checkpoint) {
  Log(LogLevel::kInfo, "audit_checkpoint")
      .Int("seq", checkpoint.seq)
      .Str("horizon", std::to_string(checkpoint.horizon))
      .Int("rows_total", checkpoint.rows_total)
      .Str("digest", absl::BytesToHexString(checkpoint.digest))
      .Str("mac", absl::BytesToHexString(checkpoint.mac));
  if (options_.checkpoint_file.empty()) return;
  const std::string line = AuditCheckpointJson(checkpoint) + "\n";
  const int fd = ::open(options_.checkpoint_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  const bool written = fd >= 0 &&
                       ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                       ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  if (!written) {
    Log(LogLevel::kError, "audit_checkpoint_file_write_failed")
        .Str("file", options_.checkpoint_file)
        .Int("seq", checkpoint.seq);
  }
}

AuditVerification VerifyAuditTrail(Database& db, AuditStore& store, const std::string& key,
                                   const std::vector<std::string>& checkpoint_files) {
  AuditVerification report;
  auto problem = [&](std::string text) {
    report.ok = false;
    if (report.problems.size() < 100) report.problems.push_back(std::move(text));
  };
  std::vector<AuditCheckpoint> checkpoints;
  absl::Status status = db.Write(absl::InfiniteFuture(), [&](WriteTransaction& tx) {
    report = AuditVerification{};
    store.UseOneReadOnlySnapshot(tx);  // nothing is written; rows and checkpoints agree
    checkpoints = store.Checkpoints(tx);
    for (size_t i = 0; i < checkpoints.size(); ++i) {
      const AuditCheckpoint& checkpoint = checkpoints[i];
      if (checkpoint.seq != static_cast<int64_t>(i) + 1) {
        problem(
            absl::StrCat("audit checkpoint ", i + 1, " is missing (next is ", checkpoint.seq, ")"));
      }
      if (!ConstantTimeEquals(checkpoint.mac, AuditCheckpointMac(key, checkpoint))) {
        problem(absl::StrCat("audit checkpoint ", checkpoint.seq,
                             " has an invalid MAC (edited, or not made by a server)"));
      }
      if (i > 0 && checkpoint.horizon <= checkpoints[i - 1].horizon) {
        problem(absl::StrCat("audit checkpoint ", checkpoint.seq, " goes backwards"));
      }
    }
    // The rows in checkpoint order; each checkpoint must match the rows before its horizon.
    size_t next = 0;
    int64_t count = 0;
    std::string digest;
    auto close_checkpoints_before = [&](uint64_t tx_id) {
      while (next < checkpoints.size() && tx_id >= checkpoints[next].horizon) {
        const AuditCheckpoint& checkpoint = checkpoints[next++];
        if (checkpoint.rows_total != count || !ConstantTimeEquals(checkpoint.digest, digest)) {
          problem(absl::StrCat("the rows covered by audit checkpoint ", checkpoint.seq, " (made ",
                               absl::FormatTime(checkpoint.made_at),
                               ") are not as "
                               "they were: it counted ",
                               checkpoint.rows_total,
                               " rows, the "
                               "trail now has ",
                               count, " (rows deleted, added or reordered)"));
          // Go on from what the checkpoint recorded, so one cut is reported once.
          count = checkpoint.rows_total;
          digest = checkpoint.digest;
        }
      }
    };
    store.ForEachRow(tx, 0, kLastTransaction, [&](const AuditRow& row) {
      close_checkpoints_before(row.tx_id);
      ++report.rows;
      if (!ConstantTimeEquals(row.row_mac, AuditRowMac(key, row))) {
        problem(absl::StrCat("audit row ", row.id,
                             ": its content does not match its MAC (edited, or not written by "
                             "a server)"));
      }
      digest = AuditDigestStep(digest, row);
      ++count;
      if (next == checkpoints.size()) ++report.rows_after_last_checkpoint;
    });
    close_checkpoints_before(kLastTransaction);
    report.checkpoints = static_cast<int64_t>(checkpoints.size());
    return absl::OkStatus();
  });
  if (!status.ok()) {
    problem(absl::StrCat("could not read the audit trail: ", status.message()));
    return report;
  }
  std::map<int64_t, const AuditCheckpoint*> by_seq;
  for (const auto& checkpoint : checkpoints) by_seq[checkpoint.seq] = &checkpoint;
  for (const std::string& file : checkpoint_files) {
    std::ifstream in(file);
    if (!in) {
      problem(absl::StrCat("cannot read the checkpoint file ", file));
      continue;
    }
    std::string line;
    int line_number = 0;
    while (std::getline(in, line)) {
      ++line_number;
      if (line.empty()) continue;
      auto outside = ParseAuditCheckpointJson(line);
      if (!outside.ok() || !ConstantTimeEquals(outside->mac, AuditCheckpointMac(key, *outside))) {
        problem(absl::StrCat(file, " line ", line_number,
                             " is not a checkpoint made by a server holding the key"));
        continue;
      }
      auto found = by_seq.find(outside->seq);
      if (found == by_seq.end()) {
        problem(absl::StrCat(
            "audit checkpoint ", outside->seq, " (made ", absl::FormatTime(outside->made_at), ", ",
            outside->rows_total, " rows) is in ", file,
            " but not in the database: the trail was cut back or wiped, or the database was "
            "restored from a backup older than it (see the README: after a restore)"));
      } else if (!SameCheckpoint(*found->second, *outside)) {
        problem(absl::StrCat("audit checkpoint ", outside->seq, " in the database differs from ",
                             file, ": it was replaced"));
      } else {
        ++report.file_checkpoints;
      }
    }
  }
  if (checkpoint_files.empty()) {
    report.notes.push_back(
        "no checkpoint file was given: rows cut from the end, or a wiped trail, cannot be told "
        "from a shorter one (--audit_checkpoint_file)");
  }
  return report;
}

}  // namespace coplan
