// coplan.v1.PlanService: decodes requests, hands them to the document service, encodes
// the answers. No rules live here.
#pragma once

#include "coplan/v1/plan_service.grpc.pb.h"
#include "server/api/rpc_runner.h"
#include "server/service/document_service.h"

namespace coplan {

class PlanHandler final : public coplan::v1::PlanService::CallbackService {
 public:
  PlanHandler(RpcRunner& runner, DocumentService& documents)
      : runner_(runner), documents_(documents) {}

  grpc::ServerUnaryReactor* CreatePlan(grpc::CallbackServerContext* context,
                                       const coplan::v1::CreatePlanRequest* request,
                                       coplan::v1::Plan* response) override;
  grpc::ServerUnaryReactor* GetPlan(grpc::CallbackServerContext* context,
                                    const coplan::v1::GetPlanRequest* request,
                                    coplan::v1::Plan* response) override;
  grpc::ServerUnaryReactor* ListPlans(grpc::CallbackServerContext* context,
                                      const coplan::v1::ListPlansRequest* request,
                                      coplan::v1::ListPlansResponse* response) override;
  grpc::ServerUnaryReactor* UpdatePlan(grpc::CallbackServerContext* context,
                                       const coplan::v1::UpdatePlanRequest* request,
                                       coplan::v1::Plan* response) override;
  grpc::ServerUnaryReactor* DeletePlan(grpc::CallbackServerContext* context,
                                       const coplan::v1::DeletePlanRequest* request,
                                       coplan::v1::Plan* response) override;
  grpc::ServerUnaryReactor* UndeletePlan(grpc::CallbackServerContext* context,
                                         const coplan::v1::UndeletePlanRequest* request,
                                         coplan::v1::Plan* response) override;

 private:
  RpcRunner& runner_;
  DocumentService& documents_;
};

}  // namespace coplan
