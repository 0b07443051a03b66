// The audit events of one call, with the caller and method filled in.
//
//   CallAudit audit(audit_log, caller);
//   absl::Status status = db.Write(deadline, [&](WriteTransaction& tx) -> absl::Status {
//     if (!allowed) return audit.Deny(subject_id, v1::AUDIT_ACTION_UPDATE, name,
//     NotFoundError(...)); audit.Write(tx, subject_id, v1::AUDIT_ACTION_UPDATE, name);   // commits
//     with the change
//     ...
//   });
//   COPLAN_RETURN_IF_ERROR(audit.Finish(status));                   // records the refusal
//   COPLAN_RETURN_IF_ERROR(audit.Read(subject_id, name));           // before the answer
//
// A refusal is recorded outside the call's transaction (which rolls back with it): Deny
// only stages it, and Finish records it once the call's outcome is known, so a
// transaction that runs more than once never records it twice. Reads and refusals are
// in the trail before the caller hears the answer; when they cannot be written the call
// fails with UNAVAILABLE instead (and the failure is logged), never silently.
#pragma once

#include <algorithm>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "server/service/audit_log.h"
#include "server/service/caller.h"
#include "server/store/transaction.h"

namespace coplan {

struct AccessFacts;

class CallAudit {
 public:
  CallAudit(AuditLog& log, const Caller& caller) : log_(log), caller_(caller) {}

  // An allowed change, in the change's own transaction.
  // `given_to`: the person id this change gave access to the subject's records, if any
  // (a care-team member, a grantee, a proxy), named in the subject's access log.
  void Write(WriteTransaction& tx, const std::string& subject_id, coplan::v1::AuditAction action,
             const std::string& resource, const std::string& given_to = "") {
    AuditEvent event = Event(subject_id, action, resource, coplan::v1::AUDIT_OUTCOME_ALLOWED);
    event.access_given_to = given_to;
    log_.RecordInTransaction(tx, event);
  }
  // A read about to be served. UNAVAILABLE when the row cannot be written, in which
  // case the data must not be returned.
  absl::Status Read(const std::string& subject_id, const std::string& resource,
                    coplan::v1::AuditAction action = coplan::v1::AUDIT_ACTION_READ) {
    return log_.RecordNow(Event(subject_id, action, resource, coplan::v1::AUDIT_OUTCOME_ALLOWED),
                          caller_.deadline);
  }
  // What a watch or sync stream delivered of a document: revisions `from` to `to` (0 and
  // 0: none yet). Written before (or, for a range, after) the stream's reads, never lost
  // silently: UNAVAILABLE when the row cannot be written.
  absl::Status StreamRead(const std::string& subject_id, const std::string& resource,
                          coplan::v1::AuditAction action, int64_t from, int64_t to) {
    AuditEvent event = Event(subject_id, action, resource, coplan::v1::AUDIT_OUTCOME_ALLOWED);
    event.revision_from = from;
    event.revision_to = to;
    return log_.RecordNow(event, caller_.deadline);
  }
  // Stages a refused attempt (replacing one staged before) and returns `error` unchanged.
  absl::Status Deny(const std::string& subject_id, coplan::v1::AuditAction action,
                    const std::string& resource, absl::Status error) {
    denial_ = Event(subject_id, action, resource, coplan::v1::AUDIT_OUTCOME_DENIED);
    return error;
  }
  // Records the staged refusal, if any, and returns `status` unchanged (UNAVAILABLE
  // instead if the refusal could not be recorded).
  absl::Status Finish(absl::Status status) {
    if (denial_) {
      // A refusal is recorded even when the call ran out of time.
      absl::Status recorded =
          log_.RecordNow(*denial_, std::max(caller_.deadline, absl::Now() + absl::Seconds(5)));
      denial_.reset();
      if (!recorded.ok()) return recorded;
    }
    return status;
  }

 private:
  AuditEvent Event(const std::string& subject_id, coplan::v1::AuditAction action,
                   const std::string& resource, coplan::v1::AuditOutcome outcome) const {
    return AuditEvent{caller_.person_id, subject_id, action, resource, outcome, caller_.method};
  }

  AuditLog& log_;
  const Caller& caller_;
  std::optional<AuditEvent> denial_;
};

// UNAUTHENTICATED when the caller is unknown or their session has ended at caller.now.
absl::Status RequireValidCaller(const AccessFacts& facts, const Caller& caller);

}  // namespace coplan
