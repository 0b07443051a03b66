#include "server/api/rpc_runner.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/api/grpc_status.h"
#include "server/common/errors.h"
#include "server/common/log.h"

namespace coplan {
namespace {

const char* CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {
      "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
      "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
      "UNAUTHENTICATED"};
  const int index = static_cast<int>(code);
  return index >= 0 && index <= 16 ? kNames[index] : "UNKNOWN";
}

}  // namespace

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

absl::StatusOr<Caller> RpcRunner::Authenticate(grpc::CallbackServerContext* context,
                                               const char* method) {
  return Authenticate(TokenOf(context), DeadlineOf(context, absl::Now()), method);
}

absl::StatusOr<Caller> RpcRunner::Authenticate(const std::string& authorization, absl::Time deadline,
                                               const char* method) {
  Caller caller;
  caller.method = method;
  caller.now = absl::Now();
  caller.deadline = deadline;
  auto principal = authenticator_.Authenticate(authorization, caller.now);
  if (!principal.ok()) return principal.status();
  caller.person_id = principal->person_id;
  caller.session_id = principal->session_id;
  caller.token_expire = principal->expire;
  return caller;
}

grpc::ServerUnaryReactor* RpcRunner::Run(grpc::CallbackServerContext* context, const char* method,
                                         Body body) {
  return Start(context, method, /*authenticated=*/true, std::move(body));
}

grpc::ServerUnaryReactor* RpcRunner::RunAnonymous(grpc::CallbackServerContext* context,
                                                  const char* method, Body body) {
  return Start(context, method, /*authenticated=*/false, std::move(body));
}

grpc::ServerUnaryReactor* RpcRunner::Start(grpc::CallbackServerContext* context, const char* method,
                                           bool authenticated, Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Time start = absl::Now();
  auto task = [this, context, reactor, method, authenticated, start, body = std::move(body)] {
    absl::Status status;
    if (context->IsCancelled()) {
      status = absl::CancelledError("the call was cancelled before it started");
    } else {
      try {
        absl::StatusOr<Caller> caller;
        if (authenticated) {
          caller = Authenticate(context, method);
        } else {
          caller = Caller{};
          caller->method = method;
          caller->now = absl::Now();
          caller->deadline = DeadlineOf(context, caller->now);
        }
        status = caller.ok() ? body(*caller) : caller.status();
      } catch (const std::exception& e) {
        Log(LogLevel::kError, "rpc_exception").Str("method", method);
        status = absl::InternalError("unexpected exception");
      }
    }
    const grpc::Status result = ToGrpcStatus(status);
    Log(result.ok() ? LogLevel::kDebug : LogLevel::kInfo, "rpc")
        .Str("method", method)
        .Str("code", CodeName(result.error_code()))
        .Num("ms", absl::ToDoubleMilliseconds(absl::Now() - start));
    reactor->Finish(result);
  };
  if (!pool_.TrySubmit(std::move(task))) {
    absl::Status busy = absl::UnavailableError("the server is busy; retry with backoff");
    AttachErrorInfo(busy, reason::kUnavailable);
    Log(LogLevel::kWarning, "rpc_rejected_busy").Str("method", method);
    reactor->Finish(ToGrpcStatus(busy));
  }
  return reactor;
}

}  // namespace coplan
