#include "server/api/auth_handler.h"

namespace coplan {

grpc::ServerUnaryReactor* AuthHandler::SignIn(grpc::CallbackServerContext* context,
                                              const v1::SignInRequest* request,
                                              v1::SignInResponse* response) {
  return runner_.RunAnonymous(context, "coplan.v1.AuthService/SignIn", [=](const Caller& caller) {
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
