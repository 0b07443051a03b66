#include "server/api/auth_handler.h"

namespace coplan {

grpc::ServerUnaryReactor* AuthHandler::SignIn(grpc::CallbackServerContext* context,
                                              const v1::SignInRequest* request,
                                              v1::SignInResponse* response) {
  return runner_.RunSignIn(context, "coplan.v1.AuthService/SignIn", [=](const Caller& caller) {
    return Respond(auth_.SignIn(caller, *request), response);
  });
}

grpc::ServerUnaryReactor* AuthHandler::SignOut(grpc::CallbackServerContext* context,
                                               const v1::SignOutRequest* request,
                                               v1::SignOutResponse* response) {
  return runner_.Run(context, "coplan.v1.AuthService/SignOut", [=](const Caller& caller) {
    return auth_.SignOut(caller, RpcRunner::TokenOf(context));
  });
}

grpc::ServerUnaryReactor* AuthHandler::RefreshSession(grpc::CallbackServerContext* context,
                                                      const v1::RefreshSessionRequest* request,
                                                      v1::SignInResponse* response) {
  return runner_.RunAnonymous(context, "coplan.v1.AuthService/RefreshSession",
                              [=](const Caller& caller) {
                                return Respond(auth_.RefreshSession(caller, *request), response);
                              });
}

grpc::ServerUnaryReactor* AuthHandler::ListSessions(grpc::CallbackServerContext* context,
                                                    const v1::ListSessionsRequest* request,
                                                    v1::ListSessionsResponse* response) {
  return runner_.Run(context, "coplan.v1.AuthService/ListSessions", [=](const Caller& caller) {
    v1::ListSessionsRequest resolved = *request;
    resolved.set_parent(ResolveMe(request->parent(), caller));
    return Respond(auth_.ListSessions(caller, resolved), response);
  });
}

grpc::ServerUnaryReactor* AuthHandler::RevokeSession(grpc::CallbackServerContext* context,
                                                     const v1::RevokeSessionRequest* request,
                                                     v1::Session* response) {
  return runner_.Run(context, "coplan.v1.AuthService/RevokeSession", [=](const Caller& caller) {
    v1::RevokeSessionRequest resolved = *request;
    resolved.set_name(ResolveMe(request->name(), caller));
    return Respond(auth_.RevokeSession(caller, resolved), response);
  });
}

grpc::ServerUnaryReactor* AuthHandler::ChangePassword(grpc::CallbackServerContext* context,
                                                      const v1::ChangePasswordRequest* request,
                                                      v1::ChangePasswordResponse* response) {
  return runner_.RunPasswordCheck(
      context, "coplan.v1.AuthService/ChangePassword", [=](const Caller& caller) {
        return Respond(auth_.ChangePassword(caller, *request), response);
      });
}

grpc::ServerUnaryReactor* AuditHandler::ListAccessEvents(grpc::CallbackServerContext* context,
                                                         const v1::ListAccessEventsRequest* request,
                                                         v1::ListAccessEventsResponse* response) {
  return runner_.Run(context, "coplan.v1.AuditService/ListAccessEvents", [=](const Caller& caller) {
    v1::ListAccessEventsRequest resolved = *request;
    resolved.set_parent(ResolveMe(request->parent(), caller));
    return Respond(audit_.ListAccessEvents(caller, resolved), response);
  });
}

grpc::ServerUnaryReactor* AuditHandler::ListMyActions(grpc::CallbackServerContext* context,
                                                      const v1::ListMyActionsRequest* request,
                                                      v1::ListAccessEventsResponse* response) {
  return runner_.Run(context, "coplan.v1.AuditService/ListMyActions", [=](const Caller& caller) {
    return Respond(audit_.ListMyActions(caller, *request), response);
  });
}

}  // namespace coplan
