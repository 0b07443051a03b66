// Runs the body of a unary RPC the same way every time: off the gRPC thread on the
// bounded worker pool, with the caller authenticated, the deadline carried into the
// database, errors mapped at one boundary, and a log line without personal data.
//
//   grpc::ServerUnaryReactor* PlanHandler::GetPlan(grpc::CallbackServerContext* context,
//                                                  const v1::GetPlanRequest* request,
//                                                  v1::Plan* response) {
//     return runner_.Run(context, "coplan.v1.PlanService/GetPlan",
//                        [=](const Caller& caller) -> absl::Status { ... });
//   }
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/auth/authenticator.h"
#include "server/common/worker_pool.h"
#include "server/service/caller.h"

namespace coplan {

class RpcRunner {
 public:
  using Body = std::function<absl::Status(const Caller& caller)>;

  // `max_call_time` bounds database work of calls sent without a deadline.
  RpcRunner(WorkerPool& pool, Authenticator& authenticator, absl::Duration max_call_time)
      : pool_(pool), authenticator_(authenticator), max_call_time_(max_call_time) {}

  // An authenticated call.
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context, const char* method, Body body);
  // A call that needs no token (SignIn). The caller has no person.
  grpc::ServerUnaryReactor* RunAnonymous(grpc::CallbackServerContext* context, const char* method,
                                         Body body);

  // Authenticates a call's metadata.
  absl::StatusOr<Caller> Authenticate(grpc::CallbackServerContext* context, const char* method);
  // The same from values copied off the call (for work that may outlive the call's
  // context, such as setting up a stream the client has already cancelled).
  absl::StatusOr<Caller> Authenticate(const std::string& authorization, absl::Time deadline,
                                      const char* method);
  absl::Time DeadlineOf(grpc::CallbackServerContext* context, absl::Time now) const;
  // The raw bearer token of a call ("" when absent).
  static std::string TokenOf(grpc::CallbackServerContext* context);
  WorkerPool& pool() { return pool_; }
  Authenticator& authenticator() { return authenticator_; }

 private:
  grpc::ServerUnaryReactor* Start(grpc::CallbackServerContext* context, const char* method,
                                  bool authenticated, Body body);

  WorkerPool& pool_;
  Authenticator& authenticator_;
  const absl::Duration max_call_time_;
};

// Moves a service result into the response message.
template <typename T>
absl::Status Respond(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return result.status();
  response->Swap(&result.value());
  return absl::OkStatus();
}

// Replaces a leading "people/me" with the caller's own person name.
std::string ResolveMe(const std::string& name, const Caller& caller);

}  // namespace coplan
