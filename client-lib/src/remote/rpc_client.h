// A blocking, typed gRPC client for the project's own tools (the tests and the benchmark):
// one call at a time on the caller's thread, with retries that sleep. Apps use the client
// core (coplan/client/coplan_client.h), which never blocks and works offline.
//
//   coplan::client::remote::RpcClient client({.target = "127.0.0.1:50051"});
//   absl::Status signed_in = client.SignIn("alex", "alex-demo-password");
//   v1::GetPlanRequest request;
//   request.set_name("people/alex/plans/crisis-plan");
//   absl::StatusOr<v1::Plan> plan = client.Call(&v1::PlanService::Stub::GetPlan, request);
//
// - Every call gets the bearer token and a default deadline.
// - Safe calls (reads, and edits carrying an idempotency key) are retried with
//   exponential backoff and jitter when the server is UNAVAILABLE.
// - With a token source, an UNAUTHENTICATED answer fetches a fresh token once and retries.
// - Errors come back as absl::Status carrying the server's google.rpc details as payloads
//   (read them with ErrorDetail<google::rpc::BadRequest>(status)).
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coplan/v1/audit_service.grpc.pb.h"
#include "coplan/v1/auth_service.grpc.pb.h"
#include "coplan/v1/decision_service.grpc.pb.h"
#include "coplan/v1/editing_service.grpc.pb.h"
#include "coplan/v1/export_service.grpc.pb.h"
#include "coplan/v1/option_grid_service.grpc.pb.h"
#include "coplan/v1/people_service.grpc.pb.h"
#include "coplan/v1/plan_service.grpc.pb.h"
#include "remote/grpc_status.h"

namespace coplan::client::remote {

struct RpcClientOptions {
  std::string target = "127.0.0.1:50051";
  // Insecure (plaintext) when null; use grpc::SslCredentials for TLS.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  absl::Duration default_deadline = absl::Seconds(10);
  int max_attempts = 4;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(2);
  // An existing channel to share (then target and credentials are ignored).
  std::shared_ptr<grpc::Channel> channel;
};

struct CallOptions {
  // Retry on UNAVAILABLE (only for calls that are safe to repeat).
  bool retry = false;
  std::optional<absl::Duration> deadline;
};

// A fresh token when the current one is refused (e.g. sign in again).
using TokenSource = std::function<absl::StatusOr<std::string>()>;

class RpcClient {
 public:
  explicit RpcClient(RpcClientOptions options);

  // Signs in with a built-in account and keeps the token (and the credentials as the
  // token source, so that an expired token is replaced).
  absl::Status SignIn(const std::string& username, const std::string& password);
  absl::Status SignOut();
  void SetToken(std::string token);
  void SetTokenSource(TokenSource source);
  std::string token() const;
  // The signed-in person, "people/{id}" (after SignIn).
  std::string person() const;

  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                             Response*),
                                const Request& request, CallOptions options = {}) {
    Stub& target = stub<Stub>();
    Response response;
    absl::Status status = Invoke(
        [&](grpc::ClientContext* context) { return (target.*method)(context, request, &response); },
        options.retry, options.deadline);
    if (!status.ok()) return status;
    return response;
  }

  // A context with the token and a deadline, for streams and advanced use.
  std::unique_ptr<grpc::ClientContext> NewContext(std::optional<absl::Duration> deadline) const;

  template <typename Stub>
  Stub& stub();

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

 private:
  absl::Status Invoke(const std::function<grpc::Status(grpc::ClientContext*)>& call, bool retry,
                      std::optional<absl::Duration> deadline);

  const RpcClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  mutable std::mutex mutex_;
  std::string token_;         // guarded by mutex_
  std::string person_;        // guarded by mutex_
  TokenSource token_source_;  // guarded by mutex_
  std::unique_ptr<coplan::v1::PlanService::Stub> plans_;
  std::unique_ptr<coplan::v1::EditingService::Stub> editing_;
  std::unique_ptr<coplan::v1::PeopleService::Stub> people_;
  std::unique_ptr<coplan::v1::AuthService::Stub> auth_;
  std::unique_ptr<coplan::v1::AuditService::Stub> audit_;
  std::unique_ptr<coplan::v1::OptionGridService::Stub> grids_;
  std::unique_ptr<coplan::v1::DecisionService::Stub> decisions_;
  std::unique_ptr<coplan::v1::ExportService::Stub> exports_;
};

template <>
inline coplan::v1::PlanService::Stub& RpcClient::stub() {
  return *plans_;
}
template <>
inline coplan::v1::EditingService::Stub& RpcClient::stub() {
  return *editing_;
}
template <>
inline coplan::v1::PeopleService::Stub& RpcClient::stub() {
  return *people_;
}
template <>
inline coplan::v1::AuthService::Stub& RpcClient::stub() {
  return *auth_;
}
template <>
inline coplan::v1::AuditService::Stub& RpcClient::stub() {
  return *audit_;
}
template <>
inline coplan::v1::OptionGridService::Stub& RpcClient::stub() {
  return *grids_;
}
template <>
inline coplan::v1::DecisionService::Stub& RpcClient::stub() {
  return *decisions_;
}
template <>
inline coplan::v1::ExportService::Stub& RpcClient::stub() {
  return *exports_;
}

}  // namespace coplan::client::remote
