// The one way into a person's records. Every call about a document, a decision or a
// person passes here exactly once: load what the database knows about the caller and the
// record (one statement, and the document locked in a write), decide with the access
// policy (server/domain/access_policy.h) at the caller's instant, record a refusal, and
// hand back the record with what the caller can do and the rules that apply to it.
//
//   COPLAN_ASSIGN_OR_RETURN(OpenDocument open,
//       gate_.Lock(tx, caller, name, {DocumentNeed::kEdit, v1::AUDIT_ACTION_UPDATE}, &audit));
//   open.row      // the stored document
//   open.body     // its body, decoded
//   open.can      // what the caller may do with it
//   open.withheld // what the person withholds from the caller
//
// Without a relationship the answer is NOT_FOUND, exactly as for a record that does not
// exist; with one but not the permission asked for, PERMISSION_DENIED. Both are audited
// as refused attempts (through CallAudit, once the call ends). A caller whose session has
// ended is UNAUTHENTICATED.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coplan/v1/audit_service.pb.h"
#include "google/protobuf/message.h"
#include "server/domain/access_facts.h"
#include "server/domain/access_policy.h"
#include "server/service/call_audit.h"
#include "server/service/caller.h"
#include "server/service/document_collection.h"
#include "server/store/access_facts_store.h"
#include "server/store/document_store.h"
#include "server/store/transaction.h"

namespace coplan {

using DocumentPtr = std::unique_ptr<google::protobuf::Message>;

// What a call wants to do with a document.
enum class DocumentNeed {
  kRead,      // read it, its history, or watch it
  kEdit,      // change it
  kDelete,    // delete it
  kUndelete,  // restore it
  kSignOff,   // sign a revision off
  kOwner,     // act as the person it is about
};

struct DocumentEntry {
  DocumentNeed need = DocumentNeed::kRead;
  coplan::v1::AuditAction action = coplan::v1::AUDIT_ACTION_READ;
  // What the audit row of a refusal names; the document when empty.
  std::string resource;
  // What a refusal says when the caller may read but not do this; a default per need.
  std::string refusal;
};

// A document the caller may use as asked.
struct OpenDocument {
  const DocumentCollection* collection = nullptr;
  StoredDocument row;
  AccessFacts facts;
  DocumentPermissions can;
  DocumentPtr body;                   // the stored body, decoded
  std::vector<std::string> withheld;  // paths withheld from the caller (none if see_withholdings)

  const DocumentRules& rules() const { return collection->rules(); }
};

// What a call wants with a person (their profile, care team, sharing, or their documents
// as a whole).
enum class PersonNeed {
  kKnow,              // any relationship at all
  kFullProfile,       // self, care team, administrator
  kCreateDocuments,   // self, care team, proxy with edit
  kListCareTeam,      // what lists the care team: full profile, or every document
  kManageSharing,     // the person only
  kManageCareTeam,    // administrator or a clinician already in the team
  kSetUpProxy,        // administrator or care-team clinician
  kDecideCompetence,  // a care-team clinician
  kReadAccessLog,     // the person only
  kSelf,              // the person only, as themself
  kSignedIn,          // nothing about the subject: only a valid caller (the subject is the caller)
  kAdministrator,     // an administrator (the subject is the caller)
  kClinician,         // a clinician (the subject is the caller)
};

struct PersonEntry {
  PersonNeed need = PersonNeed::kKnow;
  coplan::v1::AuditAction action = coplan::v1::AUDIT_ACTION_READ;
  std::string resource;  // what the audit row of a refusal names
  // Whose record the audit row of a refusal names; the subject when empty (an
  // administrator's refused registration names the person it would have registered).
  std::string audit_subject;
  // NOT_FOUND without a relationship names this kind and name ("person", "people/x").
  std::string not_found_kind = "person";
  std::string not_found_name;
  // What a refusal says with a relationship but without the permission.
  std::string refusal;

  // The usual entry: `resource` audited on refusal, NOT_FOUND naming `not_found_name`.
  static PersonEntry For(PersonNeed need, coplan::v1::AuditAction action, std::string resource,
                         std::string not_found_name, std::string refusal,
                         std::string not_found_kind = "person");
  // A call only administrators make, about `subject_id`, who need not be known to them.
  static PersonEntry ForAdministrators(std::string subject_id, coplan::v1::AuditAction action,
                                       std::string resource, std::string refusal);
};

class AccessGate {
 public:
  AccessGate(Database& db, DocumentStore& documents, const DocumentCollections& collections);

  // The document, read in `tx`.
  absl::StatusOr<OpenDocument> Read(Transaction& tx, const Caller& caller, const DocumentName& name,
                                    const DocumentEntry& entry, CallAudit* audit);
  // The document, locked for the rest of the write transaction.
  absl::StatusOr<OpenDocument> Lock(WriteTransaction& tx, const Caller& caller,
                                    const DocumentName& name, const DocumentEntry& entry,
                                    CallAudit* audit);
  // The facts about the caller and `subject_id` when the caller may do what is asked.
  absl::StatusOr<AccessFacts> Person(Transaction& tx, const Caller& caller,
                                     const std::string& subject_id, const PersonEntry& entry,
                                     CallAudit* audit);

  // How many times a call has passed the gate (every call passes once; for tests).
  int64_t passes() const { return passes_.load(); }

 private:
  absl::StatusOr<OpenDocument> Decide(const Caller& caller, const DocumentName& name,
                                      LoadedDocument loaded, const DocumentEntry& entry,
                                      CallAudit* audit);

  DocumentStore& documents_;
  AccessFactsStore facts_;
  const DocumentCollections& collections_;
  std::atomic<int64_t> passes_{0};
};

// How a reader names a document in grants: "plans/{id}" with its kind.
DocumentRef RefOf(const StoredDocument& row);

}  // namespace coplan
