// What the watch hub needs from the documents, and nothing more: new revisions read once
// per instance and shown to each reader as they may see them, the latest revision
// numbers, agreements, and a reader's access checked again. Implemented over the
// document service and store by StoredDocumentFeed (stored_document_feed.h); a fake
// stands in for it in tests.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coplan/v1/editing.pb.h"
#include "server/common/resource_names.h"
#include "server/service/caller.h"
#include "server/service/stream_read.h"
#include "server/store/presence_store.h"

namespace coplan {

// Revisions of one document read from the log in one go, to be shown to many readers.
class RevisionBatch {
 public:
  virtual ~RevisionBatch() = default;
  // The document's revision when the batch was read.
  virtual int64_t current_revision() const = 0;
  // The revision numbers in the batch, oldest first (possibly none).
  virtual const std::vector<int64_t>& revisions() const = 0;
  // Readers with the same key see the same events (what is withheld from them is the same).
  virtual std::string ViewKey(const std::string& reader_name, bool see_withholdings) const = 0;
  // The batch as this reader may see it, one revision each.
  virtual std::vector<coplan::v1::Revision> PresentFor(const std::string& reader_name,
                                                       bool see_withholdings) const = 0;
  // When the batch changed what the person withholds, a reader who may not see the list
  // cannot tell from the (redacted) changes what is now hidden from them: the document
  // as they may see it now, sent after the changes, replaces their copy.
  virtual std::optional<coplan::v1::Document> SnapshotFor(const std::string& reader_name,
                                                          bool see_withholdings) const = 0;
};

// What a reader may see of a document's log, read now.
struct ReaderChanges {
  std::vector<coplan::v1::Revision> revisions;
  // When the reader's access ends by time alone (a grant's expiry, the 16th birthday,
  // the session's end), if it does.
  std::optional<absl::Time> access_ends;
  // The document as the reader may see it now, when the revisions changed what is
  // withheld from them (see RevisionBatch::SnapshotFor).
  std::optional<coplan::v1::Document> snapshot;
};

class DocumentFeed {
 public:
  virtual ~DocumentFeed() = default;

  // Revisions of the document after `after` (at most `limit`); nullopt if the document
  // no longer exists. Every revision up to current_revision() has committed.
  virtual absl::StatusOr<std::optional<std::unique_ptr<RevisionBatch>>> ReadAfter(
      int64_t document_key, int64_t after, int limit) = 0;
  // The current revisions of these documents (absent ones left out).
  virtual absl::StatusOr<std::map<int64_t, int64_t>> LatestRevisions(
      const std::vector<int64_t>& document_keys) = 0;
  // Who has signed the document off; nullopt if it no longer exists.
  virtual absl::StatusOr<std::optional<coplan::v1::Agreement>> Agreement(int64_t document_key) = 0;

  // Changes after `after` (at most `limit`) as `reader` may see them now, with their
  // access checked again: NOT_FOUND (or UNAUTHENTICATED) once it has ended.
  virtual absl::StatusOr<ReaderChanges> ChangesFor(const Caller& reader, const DocumentName& name,
                                                   int64_t after, int limit) = 0;
  // Audits that each reader's stream delivered those revisions of the document.
  virtual absl::Status RecordDelivered(const std::vector<StreamRead>& reads) = 0;
};

// Who is here: presence shared by the instances on one database.
class PresenceBoard {
 public:
  virtual ~PresenceBoard() = default;
  // This instance's presence of a person on a document, or its removal.
  virtual absl::Status Set(int64_t document_key, const std::string& person_id, bool present,
                           bool editing) = 0;
  // Keeps this instance's rows fresh.
  virtual absl::Status Heartbeat() = 0;
  // Removes this instance's rows (shutdown).
  virtual absl::Status Clear() = 0;
  // Everyone present on the document on any instance whose heartbeat is fresh.
  virtual absl::StatusOr<PresentPeople> Load(int64_t document_key) = 0;
};

}  // namespace coplan
