// Audit events of one call, with the caller and method filled in.
//
//   CallAudit audit(audit_log, caller);
//   audit.Write(tx, subject_id, v1::AUDIT_ACTION_UPDATE, name);   // in the write's transaction
//   audit.Read(subject_id, name);                                   // batched
//   return audit.Denied(subject_id, v1::AUDIT_ACTION_READ, name, NotFoundError(...));
#pragma once

#include <string>

#include "absl/status/status.h"
#include "server/service/audit_log.h"
#include "server/service/caller.h"

namespace coplan {

class CallAudit {
 public:
  CallAudit(AuditLog& log, const Caller& caller) : log_(log), caller_(caller) {}

  void Write(pqxx::work& tx, const std::string& subject_id, coplan::v1::AuditAction action,
             const std::string& resource) {
    log_.RecordInTransaction(tx, Event(subject_id, action, resource, coplan::v1::AUDIT_OUTCOME_ALLOWED));
  }
  // A read that was served. Fails (UNAVAILABLE) only if the audit buffer is full, in
  // which case the data must not be returned.
  absl::Status Read(const std::string& subject_id, const std::string& resource,
                    coplan::v1::AuditAction action = coplan::v1::AUDIT_ACTION_READ) {
    return log_.RecordLater(Event(subject_id, action, resource, coplan::v1::AUDIT_OUTCOME_ALLOWED));
  }
  // Records a refused attempt and returns `error` unchanged.
  absl::Status Denied(const std::string& subject_id, coplan::v1::AuditAction action,
                      const std::string& resource, absl::Status error) {
    log_.RecordLater(Event(subject_id, action, resource, coplan::v1::AUDIT_OUTCOME_DENIED))
        .IgnoreError();
    return error;
  }

 private:
  AuditEvent Event(const std::string& subject_id, coplan::v1::AuditAction action,
                   const std::string& resource, coplan::v1::AuditOutcome outcome) const {
    return AuditEvent{caller_.person_id, subject_id, action, resource, outcome, caller_.method};
  }

  AuditLog& log_;
  const Caller& caller_;
};

// UNAUTHENTICATED when the caller's session has ended or the person is unknown.
absl::Status RequireValidCaller(const struct AccessFacts& facts);

}  // namespace coplan
