// The watch hub's DocumentFeed and PresenceBoard (document_feed.h) over this server's
// database: the document store's revision log read once per fetch, shown per reader with
// the document service's views, and the presence table shared by instances.
#pragma once

#include <string>

#include "absl/time/time.h"
#include "server/live/document_feed.h"
#include "server/service/document_collection.h"
#include "server/service/document_service.h"
#include "server/store/database.h"
#include "server/store/document_store.h"
#include "server/store/presence_store.h"

namespace coplan {

class StoredDocumentFeed : public DocumentFeed {
 public:
  StoredDocumentFeed(Database& db, DocumentStore& store, DocumentService& documents,
                     const DocumentCollections& collections)
      : db_(db), store_(store), documents_(documents), collections_(collections) {}

  absl::StatusOr<std::optional<std::unique_ptr<RevisionBatch>>> ReadAfter(int64_t document_key,
                                                                          int64_t after,
                                                                          int limit) override;
  absl::StatusOr<std::map<int64_t, int64_t>> LatestRevisions(
      const std::vector<int64_t>& document_keys) override;
  absl::StatusOr<std::optional<coplan::v1::Agreement>> Agreement(int64_t document_key) override;
  absl::StatusOr<ReaderChanges> ChangesFor(const Caller& reader, const DocumentName& name,
                                           int64_t after, int limit) override;
  absl::Status RecordDelivered(const std::vector<StreamRead>& reads) override;

 private:
  Database& db_;
  DocumentStore& store_;
  DocumentService& documents_;
  const DocumentCollections& collections_;
};

class StoredPresenceBoard : public PresenceBoard {
 public:
  // Rows whose heartbeat is older than `stale_after` belong to an instance that died.
  StoredPresenceBoard(Database& db, PresenceStore& store, std::string instance_id,
                      absl::Duration stale_after = absl::Seconds(45))
      : db_(db), store_(store), instance_id_(std::move(instance_id)), stale_after_(stale_after) {}

  absl::Status Set(int64_t document_key, const std::string& person_id, bool present,
                   bool editing) override;
  absl::Status Heartbeat() override;
  absl::Status Clear() override;
  absl::StatusOr<PresentPeople> Load(int64_t document_key) override;

 private:
  Database& db_;
  PresenceStore& store_;
  const std::string instance_id_;
  const absl::Duration stale_after_;
};

}  // namespace coplan
