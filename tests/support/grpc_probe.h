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

}  // namespace coplan::testing
