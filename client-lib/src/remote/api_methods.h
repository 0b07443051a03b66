// The API's unary methods by name, for calls the app makes by name (the C ABI and the
// bindings): the request and response types from the generated descriptors, and whether a
// call is safe to send again when no answer came (reads, and edits carrying an idempotency
// key).
//
//   COPLAN_ASSIGN_OR_RETURN(ApiMethod method, FindApiMethod("coplan.v1.PlanService/GetPlan"));
//   method.path == "/coplan.v1.PlanService/GetPlan"; method.request->full_name() == ...
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"

namespace coplan::client::remote {

struct ApiMethod {
  std::string path;  // "/coplan.v1.PlanService/GetPlan", as gRPC names it
  const google::protobuf::Descriptor* request = nullptr;
  const google::protobuf::Descriptor* response = nullptr;
  bool safe_to_retry = false;
};

// INVALID_ARGUMENT (field "method") for an unknown method, a streaming one (use Follow),
// or one the client core itself manages (SignIn, SignOut, RefreshSession).
absl::StatusOr<ApiMethod> FindApiMethod(absl::string_view name);

// The largest message the server accepts (4 MiB); larger ones are refused here with the
// server's RESOURCE_EXHAUSTED.
inline constexpr size_t kMaxRequestBytes = 4 * 1024 * 1024;

}  // namespace coplan::client::remote
