// Status at the client's boundary (like Apache Arrow Flight's FromGrpcStatus): a
// grpc::Status, with the server's google.rpc.Status details, as absl::Status whose payloads
// are the details keyed by type URL, and back to a google.rpc.Status for the app.
//
//   absl::Status status = FromGrpcStatus(grpc_status);
//   if (auto conflict = ErrorDetail<v1::EditConflict>(status)) ...
#pragma once

#include <grpcpp/support/status.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "google/rpc/status.pb.h"

namespace coplan::client::remote {

absl::Status FromGrpcStatus(const grpc::Status& status);
// The details of an absl::Status (code, message, payloads) as google.rpc.Status.
google::rpc::Status ToRpcStatus(const absl::Status& status);
absl::Status FromRpcStatus(const google::rpc::Status& status);

// A detail of an error (BadRequest, ErrorInfo, EditConflict, ...), if present.
template <typename Detail>
std::optional<Detail> ErrorDetail(const absl::Status& status) {
  auto payload = status.GetPayload("type.googleapis.com/" + Detail::descriptor()->full_name());
  if (!payload) return std::nullopt;
  Detail detail;
  if (!detail.ParseFromString(std::string(*payload))) return std::nullopt;
  return detail;
}

}  // namespace coplan::client::remote
