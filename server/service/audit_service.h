// Reading the access log: the person sees who viewed or changed their records; everyone
// sees their own actions.
#pragma once

#include "absl/status/statusor.h"
#include "coplan/v1/audit_service.pb.h"
#include "server/service/access_gate.h"
#include "server/service/audit_log.h"
#include "server/service/caller.h"
#include "server/service/page_token.h"
#include "server/store/audit_store.h"
#include "server/store/database.h"

namespace coplan {

class AuditService {
 public:
  AuditService(Database& db, AuditStore& store, AccessGate& gate, const PageTokens& page_tokens,
               AuditLog& audit);

  absl::StatusOr<coplan::v1::ListAccessEventsResponse> ListAccessEvents(
      const Caller& caller, const coplan::v1::ListAccessEventsRequest& request);
  absl::StatusOr<coplan::v1::ListAccessEventsResponse> ListMyActions(
      const Caller& caller, const coplan::v1::ListMyActionsRequest& request);

 private:
  absl::StatusOr<coplan::v1::ListAccessEventsResponse> List(const Caller& caller, AuditQuery query,
                                                            int page_size,
                                                            const std::string& page_token,
                                                            const std::string& fingerprint);
  Database& db_;
  AuditStore& store_;
  AccessGate& gate_;
  const PageTokens& page_tokens_;
  AuditLog& audit_;
};

}  // namespace coplan
