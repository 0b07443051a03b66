// SQL for jointly edited documents (plans and decision records) and their history.
//
// Reads are single statements (one round trip, run with Database::Read); writes take a
// WriteTransaction from Database::Write so that the new state, the revision row and the audit
// row commit together.
//
//   DocumentStore store(db);
//   db.Read(deadline, [&](Transaction& tx) {
//     COPLAN_ASSIGN_OR_RETURN(LoadedDocument loaded,
//                             store.LoadWithAccess(tx, actor_id, session_id, name));
//     ...
//   });
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coplan/v1/common.pb.h"
#include "coplan/v1/editing.pb.h"
#include "server/common/resource_names.h"
#include "server/domain/access_facts.h"
#include "server/domain/edit_engine.h"
#include "server/store/transaction.h"

namespace coplan {

class Database;

// A document's current row. `body` is the serialized resource without bookkeeping fields.
struct StoredDocument {
  int64_t key = 0;
  DocumentName name;
  int kind = 0;  // coplan.v1.DocumentKind
  std::string body;
  int64_t revision = 0;
  absl::Time create_time;
  absl::Time update_time;
  std::string creator_id;
  std::string last_editor_id;
  std::optional<absl::Time> delete_time;
  coplan::v1::Agreement agreement;  // computed from sign-offs (agreed revision, latest each)
};

struct LoadedDocument {
  AccessFacts facts;
  std::optional<StoredDocument> document;  // absent if no such document
};

// One row of the history.
struct RevisionRow {
  int64_t document_key = 0;
  std::string author_id;
  coplan::v1::Revision revision;  // without name; operations and changed paths included
  std::string snapshot;           // body after this revision
  std::string idempotency_key;    // empty when none
  std::string request_hash;
};

// Where a listing continues: after (create_time, key), newest first.
struct DocumentCursor {
  int64_t create_micros = INT64_MAX;
  int64_t key = INT64_MAX;
};

class DocumentStore {
 public:
  explicit DocumentStore(Database& db);

  // The document and the facts about the caller and its owner, in one statement.
  absl::StatusOr<LoadedDocument> LoadWithAccess(Transaction& tx, const std::string& actor_id,
                                                const std::string& session_id,
                                                const DocumentName& name);
  // A person's documents of a collection (optionally one kind), newest first.
  absl::StatusOr<std::vector<StoredDocument>> List(Transaction& tx, const std::string& person_id,
                                                   Collection collection, int kind,
                                                   bool show_deleted, const DocumentCursor& after,
                                                   int limit);
  // As LoadWithAccess, and locks the document's row for the rest of the transaction.
  absl::StatusOr<LoadedDocument> LockWithAccess(WriteTransaction& tx, const std::string& actor_id,
                                                const std::string& session_id,
                                                const DocumentName& name);
  // Locks the row for the rest of the transaction; NOT_FOUND-free: nullopt if absent.
  absl::StatusOr<std::optional<StoredDocument>> LockForUpdate(WriteTransaction& tx,
                                                              const DocumentName& name);
  // Inserts a new document at revision 1; ALREADY_EXISTS if the name is taken.
  absl::StatusOr<int64_t> Insert(WriteTransaction& tx, const StoredDocument& document);
  void InsertRevision(WriteTransaction& tx, const RevisionRow& row);
  // Stores the document's new state and its revision row, in one statement.
  void WriteRevision(WriteTransaction& tx, const StoredDocument& document, const RevisionRow& row);

  // Records that a person signed `revision` off in a role (coplan.v1.SignOffRole); once
  // per person, role and revision.
  void InsertSignOff(WriteTransaction& tx, int64_t document_key, const std::string& person_id,
                     int role, int64_t revision);

  // What an edit needs from the history, in one statement: the revision already
  // recorded for this author and idempotency key (a retry), and the paths changed by
  // every revision after `base_revision`.
  // The revision an earlier send of the same batch made (the author's idempotency key), if
  // any: one row, by its unique index.
  std::optional<RevisionRow> FindRetriedBatch(Transaction& tx, int64_t document_key,
                                              const std::string& author_id,
                                              const std::string& idempotency_key);
  // The paths changed by each revision after `base_revision`, oldest first: at most
  // `max_revisions` revisions, the caller bounds what it merges across.
  std::vector<PriorChange> LoadChangesSince(Transaction& tx, int64_t document_key,
                                            int64_t base_revision, int64_t max_revisions);
  absl::StatusOr<std::optional<RevisionRow>> GetRevision(Transaction& tx, int64_t document_key,
                                                         int64_t revision);
  // A document by its key (nullopt if absent).
  std::optional<StoredDocument> LoadByKey(Transaction& tx, int64_t key);
  // Current revisions of the given documents (absent ones are left out).
  std::map<int64_t, int64_t> LatestRevisions(Transaction& tx, const std::vector<int64_t>& keys);

  // Revisions after `after_revision` (without snapshots), oldest first, up to `limit`.
  std::vector<RevisionRow> ListRevisions(Transaction& tx, int64_t document_key,
                                         int64_t after_revision, int limit);

 private:
  // One of the "…_with_facts" statements: the access facts, and the document if any.
  LoadedDocument ReadWithAccess(Transaction& tx, const char* statement, const std::string& actor_id,
                                const std::string& session_id, const DocumentName& name);
  Database& db_;
};

}  // namespace coplan
