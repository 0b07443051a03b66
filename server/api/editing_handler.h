// coplan.v1.EditingService: batched edits, history and sign-off through the document
// service; watch streams through the live hub.
#pragma once

#include "coplan/v1/editing_service.grpc.pb.h"
#include "server/api/rpc_runner.h"
#include "server/live/watch_hub.h"
#include "server/service/document_service.h"

namespace coplan {

class EditingHandler final : public coplan::v1::EditingService::CallbackService {
 public:
  EditingHandler(RpcRunner& runner, DocumentService& documents, WatchHub& hub)
      : runner_(runner), documents_(documents), hub_(hub) {}

  grpc::ServerUnaryReactor* EditDocument(grpc::CallbackServerContext* context,
                                         const coplan::v1::EditDocumentRequest* request,
                                         coplan::v1::EditDocumentResponse* response) override;
  grpc::ServerUnaryReactor* GetDocumentRevision(
      grpc::CallbackServerContext* context, const coplan::v1::GetDocumentRevisionRequest* request,
      coplan::v1::DocumentRevision* response) override;
  grpc::ServerUnaryReactor* ListRevisions(grpc::CallbackServerContext* context,
                                          const coplan::v1::ListRevisionsRequest* request,
                                          coplan::v1::ListRevisionsResponse* response) override;
  grpc::ServerUnaryReactor* SignOffDocument(grpc::CallbackServerContext* context,
                                            const coplan::v1::SignOffDocumentRequest* request,
                                            coplan::v1::Agreement* response) override;
  grpc::ServerWriteReactor<coplan::v1::WatchEvent>* WatchDocument(
      grpc::CallbackServerContext* context,
      const coplan::v1::WatchDocumentRequest* request) override;

 private:
  RpcRunner& runner_;
  DocumentService& documents_;
  WatchHub& hub_;
};

}  // namespace coplan
