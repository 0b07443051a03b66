// The one engine behind every jointly edited document (care plans, crisis plans, decision
// records): create, read, list, whole-field update with etag, soft delete, batched edits
// that merge, history, and sign-off. Access rules, withholdings and the audit trail are
// applied here, for every call, so no handler can forget them.
//
//   DocumentService documents(db, store, audit);
//   documents.Register(plan_rules, {});
//   COPLAN_ASSIGN_OR_RETURN(auto plan, documents.Get(caller, Collection::kPlans, name));
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coplan/v1/editing_service.pb.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/message.h"
#include "server/domain/access_policy.h"
#include "server/domain/document_rules.h"
#include "server/service/audit_log.h"
#include "server/service/caller.h"
#include "server/service/document_events.h"
#include "server/store/database.h"
#include "server/store/document_store.h"

namespace coplan {

// Per-collection additions to the generic flow (decision records use both).
struct CollectionHooks {
  // Fills what the rules need beyond the document (e.g. the grid version).
  std::function<absl::Status(pqxx::transaction_base&, const google::protobuf::Message& document,
                             DocumentContext* context)>
      load_context;
  // Runs in the write transaction after every stored change.
  std::function<void(pqxx::work&, const StoredDocument& row, const google::protobuf::Message& body)>
      on_stored;
};

using DocumentPtr = std::unique_ptr<google::protobuf::Message>;

struct DocumentList {
  std::vector<DocumentPtr> documents;
  std::string next_page_token;
};

// What a watch starts from (see server/live).
struct WatchStart {
  int64_t document_key = 0;
  std::string person_id;
  std::string document_name;
  int64_t revision = 0;  // current revision
  std::optional<coplan::v1::Document> snapshot;  // when starting fresh
  bool see_withholdings = false;
  Relationship via = Relationship::kNone;
};

class DocumentService {
 public:
  DocumentService(Database& db, DocumentStore& store, AuditLog& audit);

  void Register(const DocumentRules& rules, CollectionHooks hooks);
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

  absl::StatusOr<coplan::v1::EditDocumentResponse> Edit(const Caller& caller,
                                                        const coplan::v1::EditDocumentRequest& request);
  absl::StatusOr<coplan::v1::DocumentRevision> GetRevision(const Caller& caller,
                                                           const std::string& name);
  absl::StatusOr<coplan::v1::ListRevisionsResponse> ListRevisions(
      const Caller& caller, const coplan::v1::ListRevisionsRequest& request);
  absl::StatusOr<coplan::v1::Agreement> SignOff(const Caller& caller, const std::string& name,
                                                int64_t revision);

  // For watch streams: checks access and reads the starting point.
  absl::StatusOr<WatchStart> StartWatch(const Caller& caller, const std::string& name,
                                        int64_t resume_after);
  // Changes after `after` (up to `limit`), as `reader` may see them; also re-checks that
  // the reader still has access (NOT_FOUND if not).
  absl::StatusOr<std::vector<coplan::v1::Revision>> ChangesFor(const Caller& reader,
                                                               const DocumentName& name,
                                                               int64_t after, int limit);
  absl::StatusOr<coplan::v1::Agreement> AgreementFor(const Caller& reader, const DocumentName& name);

  const DocumentRules& rules(Collection collection) const;

  // For fan-out to many readers: the stored body parsed, the parts withheld from a
  // reader, and a revision as that reader may see it.
  DocumentPtr ParseBody(Collection collection, const std::string& body) const;
  std::vector<std::string> WithheldFrom(const google::protobuf::Message& body,
                                        const std::string& reader_name) const;
  // `current` is the document now (the body the withholdings came from), at revision
  // `current_revision`.
  coplan::v1::Revision PresentRevisionFor(const DocumentName& name, const RevisionRow& row,
                                          const std::vector<std::string>& withheld,
                                          bool see_withholdings,
                                          const google::protobuf::Message& current,
                                          int64_t current_revision) const;

 private:
  struct Registered {
    const DocumentRules* rules = nullptr;
    CollectionHooks hooks;
  };
  const Registered& registered(Collection collection) const;

  // The resource a reader gets: body + bookkeeping + computed fields - withholdings.
  DocumentPtr Present(const Registered& reg, const StoredDocument& row,
                      const DocumentPermissions& can, const Caller& caller) const;
  absl::Status LoadContext(pqxx::transaction_base& tx, const Registered& reg,
                           const google::protobuf::Message& document, const AccessFacts& facts,
                           const Caller& caller, DocumentContext* context) const;
  // Stores a new revision of `row` (already locked) with `body`, in `tx`.
  void StoreRevision(pqxx::work& tx, const Registered& reg, StoredDocument& row,
                     const google::protobuf::Message& body, const Caller& caller,
                     coplan::v1::RevisionKind kind,
                     const std::vector<coplan::v1::EditOperation>& operations,
                     const std::vector<std::string>& changed_paths,
                     const std::string& idempotency_key, const std::string& request_hash);
  coplan::v1::Revision PresentRevision(const Registered& reg, const RevisionRow& row,
                                       const StoredDocument& current,
                                       const DocumentPermissions& can, const Caller& caller) const;
  coplan::v1::Revision PresentRevisionWith(const Registered& reg, const DocumentName& name,
                                           const RevisionRow& row,
                                           const std::vector<std::string>& withheld,
                                           bool see_withholdings,
                                           const google::protobuf::Message* current,
                                           int64_t current_revision) const;
  void Notify(int64_t key, int64_t revision);

  Database& db_;
  DocumentStore& store_;
  AuditLog& audit_;
  DocumentEvents* events_ = nullptr;
  std::map<Collection, Registered> collections_;
};

// Parses "{document}/revisions/{n}".
absl::StatusOr<std::pair<DocumentName, int64_t>> ParseRevisionName(const std::string& name,
                                                                   const std::string& field);

}  // namespace coplan
