#include "server/api/people_handler.h"

namespace coplan {

#define COPLAN_METHOD(name) "coplan.v1.PeopleService/" #name

grpc::ServerUnaryReactor* PeopleHandler::GetPerson(grpc::CallbackServerContext* context,
                                                   const v1::GetPersonRequest* request,
                                                   v1::Person* response) {
  return runner_.Run(context, COPLAN_METHOD(GetPerson), [=](const Caller& caller) {
    return Respond(people_.GetPerson(caller, ResolveMe(request->name(), caller)), response);
  });
}

grpc::ServerUnaryReactor* PeopleHandler::CreatePerson(grpc::CallbackServerContext* context,
                                                      const v1::CreatePersonRequest* request,
                                                      v1::Person* response) {
  return runner_.Run(context, COPLAN_METHOD(CreatePerson), [=](const Caller& caller) {
    return Respond(people_.CreatePerson(caller, *request), response);
  });
}

grpc::ServerUnaryReactor* PeopleHandler::CreateAccount(grpc::CallbackServerContext* context,
                                                       const v1::CreateAccountRequest* request,
                                                       v1::Account* response) {
  return runner_.Run(context, COPLAN_METHOD(CreateAccount), [=](const Caller& caller) {
    v1::CreateAccountRequest resolved = *request;
    resolved.set_parent(ResolveMe(request->parent(), caller));
    return Respond(people_.CreateAccount(caller, resolved), response);
  });
}

grpc::ServerUnaryReactor* PeopleHandler::CreateExternalIdentity(
    grpc::CallbackServerContext* context, const v1::CreateExternalIdentityRequest* request,
    v1::ExternalIdentity* response) {
  return runner_.Run(context, COPLAN_METHOD(CreateExternalIdentity), [=](const Caller& caller) {
    v1::CreateExternalIdentityRequest resolved = *request;
    resolved.set_parent(ResolveMe(request->parent(), caller));
    return Respond(people_.CreateExternalIdentity(caller, resolved), response);
  });
}

grpc::ServerUnaryReactor* PeopleHandler::ListExternalIdentities(
    grpc::CallbackServerContext* context, const v1::ListExternalIdentitiesRequest* request,
    v1::ListExternalIdentitiesResponse* response) {
  return runner_.Run(context, COPLAN_METHOD(ListExternalIdentities), [=](const Caller& caller) {
    return Respond(accounts_.ListExternalIdentities(caller, ResolveMe(request->parent(), caller)),
                   response);
  });
}

grpc::ServerUnaryReactor* PeopleHandler::DeleteExternalIdentity(
    grpc::CallbackServerContext* context, const v1::DeleteExternalIdentityRequest* request,
    v1::ExternalIdentity* response) {
  return runner_.Run(context, COPLAN_METHOD(DeleteExternalIdentity), [=](const Caller& caller) {
    return Respond(accounts_.DeleteExternalIdentity(caller, ResolveMe(request->name(), caller)),
                   response);
  });
}

grpc::ServerUnaryReactor* PeopleHandler::UpdatePerson(grpc::CallbackServerContext* context,
                                                      const v1::UpdatePersonRequest* request,
                                                      v1::Person* response) {
  return runner_.Run(context, COPLAN_METHOD(UpdatePerson), [=](const Caller& caller) {
    v1::UpdatePersonRequest resolved = *request;
    resolved.mutable_person()->set_name(ResolveMe(request->person().name(), caller));
    return Respond(accounts_.UpdatePerson(caller, resolved), response);
  });
}

grpc::ServerUnaryReactor* PeopleHandler::DisableAccount(grpc::CallbackServerContext* context,
                                                        const v1::DisableAccountRequest* request,
                                                        v1::Person* response) {
  return runner_.Run(context, COPLAN_METHOD(DisableAccount), [=](const Caller& caller) {
    return Respond(accounts_.DisableAccount(caller, ResolveMe(request->name(), caller)), response);
  });
}

grpc::ServerUnaryReactor* PeopleHandler::EnableAccount(grpc::CallbackServerContext* context,
                                                       const v1::EnableAccountRequest* request,
                                                       v1::Person* response) {
  return runner_.Run(context, COPLAN_METHOD(EnableAccount), [=](const Caller& caller) {
    return Respond(accounts_.EnableAccount(caller, ResolveMe(request->name(), caller)), response);
  });
}

grpc::ServerUnaryReactor* PeopleHandler::ListConnections(grpc::CallbackServerContext* context,
                                                         const v1::ListConnectionsRequest* request,
                                                         v1::ListConnectionsResponse* response) {
  return runner_.Run(context, COPLAN_METHOD(ListConnections), [=](const Caller& caller) {
    return Respond(people_.ListConnections(caller, *request), response);
  });
}

grpc::ServerUnaryReactor* PeopleHandler::CreateCareTeamMember(
    grpc::CallbackServerContext* context, const v1::CreateCareTeamMemberRequest* request,
    v1::CareTeamMember* response) {
  return runner_.Run(context, COPLAN_METHOD(CreateCareTeamMember), [=](const Caller& caller) {
    v1::CreateCareTeamMemberRequest resolved = *request;
    resolved.set_parent(ResolveMe(request->parent(), caller));
    return Respond(people_.CreateCareTeamMember(caller, resolved), response);
  });
}

grpc::ServerUnaryReactor* PeopleHandler::ListCareTeamMembers(
    grpc::CallbackServerContext* context, const v1::ListCareTeamMembersRequest* request,
    v1::ListCareTeamMembersResponse* response) {
  return runner_.Run(context, COPLAN_METHOD(ListCareTeamMembers), [=](const Caller& caller) {
    v1::ListCareTeamMembersRequest resolved = *request;
    resolved.set_parent(ResolveMe(request->parent(), caller));
    return Respond(people_.ListCareTeamMembers(caller, resolved), response);
  });
}

grpc::ServerUnaryReactor* PeopleHandler::DeleteCareTeamMember(
    grpc::CallbackServerContext* context, const v1::DeleteCareTeamMemberRequest* request,
    v1::CareTeamMember* response) {
  return runner_.Run(context, COPLAN_METHOD(DeleteCareTeamMember), [=](const Caller& caller) {
    return Respond(people_.DeleteCareTeamMember(caller, ResolveMe(request->name(), caller)),
                   response);
  });
}

grpc::ServerUnaryReactor* PeopleHandler::CreateGrant(grpc::CallbackServerContext* context,
                                                     const v1::CreateGrantRequest* request,
                                                     v1::Grant* response) {
  return runner_.Run(context, COPLAN_METHOD(CreateGrant), [=](const Caller& caller) {
    v1::CreateGrantRequest resolved = *request;
    resolved.set_parent(ResolveMe(request->parent(), caller));
    return Respond(people_.CreateGrant(caller, resolved), response);
  });
}

grpc::ServerUnaryReactor* PeopleHandler::AcceptGrantInvitation(
    grpc::CallbackServerContext* context, const v1::AcceptGrantInvitationRequest* request,
    v1::Grant* response) {
  return runner_.Run(context, COPLAN_METHOD(AcceptGrantInvitation), [=](const Caller& caller) {
    return Respond(people_.AcceptGrantInvitation(caller, *request), response);
  });
}

grpc::ServerUnaryReactor* PeopleHandler::ListGrants(grpc::CallbackServerContext* context,
                                                    const v1::ListGrantsRequest* request,
                                                    v1::ListGrantsResponse* response) {
  return runner_.Run(context, COPLAN_METHOD(ListGrants), [=](const Caller& caller) {
    v1::ListGrantsRequest resolved = *request;
    resolved.set_parent(ResolveMe(request->parent(), caller));
    return Respond(people_.ListGrants(caller, resolved), response);
  });
}

grpc::ServerUnaryReactor* PeopleHandler::RevokeGrant(grpc::CallbackServerContext* context,
                                                     const v1::RevokeGrantRequest* request,
                                                     v1::Grant* response) {
  return runner_.Run(context, COPLAN_METHOD(RevokeGrant), [=](const Caller& caller) {
    return Respond(people_.RevokeGrant(caller, ResolveMe(request->name(), caller)), response);
  });
}

grpc::ServerUnaryReactor* PeopleHandler::CreateProxyAccess(
    grpc::CallbackServerContext* context, const v1::CreateProxyAccessRequest* request,
    v1::ProxyAccess* response) {
  return runner_.Run(context, COPLAN_METHOD(CreateProxyAccess), [=](const Caller& caller) {
    v1::CreateProxyAccessRequest resolved = *request;
    resolved.set_parent(ResolveMe(request->parent(), caller));
    return Respond(people_.CreateProxyAccess(caller, resolved), response);
  });
}

grpc::ServerUnaryReactor* PeopleHandler::ListProxyAccesses(
    grpc::CallbackServerContext* context, const v1::ListProxyAccessesRequest* request,
    v1::ListProxyAccessesResponse* response) {
  return runner_.Run(context, COPLAN_METHOD(ListProxyAccesses), [=](const Caller& caller) {
    v1::ListProxyAccessesRequest resolved = *request;
    resolved.set_parent(ResolveMe(request->parent(), caller));
    return Respond(people_.ListProxyAccesses(caller, resolved), response);
  });
}

grpc::ServerUnaryReactor* PeopleHandler::RefuseProxyAccess(
    grpc::CallbackServerContext* context, const v1::RefuseProxyAccessRequest* request,
    v1::ProxyAccess* response) {
  return runner_.Run(context, COPLAN_METHOD(RefuseProxyAccess), [=](const Caller& caller) {
    return Respond(people_.RefuseProxyAccess(caller, ResolveMe(request->name(), caller)), response);
  });
}

grpc::ServerUnaryReactor* PeopleHandler::RecordCompetenceDecision(
    grpc::CallbackServerContext* context, const v1::RecordCompetenceDecisionRequest* request,
    v1::ProxyAccess* response) {
  return runner_.Run(context, COPLAN_METHOD(RecordCompetenceDecision), [=](const Caller& caller) {
    v1::RecordCompetenceDecisionRequest resolved = *request;
    resolved.set_name(ResolveMe(request->name(), caller));
    return Respond(people_.RecordCompetenceDecision(caller, resolved), response);
  });
}

grpc::ServerUnaryReactor* PeopleHandler::AcceptProxyAccess(
    grpc::CallbackServerContext* context, const v1::AcceptProxyAccessRequest* request,
    v1::ProxyAccess* response) {
  return runner_.Run(context, COPLAN_METHOD(AcceptProxyAccess), [=](const Caller& caller) {
    return Respond(people_.AcceptProxyAccess(caller, ResolveMe(request->name(), caller)), response);
  });
}

}  // namespace coplan
