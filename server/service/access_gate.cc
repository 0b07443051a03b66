#include "server/service/access_gate.h"

#include "absl/strings/str_cat.h"
#include "server/common/errors.h"
#include "server/common/status_macros.h"
#include "server/domain/withholding.h"

namespace coplan {
namespace {

std::string DefaultRefusal(DocumentNeed need, const char* noun) {
  switch (need) {
    case DocumentNeed::kEdit:
      return absl::StrCat("you can read this ", noun, " but not change it");
    case DocumentNeed::kDelete:
      return absl::StrCat("only the person and their care team can delete a ", noun);
    case DocumentNeed::kUndelete:
      return absl::StrCat("only the person and their care team can restore a ", noun);
    case DocumentNeed::kSignOff:
      return "only the person and a clinician in their care team can sign off";
    case DocumentNeed::kOwner:
      return absl::StrCat("only the person this ", noun, " is about can do this");
    case DocumentNeed::kRead:
      break;
  }
  return "";
}

bool Allows(const DocumentPermissions& can, const AccessFacts& facts, DocumentNeed need) {
  switch (need) {
    case DocumentNeed::kRead:
      return can.read;
    case DocumentNeed::kEdit:
      return can.edit;
    case DocumentNeed::kDelete:
    case DocumentNeed::kUndelete:
      return can.remove;
    case DocumentNeed::kSignOff:
      return can.sign_off_role.has_value();
    case DocumentNeed::kOwner:
      return facts.is_self();
  }
  return false;
}

bool Allows(const PersonPermissions& can, const AccessFacts& facts, PersonNeed need) {
  switch (need) {
    case PersonNeed::kKnow:
      return can.know_exists;
    case PersonNeed::kFullProfile:
      return can.full_profile;
    case PersonNeed::kCreateDocuments:
      return can.create_documents;
    case PersonNeed::kListCareTeam:
      return can.list_all_documents || can.full_profile;
    case PersonNeed::kManageSharing:
      return can.manage_sharing;
    case PersonNeed::kManageCareTeam:
      return can.manage_care_team;
    case PersonNeed::kSetUpProxy:
      return can.set_up_proxy;
    case PersonNeed::kDecideCompetence:
      return can.decide_competence;
    case PersonNeed::kReadAccessLog:
      return can.read_access_log;
    case PersonNeed::kSelf:
      return facts.is_self();
    case PersonNeed::kSignedIn:
      return true;
    case PersonNeed::kAdministrator:
      return facts.actor.administrator;
    case PersonNeed::kClinician:
      return facts.actor.clinician;
  }
  return false;
}

// Needs about the caller alone: there is no one else whose existence could show.
bool AboutCallerOnly(PersonNeed need) {
  return need == PersonNeed::kSignedIn || need == PersonNeed::kAdministrator ||
         need == PersonNeed::kClinician;
}

absl::Status Refuse(CallAudit* audit, const std::string& subject_id, coplan::v1::AuditAction action,
                    const std::string& resource, absl::Status error) {
  if (audit == nullptr) return error;
  return audit->Deny(subject_id, action, resource, std::move(error));
}

}  // namespace

PersonEntry PersonEntry::For(PersonNeed need, v1::AuditAction action, std::string resource,
                             std::string not_found_name, std::string refusal,
                             std::string not_found_kind) {
  PersonEntry entry;
  entry.need = need;
  entry.action = action;
  entry.resource = std::move(resource);
  entry.not_found_kind = std::move(not_found_kind);
  entry.not_found_name = std::move(not_found_name);
  entry.refusal = std::move(refusal);
  return entry;
}

PersonEntry PersonEntry::ForAdministrators(std::string subject_id, v1::AuditAction action,
                                           std::string resource, std::string refusal) {
  PersonEntry entry =
      For(PersonNeed::kAdministrator, action, std::move(resource), "", std::move(refusal));
  entry.audit_subject = std::move(subject_id);
  return entry;
}

DocumentRef RefOf(const StoredDocument& row) {
  return DocumentRef{
      static_cast<v1::DocumentKind>(row.kind),
      absl::StrCat(CollectionSegment(row.name.collection), "/", row.name.document_id),
      row.delete_time.has_value()};
}

AccessGate::AccessGate(Database& db, DocumentStore& documents,
                       const DocumentCollections& collections)
    : documents_(documents), facts_(db), collections_(collections) {}

absl::StatusOr<OpenDocument> AccessGate::Read(Transaction& tx, const Caller& caller,
                                              const DocumentName& name, const DocumentEntry& entry,
                                              CallAudit* audit) {
  COPLAN_ASSIGN_OR_RETURN(LoadedDocument loaded,
                          documents_.LoadWithAccess(tx, caller.person_id, caller.session_id, name));
  return Decide(caller, name, std::move(loaded), entry, audit);
}

absl::StatusOr<OpenDocument> AccessGate::Lock(WriteTransaction& tx, const Caller& caller,
                                              const DocumentName& name, const DocumentEntry& entry,
                                              CallAudit* audit) {
  COPLAN_ASSIGN_OR_RETURN(LoadedDocument loaded,
                          documents_.LockWithAccess(tx, caller.person_id, caller.session_id, name));
  return Decide(caller, name, std::move(loaded), entry, audit);
}

absl::StatusOr<OpenDocument> AccessGate::Decide(const Caller& caller, const DocumentName& name,
                                                LoadedDocument loaded, const DocumentEntry& entry,
                                                CallAudit* audit) {
  ++passes_;
  COPLAN_RETURN_IF_ERROR(RequireValidCaller(loaded.facts, caller));
  OpenDocument open;
  open.collection = &collections_.Of(name.collection);
  open.facts = std::move(loaded.facts);
  if (loaded.document)
    open.can = PermissionsForDocument(open.facts, RefOf(*loaded.document), caller.now);
  const std::string resource = entry.resource.empty() ? FormatDocumentName(name) : entry.resource;
  if (!loaded.document || !open.can.read) {
    return Refuse(audit, name.person_id, entry.action, resource,
                  NotFoundError(open.rules().noun(), FormatDocumentName(name)));
  }
  if (!Allows(open.can, open.facts, entry.need)) {
    return Refuse(audit, name.person_id, entry.action, resource,
                  PermissionDeniedError(entry.refusal.empty()
                                            ? DefaultRefusal(entry.need, open.rules().noun())
                                            : entry.refusal));
  }
  open.row = std::move(*loaded.document);
  COPLAN_ASSIGN_OR_RETURN(open.body, open.rules().Decode(open.row.body));
  if (!open.can.see_withholdings)
    open.withheld = PathsWithheldFrom(*open.body, caller.person_name());
  return open;
}

absl::StatusOr<AccessFacts> AccessGate::Person(Transaction& tx, const Caller& caller,
                                               const std::string& subject_id,
                                               const PersonEntry& entry, CallAudit* audit) {
  ++passes_;
  AccessFacts facts = facts_.Load(tx, caller.person_id, caller.session_id, subject_id);
  COPLAN_RETURN_IF_ERROR(RequireValidCaller(facts, caller));
  const PersonPermissions can = PermissionsForPerson(facts, caller.now);
  const std::string& audited = entry.audit_subject.empty() ? subject_id : entry.audit_subject;
  if (!AboutCallerOnly(entry.need) && !can.know_exists) {
    return Refuse(audit, audited, entry.action, entry.resource,
                  NotFoundError(entry.not_found_kind, entry.not_found_name));
  }
  if (!Allows(can, facts, entry.need)) {
    return Refuse(audit, audited, entry.action, entry.resource,
                  PermissionDeniedError(entry.refusal));
  }
  return facts;
}

}  // namespace coplan
