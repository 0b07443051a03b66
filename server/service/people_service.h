// People and the relationships that give access: registration by
// administrators, care teams, grants made by the person, and guardian proxy access with
// its age rules. Every call passes the access gate (access_gate.h) once: the decision is
// domain/access_policy's, and refusals are audited.
#pragma once

#include "absl/status/statusor.h"
#include "coplan/v1/people_service.pb.h"
#include "server/auth/password_hasher.h"
#include "server/service/access_gate.h"
#include "server/service/audit_log.h"
#include "server/service/caller.h"
#include "server/service/document_events.h"
#include "server/service/page_token.h"
#include "server/store/database.h"
#include "server/store/people_store.h"

namespace coplan {

class PeopleService {
 public:
  PeopleService(Database& db, PeopleStore& store, AccessGate& gate, const PageTokens& page_tokens,
                AuditLog& audit, PasswordHasher& hasher);
  void SetEvents(DocumentEvents* events) { events_ = events; }

  absl::StatusOr<coplan::v1::Person> GetPerson(const Caller& caller, const std::string& name);
  absl::StatusOr<coplan::v1::Person> CreatePerson(const Caller& caller,
                                                  const coplan::v1::CreatePersonRequest& request);
  absl::StatusOr<coplan::v1::Account> CreateAccount(
      const Caller& caller, const coplan::v1::CreateAccountRequest& request);
  absl::StatusOr<coplan::v1::ExternalIdentity> CreateExternalIdentity(
      const Caller& caller, const coplan::v1::CreateExternalIdentityRequest& request);
  absl::StatusOr<coplan::v1::ListConnectionsResponse> ListConnections(
      const Caller& caller, const coplan::v1::ListConnectionsRequest& request);

  absl::StatusOr<coplan::v1::CareTeamMember> CreateCareTeamMember(
      const Caller& caller, const coplan::v1::CreateCareTeamMemberRequest& request);
  absl::StatusOr<coplan::v1::ListCareTeamMembersResponse> ListCareTeamMembers(
      const Caller& caller, const coplan::v1::ListCareTeamMembersRequest& request);
  absl::StatusOr<coplan::v1::CareTeamMember> DeleteCareTeamMember(const Caller& caller,
                                                                  const std::string& name);

  absl::StatusOr<coplan::v1::Grant> CreateGrant(const Caller& caller,
                                                const coplan::v1::CreateGrantRequest& request);
  absl::StatusOr<coplan::v1::Grant> AcceptGrantInvitation(
      const Caller& caller, const coplan::v1::AcceptGrantInvitationRequest& request);
  absl::StatusOr<coplan::v1::ListGrantsResponse> ListGrants(
      const Caller& caller, const coplan::v1::ListGrantsRequest& request);
  absl::StatusOr<coplan::v1::Grant> RevokeGrant(const Caller& caller, const std::string& name);

  absl::StatusOr<coplan::v1::ProxyAccess> CreateProxyAccess(
      const Caller& caller, const coplan::v1::CreateProxyAccessRequest& request);
  absl::StatusOr<coplan::v1::ListProxyAccessesResponse> ListProxyAccesses(
      const Caller& caller, const coplan::v1::ListProxyAccessesRequest& request);
  absl::StatusOr<coplan::v1::ProxyAccess> RefuseProxyAccess(const Caller& caller,
                                                            const std::string& name);
  absl::StatusOr<coplan::v1::ProxyAccess> RecordCompetenceDecision(
      const Caller& caller, const coplan::v1::RecordCompetenceDecisionRequest& request);
  absl::StatusOr<coplan::v1::ProxyAccess> AcceptProxyAccess(const Caller& caller,
                                                            const std::string& name);

  // For bootstrapping and the demo: registers a person (and an account) without a caller.
  absl::StatusOr<coplan::v1::Person> RegisterDirectly(const coplan::v1::Person& person,
                                                      const std::string& person_id,
                                                      const std::string& username,
                                                      const std::string& password);

 private:
  void AccessChanged(const std::string& person_id);

  Database& db_;
  PeopleStore& store_;
  AccessGate& gate_;
  const PageTokens& page_tokens_;
  AuditLog& audit_;
  PasswordHasher& hasher_;
  DocumentEvents* events_ = nullptr;
};

// Validates a username (3 to 64 of a-z, 0-9, '.', '_', '-', compared in lower case) and
// returns it in lower case.
absl::StatusOr<std::string> NormalizeUsername(const std::string& username,
                                              const std::string& field);

}  // namespace coplan
