// coplan.v1.SyncService: the device's one sync stream (sync_service.proto). The handler
// authenticates the stream through the RPC runner like any call, then reads requests one
// at a time, each handled on the worker pool in the order sent: an AddTarget is checked
// by the document service (the access gate) and followed through the live hub, on the
// stream's one WatchStream; a RemoveTarget stops following.
//
// Misusing the protocol (a target id below 1, or one already live) ends the stream with
// INVALID_ARGUMENT naming the field; anything wrong with one target (no access, no such
// document, a bad name, too many targets) ends that target alone with TargetEnded.
#pragma once

#include "coplan/v1/sync_service.grpc.pb.h"
#include "server/api/rpc_runner.h"
#include "server/live/watch_hub.h"
#include "server/service/document_service.h"

namespace coplan {

class SyncHandler final : public coplan::v1::SyncService::CallbackService {
 public:
  // Most targets one stream may follow at once.
  static constexpr size_t kMaxTargetsPerStream = 100;

  SyncHandler(RpcRunner& runner, DocumentService& documents, WatchHub& hub)
      : runner_(runner), documents_(documents), hub_(hub) {}

  grpc::ServerBidiReactor<coplan::v1::SyncRequest, coplan::v1::SyncResponse>* Sync(
      grpc::CallbackServerContext* context) override;

 private:
  RpcRunner& runner_;
  DocumentService& documents_;
  WatchHub& hub_;
};

}  // namespace coplan
