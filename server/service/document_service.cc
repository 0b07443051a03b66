#include "server/service/document_service.h"

#include <algorithm>
#include <functional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "server/common/crypto.h"
#include "server/common/errors.h"
#include "server/common/ids.h"
#include "server/common/status_macros.h"
#include "server/domain/document_meta.h"
#include "server/domain/edit_engine.h"
#include "server/domain/field_rules.h"
#include "server/domain/update_mask.h"
#include "server/domain/withholding.h"
#include "server/service/call_audit.h"
#include "server/service/document_views.h"
#include "server/service/page_token.h"
#include "server/store/database.h"
#include "server/store/document_store.h"

namespace coplan {
namespace {

using google::protobuf::Message;

// Checks a change as its writer sees the document: with the parts withheld from them
// removed, so that an error's items, counts and sizes are of what they can see. A change
// that passes there but fails on the whole document can only fail because of a withheld
// part: it is refused without saying more, and the attempt is audited (a probe of what is
// withheld must leave a trace in the person's log).
absl::Status CheckAsTheWriterSees(const OpenDocument& open, const Message& document,
                                  CallAudit& audit, const DocumentName& name,
                                  const std::function<absl::Status(const Message&)>& check) {
  absl::Status whole = check(document);
  if (whole.ok() || open.can.see_withholdings || open.withheld.empty()) return whole;
  std::unique_ptr<Message> visible(document.New());
  visible->CopyFrom(document);
  RemovePaths(*visible, open.withheld);
  COPLAN_RETURN_IF_ERROR(check(*visible));
  return audit.Deny(name.person_id, v1::AUDIT_ACTION_UPDATE, FormatDocumentName(name),
                    PermissionDeniedError("the change cannot be made because of information "
                                          "the person prefers not to share with you"));
}

// A refusal to write a withheld part is audited: it tells the writer that something is
// withheld, so it is a probe as much as a mistake.
absl::Status AuditedIfWithheld(absl::Status status, CallAudit& audit, const DocumentName& name) {
  if (status.code() != absl::StatusCode::kPermissionDenied) return status;
  return audit.Deny(name.person_id, v1::AUDIT_ACTION_UPDATE, FormatDocumentName(name),
                    std::move(status));
}

// ABORTED like an edit conflict (the client retries at a higher level: it rebases the batch
// on a recent revision and sends it again), with ErrorInfo BASE_REVISION_TOO_OLD and the
// current revision, so the person's edits are never dropped for being made long ago.
absl::Status BaseRevisionTooOldError(int64_t base_revision, int64_t current_revision) {
  absl::Status status(
      absl::StatusCode::kAborted,
      absl::StrCat("base_revision ", base_revision, " is ", current_revision - base_revision,
                   " revisions behind the current revision ", current_revision,
                   "; a batch merges across at most ", kMaxRevisionsToMergeAcross,
                   ": rebase it on a revision from ", current_revision - kMaxRevisionsToMergeAcross,
                   " on and send it again"));
  AttachErrorInfo(
      status, reason::kBaseRevisionTooOld,
      {{"current_revision", absl::StrCat(current_revision)},
       {"oldest_base_revision", absl::StrCat(current_revision - kMaxRevisionsToMergeAcross)}});
  return status;
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
  rows.erase(std::remove_if(
                 rows.begin(), rows.end(),
                 [revision](const RevisionRow& row) { return row.revision.revision() > revision; }),
             rows.end());
}

// The ids an earlier batch inserted, one per operation, as its first answer gave them.
std::vector<std::string> InsertedIds(const v1::Revision& revision) {
  std::vector<std::string> ids;
  for (const auto& op : revision.operations()) {
    const auto& fields = op.insert_item().item().struct_value().fields();
    auto id = fields.find("id");
    ids.push_back(op.has_insert_item() && id != fields.end() ? id->second.string_value() : "");
  }
  return ids;
}

absl::Time Micros(absl::Time time) { return MicrosToTime(TimeToMicros(time)); }

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

DocumentService::DocumentService(Database& db, DocumentStore& store, AccessGate& gate,
                                 const PageTokens& page_tokens,
                                 const DocumentCollections& collections, AuditLog& audit)
    : db_(db),
      store_(store),
      gate_(gate),
      page_tokens_(page_tokens),
      collections_(collections),
      audit_(audit) {}

void DocumentService::Notify(int64_t key, int64_t revision) {
  if (events_ != nullptr) events_->RevisionCommitted(key, revision);
}

absl::Status DocumentService::LoadContext(Transaction& tx, const DocumentCollection& collection,
                                          const Message& document, const AccessFacts& facts,
                                          const Caller& caller, DocumentContext* context) const {
  context->subject_birth_date = facts.subject.birth_date;
  context->today = caller.today();
  return collection.LoadContext(tx, document, context);
}

void DocumentService::StoreRevision(WriteTransaction& tx, const OpenDocument& open,
                                    StoredDocument& row, const Message& body, const Caller& caller,
                                    v1::RevisionKind kind,
                                    const std::vector<v1::EditOperation>& operations,
                                    const std::vector<std::string>& changed_paths,
                                    const std::string& idempotency_key,
                                    const std::string& request_hash) {
  row.revision += 1;
  row.update_time = Micros(caller.now);
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
  open.collection->OnStored(tx, row, body);
}

absl::StatusOr<DocumentPtr> DocumentService::Create(const Caller& caller, Collection collection,
                                                    const std::string& parent, DocumentPtr document,
                                                    const std::string& requested_id,
                                                    const std::string& request_field) {
  const DocumentCollection& kind = collections_.Of(collection);
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
  COPLAN_RETURN_IF_ERROR(ValidateDocument(*document, request_field));

  const DocumentName name{person_id, collection, document_id};
  const std::string resource = FormatDocumentName(name);
  StoredDocument row;
  absl::Status status = db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    const auto entry = PersonEntry::For(
        PersonNeed::kCreateDocuments, v1::AUDIT_ACTION_CREATE, resource, parent,
        absl::StrCat("you cannot create a ", kind.rules().noun(), " for this person"));
    COPLAN_ASSIGN_OR_RETURN(AccessFacts facts, gate_.Person(tx, caller, person_id, entry, &audit));
    // What to keep from whom is the person's own choice: nobody else may plant it, not
    // even someone who may write the rest of the document.
    if (caller.person_id != person_id && HasWithholdings(*document)) {
      return PermissionDeniedError(
          absl::StrCat(request_field, ".withholdings: only the person the document is about ",
                       "can say what is withheld and from whom"));
    }
    DocumentContext context;
    COPLAN_RETURN_IF_ERROR(LoadContext(tx, kind, *document, facts, caller, &context));
    COPLAN_RETURN_IF_ERROR(
        PrefixFieldErrors(kind.rules().Check(*document, context), request_field + "."));
    row.name = name;
    row.kind = kind.rules().KindOf(*document);
    row.body = document->SerializeAsString();
    row.revision = 1;
    row.create_time = row.update_time = Micros(caller.now);
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
    kind.OnStored(tx, row, *document);
    audit.Write(tx, person_id, v1::AUDIT_ACTION_CREATE, resource);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  Notify(row.key, row.revision);
  OpenDocument created;
  created.collection = &kind;
  created.can.see_withholdings = caller.person_id == person_id;
  return PresentDocument(created, row, *document, caller);
}

absl::StatusOr<DocumentPtr> DocumentService::Get(const Caller& caller, const DocumentName& name) {
  CallAudit audit(audit_, caller);
  OpenDocument open;
  absl::Status status = db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(open, gate_.Read(tx, caller, name, {}, &audit));
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  COPLAN_RETURN_IF_ERROR(audit.Read(name.person_id, FormatDocumentName(name)));
  return PresentDocument(open, caller);
}

absl::StatusOr<DocumentList> DocumentService::List(const Caller& caller, Collection collection,
                                                   const std::string& parent, int kind,
                                                   bool show_deleted, int page_size,
                                                   const std::string& page_token) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(std::string person_id, ParsePersonName(parent, "parent"));
  COPLAN_ASSIGN_OR_RETURN(int limit, PageSize(page_size, 20, 100));
  const std::string fingerprint =
      absl::StrCat(parent, "|", collection == Collection::kPlans, "|", kind, "|", show_deleted);
  DocumentCursor cursor;
  if (!page_token.empty()) {
    COPLAN_ASSIGN_OR_RETURN(PageCursor position,
                            page_tokens_.Decode(caller, page_token, fingerprint, 2));
    cursor = {position.Int(0), position.Int(1)};
  }
  AccessFacts facts;
  std::vector<StoredDocument> rows;  // readable by the caller, up to limit + 1
  absl::Status status = db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    rows.clear();
    const auto entry =
        PersonEntry::For(PersonNeed::kKnow, v1::AUDIT_ACTION_READ, parent, parent, "");
    COPLAN_ASSIGN_OR_RETURN(facts, gate_.Person(tx, caller, person_id, entry, &audit));
    // What the caller may not read is skipped here, in chunks, before the page is cut: the
    // page, whether more follow and the token are all about readable documents, so none of
    // them tells a carer that documents not shared with them exist.
    DocumentCursor position = cursor;
    for (;;) {
      COPLAN_ASSIGN_OR_RETURN(
          std::vector<StoredDocument> chunk,
          store_.List(tx, person_id, collection, kind, show_deleted, position, limit + 1));
      const bool last_chunk = static_cast<int>(chunk.size()) < limit + 1;
      if (!chunk.empty()) {
        position = {TimeToMicros(chunk.back().create_time), chunk.back().key};
      }
      for (StoredDocument& row : chunk) {
        if (static_cast<int>(rows.size()) > limit) break;
        if (!PermissionsForDocument(facts, RefOf(row), caller.now).read) continue;
        rows.push_back(std::move(row));
      }
      if (static_cast<int>(rows.size()) > limit || last_chunk) break;
    }
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  DocumentList list;
  const bool more = TrimToPage(rows, limit);
  if (more && !rows.empty()) {
    list.next_page_token = page_tokens_.Encode(
        caller,
        {absl::StrCat(TimeToMicros(rows.back().create_time)), absl::StrCat(rows.back().key)},
        fingerprint);
  }
  for (StoredDocument& row : rows) {
    OpenDocument open;
    open.collection = &collections_.Of(collection);
    open.can = PermissionsForDocument(facts, RefOf(row), caller.now);
    COPLAN_ASSIGN_OR_RETURN(open.body, open.rules().Decode(row.body));
    open.row = std::move(row);
    COPLAN_RETURN_IF_ERROR(audit.Read(person_id, FormatDocumentName(open.row.name)));
    list.documents.push_back(PresentDocument(open, caller));
  }
  return list;
}

absl::StatusOr<DocumentPtr> DocumentService::Update(const Caller& caller, Collection collection,
                                                    const Message& request_document,
                                                    const google::protobuf::FieldMask& mask,
                                                    const std::string& request_field) {
  CallAudit audit(audit_, caller);
  const auto* name_field = request_document.GetDescriptor()->FindFieldByName("name");
  const std::string name_text =
      request_document.GetReflection()->GetString(request_document, name_field);
  COPLAN_ASSIGN_OR_RETURN(DocumentName name,
                          ParseDocumentName(name_text, collection, request_field + ".name"));
  const std::string resource = FormatDocumentName(name);
  // Before the document is locked: what a mask costs is bounded first.
  COPLAN_RETURN_IF_ERROR(CheckUpdateMask(mask));
  const std::string etag = EtagOf(request_document);
  OpenDocument open;
  StoredDocument row;
  DocumentPtr stored;
  bool changed = false;
  absl::Status status = db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    changed = false;
    COPLAN_ASSIGN_OR_RETURN(
        open, gate_.Lock(tx, caller, name, {DocumentNeed::kEdit, v1::AUDIT_ACTION_UPDATE}, &audit));
    const char* noun = open.rules().noun();
    row = open.row;
    if (row.delete_time) {
      return FailedPreconditionError(
          absl::StrCat("the ", noun, " is deleted; undelete it before changing it"));
    }
    if (!etag.empty() && etag != DocumentEtag(row.key, row.revision))
      return EtagMismatchError(resource);

    stored.reset(open.body->New());
    stored->CopyFrom(*open.body);
    DocumentPtr request(request_document.New());
    request->CopyFrom(request_document);
    ClearOutputOnlyFields(*request);
    // Parts withheld from the caller were never sent to them, so their request lacks
    // them (and the list of withholdings itself): keep the stored parts. A request holding
    // anything at a withheld path is refused (even outside the mask): it can only be a
    // guess, and whether a guess matched must not show.
    bool nothing_sent = true;
    if (!open.can.see_withholdings) {
      KeepWithholdingsList(*stored, *request);
      nothing_sent = CarryOverWithheld(*stored, *request, open.withheld);
    }
    COPLAN_ASSIGN_OR_RETURN(MaskedUpdate update,
                            ApplyUpdateMask(*stored, *request, mask, request_field));
    if (!nothing_sent ||
        (!open.can.see_withholdings && !WithheldUnchanged(*open.body, *stored, open.withheld))) {
      return AuditedIfWithheld(
          PermissionDeniedError(
              "the change includes information the person prefers not to share with you"),
          audit, name);
    }
    COPLAN_RETURN_IF_ERROR(CheckAsTheWriterSees(open, *stored, audit, name, [&](const Message& m) {
      return ValidateDocument(m, request_field);
    }));
    DocumentContext context;
    COPLAN_RETURN_IF_ERROR(
        LoadContext(tx, *open.collection, *stored, open.facts, caller, &context));
    COPLAN_RETURN_IF_ERROR(CheckAsTheWriterSees(open, *stored, audit, name, [&](const Message& m) {
      return PrefixFieldErrors(open.rules().Check(m, context), request_field + ".");
    }));
    if (update.changed_paths.empty()) return absl::OkStatus();  // nothing to record
    changed = true;
    StoreRevision(tx, open, row, *stored, caller, v1::REVISION_KIND_UPDATE, update.operations,
                  update.changed_paths);
    audit.Write(tx, name.person_id, v1::AUDIT_ACTION_UPDATE, resource);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  if (changed) Notify(row.key, row.revision);
  return PresentDocument(open, row, changed ? *stored : *open.body, caller);
}

absl::StatusOr<DocumentPtr> DocumentService::Delete(const Caller& caller, const DocumentName& name,
                                                    const std::string& etag, bool undelete) {
  CallAudit audit(audit_, caller);
  const std::string resource = FormatDocumentName(name);
  OpenDocument open;
  StoredDocument row;
  absl::Status status = db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    const DocumentEntry entry{undelete ? DocumentNeed::kUndelete : DocumentNeed::kDelete,
                              v1::AUDIT_ACTION_DELETE};
    COPLAN_ASSIGN_OR_RETURN(open, gate_.Lock(tx, caller, name, entry, &audit));
    row = open.row;
    if (!etag.empty() && etag != DocumentEtag(row.key, row.revision))
      return EtagMismatchError(resource);
    if (undelete != row.delete_time.has_value()) {
      return FailedPreconditionError(absl::StrCat("the ", open.rules().noun(), " is ",
                                                  undelete ? "not deleted" : "already deleted"));
    }
    row.delete_time = undelete ? std::nullopt : std::optional<absl::Time>(Micros(caller.now));
    StoreRevision(tx, open, row, *open.body, caller,
                  undelete ? v1::REVISION_KIND_UNDELETE : v1::REVISION_KIND_DELETE, {}, {});
    audit.Write(tx, name.person_id, v1::AUDIT_ACTION_DELETE, resource);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  Notify(row.key, row.revision);
  return PresentDocument(open, row, *open.body, caller);
}

absl::StatusOr<v1::EditDocumentResponse> DocumentService::Edit(
    const Caller& caller, const v1::EditDocumentRequest& request) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(DocumentName name, ParseDocumentName(request.name(), "name"));
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
    return InvalidFieldError(
        "operations", absl::StrCat("has ", request.operations_size(), " operations; at most ",
                                   kMaxOperationsPerBatch, " per batch"));
  }
  const std::string request_hash = RequestHash(request);
  OpenDocument open;
  StoredDocument row;
  DocumentPtr working;
  v1::EditDocumentResponse response;
  bool replay = false;
  absl::Status status = db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    response.Clear();
    replay = false;
    COPLAN_ASSIGN_OR_RETURN(
        open, gate_.Lock(tx, caller, name, {DocumentNeed::kEdit, v1::AUDIT_ACTION_UPDATE}, &audit));
    row = open.row;
    if (const std::optional<RevisionRow> earlier =
            store_.FindRetriedBatch(tx, row.key, caller.person_id, key)) {
      if (earlier->request_hash != request_hash) {
        return FailedPreconditionError(
            "idempotency_key was already used for a different batch; use a new key per batch");
      }
      // A retry: answer as the first time, from the stored revision, as the caller may
      // see it today.
      replay = true;
      StoredDocument then = row;
      then.body = earlier->snapshot;
      then.revision = earlier->revision.revision();
      COPLAN_ASSIGN_OR_RETURN(DocumentPtr then_body, open.rules().Decode(then.body));
      response.set_revision(then.revision);
      response.set_replayed(true);
      *response.mutable_document() =
          WrapDocument(*PresentDocumentAt(open, then, *then_body, caller));
      for (const std::string& id : InsertedIds(earlier->revision)) response.add_inserted_ids(id);
      return absl::OkStatus();
    }
    if (row.delete_time) {
      return FailedPreconditionError(
          absl::StrCat("the ", open.rules().noun(), " is deleted; undelete it before editing"));
    }
    if (request.base_revision() > row.revision) {
      return InvalidFieldError(
          "base_revision",
          absl::StrCat("revision ", request.base_revision(),
                       " does not exist yet; the current revision is ", row.revision));
    }
    if (row.revision - request.base_revision() > kMaxRevisionsToMergeAcross) {
      return BaseRevisionTooOldError(request.base_revision(), row.revision);
    }
    const std::vector<PriorChange> changes_since_base =
        store_.LoadChangesSince(tx, row.key, request.base_revision(), kMaxRevisionsToMergeAcross);
    working.reset(open.body->New());
    working->CopyFrom(*open.body);
    EditorView view;
    view.may_write =
        WithholdingWriteRule(*working, caller.person_name(), open.can.see_withholdings);
    view.hidden = open.withheld;
    auto applied =
        ApplyEditBatch(*working, request.operations(), changes_since_base, row.revision, view);
    if (!applied.ok()) return AuditedIfWithheld(applied.status(), audit, name);
    EditOutcome outcome = std::move(applied).value();
    DocumentContext context;
    COPLAN_RETURN_IF_ERROR(
        LoadContext(tx, *open.collection, *working, open.facts, caller, &context));
    COPLAN_RETURN_IF_ERROR(CheckAsTheWriterSees(open, *working, audit, name, [&](const Message& m) {
      return open.rules().Check(m, context);
    }));
    StoreRevision(tx, open, row, *working, caller, v1::REVISION_KIND_EDIT, outcome.applied,
                  outcome.changed_paths, key, request_hash);
    audit.Write(tx, name.person_id, v1::AUDIT_ACTION_UPDATE, resource);
    response.set_revision(row.revision);
    for (const auto& id : outcome.inserted_ids) response.add_inserted_ids(id);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  if (!replay) {
    Notify(row.key, row.revision);
    *response.mutable_document() = WrapDocument(*PresentDocument(open, row, *working, caller));
  }
  return response;
}

absl::StatusOr<v1::DocumentRevision> DocumentService::GetRevision(const Caller& caller,
                                                                  const std::string& name) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(auto parsed, ParseRevisionName(name, "name"));
  const DocumentName document_name = parsed.first;
  const int64_t number = parsed.second;
  OpenDocument open;
  std::optional<RevisionRow> revision;
  absl::Status status = db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(open,
                            gate_.Read(tx, caller, document_name,
                                       {DocumentNeed::kRead, v1::AUDIT_ACTION_READ, name}, &audit));
    COPLAN_ASSIGN_OR_RETURN(revision, store_.GetRevision(tx, open.row.key, number));
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  if (!revision) return NotFoundError("revision", name);
  COPLAN_RETURN_IF_ERROR(audit.Read(document_name.person_id, name));
  StoredDocument then = open.row;
  then.body = revision->snapshot;
  then.revision = number;
  then.update_time = FromTimestamp(revision->revision.create_time());
  then.last_editor_id = revision->revision.author().substr(std::string("people/").size());
  then.delete_time.reset();
  COPLAN_ASSIGN_OR_RETURN(DocumentPtr then_body, open.rules().Decode(then.body));
  v1::DocumentRevision out;
  *out.mutable_revision() =
      PresentRevision(open.rules(), document_name, *revision, ReaderView::Of(open));
  *out.mutable_document() = WrapDocument(*PresentDocumentAt(open, then, *then_body, caller));
  return out;
}

absl::StatusOr<v1::ListRevisionsResponse> DocumentService::ListRevisions(
    const Caller& caller, const v1::ListRevisionsRequest& request) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(DocumentName name, ParseDocumentName(request.parent(), "parent"));
  COPLAN_ASSIGN_OR_RETURN(int limit, PageSize(request.page_size(), 50, 500));
  int64_t after = 0;
  if (!request.page_token().empty()) {
    COPLAN_ASSIGN_OR_RETURN(PageCursor position,
                            page_tokens_.Decode(caller, request.page_token(), request.parent(), 1));
    after = position.Int(0);
  }
  OpenDocument open;
  std::vector<RevisionRow> rows;
  absl::Status status = db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(
        open, gate_.Read(tx, caller, name,
                         {DocumentNeed::kRead, v1::AUDIT_ACTION_READ, request.parent()}, &audit));
    rows = store_.ListRevisions(tx, open.row.key, after, limit + 1);
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  DropRevisionsAfter(open.row.revision, rows);
  COPLAN_RETURN_IF_ERROR(audit.Read(name.person_id, request.parent()));
  v1::ListRevisionsResponse response;
  const bool more = TrimToPage(rows, limit);
  const ReaderView view = ReaderView::Of(open);
  for (const RevisionRow& row : rows) {
    *response.add_revisions() = PresentRevision(open.rules(), name, row, view);
  }
  if (more) {
    response.set_next_page_token(page_tokens_.Encode(
        caller, {absl::StrCat(rows.back().revision.revision())}, request.parent()));
  }
  return response;
}

absl::StatusOr<v1::Agreement> DocumentService::SignOff(const Caller& caller,
                                                       const std::string& name_text,
                                                       int64_t revision) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(DocumentName name, ParseDocumentName(name_text, "name"));
  const std::string resource = FormatDocumentName(name);
  v1::Agreement agreement;
  int64_t key = 0;
  absl::Status status = db_.Write(caller.deadline, [&](WriteTransaction& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(
        OpenDocument open,
        gate_.Lock(tx, caller, name, {DocumentNeed::kSignOff, v1::AUDIT_ACTION_SIGN_OFF}, &audit));
    if (open.row.delete_time) {
      return FailedPreconditionError("a deleted document cannot be signed off");
    }
    if (revision != open.row.revision) {
      return FailedPreconditionError(
          absl::StrCat("revision ", revision, " is not the current revision (", open.row.revision,
                       "); sign off what is current"));
    }
    store_.InsertSignOff(tx, open.row.key, caller.person_id,
                         static_cast<int>(*open.can.sign_off_role), revision);
    audit.Write(tx, name.person_id, v1::AUDIT_ACTION_SIGN_OFF,
                absl::StrCat(resource, "/revisions/", revision));
    COPLAN_ASSIGN_OR_RETURN(std::optional<StoredDocument> reread, store_.LockForUpdate(tx, name));
    key = reread->key;
    agreement = reread->agreement;
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  if (events_ != nullptr) events_->AgreementChanged(key);
  return agreement;
}

absl::StatusOr<WatchStart> DocumentService::StartWatch(const Caller& caller,
                                                       const std::string& name_text,
                                                       int64_t resume_after) {
  CallAudit audit(audit_, caller);
  COPLAN_ASSIGN_OR_RETURN(DocumentName name, ParseDocumentName(name_text, "name"));
  const std::string resource = FormatDocumentName(name);
  if (resume_after < 0) return InvalidFieldError("resume_after_revision", "must not be negative");
  OpenDocument open;
  absl::Status status = db_.Read(caller.deadline, [&](Transaction& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(
        open, gate_.Read(tx, caller, name, {DocumentNeed::kRead, v1::AUDIT_ACTION_WATCH}, &audit));
    return absl::OkStatus();
  });
  COPLAN_RETURN_IF_ERROR(audit.Finish(status));
  if (resume_after > open.row.revision) {
    return InvalidFieldError(
        "resume_after_revision",
        absl::StrCat("revision ", resume_after, " does not exist yet; the current revision is ",
                     open.row.revision));
  }
  // The stream's first read row: the snapshot it starts with (a resume has had nothing yet).
  const int64_t first = resume_after == 0 ? open.row.revision : 0;
  COPLAN_RETURN_IF_ERROR(
      audit.StreamRead(name.person_id, resource, v1::AUDIT_ACTION_WATCH, first, first));
  WatchStart start;
  start.name = name;
  start.document_key = open.row.key;
  start.revision = open.row.revision;
  start.start_revision = resume_after == 0 ? open.row.revision : resume_after;
  start.see_withholdings = open.can.see_withholdings;
  start.may_edit = open.can.edit;
  start.via = open.can.via;
  start.access_ends = ReadAccessEndsAt(open.facts, RefOf(open.row), caller.now);
  start.shown_until = DocumentAccessEndsAt(open.facts, RefOf(open.row), caller.now);
  if (resume_after == 0) start.snapshot = WrapDocument(*PresentDocument(open, caller));
  return start;
}

absl::Status DocumentService::RecordStreamReads(const std::vector<StreamRead>& reads,
                                                absl::Time deadline) {
  std::vector<AuditEvent> events;
  events.reserve(reads.size());
  for (const StreamRead& read : reads) {
    AuditEvent event{read.reader.person_id,     read.name.person_id,
                     v1::AUDIT_ACTION_READ,     FormatDocumentName(read.name),
                     v1::AUDIT_OUTCOME_ALLOWED, read.reader.method};
    event.revision_from = read.from;
    event.revision_to = read.to;
    events.push_back(std::move(event));
  }
  return audit_.RecordAllNow(events, deadline);
}

absl::StatusOr<ChangesForReader> DocumentService::ChangesFor(const Caller& reader,
                                                             const DocumentName& name,
                                                             int64_t after, int limit) {
  OpenDocument open;
  std::vector<RevisionRow> rows;
  COPLAN_RETURN_IF_ERROR(db_.Read(reader.deadline, [&](Transaction& tx) -> absl::Status {
    COPLAN_ASSIGN_OR_RETURN(open, gate_.Read(tx, reader, name, {}, /*audit=*/nullptr));
    if (limit > 0) rows = store_.ListRevisions(tx, open.row.key, after, limit);
    return absl::OkStatus();
  }));
  DropRevisionsAfter(open.row.revision, rows);
  ChangesForReader out;
  const ReaderView view = ReaderView::Of(open);
  bool withholdings_changed = false;
  for (const RevisionRow& row : rows) {
    withholdings_changed = withholdings_changed || ChangesWithholdings(row.revision);
    out.revisions.push_back(PresentRevision(open.rules(), name, row, view));
  }
  if (withholdings_changed && !open.can.see_withholdings) {
    out.snapshot = WrapDocument(*PresentDocument(open, reader));
  }
  out.access_ends = ReadAccessEndsAt(open.facts, RefOf(open.row), reader.now);
  return out;
}

}  // namespace coplan
