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
//   COPLAN_RETURN_IF_ERROR(audit.Read(subject_id, name));           // a served read, batched
//
// A refusal is the one thing recorded outside the call's transaction (which rolls back
// with it): Deny only stages it, and Finish records it once the call's outcome is known,
// so a transaction that runs more than once never records it twice.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "server/service/audit_log.h"
#include "server/service/caller.h"
#include "server/store/transaction.h"

namespace coplan {

struct AccessFacts;

class CallAudit {
 public:
  CallAudit(AuditLog& log, const Caller& caller) : log_(log), caller_(caller) {}

  // An allowed change, in the change's own transaction.
  void Write(WriteTransaction& tx, const std::string& subject_id, coplan::v1::AuditAction action,
             const std::string& resource) {
    log_.RecordInTransaction(
        tx, Event(subject_id, action, resource, coplan::v1::AUDIT_OUTCOME_ALLOWED));
  }
  // A read that was served. Fails (UNAVAILABLE) only if the audit buffer is full, in
  // which case the data must not be returned.
  absl::Status Read(const std::string& subject_id, const std::string& resource,
                    coplan::v1::AuditAction action = coplan::v1::AUDIT_ACTION_READ) {
    return log_.RecordLater(Event(subject_id, action, resource, coplan::v1::AUDIT_OUTCOME_ALLOWED));
  }
  // Stages a refused attempt (replacing one staged before) and returns `error` unchanged.
  absl::Status Deny(const std::string& subject_id, coplan::v1::AuditAction action,
                    const std::string& resource, absl::Status error) {
    denial_ = Event(subject_id, action, resource, coplan::v1::AUDIT_OUTCOME_DENIED);
    return error;
  }
  // Records the staged refusal, if any, and returns `status` unchanged.
  absl::Status Finish(absl::Status status) {
    if (denial_) {
      log_.RecordLater(*denial_).IgnoreError();
      denial_.reset();
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
