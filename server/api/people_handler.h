// coplan.v1.PeopleService: decode, call the people service, encode.
#pragma once

#include "coplan/v1/people_service.grpc.pb.h"
#include "server/api/rpc_runner.h"
#include "server/service/account_admin.h"
#include "server/service/people_service.h"

namespace coplan {

class PeopleHandler final : public coplan::v1::PeopleService::CallbackService {
 public:
  PeopleHandler(RpcRunner& runner, PeopleService& people, AccountAdmin& accounts)
      : runner_(runner), people_(people), accounts_(accounts) {}

#define COPLAN_PEOPLE_RPC(Method, Request, Response)                     \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* context, \
                                   const coplan::v1::Request* request,   \
                                   coplan::v1::Response* response) override;
  COPLAN_PEOPLE_RPC(GetPerson, GetPersonRequest, Person)
  COPLAN_PEOPLE_RPC(CreatePerson, CreatePersonRequest, Person)
  COPLAN_PEOPLE_RPC(CreateAccount, CreateAccountRequest, Account)
  COPLAN_PEOPLE_RPC(CreateExternalIdentity, CreateExternalIdentityRequest, ExternalIdentity)
  COPLAN_PEOPLE_RPC(ListExternalIdentities, ListExternalIdentitiesRequest,
                    ListExternalIdentitiesResponse)
  COPLAN_PEOPLE_RPC(DeleteExternalIdentity, DeleteExternalIdentityRequest, ExternalIdentity)
  COPLAN_PEOPLE_RPC(UpdatePerson, UpdatePersonRequest, Person)
  COPLAN_PEOPLE_RPC(DisableAccount, DisableAccountRequest, Person)
  COPLAN_PEOPLE_RPC(EnableAccount, EnableAccountRequest, Person)
  COPLAN_PEOPLE_RPC(ListConnections, ListConnectionsRequest, ListConnectionsResponse)
  COPLAN_PEOPLE_RPC(CreateCareTeamMember, CreateCareTeamMemberRequest, CareTeamMember)
  COPLAN_PEOPLE_RPC(ListCareTeamMembers, ListCareTeamMembersRequest, ListCareTeamMembersResponse)
  COPLAN_PEOPLE_RPC(DeleteCareTeamMember, DeleteCareTeamMemberRequest, CareTeamMember)
  COPLAN_PEOPLE_RPC(CreateGrant, CreateGrantRequest, Grant)
  COPLAN_PEOPLE_RPC(AcceptGrantInvitation, AcceptGrantInvitationRequest, Grant)
  COPLAN_PEOPLE_RPC(ListGrants, ListGrantsRequest, ListGrantsResponse)
  COPLAN_PEOPLE_RPC(RevokeGrant, RevokeGrantRequest, Grant)
  COPLAN_PEOPLE_RPC(CreateProxyAccess, CreateProxyAccessRequest, ProxyAccess)
  COPLAN_PEOPLE_RPC(ListProxyAccesses, ListProxyAccessesRequest, ListProxyAccessesResponse)
  COPLAN_PEOPLE_RPC(RefuseProxyAccess, RefuseProxyAccessRequest, ProxyAccess)
  COPLAN_PEOPLE_RPC(RecordCompetenceDecision, RecordCompetenceDecisionRequest, ProxyAccess)
  COPLAN_PEOPLE_RPC(AcceptProxyAccess, AcceptProxyAccessRequest, ProxyAccess)
#undef COPLAN_PEOPLE_RPC

 private:
  RpcRunner& runner_;
  PeopleService& people_;
  AccountAdmin& accounts_;
};

}  // namespace coplan
