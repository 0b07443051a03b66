// The one engine behind every jointly edited document (care plans, crisis plans, decision
// records): create, read, list, whole-field update with etag, soft delete, batched edits
// that merge, history, and sign-off. Every call enters through the access gate
// (access_gate.h), so the access rules, the withholdings and the audit trail apply to all
// of them alike.
//
//   DocumentService documents(db, store, gate, collections, audit);
//   COPLAN_ASSIGN_OR_RETURN(DocumentPtr plan, documents.Get(caller, name));
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coplan/v1/editing_service.pb.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/message.h"
#include "server/domain/access_policy.h"
#include "server/service/access_gate.h"
#include "server/service/audit_log.h"
#include "server/service/caller.h"
#include "server/service/document_collection.h"
#include "server/service/document_events.h"
#include "server/service/page_token.h"
#include "server/service/stream_read.h"

namespace coplan {

class Database;
class DocumentStore;

struct DocumentList {
  std::vector<DocumentPtr> documents;
  std::string next_page_token;
};

// What a reader may see of a document's log, and until when (see server/live).
struct ChangesForReader {
  std::vector<coplan::v1::Revision> revisions;
  // When the reader's access ends by time alone, if it does (ReadAccessEndsAt).
  std::optional<absl::Time> access_ends;
  // The document as the reader may see it now, when the revisions changed the
  // withholdings and the reader may not see them (their copy must be replaced).
  std::optional<coplan::v1::Document> snapshot;
};

// Where an authorised watch starts (see server/live).
struct WatchStart {
  DocumentName name;
  int64_t document_key = 0;
  int64_t revision = 0;                          // current revision
  int64_t start_revision = 0;                    // the reader has everything up to here
  std::optional<coplan::v1::Document> snapshot;  // when starting fresh
  bool see_withholdings = false;
  // The reader may edit it: only then may they be shown to others as editing.
  bool may_edit = false;
  Relationship via = Relationship::kNone;
  // When the reader's access ends by time alone, if it does (ReadAccessEndsAt).
  std::optional<absl::Time> access_ends;
  // ... by the document's own rules alone (DocumentAccessEndsAt): a device does not show
  // its copy past it.
  std::optional<absl::Time> shown_until;
};

class DocumentService {
 public:
  DocumentService(Database& db, DocumentStore& store, AccessGate& gate,
                  const PageTokens& page_tokens, const DocumentCollections& collections,
                  AuditLog& audit);

  void SetEvents(DocumentEvents* events) { events_ = events; }

  absl::StatusOr<DocumentPtr> Create(const Caller& caller, Collection collection,
                                     const std::string& parent, DocumentPtr document,
                                     const std::string& requested_id,
                                     const std::string& request_field);
  absl::StatusOr<DocumentPtr> Get(const Caller& caller, const DocumentName& name);
  absl::StatusOr<DocumentList> List(const Caller& caller, Collection collection,
                                    const std::string& parent, int kind, bool show_deleted,
                                    int page_size, const std::string& page_token);
  absl::StatusOr<DocumentPtr> Update(const Caller& caller, Collection collection,
                                     const google::protobuf::Message& request_document,
                                     const google::protobuf::FieldMask& mask,
                                     const std::string& request_field);
  absl::StatusOr<DocumentPtr> Delete(const Caller& caller, const DocumentName& name,
                                     const std::string& etag, bool undelete);

  absl::StatusOr<coplan::v1::EditDocumentResponse> Edit(
      const Caller& caller, const coplan::v1::EditDocumentRequest& request);
  absl::StatusOr<coplan::v1::DocumentRevision> GetRevision(const Caller& caller,
                                                           const std::string& name);
  absl::StatusOr<coplan::v1::ListRevisionsResponse> ListRevisions(
      const Caller& caller, const coplan::v1::ListRevisionsRequest& request);
  absl::StatusOr<coplan::v1::Agreement> SignOff(const Caller& caller, const std::string& name,
                                                int64_t revision);

  // For watch streams: checks access and reads the starting point.
  // Audits what watch and sync streams delivered since their last such rows, one row per
  // reader, document and stream (at least every minute, not one per change), all in one
  // statement.
  absl::Status RecordStreamReads(const std::vector<StreamRead>& reads, absl::Time deadline);
  absl::StatusOr<WatchStart> StartWatch(const Caller& caller, const std::string& name,
                                        int64_t resume_after);
  // Changes after `after` (up to `limit`), as `reader` may see them; also re-checks that
  // the reader still has access (NOT_FOUND if not). Not audited: the stream is.
  absl::StatusOr<ChangesForReader> ChangesFor(const Caller& reader, const DocumentName& name,
                                              int64_t after, int limit);

 private:
  // Stores a new revision of the locked document with `body`, in `tx`.
  void StoreRevision(WriteTransaction& tx, const OpenDocument& open, StoredDocument& row,
                     const google::protobuf::Message& body, const Caller& caller,
                     coplan::v1::RevisionKind kind,
                     const std::vector<coplan::v1::EditOperation>& operations,
                     const std::vector<std::string>& changed_paths,
                     const std::string& idempotency_key = "", const std::string& request_hash = "");
  absl::Status LoadContext(Transaction& tx, const DocumentCollection& collection,
                           const google::protobuf::Message& document, const AccessFacts& facts,
                           const Caller& caller, DocumentContext* context) const;
  void Notify(int64_t key, int64_t revision);

  Database& db_;
  DocumentStore& store_;
  AccessGate& gate_;
  const PageTokens& page_tokens_;
  const DocumentCollections& collections_;
  AuditLog& audit_;
  DocumentEvents* events_ = nullptr;
};

// Parses "{document}/revisions/{n}".
absl::StatusOr<std::pair<DocumentName, int64_t>> ParseRevisionName(const std::string& name,
                                                                   const std::string& field);

}  // namespace coplan
