// The one error boundary (like Arrow Flight's ToGrpcStatus): absl::Status from domain and
// store code becomes grpc::Status, with the google.rpc.Status details (BadRequest,
// ErrorInfo, PreconditionFailure, EditConflict, ...) carried in the binary trailer.
//
//   reactor->Finish(ToGrpcStatus(status));
//
// Internal errors never leak their text (it may quote SQL or data).
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "google/rpc/status.pb.h"

namespace coplan {

grpc::Status ToGrpcStatus(const absl::Status& status);
// The same as a google.rpc.Status message (code, message, details), for statuses carried
// inside a response (a sync stream's TargetEnded).
google::rpc::Status ToRpcStatus(const absl::Status& status);

}  // namespace coplan
