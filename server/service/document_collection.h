// One kind of jointly edited document as the document service handles it: its rules
// (server/domain), and what its own tables add inside the same transaction. Plans need
// nothing more than their rules; decision records load the option-grid version they are
// made from and keep a summary for the caseload view (decision_collection.h).
//
//   DocumentCollections collections;
//   collections.Add(plans);            // DocumentCollection plans(plan_rules);
//   collections.Add(decisions);        // DecisionCollection decisions(rules, grids, store);
//   const DocumentCollection& c = collections.Of(Collection::kPlans);
#pragma once

#include <map>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "server/common/resource_names.h"
#include "server/domain/document_rules.h"
#include "server/store/document_store.h"
#include "server/store/transaction.h"

namespace coplan {

class DocumentCollection {
 public:
  explicit DocumentCollection(const DocumentRules& rules) : rules_(rules) {}
  virtual ~DocumentCollection() = default;

  const DocumentRules& rules() const { return rules_; }
  // Fills what the rules need beyond the document (e.g. the option-grid version), in the
  // call's transaction. Field paths in errors are relative to the document.
  virtual absl::Status LoadContext(Transaction& tx, const google::protobuf::Message& document,
                                   DocumentContext* context) const {
    return absl::OkStatus();
  }
  // Runs in the write transaction after every stored change.
  virtual void OnStored(WriteTransaction& tx, const StoredDocument& row,
                        const google::protobuf::Message& body) const {}

 private:
  const DocumentRules& rules_;
};

// The collections a server serves, by collection.
class DocumentCollections {
 public:
  void Add(const DocumentCollection& collection) {
    by_collection_[collection.rules().collection()] = &collection;
  }
  const DocumentCollection& Of(Collection collection) const {
    return *by_collection_.at(collection);
  }

 private:
  std::map<Collection, const DocumentCollection*> by_collection_;
};

}  // namespace coplan
