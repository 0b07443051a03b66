// What administrators do to the accounts people act through, as distinct from registering
// them (people_service.h): correct a person's name or NHS number, disable and enable an
// account, list and unlink the identities of an identity provider linked to a person.
//
// Disabling ends every session of the person (their streams too, on every instance: the
// doorbell carries it) and the access check of every call refuses a disabled person
// whatever their token, so an identity provider's tokens stop too. Unlinking an identity
// ends its tokens the same way: they name the link (IdentityCredential), which every
// call's access check finds gone. Each change is audited on the person's record, so it
// is in their own access log.
#pragma once

#include "absl/status/statusor.h"
#include "coplan/v1/people_service.pb.h"
#include "server/service/access_gate.h"
#include "server/service/audit_log.h"
#include "server/service/caller.h"
#include "server/service/document_events.h"
#include "server/store/database.h"
#include "server/store/people_store.h"
#include "server/store/session_store.h"

namespace coplan {

class AccountAdmin {
 public:
  AccountAdmin(Database& db, PeopleStore& people, SessionStore& sessions, AccessGate& gate,
               AuditLog& audit);
  void SetEvents(DocumentEvents* events) { events_ = events; }

  absl::StatusOr<coplan::v1::Person> UpdatePerson(const Caller& caller,
                                                  const coplan::v1::UpdatePersonRequest& request);
  absl::StatusOr<coplan::v1::Person> DisableAccount(const Caller& caller, const std::string& name);
  absl::StatusOr<coplan::v1::Person> EnableAccount(const Caller& caller, const std::string& name);
  absl::StatusOr<coplan::v1::ListExternalIdentitiesResponse> ListExternalIdentities(
      const Caller& caller, const std::string& parent);
  absl::StatusOr<coplan::v1::ExternalIdentity> DeleteExternalIdentity(const Caller& caller,
                                                                      const std::string& name);

 private:
  // Sets or clears the disable time of the person named `name`.
  absl::StatusOr<coplan::v1::Person> SetDisabled(const Caller& caller, const std::string& name,
                                                 bool disable);

  Database& db_;
  PeopleStore& people_;
  SessionStore& sessions_;
  AccessGate& gate_;
  AuditLog& audit_;
  DocumentEvents* events_ = nullptr;
};

}  // namespace coplan
