// Standard gRPC services as any client sees them: health checking and server reflection,
// spoken over the wire without generated stubs (Debian ships neither proto).
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace coplan::testing {

// grpc.health.v1.Health/Check: 1 = SERVING, 2 = NOT_SERVING.
absl::StatusOr<int> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                const std::string& service = "");

// grpc.reflection.v1alpha.ServerReflection: the full names of the services served.
absl::StatusOr<std::vector<std::string>> ListServicesByReflection(
    const std::shared_ptr<grpc::Channel>& channel);

// The file descriptors the server returns for a symbol (empty list if unknown).
absl::StatusOr<std::vector<std::string>> FilesContainingSymbol(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& symbol);

// One unary call of `method` ("/coplan.v1.AuthService/SignIn") with `request` as the raw
// bytes on the wire, as a client with a broken serializer would send them; the reply's
// bytes go to `response` when given.
grpc::Status CallWithRawRequest(const std::shared_ptr<grpc::Channel>& channel,
                                const std::string& method, const std::string& request,
                                std::string* response = nullptr);

}  // namespace coplan::testing
