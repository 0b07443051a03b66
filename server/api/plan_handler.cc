#include "server/api/plan_handler.h"

#include "server/common/errors.h"
#include "server/common/status_macros.h"

namespace coplan {
namespace {

absl::Status Take(absl::StatusOr<DocumentPtr> document, v1::Plan* response) {
  if (!document.ok()) return document.status();
  response->Swap(static_cast<v1::Plan*>(document->get()));
  return absl::OkStatus();
}

}  // namespace

grpc::ServerUnaryReactor* PlanHandler::CreatePlan(grpc::CallbackServerContext* context,
                                                  const v1::CreatePlanRequest* request,
                                                  v1::Plan* response) {
  return runner_.Run(
      context, "coplan.v1.PlanService/CreatePlan", [=](const Caller& caller) -> absl::Status {
        if (!request->has_plan()) return InvalidFieldError("plan", "is required");
        return Take(documents_.Create(
                        caller, Collection::kPlans, ResolveMe(request->parent(), caller),
                        std::make_unique<v1::Plan>(request->plan()), request->plan_id(), "plan"),
                    response);
      });
}

grpc::ServerUnaryReactor* PlanHandler::GetPlan(grpc::CallbackServerContext* context,
                                               const v1::GetPlanRequest* request,
                                               v1::Plan* response) {
  return runner_.Run(
      context, "coplan.v1.PlanService/GetPlan", [=](const Caller& caller) -> absl::Status {
        COPLAN_ASSIGN_OR_RETURN(
            DocumentName name,
            ParseDocumentName(ResolveMe(request->name(), caller), Collection::kPlans, "name"));
        return Take(documents_.Get(caller, name), response);
      });
}

grpc::ServerUnaryReactor* PlanHandler::ListPlans(grpc::CallbackServerContext* context,
                                                 const v1::ListPlansRequest* request,
                                                 v1::ListPlansResponse* response) {
  return runner_.Run(
      context, "coplan.v1.PlanService/ListPlans", [=](const Caller& caller) -> absl::Status {
        if (!v1::PlanKind_IsValid(request->kind())) {
          return InvalidFieldError("kind", "is not a PlanKind value");
        }
        const int kind = request->kind() == v1::PLAN_KIND_CARE_PLAN ? v1::DOCUMENT_KIND_CARE_PLAN
                         : request->kind() == v1::PLAN_KIND_CRISIS_PLAN
                             ? v1::DOCUMENT_KIND_CRISIS_PLAN
                             : 0;
        COPLAN_ASSIGN_OR_RETURN(
            DocumentList list,
            documents_.List(caller, Collection::kPlans, ResolveMe(request->parent(), caller), kind,
                            request->show_deleted(), request->page_size(), request->page_token()));
        for (auto& document : list.documents) {
          response->add_plans()->Swap(static_cast<v1::Plan*>(document.get()));
        }
        response->set_next_page_token(list.next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* PlanHandler::UpdatePlan(grpc::CallbackServerContext* context,
                                                  const v1::UpdatePlanRequest* request,
                                                  v1::Plan* response) {
  return runner_.Run(
      context, "coplan.v1.PlanService/UpdatePlan", [=](const Caller& caller) -> absl::Status {
        if (!request->has_plan()) return InvalidFieldError("plan", "is required");
        v1::Plan plan = request->plan();
        plan.set_name(ResolveMe(plan.name(), caller));
        return Take(
            documents_.Update(caller, Collection::kPlans, plan, request->update_mask(), "plan"),
            response);
      });
}

grpc::ServerUnaryReactor* PlanHandler::DeletePlan(grpc::CallbackServerContext* context,
                                                  const v1::DeletePlanRequest* request,
                                                  v1::Plan* response) {
  return runner_.Run(
      context, "coplan.v1.PlanService/DeletePlan", [=](const Caller& caller) -> absl::Status {
        COPLAN_ASSIGN_OR_RETURN(
            DocumentName name,
            ParseDocumentName(ResolveMe(request->name(), caller), Collection::kPlans, "name"));
        return Take(documents_.Delete(caller, name, request->etag(), false), response);
      });
}

grpc::ServerUnaryReactor* PlanHandler::UndeletePlan(grpc::CallbackServerContext* context,
                                                    const v1::UndeletePlanRequest* request,
                                                    v1::Plan* response) {
  return runner_.Run(
      context, "coplan.v1.PlanService/UndeletePlan", [=](const Caller& caller) -> absl::Status {
        COPLAN_ASSIGN_OR_RETURN(
            DocumentName name,
            ParseDocumentName(ResolveMe(request->name(), caller), Collection::kPlans, "name"));
        return Take(documents_.Delete(caller, name, request->etag(), true), response);
      });
}

}  // namespace coplan
