// Runs the body of every RPC the same way: off the gRPC thread on the bounded worker
// pool, with the caller authenticated, the deadline carried into the database, errors
// mapped at one boundary (ToGrpcStatus), and a log line without personal data. Unary
// calls and server streams take the same path; a stream's body hands its sink to the
// live layer, which writes to it and ends it later, through the same boundary.
//
//   grpc::ServerUnaryReactor* PlanHandler::GetPlan(grpc::CallbackServerContext* context,
//                                                  const v1::GetPlanRequest* request,
//                                                  v1::Plan* response) {
//     return runner_.Run(context, "coplan.v1.PlanService/GetPlan",
//                        [=](const Caller& caller) -> absl::Status { ... });
//   }
// Password sign-in runs on a lane of its own (`sign_in_pool`, sized to the password
// hashes the server computes at once), so a flood of sign-ins, each costing a hash, queues
// there and is refused there, while every other call keeps its threads.
//
//   return runner_.RunWatchStream(context, "coplan.v1.EditingService/WatchDocument",
//                                 [=](const Caller& caller, EventSink& sink) { ... });
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "coplan/v1/editing_service.pb.h"
#include "server/api/client_address.h"
#include "server/auth/authenticator.h"
#include "server/common/clock.h"
#include "server/common/worker_pool.h"
#include "server/live/event_sink.h"
#include "server/service/caller.h"

namespace coplan {

class RpcRunner {
 public:
  using Body = std::function<absl::Status(const Caller& caller)>;
  // Returns OK once the sink is handed on (the stream then ends later), or the error
  // that ends the stream now.
  using StreamBody = std::function<absl::Status(const Caller& caller, EventSink& sink)>;

  // `max_call_time` bounds database work of calls sent without a deadline. The caller's
  // `now` (what rules decide by) comes from `clock`; deadlines are real time.
  // `trusted_proxies` may set a call's client address from X-Forwarded-For.
  RpcRunner(WorkerPool& pool, WorkerPool& sign_in_pool, Authenticator& authenticator,
            const Clock& clock, absl::Duration max_call_time, TrustedProxies trusted_proxies = {})
      : pool_(pool),
        sign_in_pool_(sign_in_pool),
        authenticator_(authenticator),
        clock_(clock),
        max_call_time_(max_call_time),
        trusted_proxies_(std::move(trusted_proxies)) {}

  // An authenticated call.
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context, const char* method,
                                Body body);
  // A call that needs no token (SignIn). The caller has no person.
  grpc::ServerUnaryReactor* RunAnonymous(grpc::CallbackServerContext* context, const char* method,
                                         Body body);
  // Password sign-in: anonymous, on the sign-in lane, with the caller's `peer` set.
  grpc::ServerUnaryReactor* RunSignIn(grpc::CallbackServerContext* context, const char* method,
                                      Body body);
  // An authenticated call that checks a password (ChangePassword): on the sign-in lane,
  // so its hashes queue with sign-in's and not ahead of other calls.
  grpc::ServerUnaryReactor* RunPasswordCheck(grpc::CallbackServerContext* context,
                                             const char* method, Body body);
  // An authenticated server stream of watch events.
  grpc::ServerWriteReactor<coplan::v1::WatchEvent>* RunWatchStream(
      grpc::CallbackServerContext* context, const char* method, StreamBody body);

  // The raw bearer token of a call ("" when absent).
  static std::string TokenOf(grpc::CallbackServerContext* context);

  // The building blocks of the above, for streams that read as well as write (the sync
  // stream): runs `body` on the pool for the call's caller (anonymous when
  // `authenticated` is false), and hands its outcome to `finish`, on the pool or at once
  // when the pool refuses the work.
  void Dispatch(grpc::CallbackServerContext* context, const char* method, bool authenticated,
                std::function<absl::Status(const Caller&)> body,
                std::function<void(const absl::Status&)> finish);
  // Runs more of a call's work on the pool, exceptions caught and logged; false (and
  // `task` not run) when the pool is full.
  bool Submit(const char* method, std::function<void()> task);
  // What time it is for rules, as a caller's `now` is.
  absl::Time Now() const { return clock_.Now(); }

 private:
  absl::StatusOr<Caller> Authenticate(const std::string& authorization, absl::Time deadline,
                                      const char* method);
  absl::Time DeadlineOf(grpc::CallbackServerContext* context, absl::Time now) const;
  enum class Lane { kCalls, kSignIn };
  void DispatchOn(Lane lane, grpc::CallbackServerContext* context, const char* method,
                  bool authenticated, std::function<absl::Status(const Caller&)> body,
                  std::function<void(const absl::Status&)> finish);

  WorkerPool& pool_;
  WorkerPool& sign_in_pool_;
  Authenticator& authenticator_;
  const Clock& clock_;
  const absl::Duration max_call_time_;
  const TrustedProxies trusted_proxies_;
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
