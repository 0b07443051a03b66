// coplan.v1.ExportService: decode, call, encode. The personal data archive is a server
// stream of chunks (ArchiveChunkStream): the export runs on a worker and hands each chunk
// to gRPC as it is made, waiting for the one before to be sent, so a slow reader slows the
// export instead of the archive piling up in memory.
#pragma once

#include <atomic>

#include "coplan/v1/export_service.grpc.pb.h"
#include "server/api/rpc_runner.h"
#include "server/service/export_service.h"

namespace coplan {

class ExportHandler final : public coplan::v1::ExportService::CallbackService {
 public:
  // Personal data exports running at once on this instance; more are RESOURCE_EXHAUSTED.
  static constexpr int kMaxConcurrentExports = 2;

  ExportHandler(RpcRunner& runner, ExportService& exports) : runner_(runner), exports_(exports) {}

  grpc::ServerUnaryReactor* ExportFhirBundle(grpc::CallbackServerContext* context,
                                             const coplan::v1::ExportFhirBundleRequest* request,
                                             coplan::v1::FhirBundle* response) override;
  grpc::ServerWriteReactor<coplan::v1::ExportChunk>* ExportPersonalData(
      grpc::CallbackServerContext* context,
      const coplan::v1::ExportPersonalDataRequest* request) override;
  grpc::ServerUnaryReactor* PrintCrisisPlan(grpc::CallbackServerContext* context,
                                            const coplan::v1::PrintCrisisPlanRequest* request,
                                            coplan::v1::PrintedDocument* response) override;

 private:
  RpcRunner& runner_;
  ExportService& exports_;
  std::atomic<int> running_exports_{0};
};

}  // namespace coplan
