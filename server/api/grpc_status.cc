#include "server/api/grpc_status.h"

#include "google/rpc/status.pb.h"
#include "server/common/errors.h"

namespace coplan {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  std::string message(status.message());
  if (code == grpc::StatusCode::INTERNAL || code == grpc::StatusCode::UNKNOWN) {
    message = "internal error; it has been logged";
  }
  google::rpc::Status details;
  details.set_code(static_cast<int>(code));
  details.set_message(message);
  if (code != grpc::StatusCode::INTERNAL && code != grpc::StatusCode::UNKNOWN) {
    status.ForEachPayload([&](absl::string_view type_url, const absl::Cord& payload) {
      auto* any = details.add_details();
      any->set_type_url(std::string(type_url));
      any->set_value(std::string(payload));
    });
  }
  return grpc::Status(code, message, details.SerializeAsString());
}

}  // namespace coplan
