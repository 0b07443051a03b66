#include "server/api/rpc_runner.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/api/call_log.h"
#include "server/api/grpc_status.h"
#include "server/api/watch_event_stream.h"
#include "server/common/errors.h"
#include "server/common/log.h"

namespace coplan {

std::string ResolveMe(const std::string& name, const Caller& caller) {
  if (name == "people/me") return caller.person_name();
  if (absl::StartsWith(name, "people/me/")) {
    return absl::StrCat(caller.person_name(), name.substr(9));
  }
  return name;
}

std::string RpcRunner::TokenOf(grpc::CallbackServerContext* context) {
  const auto& metadata = context->client_metadata();
  auto found = metadata.find("authorization");
  if (found == metadata.end()) return "";
  return std::string(found->second.data(), found->second.size());
}

absl::Time RpcRunner::DeadlineOf(grpc::CallbackServerContext* context, absl::Time now) const {
  const absl::Time limit = now + max_call_time_;
  const auto deadline = context->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return limit;
  return std::min(limit, absl::FromChrono(deadline));
}

absl::StatusOr<Caller> RpcRunner::Authenticate(const std::string& authorization,
                                               absl::Time deadline, const char* method) {
  Caller caller;
  caller.method = method;
  caller.now = clock_.Now();
  caller.deadline = deadline;
  auto principal = authenticator_.Authenticate(authorization, caller.now);
  if (!principal.ok()) return principal.status();
  caller.person_id = principal->person_id;
  caller.session_id = principal->session_id;
  caller.token_expire = principal->expire;
  return caller;
}

void RpcRunner::Dispatch(grpc::CallbackServerContext* context, const char* method,
                         bool authenticated, std::function<absl::Status(const Caller&)> body,
                         std::function<void(const absl::Status&)> finish) {
  DispatchOn(Lane::kCalls, context, method, authenticated, std::move(body), std::move(finish));
}

namespace {

std::vector<std::string> ForwardedFor(grpc::CallbackServerContext* context) {
  std::vector<std::string> values;
  auto [begin, end] = context->client_metadata().equal_range("x-forwarded-for");
  for (auto it = begin; it != end; ++it) values.emplace_back(it->second.data(), it->second.size());
  return values;
}

}  // namespace

void RpcRunner::DispatchOn(Lane lane, grpc::CallbackServerContext* context, const char* method,
                           bool authenticated, std::function<absl::Status(const Caller&)> body,
                           std::function<void(const absl::Status&)> finish) {
  // What the call needs is copied now: a client that cancels at once may end the call
  // before the worker runs.
  const std::string authorization = authenticated ? TokenOf(context) : "";
  const absl::Time deadline = DeadlineOf(context, absl::Now());
  const std::string peer =
      lane == Lane::kSignIn
          ? ClientAddress(context->peer(), ForwardedFor(context), trusted_proxies_)
          : "";
  auto task = [this, context, method, authenticated, authorization, deadline, peer,
               body = std::move(body), finish] {
    absl::Status status;
    if (context->IsCancelled()) {
      status = absl::CancelledError("the call was cancelled before it started");
    } else {
      try {
        absl::StatusOr<Caller> caller;
        if (authenticated) {
          caller = Authenticate(authorization, deadline, method);
          if (caller.ok()) caller->peer = peer;
        } else {
          caller = Caller{};
          caller->method = method;
          caller->now = clock_.Now();
          caller->deadline = deadline;
          caller->peer = peer;
        }
        status = caller.ok() ? body(*caller) : caller.status();
      } catch (const std::exception& e) {
        Log(LogLevel::kError, "rpc_exception").Str("method", method);
        status = absl::InternalError("unexpected exception");
      }
    }
    finish(status);
  };
  WorkerPool& pool = lane == Lane::kSignIn ? sign_in_pool_ : pool_;
  if (!pool.TrySubmit(std::move(task))) {
    absl::Status busy = absl::UnavailableError(
        lane == Lane::kSignIn ? "too many sign-ins are waiting; retry with backoff"
                              : "the server is busy; retry with backoff");
    AttachErrorInfo(busy, reason::kUnavailable);
    Log(LogLevel::kWarning, "rpc_rejected_busy").Str("method", method);
    finish(busy);
  }
}

namespace {

// Ends a unary call with `status`, through the one boundary.
std::function<void(const absl::Status&)> FinishUnary(grpc::ServerUnaryReactor* reactor,
                                                     const char* method) {
  const absl::Time start = absl::Now();
  return [reactor, method, start](const absl::Status& status) {
    const grpc::Status result = ToGrpcStatus(status);
    LogCallEnd(method, result, start);
    reactor->Finish(result);
  };
}

}  // namespace

bool RpcRunner::Submit(const char* method, std::function<void()> task) {
  return pool_.TrySubmit([method, task = std::move(task)] {
    try {
      task();
    } catch (const std::exception& e) {
      Log(LogLevel::kError, "rpc_exception").Str("method", method);
    }
  });
}

grpc::ServerUnaryReactor* RpcRunner::Run(grpc::CallbackServerContext* context, const char* method,
                                         Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Dispatch(context, method, /*authenticated=*/true, std::move(body), FinishUnary(reactor, method));
  return reactor;
}

grpc::ServerUnaryReactor* RpcRunner::RunAnonymous(grpc::CallbackServerContext* context,
                                                  const char* method, Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Dispatch(context, method, /*authenticated=*/false, std::move(body), FinishUnary(reactor, method));
  return reactor;
}

grpc::ServerUnaryReactor* RpcRunner::RunSignIn(grpc::CallbackServerContext* context,
                                               const char* method, Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  DispatchOn(Lane::kSignIn, context, method, /*authenticated=*/false, std::move(body),
             FinishUnary(reactor, method));
  return reactor;
}

grpc::ServerUnaryReactor* RpcRunner::RunPasswordCheck(grpc::CallbackServerContext* context,
                                                      const char* method, Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  DispatchOn(Lane::kSignIn, context, method, /*authenticated=*/true, std::move(body),
             FinishUnary(reactor, method));
  return reactor;
}

grpc::ServerWriteReactor<v1::WatchEvent>* RpcRunner::RunWatchStream(
    grpc::CallbackServerContext* context, const char* method, StreamBody body) {
  auto* stream = new WatchEventStream(method);
  Dispatch(
      context, method, /*authenticated=*/true,
      [stream, body = std::move(body)](const Caller& caller) { return body(caller, *stream); },
      [stream](const absl::Status& status) {
        // OK: the sink was handed on, and whoever holds it ends it.
        if (!status.ok()) stream->Close(status);
      });
  return stream;
}

}  // namespace coplan
