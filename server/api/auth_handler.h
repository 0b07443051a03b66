// coplan.v1.AuthService and coplan.v1.AuditService: decode, call the service, encode.
#pragma once

#include "coplan/v1/audit_service.grpc.pb.h"
#include "coplan/v1/auth_service.grpc.pb.h"
#include "server/api/rpc_runner.h"
#include "server/service/audit_service.h"
#include "server/service/auth_service.h"

namespace coplan {

class AuthHandler final : public coplan::v1::AuthService::CallbackService {
 public:
  AuthHandler(RpcRunner& runner, AuthService& auth) : runner_(runner), auth_(auth) {}

  grpc::ServerUnaryReactor* SignIn(grpc::CallbackServerContext* context,
                                   const coplan::v1::SignInRequest* request,
                                   coplan::v1::SignInResponse* response) override;
  grpc::ServerUnaryReactor* SignOut(grpc::CallbackServerContext* context,
                                    const coplan::v1::SignOutRequest* request,
                                    coplan::v1::SignOutResponse* response) override;
  grpc::ServerUnaryReactor* RefreshSession(grpc::CallbackServerContext* context,
                                           const coplan::v1::RefreshSessionRequest* request,
                                           coplan::v1::SignInResponse* response) override;
  grpc::ServerUnaryReactor* ListSessions(grpc::CallbackServerContext* context,
                                         const coplan::v1::ListSessionsRequest* request,
                                         coplan::v1::ListSessionsResponse* response) override;
  grpc::ServerUnaryReactor* RevokeSession(grpc::CallbackServerContext* context,
                                          const coplan::v1::RevokeSessionRequest* request,
                                          coplan::v1::Session* response) override;
  grpc::ServerUnaryReactor* ChangePassword(grpc::CallbackServerContext* context,
                                           const coplan::v1::ChangePasswordRequest* request,
                                           coplan::v1::ChangePasswordResponse* response) override;

 private:
  RpcRunner& runner_;
  AuthService& auth_;
};

class AuditHandler final : public coplan::v1::AuditService::CallbackService {
 public:
  AuditHandler(RpcRunner& runner, AuditService& audit) : runner_(runner), audit_(audit) {}

  grpc::ServerUnaryReactor* ListAccessEvents(
      grpc::CallbackServerContext* context, const coplan::v1::ListAccessEventsRequest* request,
      coplan::v1::ListAccessEventsResponse* response) override;
  grpc::ServerUnaryReactor* ListMyActions(grpc::CallbackServerContext* context,
                                          const coplan::v1::ListMyActionsRequest* request,
                                          coplan::v1::ListAccessEventsResponse* response) override;

 private:
  RpcRunner& runner_;
  AuditService& audit_;
};

}  // namespace coplan
