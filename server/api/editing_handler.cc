#include "server/api/editing_handler.h"

#include "server/common/status_macros.h"

namespace coplan {

grpc::ServerUnaryReactor* EditingHandler::EditDocument(grpc::CallbackServerContext* context,
                                                       const v1::EditDocumentRequest* request,
                                                       v1::EditDocumentResponse* response) {
  return runner_.Run(context, "coplan.v1.EditingService/EditDocument", [=](const Caller& caller) {
    v1::EditDocumentRequest resolved = *request;
    resolved.set_name(ResolveMe(request->name(), caller));
    return Respond(documents_.Edit(caller, resolved), response);
  });
}

grpc::ServerUnaryReactor* EditingHandler::GetDocumentRevision(
    grpc::CallbackServerContext* context, const v1::GetDocumentRevisionRequest* request,
    v1::DocumentRevision* response) {
  return runner_.Run(
      context, "coplan.v1.EditingService/GetDocumentRevision", [=](const Caller& caller) {
        return Respond(documents_.GetRevision(caller, ResolveMe(request->name(), caller)),
                       response);
      });
}

grpc::ServerUnaryReactor* EditingHandler::ListRevisions(grpc::CallbackServerContext* context,
                                                        const v1::ListRevisionsRequest* request,
                                                        v1::ListRevisionsResponse* response) {
  return runner_.Run(context, "coplan.v1.EditingService/ListRevisions", [=](const Caller& caller) {
    v1::ListRevisionsRequest resolved = *request;
    resolved.set_parent(ResolveMe(request->parent(), caller));
    return Respond(documents_.ListRevisions(caller, resolved), response);
  });
}

grpc::ServerUnaryReactor* EditingHandler::SignOffDocument(grpc::CallbackServerContext* context,
                                                          const v1::SignOffDocumentRequest* request,
                                                          v1::Agreement* response) {
  return runner_.Run(
      context, "coplan.v1.EditingService/SignOffDocument", [=](const Caller& caller) {
        return Respond(
            documents_.SignOff(caller, ResolveMe(request->name(), caller), request->revision()),
            response);
      });
}

grpc::ServerWriteReactor<v1::WatchEvent>* EditingHandler::WatchDocument(
    grpc::CallbackServerContext* context, const v1::WatchDocumentRequest* request) {
  return runner_.RunWatchStream(
      context, "coplan.v1.EditingService/WatchDocument",
      [this, request = *request](const Caller& caller, EventSink& sink) -> absl::Status {
        const uint64_t access_epoch = hub_.AccessEpoch();  // before the access is checked
        COPLAN_ASSIGN_OR_RETURN(WatchStart start,
                                documents_.StartWatch(caller, ResolveMe(request.name(), caller),
                                                      request.resume_after_revision()));
        WatchTarget target;
        target.name = start.name;
        target.document_key = start.document_key;
        target.reader = caller;
        target.reader.deadline = absl::InfiniteFuture();
        // Asked for, and allowed: a read-only reader is never shown as editing.
        target.editing = request.editing() && start.may_edit;
        target.see_withholdings = start.see_withholdings;
        target.via = start.via;
        target.access_ends = start.access_ends;
        target.current_revision = start.revision;
        target.access_epoch = access_epoch;
        return hub_.Watch(sink, std::move(target), start.start_revision, std::move(start.snapshot));
      });
}

}  // namespace coplan
