#include "server/api/option_grid_handler.h"

#include "server/common/errors.h"
#include "server/common/status_macros.h"

namespace coplan {
namespace {

absl::Status TakeRecord(absl::StatusOr<DocumentPtr> document, v1::DecisionRecord* response) {
  if (!document.ok()) return document.status();
  response->Swap(static_cast<v1::DecisionRecord*>(document->get()));
  return absl::OkStatus();
}

}  // namespace

#define COPLAN_GRID_METHOD(name) "coplan.v1.OptionGridService/" #name

grpc::ServerUnaryReactor* OptionGridHandler::GetOptionGrid(grpc::CallbackServerContext* context,
                                                           const v1::GetOptionGridRequest* request,
                                                           v1::OptionGrid* response) {
  return runner_.Run(context, COPLAN_GRID_METHOD(GetOptionGrid), [=](const Caller& caller) {
    return Respond(grids_.Get(caller, *request), response);
  });
}

grpc::ServerUnaryReactor* OptionGridHandler::ListOptionGrids(
    grpc::CallbackServerContext* context, const v1::ListOptionGridsRequest* request,
    v1::ListOptionGridsResponse* response) {
  return runner_.Run(context, COPLAN_GRID_METHOD(ListOptionGrids), [=](const Caller& caller) {
    return Respond(grids_.List(caller, *request), response);
  });
}

grpc::ServerUnaryReactor* OptionGridHandler::GetOptionGridVersion(
    grpc::CallbackServerContext* context, const v1::GetOptionGridVersionRequest* request,
    v1::OptionGridVersion* response) {
  return runner_.Run(context, COPLAN_GRID_METHOD(GetOptionGridVersion), [=](const Caller& caller) {
    return Respond(grids_.GetVersion(caller, request->name()), response);
  });
}

grpc::ServerUnaryReactor* OptionGridHandler::CreateOptionGrid(
    grpc::CallbackServerContext* context, const v1::CreateOptionGridRequest* request,
    v1::OptionGrid* response) {
  return runner_.Run(context, COPLAN_GRID_METHOD(CreateOptionGrid), [=](const Caller& caller) {
    return Respond(grids_.Create(caller, *request), response);
  });
}

grpc::ServerUnaryReactor* OptionGridHandler::UpdateOptionGrid(
    grpc::CallbackServerContext* context, const v1::UpdateOptionGridRequest* request,
    v1::OptionGrid* response) {
  return runner_.Run(context, COPLAN_GRID_METHOD(UpdateOptionGrid), [=](const Caller& caller) {
    return Respond(grids_.Update(caller, *request), response);
  });
}

grpc::ServerUnaryReactor* OptionGridHandler::PublishOptionGrid(
    grpc::CallbackServerContext* context, const v1::PublishOptionGridRequest* request,
    v1::OptionGridVersion* response) {
  return runner_.Run(context, COPLAN_GRID_METHOD(PublishOptionGrid), [=](const Caller& caller) {
    return Respond(grids_.Publish(caller, *request), response);
  });
}

#define COPLAN_DECISION_METHOD(name) "coplan.v1.DecisionService/" #name

grpc::ServerUnaryReactor* DecisionHandler::CreateDecisionRecord(
    grpc::CallbackServerContext* context, const v1::CreateDecisionRecordRequest* request,
    v1::DecisionRecord* response) {
  return runner_.Run(context, COPLAN_DECISION_METHOD(CreateDecisionRecord),
                     [=](const Caller& caller) {
                       v1::CreateDecisionRecordRequest resolved = *request;
                       resolved.set_parent(ResolveMe(request->parent(), caller));
                       return TakeRecord(decisions_.Create(caller, resolved), response);
                     });
}

grpc::ServerUnaryReactor* DecisionHandler::GetDecisionRecord(
    grpc::CallbackServerContext* context, const v1::GetDecisionRecordRequest* request,
    v1::DecisionRecord* response) {
  return runner_.Run(context, COPLAN_DECISION_METHOD(GetDecisionRecord),
                     [=](const Caller& caller) -> absl::Status {
                       COPLAN_ASSIGN_OR_RETURN(DocumentName name,
                                               ParseDocumentName(ResolveMe(request->name(), caller),
                                                                 Collection::kDecisions, "name"));
                       return TakeRecord(documents_.Get(caller, name), response);
                     });
}

grpc::ServerUnaryReactor* DecisionHandler::ListDecisionRecords(
    grpc::CallbackServerContext* context, const v1::ListDecisionRecordsRequest* request,
    v1::ListDecisionRecordsResponse* response) {
  return runner_.Run(
      context, COPLAN_DECISION_METHOD(ListDecisionRecords),
      [=](const Caller& caller) -> absl::Status {
        COPLAN_ASSIGN_OR_RETURN(
            DocumentList list,
            documents_.List(caller, Collection::kDecisions, ResolveMe(request->parent(), caller), 0,
                            request->show_deleted(), request->page_size(), request->page_token()));
        for (auto& document : list.documents) {
          response->add_decision_records()->Swap(static_cast<v1::DecisionRecord*>(document.get()));
        }
        response->set_next_page_token(list.next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DecisionHandler::UpdateDecisionRecord(
    grpc::CallbackServerContext* context, const v1::UpdateDecisionRecordRequest* request,
    v1::DecisionRecord* response) {
  return runner_.Run(context, COPLAN_DECISION_METHOD(UpdateDecisionRecord),
                     [=](const Caller& caller) -> absl::Status {
                       if (!request->has_decision_record()) {
                         return InvalidFieldError("decision_record", "is required");
                       }
                       v1::DecisionRecord record = request->decision_record();
                       record.set_name(ResolveMe(record.name(), caller));
                       return TakeRecord(
                           documents_.Update(caller, Collection::kDecisions, record,
                                             request->update_mask(), "decision_record"),
                           response);
                     });
}

grpc::ServerUnaryReactor* DecisionHandler::DeleteDecisionRecord(
    grpc::CallbackServerContext* context, const v1::DeleteDecisionRecordRequest* request,
    v1::DecisionRecord* response) {
  return runner_.Run(
      context, COPLAN_DECISION_METHOD(DeleteDecisionRecord),
      [=](const Caller& caller) -> absl::Status {
        COPLAN_ASSIGN_OR_RETURN(
            DocumentName name,
            ParseDocumentName(ResolveMe(request->name(), caller), Collection::kDecisions, "name"));
        return TakeRecord(documents_.Delete(caller, name, request->etag(), false), response);
      });
}

grpc::ServerUnaryReactor* DecisionHandler::CreateCollaborateResponse(
    grpc::CallbackServerContext* context, const v1::CreateCollaborateResponseRequest* request,
    v1::CollaborateResponse* response) {
  return runner_.Run(
      context, COPLAN_DECISION_METHOD(CreateCollaborateResponse), [=](const Caller& caller) {
        v1::CreateCollaborateResponseRequest resolved = *request;
        resolved.set_parent(ResolveMe(request->parent(), caller));
        return Respond(decisions_.CreateCollaborateResponse(caller, resolved), response);
      });
}

grpc::ServerUnaryReactor* DecisionHandler::GetCollaborateSummary(
    grpc::CallbackServerContext* context, const v1::GetCollaborateSummaryRequest* request,
    v1::CollaborateSummary* response) {
  return runner_.Run(
      context, COPLAN_DECISION_METHOD(GetCollaborateSummary), [=](const Caller& caller) {
        return Respond(
            decisions_.GetCollaborateSummary(caller, ResolveMe(request->subject(), caller)),
            response);
      });
}

grpc::ServerUnaryReactor* DecisionHandler::ListCaseloadDecisions(
    grpc::CallbackServerContext* context, const v1::ListCaseloadDecisionsRequest* request,
    v1::ListCaseloadDecisionsResponse* response) {
  return runner_.Run(context, COPLAN_DECISION_METHOD(ListCaseloadDecisions),
                     [=](const Caller& caller) {
                       return Respond(decisions_.ListCaseload(caller, *request), response);
                     });
}

}  // namespace coplan
