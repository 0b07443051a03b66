#include "server/api/grpc_status.h"

#include "google/rpc/status.pb.h"
#include "server/common/errors.h"

namespace coplan {

google::rpc::Status ToRpcStatus(const absl::Status& status) {
  google::rpc::Status details;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  details.set_code(static_cast<int>(code));
  if (status.ok()) return details;
  const bool internal = code == grpc::StatusCode::INTERNAL || code == grpc::StatusCode::UNKNOWN;
  // Internal errors never show their text (it may quote SQL or data) nor their details.
  details.set_message(internal ? "internal error; it has been logged"
                               : std::string(status.message()));
  if (!internal) {
    status.ForEachPayload([&](absl::string_view type_url, const absl::Cord& payload) {
      auto* any = details.add_details();
      any->set_type_url(std::string(type_url));
      any->set_value(std::string(payload));
    });
  }
  return details;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const google::rpc::Status details = ToRpcStatus(status);
  return grpc::Status(static_cast<grpc::StatusCode>(details.code()), details.message(),
                      details.SerializeAsString());
}

}  // namespace coplan
