// coplan.v1.OptionGridService and coplan.v1.DecisionService: decode, call, encode.
#pragma once

#include "coplan/v1/decision_service.grpc.pb.h"
#include "coplan/v1/option_grid_service.grpc.pb.h"
#include "server/api/rpc_runner.h"
#include "server/service/decision_service.h"
#include "server/service/document_service.h"
#include "server/service/option_grid_service.h"

namespace coplan {

class OptionGridHandler final : public coplan::v1::OptionGridService::CallbackService {
 public:
  OptionGridHandler(RpcRunner& runner, OptionGridService& grids) : runner_(runner), grids_(grids) {}

#define COPLAN_GRID_RPC(Method, Request, Response)                       \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* context, \
                                   const coplan::v1::Request* request,   \
                                   coplan::v1::Response* response) override;
  COPLAN_GRID_RPC(GetOptionGrid, GetOptionGridRequest, OptionGrid)
  COPLAN_GRID_RPC(ListOptionGrids, ListOptionGridsRequest, ListOptionGridsResponse)
  COPLAN_GRID_RPC(GetOptionGridVersion, GetOptionGridVersionRequest, OptionGridVersion)
  COPLAN_GRID_RPC(CreateOptionGrid, CreateOptionGridRequest, OptionGrid)
  COPLAN_GRID_RPC(UpdateOptionGrid, UpdateOptionGridRequest, OptionGrid)
  COPLAN_GRID_RPC(PublishOptionGrid, PublishOptionGridRequest, OptionGridVersion)
#undef COPLAN_GRID_RPC

 private:
  RpcRunner& runner_;
  OptionGridService& grids_;
};

class DecisionHandler final : public coplan::v1::DecisionService::CallbackService {
 public:
  DecisionHandler(RpcRunner& runner, DocumentService& documents, DecisionService& decisions)
      : runner_(runner), documents_(documents), decisions_(decisions) {}

#define COPLAN_DECISION_RPC(Method, Request, Response)                   \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* context, \
                                   const coplan::v1::Request* request,   \
                                   coplan::v1::Response* response) override;
  COPLAN_DECISION_RPC(CreateDecisionRecord, CreateDecisionRecordRequest, DecisionRecord)
  COPLAN_DECISION_RPC(GetDecisionRecord, GetDecisionRecordRequest, DecisionRecord)
  COPLAN_DECISION_RPC(ListDecisionRecords, ListDecisionRecordsRequest, ListDecisionRecordsResponse)
  COPLAN_DECISION_RPC(UpdateDecisionRecord, UpdateDecisionRecordRequest, DecisionRecord)
  COPLAN_DECISION_RPC(DeleteDecisionRecord, DeleteDecisionRecordRequest, DecisionRecord)
  COPLAN_DECISION_RPC(CreateCollaborateResponse, CreateCollaborateResponseRequest,
                      CollaborateResponse)
  COPLAN_DECISION_RPC(GetCollaborateSummary, GetCollaborateSummaryRequest, CollaborateSummary)
  COPLAN_DECISION_RPC(ListCaseloadDecisions, ListCaseloadDecisionsRequest,
                      ListCaseloadDecisionsResponse)
#undef COPLAN_DECISION_RPC

 private:
  RpcRunner& runner_;
  DocumentService& documents_;
  DecisionService& decisions_;
};

}  // namespace coplan
