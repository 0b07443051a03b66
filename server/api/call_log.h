// The one log line of every call, unary or streaming, when it ends: method, gRPC code and
// duration, never anything the caller sent; and the same counted in the metrics
// (coplan_rpc_calls_total, coplan_rpc_duration_seconds).
#pragma once

#include <grpcpp/support/status.h>

#include "absl/time/time.h"

namespace coplan {

void LogCallEnd(const char* method, const grpc::Status& status, absl::Time start);

}  // namespace coplan
