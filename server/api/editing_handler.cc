#include "server/api/editing_handler.h"

#include "server/api/grpc_status.h"
#include "server/common/errors.h"

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
  return runner_.Run(context, "coplan.v1.EditingService/GetDocumentRevision",
                     [=](const Caller& caller) {
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
  return runner_.Run(context, "coplan.v1.EditingService/SignOffDocument", [=](const Caller& caller) {
    return Respond(documents_.SignOff(caller, ResolveMe(request->name(), caller), request->revision()),
                   response);
  });
}

grpc::ServerWriteReactor<v1::WatchEvent>* EditingHandler::WatchDocument(
    grpc::CallbackServerContext* context, const v1::WatchDocumentRequest* request) {
  auto watcher = std::make_shared<Watcher>(hub_.options().queue_limit);
  auto* reactor = new WatchReactor(watcher, [this, watcher] { hub_.Detach(watcher); });
  // The call's context and request may be gone by the time the worker runs (a client
  // that cancels at once): take what is needed now.
  const std::string authorization = RpcRunner::TokenOf(context);
  const absl::Time deadline = runner_.DeadlineOf(context, absl::Now());
  const v1::WatchDocumentRequest copy = *request;
  const bool submitted = runner_.pool().TrySubmit([this, authorization, deadline, copy, watcher] {
    static constexpr char kMethod[] = "coplan.v1.EditingService/WatchDocument";
    const v1::WatchDocumentRequest* request = &copy;
    auto caller = runner_.Authenticate(authorization, deadline, kMethod);
    if (!caller.ok()) {
      watcher->End(ToGrpcStatus(caller.status()));
      return;
    }
    auto start = documents_.StartWatch(*caller, ResolveMe(request->name(), *caller),
                                       request->resume_after_revision());
    if (!start.ok()) {
      watcher->End(ToGrpcStatus(start.status()));
      return;
    }
    Caller reader = *caller;
    reader.deadline = absl::InfiniteFuture();
    watcher->SetReader(reader);
    auto name = ParseDocumentName(start->document_name, "name");
    watcher->name = *name;
    watcher->document_key = start->document_key;
    watcher->editing = request->editing();
    watcher->see_withholdings = start->see_withholdings;
    watcher->via = start->via;
    if (request->resume_after_revision() > 0) watcher->SetStartRevision(request->resume_after_revision());
    hub_.Attach(watcher, *start);
  });
  if (!submitted) {
    absl::Status busy = absl::UnavailableError("the server is busy; watch again shortly");
    AttachErrorInfo(busy, reason::kUnavailable);
    watcher->End(ToGrpcStatus(busy));
  }
  return reactor;
}

}  // namespace coplan
