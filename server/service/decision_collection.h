// Decision records as a document collection: the rules of server/domain/decision_rules.h,
// the published option-grid version each record is made from (loaded for the rules), and
// the summary kept in step with every change for the caseload view.
#pragma once

#include "server/domain/decision_rules.h"
#include "server/service/document_collection.h"
#include "server/store/decision_store.h"
#include "server/store/grid_store.h"

namespace coplan {

class DecisionCollection : public DocumentCollection {
 public:
  DecisionCollection(const DecisionRules& rules, GridStore& grids, DecisionStore& decisions)
      : DocumentCollection(rules), grids_(grids), decisions_(decisions) {}

  absl::Status LoadContext(Transaction& tx, const google::protobuf::Message& document,
                           DocumentContext* context) const override;
  void OnStored(WriteTransaction& tx, const StoredDocument& row,
                const google::protobuf::Message& body) const override;

 private:
  GridStore& grids_;
  DecisionStore& decisions_;
};

}  // namespace coplan
