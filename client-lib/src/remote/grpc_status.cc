#include "remote/grpc_status.h"

namespace coplan::client::remote {

absl::Status FromRpcStatus(const google::rpc::Status& details) {
  if (details.code() == 0) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(details.code()), details.message());
  for (const auto& any : details.details()) out.SetPayload(any.type_url(), absl::Cord(any.value()));
  return out;
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  google::rpc::Status details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) {
    details.Clear();
  }
  details.set_code(static_cast<int>(status.error_code()));
  details.set_message(status.error_message());
  return FromRpcStatus(details);
}

google::rpc::Status ToRpcStatus(const absl::Status& status) {
  google::rpc::Status details;
  details.set_code(static_cast<int>(status.code()));
  details.set_message(std::string(status.message()));
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    auto* any = details.add_details();
    any->set_type_url(std::string(url));
    any->set_value(std::string(payload));
  });
  return details;
}

}  // namespace coplan::client::remote
