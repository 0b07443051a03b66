#include "server/service/document_service.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "coplan/v1/decision.pb.h"
#include "coplan/v1/plan.pb.h"
#include "server/common/crypto.h"
#include "server/common/errors.h"
#include "server/common/ids.h"
#include "server/common/status_macros.h"
#include "server/domain/document_meta.h"
#include "server/domain/document_paths.h"
#include "server/domain/edit_engine.h"
#include "server/domain/field_rules.h"
#include "server/domain/page_token.h"
#include "server/domain/update_mask.h"
#include "server/domain/withholding.h"
#include "server/service/call_audit.h"
#include "server/store/access_facts_query.h"

namespace coplan {
namespace {

using google::protobuf::Message;

DocumentRef RefOf(const StoredDocument& row) {
  return DocumentRef{static_cast<v1::DocumentKind>(row.kind),
                     absl::StrCat(CollectionSegment(row.name.collection), "/", row.name.document_id)};
}

DocumentMeta MetaOf(const StoredDocument& row) {
  DocumentMeta meta;
  meta.name = FormatDocumentName(row.name);
  meta.key = row.key;
  meta.revision = row.revision;
  meta.create_time = row.create_time;
  meta.update_time = row.update_time;
  meta.creator = PersonName(row.creator_id);
  meta.last_editor = PersonName(row.last_editor_id);
  meta.delete_time = row.delete_time;
  meta.agreement = row.agreement;
  return meta;
}

v1::Document Wrap(const Message& message) {
  v1::Document document;
  if (message.GetDescriptor() == v1::Plan::descriptor()) {
    document.mutable_plan()->CopyFrom(message);
  } else {
    document.mutable_decision_record()->CopyFrom(message);
  }
  return document;
}

std::string RequestHash(const v1::EditDocumentRequest& request) {
  v1::EditDocumentRequest canonical;
  canonical.set_base_revision(request.base_revision());
  *canonical.mutable_operations() = request.operations();
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  canonical.SerializeToCodedStream(&coded);
  coded.Trim();
  return Sha256(bytes);
}

// The log is read after the document, outside one snapshot: revisions committed in
// between would be shown with the older document's withholdings, so they wait.
void DropRevisionsAfter(int64_t revision, std::vector<RevisionRow>& rows) {
  rows.erase(std::remove_if(rows.begin(), rows.end(),
                            [revision](const RevisionRow& row) {
                              return row.revision.revision() > revision;
                            }),
             rows.end());
}

// A denial decided inside a transaction, audited once the transaction has rolled back.
struct Denial {
  bool denied = false;
  std::string subject;
  v1::AuditAction action = v1::AUDIT_ACTION_UNSPECIFIED;
  std::string resource;
  absl::Status Set(const std::string& subject_id, v1::AuditAction what, const std::string& name,
                   absl::Status error) {
    denied = true;
    subject = subject_id;
    action = what;
    resource = name;
    return error;
  }
};

absl::Status Finish(absl::Status status, const Denial& denial, CallAudit& audit) {
  if (denial.denied) audit.Denied(denial.subject, denial.action, denial.resource, status).IgnoreError();
  return status;
}

}  // namespace

absl::StatusOr<std::pair<DocumentName, int64_t>> ParseRevisionName(const std::string& name,
                                                                   const std::string& field) {
  const size_t at = name.rfind("/revisions/");
  if (at == std::string::npos) {
    return InvalidFieldError(field, "expected \"{document}/revisions/{revision}\"");
  }
  COPLAN_ASSIGN_OR_RETURN(DocumentName document, ParseDocumentName(name.substr(0, at), field));
  int64_t revision = 0;
  if (!absl::SimpleAtoi(name.substr(at + 11), &revision) || revision < 1) {
    return InvalidFieldError(field, "the revision must be a number from 1");
  }
  return std::make_pair(document, revision);
}

DocumentService::DocumentService(Database& db, DocumentStore& store, AuditLog& audit)
    : db_(db), store_(store), audit_(audit) {
  PrepareAccessFacts(db_);
  db_.Prepare("sign_off_insert",
              "INSERT INTO sign_offs (document_key, person_id, role, revision) VALUES ($1, $2, $3, $4)"
              " ON CONFLICT DO NOTHING");
}

void DocumentService::Register(const DocumentRules& rules, CollectionHooks hooks) {
  collections_[rules.collection()] = Registered{&rules, std::move(hooks)};
}

const DocumentService::Registered& DocumentService::registered(Collection collection) const {
  return collections_.at(collection);
}

const DocumentRules& DocumentService::rules(Collection collection) const {
  return *registered(collection).rules;
}

void DocumentService::Notify(int64_t key, int64_t revision) {
  if (events_ != nullptr) events_->RevisionCommitted(key, revision);
}

DocumentPtr DocumentService::Present(const Registered& reg, const StoredDocument& row,
                                     const DocumentPermissions& can, const Caller& caller) const {
  DocumentPtr document = reg.rules->New();
  document->ParseFromString(row.body);
  ApplyWithholdings(*document, caller.person_name(), /*keep_list=*/can.see_withholdings);
  reg.rules->Decorate(*document, caller.today());
  SetDocumentMeta(*document, MetaOf(row));
  return document;
}

absl::Status DocumentService::LoadContext(pqxx::transaction_base& tx, const Registered& reg,
                                          const Message& document, const AccessFacts& facts,
                                          const Caller& caller, DocumentContext* context) const {
  context->subject_birth_date = facts.subject.birth_date;
  context->today = caller.today();
  if (reg.hooks.load_context) return reg.hooks.load_context(tx, document, context);
  return absl::OkStatus();
}

void DocumentService::StoreRevision(pqxx::work& tx, const Registered& reg, StoredDocument& row,
                                    const Message& body, const Caller& caller,
                                    v1::RevisionKind kind,
                                    const std::vector<v1::EditOperation>& operations,
                                    const std::vector<std::string>& changed_paths,
                                    const std::string& idempotency_key,
                                    const std::string& request_hash) {
  row.revision += 1;
  row.update_time = MicrosToTime(TimeToMicros(caller.now));
  row.last_editor_id = caller.person_id;
  row.body = body.SerializeAsString();
  RevisionRow revision;
  revision.document_key = row.key;
  revision.author_id = caller.person_id;
  revision.revision.set_revision(row.revision);
  revision.revision.set_kind(kind);
  revision.revision.set_author(caller.person_name());
  *revision.revision.mutable_create_time() = ToTimestamp(row.update_time);
  for (const auto& op : operations) *revision.revision.add_operations() = op;
  for (const auto& path : changed_paths) revision.revision.add_changed_paths(path);
  revision.snapshot = row.body;
  revision.idempotency_key = idempotency_key;
  revision.request_hash = request_hash;
  store_.WriteRevision(tx, row, revision);
  if (reg.hooks.on_stored) reg.hooks.on_stored(tx, row, body);
}

absl::StatusOr<DocumentPtr> DocumentService::Create(const Caller& caller, Collection collection,
                                                    const std::string& parent,
                                                    DocumentPtr document,
                                                    const std::string& requested_id,
                                                    const std::string& request_field) {
  const Registered& reg = registered(collection);
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(std::string person_id, ParsePersonName(parent, "parent"));
  std::string document_id = requested_id;
  if (document_id.empty()) {
    document_id = NewResourceId();
  } else if (!IsValidClientResourceId(document_id)) {
    return InvalidFieldError(
        absl::StrCat(collection == Collection::kPlans ? "plan" : "decision_record", "_id"),
        "must be 4 to 63 of a-z, 0-9 and '-', starting with a letter and not ending with '-'");
  }
  StripForStorage(*document);
  AssignItemIds(*document);
  COPLAN_RETURN_IF_ERROR(PrefixFieldErrors(ValidateDocument(*document), request_field + "."));

  DocumentName name{person_id, collection, document_id};
  const std::string resource = FormatDocumentName(name);
  StoredDocument row;
  Denial denial;
  absl::Status status = db_.Write(caller.deadline, [&](pqxx::work& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(AccessFacts facts,
                            LoadAccessFacts(tx, caller.person_id, caller.session_id, person_id));
    COPLAN_RETURN_IF_ERROR(RequireValidCaller(facts));
    const PersonPermissions can = PermissionsForPerson(facts, caller.today());
    if (!can.know_exists) {
      return denial.Set(person_id, v1::AUDIT_ACTION_CREATE, resource, NotFoundError("person", parent));
    }
    if (!can.create_documents) {
      return denial.Set(person_id, v1::AUDIT_ACTION_CREATE, resource,
                        PermissionDeniedError(absl::StrCat("you cannot create a ", reg.rules->noun(),
                                                           " for this person")));
    }
    DocumentContext context;
    COPLAN_RETURN_IF_ERROR(LoadContext(tx, reg, *document, facts, caller, &context));
    COPLAN_RETURN_IF_ERROR(
        PrefixFieldErrors(reg.rules->Check(*document, context), request_field + "."));
    row.name = name;
    row.kind = reg.rules->KindOf(*document);
    row.body = document->SerializeAsString();
    row.revision = 1;
    row.create_time = row.update_time = MicrosToTime(TimeToMicros(caller.now));
    row.creator_id = row.last_editor_id = caller.person_id;
    COPLAN_ASSIGN_OR_RETURN(row.key, store_.Insert(tx, row));
    RevisionRow revision;
    revision.document_key = row.key;
    revision.author_id = caller.person_id;
    revision.revision.set_revision(1);
    revision.revision.set_kind(v1::REVISION_KIND_CREATE);
    revision.revision.set_author(caller.person_name());
    *revision.revision.mutable_create_time() = ToTimestamp(row.create_time);
    for (auto& op : CreationOperations(*document)) {
      revision.revision.add_changed_paths(op.set_field().path());
      *revision.revision.add_operations() = std::move(op);
    }
    revision.snapshot = row.body;
    store_.InsertRevision(tx, revision);
    if (reg.hooks.on_stored) reg.hooks.on_stored(tx, row, *document);
    audit.Write(tx, person_id, v1::AUDIT_ACTION_CREATE, resource);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(Finish(status, denial, audit));
  Notify(row.key, row.revision);
  DocumentPermissions owner_view;
  owner_view.see_withholdings = caller.person_id == person_id;
  return Present(reg, row, owner_view, caller);
}

absl::StatusOr<DocumentPtr> DocumentService::Get(const Caller& caller, const DocumentName& name) {
  const Registered& reg = registered(name.collection);
  CallAudit audit(audit_, caller);
  const std::string resource = FormatDocumentName(name);
  LoadedDocument loaded;
  COPLAN_RETURN_IF_ERROR(db_.Read(caller.deadline, [&](pqxx::nontransaction& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(loaded,
                            store_.LoadWithAccess(tx, caller.person_id, caller.session_id, name));
    return absl::OkStatus();
  }));
  COPLAN_RETURN_IF_ERROR(RequireValidCaller(loaded.facts));
  DocumentPermissions can;
  if (loaded.document) can = PermissionsForDocument(loaded.facts, RefOf(*loaded.document), caller.today());
  if (!loaded.document || !can.read) {
    return audit.Denied(name.person_id, v1::AUDIT_ACTION_READ, resource,
                        NotFoundError(reg.rules->noun(), resource));
  }
  COPLAN_RETURN_IF_ERROR(audit.Read(name.person_id, resource));
  return Present(reg, *loaded.document, can, caller);
}

absl::StatusOr<DocumentList> DocumentService::List(const Caller& caller, Collection collection,
                                                   const std::string& parent, int kind,
                                                   bool show_deleted, int page_size,
                                                   const std::string& page_token) {
  const Registered& reg = registered(collection);
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(std::string person_id, ParsePersonName(parent, "parent"));
  COPLAN_ASSIGN_OR_RETURN(int limit, PageSize(page_size, 20, 100));
  const std::string fingerprint = absl::StrCat(parent, "|", collection == Collection::kPlans, "|",
                                               kind, "|", show_deleted);
  DocumentCursor cursor;
  if (!page_token.empty()) {
    COPLAN_ASSIGN_OR_RETURN(PageCursor position, DecodePageToken(page_token, fingerprint, 2));
    cursor = {position.Int(0), position.Int(1)};
  }
  AccessFacts facts;
  std::vector<StoredDocument> rows;
  COPLAN_RETURN_IF_ERROR(db_.Read(caller.deadline, [&](pqxx::nontransaction& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(facts,
                            LoadAccessFacts(tx, caller.person_id, caller.session_id, person_id));
    if (!CallerIsValid(facts) || !PermissionsForPerson(facts, caller.today()).know_exists) {
      return absl::OkStatus();
    }
    COPLAN_ASSIGN_OR_RETURN(rows, store_.List(tx, person_id, collection, kind, show_deleted,
                                              cursor, limit + 1));
    return absl::OkStatus();
  }));
  COPLAN_RETURN_IF_ERROR(RequireValidCaller(facts));
  if (!PermissionsForPerson(facts, caller.today()).know_exists) {
    return audit.Denied(person_id, v1::AUDIT_ACTION_READ, parent, NotFoundError("person", parent));
  }
  DocumentList list;
  const bool more = static_cast<int>(rows.size()) > limit;
  if (more) rows.resize(limit);
  for (const StoredDocument& row : rows) {
    const DocumentPermissions can = PermissionsForDocument(facts, RefOf(row), caller.today());
    if (!can.read) continue;  // not shared with this caller
    COPLAN_RETURN_IF_ERROR(audit.Read(person_id, FormatDocumentName(row.name)));
    list.documents.push_back(Present(reg, row, can, caller));
  }
  if (more && !rows.empty()) {
    list.next_page_token =
        EncodePageToken({absl::StrCat(TimeToMicros(rows.back().create_time)),
                         absl::StrCat(rows.back().key)},
                        fingerprint);
  }
  return list;
}

absl::StatusOr<DocumentPtr> DocumentService::Update(const Caller& caller, Collection collection,
                                                    const Message& request_document,
                                                    const google::protobuf::FieldMask& mask,
                                                    const std::string& request_field) {
  const Registered& reg = registered(collection);
  CallAudit audit(audit_, caller);
  const auto* name_field = request_document.GetDescriptor()->FindFieldByName("name");
  const std::string name_text =
      request_document.GetReflection()->GetString(request_document, name_field);
  COPLAN_ASSIGN_OR_RETURN(DocumentName name,
                          ParseDocumentName(name_text, collection, request_field + ".name"));
  const std::string resource = FormatDocumentName(name);
  const std::string etag = EtagOf(request_document);
  StoredDocument row;
  DocumentPermissions can;
  bool changed = false;
  Denial denial;
  absl::Status status = db_.Write(caller.deadline, [&](pqxx::work& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(LoadedDocument loaded,
                            store_.LockWithAccess(tx, caller.person_id, caller.session_id, name));
    const AccessFacts& facts = loaded.facts;
    COPLAN_RETURN_IF_ERROR(RequireValidCaller(facts));
    const std::optional<StoredDocument>& locked = loaded.document;
    if (locked) can = PermissionsForDocument(facts, RefOf(*locked), caller.today());
    if (!locked || !can.read) {
      return denial.Set(name.person_id, v1::AUDIT_ACTION_UPDATE, resource,
                        NotFoundError(reg.rules->noun(), resource));
    }
    if (!can.edit) {
      return denial.Set(name.person_id, v1::AUDIT_ACTION_UPDATE, resource,
                        PermissionDeniedError(absl::StrCat("you can read this ", reg.rules->noun(),
                                                           " but not change it")));
    }
    row = *locked;
    if (row.delete_time) {
      return FailedPreconditionError(absl::StrCat("the ", reg.rules->noun(),
                                                  " is deleted; undelete it before changing it"));
    }
    if (!etag.empty() && etag != DocumentEtag(row.key, row.revision)) return EtagMismatchError(resource);

    DocumentPtr stored = reg.rules->New();
    stored->ParseFromString(row.body);
    DocumentPtr request(request_document.New());
    request->CopyFrom(request_document);
    ClearOutputOnlyFields(*request);
    if (!can.see_withholdings) {
      // The caller never saw the list; "*" must not wipe it.
      const auto* field = request->GetDescriptor()->FindFieldByName("withholdings");
      if (field != nullptr) {
        request->GetReflection()->ClearField(request.get(), field);
        for (int i = 0; i < stored->GetReflection()->FieldSize(*stored, field); ++i) {
          request->GetReflection()->AddMessage(request.get(), field)->CopyFrom(
              stored->GetReflection()->GetRepeatedMessage(*stored, field, i));
        }
      }
    }
    // Parts withheld from the caller were never sent to them, so their request lacks
    // them: keep the stored parts. A request holding anything at a withheld path is
    // refused (even outside the mask): it can only be a guess, and whether a guess
    // matched must not show.
    std::vector<std::string> hidden;
    DocumentPtr before;
    bool nothing_sent = true;
    if (!can.see_withholdings) {
      hidden = PathsWithheldFrom(*stored, caller.person_name());
      nothing_sent = CarryOverWithheld(*stored, *request, hidden);
      before = reg.rules->New();
      before->CopyFrom(*stored);
    }
    COPLAN_ASSIGN_OR_RETURN(MaskedUpdate update,
                            ApplyUpdateMask(*stored, *request, mask, request_field));
    if (!nothing_sent || (before && !WithheldUnchanged(*before, *stored, hidden))) {
      return PermissionDeniedError(
          "the change includes information the person prefers not to share with you");
    }
    COPLAN_RETURN_IF_ERROR(PrefixFieldErrors(ValidateDocument(*stored), request_field + "."));
    DocumentContext context;
    COPLAN_RETURN_IF_ERROR(LoadContext(tx, reg, *stored, facts, caller, &context));
    COPLAN_RETURN_IF_ERROR(PrefixFieldErrors(reg.rules->Check(*stored, context), request_field + "."));
    if (update.changed_paths.empty()) return absl::OkStatus();  // nothing to record
    changed = true;
    StoreRevision(tx, reg, row, *stored, caller, v1::REVISION_KIND_UPDATE, update.operations,
                  update.changed_paths, "", "");
    audit.Write(tx, name.person_id, v1::AUDIT_ACTION_UPDATE, resource);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(Finish(status, denial, audit));
  if (changed) Notify(row.key, row.revision);
  return Present(reg, row, can, caller);
}

absl::StatusOr<DocumentPtr> DocumentService::Delete(const Caller& caller, const DocumentName& name,
                                                    const std::string& etag, bool undelete) {
  const Registered& reg = registered(name.collection);
  CallAudit audit(audit_, caller);
  const std::string resource = FormatDocumentName(name);
  StoredDocument row;
  DocumentPermissions can;
  Denial denial;
  absl::Status status = db_.Write(caller.deadline, [&](pqxx::work& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(LoadedDocument loaded,
                            store_.LockWithAccess(tx, caller.person_id, caller.session_id, name));
    const AccessFacts& facts = loaded.facts;
    COPLAN_RETURN_IF_ERROR(RequireValidCaller(facts));
    const std::optional<StoredDocument>& locked = loaded.document;
    if (locked) can = PermissionsForDocument(facts, RefOf(*locked), caller.today());
    if (!locked || !can.read) {
      return denial.Set(name.person_id, v1::AUDIT_ACTION_DELETE, resource,
                        NotFoundError(reg.rules->noun(), resource));
    }
    if (!can.remove) {
      return denial.Set(name.person_id, v1::AUDIT_ACTION_DELETE, resource,
                        PermissionDeniedError(absl::StrCat("only the person and their care team can ",
                                                           undelete ? "restore" : "delete", " a ",
                                                           reg.rules->noun())));
    }
    row = *locked;
    if (!etag.empty() && etag != DocumentEtag(row.key, row.revision)) return EtagMismatchError(resource);
    if (undelete != row.delete_time.has_value()) {
      return FailedPreconditionError(absl::StrCat("the ", reg.rules->noun(), " is ",
                                                  undelete ? "not deleted" : "already deleted"));
    }
    row.delete_time = undelete ? std::nullopt
                               : std::optional<absl::Time>(MicrosToTime(TimeToMicros(caller.now)));
    DocumentPtr body = reg.rules->New();
    body->ParseFromString(row.body);
    StoreRevision(tx, reg, row, *body, caller,
                  undelete ? v1::REVISION_KIND_UNDELETE : v1::REVISION_KIND_DELETE, {}, {}, "", "");
    audit.Write(tx, name.person_id, v1::AUDIT_ACTION_DELETE, resource);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(Finish(status, denial, audit));
  Notify(row.key, row.revision);
  return Present(reg, row, can, caller);
}

absl::StatusOr<v1::EditDocumentResponse> DocumentService::Edit(const Caller& caller,
                                                               const v1::EditDocumentRequest& request) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(DocumentName name, ParseDocumentName(request.name(), "name"));
  const Registered& reg = registered(name.collection);
  const std::string resource = FormatDocumentName(name);
  const std::string& key = request.idempotency_key();
  if (key.size() < 8 || key.size() > 100) {
    return InvalidFieldError("idempotency_key",
                             "must be 8 to 100 characters, unique per batch (e.g. a UUID)");
  }
  if (request.base_revision() < 1) {
    return InvalidFieldError("base_revision", "must be a revision of the document (1 or more)");
  }
  if (request.operations_size() > kMaxOperationsPerBatch) {
    return InvalidFieldError("operations", absl::StrCat("has ", request.operations_size(),
                                                        " operations; at most ",
                                                        kMaxOperationsPerBatch, " per batch"));
  }
  const std::string request_hash = RequestHash(request);
  StoredDocument row;
  DocumentPermissions can;
  v1::EditDocumentResponse response;
  bool replay = false;
  Denial denial;
  absl::Status status = db_.Write(caller.deadline, [&](pqxx::work& tx) -> absl::Status {
    response.Clear();
    COPLAN_ASSIGN_OR_RETURN(LoadedDocument loaded,
                            store_.LockWithAccess(tx, caller.person_id, caller.session_id, name));
    const AccessFacts& facts = loaded.facts;
    COPLAN_RETURN_IF_ERROR(RequireValidCaller(facts));
    const std::optional<StoredDocument>& locked = loaded.document;
    if (locked) can = PermissionsForDocument(facts, RefOf(*locked), caller.today());
    if (!locked || !can.read) {
      return denial.Set(name.person_id, v1::AUDIT_ACTION_UPDATE, resource,
                        NotFoundError(reg.rules->noun(), resource));
    }
    if (!can.edit) {
      return denial.Set(name.person_id, v1::AUDIT_ACTION_UPDATE, resource,
                        PermissionDeniedError(absl::StrCat("you can read this ", reg.rules->noun(),
                                                           " but not change it")));
    }
    row = *locked;
    DocumentStore::EditHistory history =
        store_.LoadEditHistory(tx, row.key, request.base_revision(), caller.person_id, key);
    const std::optional<RevisionRow>& earlier = history.earlier;
    if (earlier) {
      if (earlier->request_hash != request_hash) {
        return FailedPreconditionError(
            "idempotency_key was already used for a different batch; use a new key per batch");
      }
      // A retry: answer as the first time, from the stored revision.
      replay = true;
      response.set_revision(earlier->revision.revision());
      response.set_replayed(true);
      StoredDocument then = row;
      then.body = earlier->snapshot;
      then.revision = earlier->revision.revision();
      DocumentPtr document = Present(reg, then, can, caller);
      if (!can.see_withholdings) {
        // Shared then, perhaps withheld since: today's wishes apply, as for GetRevision.
        DocumentPtr current = reg.rules->New();
        current->ParseFromString(row.body);
        RemovePaths(*document, PathsWithheldFrom(*current, caller.person_name()));
      }
      *response.mutable_document() = Wrap(*document);
      for (const auto& op : earlier->revision.operations()) {
        response.add_inserted_ids(op.has_insert_item() &&
                                          op.insert_item().item().struct_value().fields().count("id")
                                      ? op.insert_item().item().struct_value().fields().at("id").string_value()
                                      : "");
      }
      return absl::OkStatus();
    }
    if (row.delete_time) {
      return FailedPreconditionError(absl::StrCat("the ", reg.rules->noun(),
                                                  " is deleted; undelete it before editing"));
    }
    if (request.base_revision() > row.revision) {
      return InvalidFieldError("base_revision",
                               absl::StrCat("revision ", request.base_revision(),
                                            " does not exist yet; the current revision is ",
                                            row.revision));
    }
    const std::vector<PriorChange>& changes = history.changes_since_base;
    DocumentPtr working = reg.rules->New();
    working->ParseFromString(row.body);
    EditorView view;
    view.may_write = WithholdingWriteRule(*working, caller.person_name(), can.see_withholdings);
    if (!can.see_withholdings) view.hidden = PathsWithheldFrom(*working, caller.person_name());
    COPLAN_ASSIGN_OR_RETURN(EditOutcome outcome,
                            ApplyEditBatch(*working, request.operations(), changes, row.revision,
                                           view));
    DocumentContext context;
    COPLAN_RETURN_IF_ERROR(LoadContext(tx, reg, *working, facts, caller, &context));
    COPLAN_RETURN_IF_ERROR(reg.rules->Check(*working, context));
    StoreRevision(tx, reg, row, *working, caller, v1::REVISION_KIND_EDIT, outcome.applied,
                  outcome.changed_paths, key, request_hash);
    audit.Write(tx, name.person_id, v1::AUDIT_ACTION_UPDATE, resource);
    response.set_revision(row.revision);
    for (const auto& id : outcome.inserted_ids) response.add_inserted_ids(id);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(Finish(status, denial, audit));
  if (!replay) {
    Notify(row.key, row.revision);
    *response.mutable_document() = Wrap(*Present(reg, row, can, caller));
  }
  return response;
}

DocumentPtr DocumentService::ParseBody(Collection collection, const std::string& body) const {
  DocumentPtr document = registered(collection).rules->New();
  document->ParseFromString(body);
  return document;
}

std::vector<std::string> DocumentService::WithheldFrom(const Message& body,
                                                       const std::string& reader_name) const {
  return PathsWithheldFrom(body, reader_name);
}

v1::Revision DocumentService::PresentRevisionFor(const DocumentName& name, const RevisionRow& row,
                                                 const std::vector<std::string>& withheld,
                                                 bool see_withholdings,
                                                 const google::protobuf::Message& current,
                                                 int64_t current_revision) const {
  return PresentRevisionWith(registered(name.collection), name, row, withheld, see_withholdings,
                             &current, current_revision);
}

v1::Revision DocumentService::PresentRevisionWith(const Registered& reg, const DocumentName& name,
                                                  const RevisionRow& row,
                                                  const std::vector<std::string>& withheld,
                                                  bool see_withholdings,
                                                  const google::protobuf::Message* current,
                                                  int64_t current_revision) const {
  v1::Revision revision = row.revision;
  revision.set_name(absl::StrCat(FormatDocumentName(name), "/revisions/", revision.revision()));
  if (see_withholdings) return revision;
  revision.clear_operations();
  const google::protobuf::Descriptor& root = *reg.rules->New()->GetDescriptor();
  // A position anchored to a hidden item is re-anchored from the document as the
  // operation left it; known exactly only for a one-operation batch that is the current
  // revision. Otherwise the item is shown at the end of its list.
  const bool exact = row.revision.revision() == current_revision && row.revision.operations_size() == 1;
  for (const auto& op : row.revision.operations()) {
    auto visible = RedactOperation(op, root, withheld, /*see_withholdings=*/false,
                                   exact ? current : nullptr);
    if (visible) *revision.add_operations() = *visible;
  }
  revision.clear_changed_paths();
  for (const auto& path : row.revision.changed_paths()) {
    bool hidden = PathCovers("withholdings", path);
    for (const auto& w : withheld) hidden = hidden || PathCovers(w, path);
    if (!hidden) revision.add_changed_paths(path);
  }
  return revision;
}

v1::Revision DocumentService::PresentRevision(const Registered& reg, const RevisionRow& row,
                                              const StoredDocument& current,
                                              const DocumentPermissions& can,
                                              const Caller& caller) const {
  if (can.see_withholdings) return PresentRevisionWith(reg, current.name, row, {}, true, nullptr, 0);
  DocumentPtr current_body = reg.rules->New();
  current_body->ParseFromString(current.body);
  const std::vector<std::string> withheld = PathsWithheldFrom(*current_body, caller.person_name());
  return PresentRevisionWith(reg, current.name, row, withheld, false, current_body.get(),
                             current.revision);
}

absl::StatusOr<v1::DocumentRevision> DocumentService::GetRevision(const Caller& caller,
                                                                  const std::string& name) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(auto parsed, ParseRevisionName(name, "name"));
  const auto& [document_name, number] = parsed;
  const Registered& reg = registered(document_name.collection);
  LoadedDocument loaded;
  std::optional<RevisionRow> revision;
  COPLAN_RETURN_IF_ERROR(db_.Read(caller.deadline, [&](pqxx::nontransaction& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(loaded, store_.LoadWithAccess(tx, caller.person_id, caller.session_id,
                                                          document_name));
    if (loaded.document) {
      COPLAN_ASSIGN_OR_RETURN(revision, store_.GetRevision(tx, loaded.document->key, number));
    }
    return absl::OkStatus();
  }));
  COPLAN_RETURN_IF_ERROR(RequireValidCaller(loaded.facts));
  DocumentPermissions can;
  if (loaded.document) can = PermissionsForDocument(loaded.facts, RefOf(*loaded.document), caller.today());
  if (!loaded.document || !can.read) {
    return audit.Denied(document_name.person_id, v1::AUDIT_ACTION_READ, name,
                        NotFoundError(reg.rules->noun(), FormatDocumentName(document_name)));
  }
  if (!revision) return NotFoundError("revision", name);
  COPLAN_RETURN_IF_ERROR(audit.Read(document_name.person_id, name));
  StoredDocument then = *loaded.document;
  then.body = revision->snapshot;
  then.revision = number;
  then.update_time = FromTimestamp(revision->revision.create_time());
  then.last_editor_id = revision->revision.author().substr(std::string("people/").size());
  then.delete_time.reset();
  // The person's current wishes about sharing apply to old versions too.
  DocumentPtr document = Present(reg, then, can, caller);
  if (!can.see_withholdings) {
    DocumentPtr current = reg.rules->New();
    current->ParseFromString(loaded.document->body);
    RemovePaths(*document, PathsWithheldFrom(*current, caller.person_name()));
  }
  v1::DocumentRevision out;
  *out.mutable_revision() = PresentRevision(reg, *revision, *loaded.document, can, caller);
  *out.mutable_document() = Wrap(*document);
  return out;
}

absl::StatusOr<v1::ListRevisionsResponse> DocumentService::ListRevisions(
    const Caller& caller, const v1::ListRevisionsRequest& request) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(DocumentName name, ParseDocumentName(request.parent(), "parent"));
  const Registered& reg = registered(name.collection);
  COPLAN_ASSIGN_OR_RETURN(int limit, PageSize(request.page_size(), 50, 500));
  int64_t after = 0;
  if (!request.page_token().empty()) {
    COPLAN_ASSIGN_OR_RETURN(PageCursor position,
                            DecodePageToken(request.page_token(), request.parent(), 1));
    after = position.Int(0);
  }
  LoadedDocument loaded;
  std::vector<RevisionRow> rows;
  COPLAN_RETURN_IF_ERROR(db_.Read(caller.deadline, [&](pqxx::nontransaction& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(loaded,
                            store_.LoadWithAccess(tx, caller.person_id, caller.session_id, name));
    if (loaded.document) rows = store_.ListRevisions(tx, loaded.document->key, after, limit + 1);
    return absl::OkStatus();
  }));
  if (loaded.document) DropRevisionsAfter(loaded.document->revision, rows);
  COPLAN_RETURN_IF_ERROR(RequireValidCaller(loaded.facts));
  DocumentPermissions can;
  if (loaded.document) can = PermissionsForDocument(loaded.facts, RefOf(*loaded.document), caller.today());
  if (!loaded.document || !can.read) {
    return audit.Denied(name.person_id, v1::AUDIT_ACTION_READ, request.parent(),
                        NotFoundError(reg.rules->noun(), request.parent()));
  }
  COPLAN_RETURN_IF_ERROR(audit.Read(name.person_id, request.parent()));
  v1::ListRevisionsResponse response;
  const bool more = static_cast<int>(rows.size()) > limit;
  if (more) rows.resize(limit);
  for (const RevisionRow& row : rows) {
    *response.add_revisions() = PresentRevision(reg, row, *loaded.document, can, caller);
  }
  if (more) {
    response.set_next_page_token(
        EncodePageToken({absl::StrCat(rows.back().revision.revision())}, request.parent()));
  }
  return response;
}

absl::StatusOr<v1::Agreement> DocumentService::SignOff(const Caller& caller, const std::string& name_text,
                                                       int64_t revision) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(DocumentName name, ParseDocumentName(name_text, "name"));
  const Registered& reg = registered(name.collection);
  const std::string resource = FormatDocumentName(name);
  StoredDocument row;
  Denial denial;
  absl::Status status = db_.Write(caller.deadline, [&](pqxx::work& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(LoadedDocument loaded,
                            store_.LockWithAccess(tx, caller.person_id, caller.session_id, name));
    const AccessFacts& facts = loaded.facts;
    COPLAN_RETURN_IF_ERROR(RequireValidCaller(facts));
    const std::optional<StoredDocument>& locked = loaded.document;
    DocumentPermissions can;
    if (locked) can = PermissionsForDocument(facts, RefOf(*locked), caller.today());
    if (!locked || !can.read) {
      return denial.Set(name.person_id, v1::AUDIT_ACTION_SIGN_OFF, resource,
                        NotFoundError(reg.rules->noun(), resource));
    }
    if (!can.sign_off_role) {
      return denial.Set(name.person_id, v1::AUDIT_ACTION_SIGN_OFF, resource,
                        PermissionDeniedError("only the person and a clinician in their care team "
                                              "can sign off"));
    }
    if (locked->delete_time) return FailedPreconditionError("a deleted document cannot be signed off");
    if (revision != locked->revision) {
      return FailedPreconditionError(absl::StrCat("revision ", revision,
                                                  " is not the current revision (",
                                                  locked->revision, "); sign off what is current"));
    }
    tx.exec_prepared("sign_off_insert", locked->key, caller.person_id,
                     static_cast<int>(*can.sign_off_role), revision);
    audit.Write(tx, name.person_id, v1::AUDIT_ACTION_SIGN_OFF,
                absl::StrCat(resource, "/revisions/", revision));
    COPLAN_ASSIGN_OR_RETURN(std::optional<StoredDocument> reread, store_.LockForUpdate(tx, name));
    row = *reread;
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(Finish(status, denial, audit));
  if (events_ != nullptr) events_->AgreementChanged(row.key);
  return row.agreement;
}

absl::StatusOr<WatchStart> DocumentService::StartWatch(const Caller& caller, const std::string& name_text,
                                                       int64_t resume_after) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(DocumentName name, ParseDocumentName(name_text, "name"));
  const Registered& reg = registered(name.collection);
  const std::string resource = FormatDocumentName(name);
  if (resume_after < 0) return InvalidFieldError("resume_after_revision", "must not be negative");
  LoadedDocument loaded;
  COPLAN_RETURN_IF_ERROR(db_.Read(caller.deadline, [&](pqxx::nontransaction& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(loaded,
                            store_.LoadWithAccess(tx, caller.person_id, caller.session_id, name));
    return absl::OkStatus();
  }));
  COPLAN_RETURN_IF_ERROR(RequireValidCaller(loaded.facts));
  DocumentPermissions can;
  if (loaded.document) can = PermissionsForDocument(loaded.facts, RefOf(*loaded.document), caller.today());
  if (!loaded.document || !can.read) {
    return audit.Denied(name.person_id, v1::AUDIT_ACTION_WATCH, resource,
                        NotFoundError(reg.rules->noun(), resource));
  }
  if (resume_after > loaded.document->revision) {
    return InvalidFieldError("resume_after_revision",
                             absl::StrCat("revision ", resume_after,
                                          " does not exist yet; the current revision is ",
                                          loaded.document->revision));
  }
  COPLAN_RETURN_IF_ERROR(audit.Read(name.person_id, resource, v1::AUDIT_ACTION_WATCH));
  WatchStart start;
  start.document_key = loaded.document->key;
  start.person_id = name.person_id;
  start.document_name = resource;
  start.revision = loaded.document->revision;
  start.see_withholdings = can.see_withholdings;
  start.via = can.via;
  if (resume_after == 0) start.snapshot = Wrap(*Present(reg, *loaded.document, can, caller));
  return start;
}

absl::StatusOr<std::vector<v1::Revision>> DocumentService::ChangesFor(const Caller& reader,
                                                                      const DocumentName& name,
                                                                      int64_t after, int limit) {
  const Registered& reg = registered(name.collection);
  LoadedDocument loaded;
  std::vector<RevisionRow> rows;
  COPLAN_RETURN_IF_ERROR(db_.Read(reader.deadline, [&](pqxx::nontransaction& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(loaded,
                            store_.LoadWithAccess(tx, reader.person_id, reader.session_id, name));
    if (loaded.document) rows = store_.ListRevisions(tx, loaded.document->key, after, limit);
    return absl::OkStatus();
  }));
  if (loaded.document) DropRevisionsAfter(loaded.document->revision, rows);
  COPLAN_RETURN_IF_ERROR(RequireValidCaller(loaded.facts));
  DocumentPermissions can;
  if (loaded.document) can = PermissionsForDocument(loaded.facts, RefOf(*loaded.document), reader.today());
  if (!loaded.document || !can.read) {
    return NotFoundError(reg.rules->noun(), FormatDocumentName(name));
  }
  std::vector<v1::Revision> out;
  for (const RevisionRow& row : rows) out.push_back(PresentRevision(reg, row, *loaded.document, can, reader));
  return out;
}

absl::StatusOr<v1::Agreement> DocumentService::AgreementFor(const Caller& reader,
                                                            const DocumentName& name) {
  const Registered& reg = registered(name.collection);
  LoadedDocument loaded;
  COPLAN_RETURN_IF_ERROR(db_.Read(reader.deadline, [&](pqxx::nontransaction& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(loaded,
                            store_.LoadWithAccess(tx, reader.person_id, reader.session_id, name));
    return absl::OkStatus();
  }));
  COPLAN_RETURN_IF_ERROR(RequireValidCaller(loaded.facts));
  if (!loaded.document ||
      !PermissionsForDocument(loaded.facts, RefOf(*loaded.document), reader.today()).read) {
    return NotFoundError(reg.rules->noun(), FormatDocumentName(name));
  }
  return loaded.document->agreement;
}

}  // namespace coplan
