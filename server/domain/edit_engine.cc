#include "server/domain/edit_engine.h"

#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "coplan/v1/editing_service.pb.h"
#include "coplan/v1/field_rules.pb.h"
#include "google/rpc/error_details.pb.h"
#include "server/common/errors.h"
#include "server/common/ids.h"
#include "server/common/status_macros.h"
#include "server/domain/document_paths.h"
#include "server/domain/field_rules.h"
#include "server/domain/withholding.h"

namespace coplan {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using google::protobuf::Value;
using v1::EditOperation;
using v1::ItemPosition;

constexpr char kPositionSuffix[] = "@position";

// Applies the operations of one batch, checking each against the prior changes.
class BatchApplier {
 public:
  BatchApplier(Message& document, const std::vector<PriorChange>& prior, int64_t current_revision,
               const EditorView& view, EditMode mode)
      : document_(document),
        current_revision_(current_revision),
        may_write_(view.may_write),
        hidden_(view.hidden),
        mode_(mode) {
    // Changes to parts withheld from the caller are not theirs to hear about: an
    // operation on a hidden part is refused as unknown, and one over it keeps it as it is.
    for (const PriorChange& change : prior) {
      if (!Hidden(change.path)) prior_.push_back(change);
    }
  }

  absl::Status Apply(int index, const EditOperation& op, EditOutcome& outcome) {
    index_ = index;
    EditOperation applied = op;
    std::string inserted_id;
    absl::Status status;
    switch (op.operation_case()) {
      case EditOperation::kSetField:
        status = SetField(*applied.mutable_set_field(), outcome);
        break;
      case EditOperation::kInsertItem:
        status = InsertItem(*applied.mutable_insert_item(), outcome, &inserted_id);
        break;
      case EditOperation::kUpdateItem:
        status = UpdateItem(*applied.mutable_update_item(), outcome);
        break;
      case EditOperation::kRemoveItem:
        status = RemoveItem(applied.remove_item(), outcome);
        break;
      case EditOperation::kMoveItem:
        status = MoveItem(applied.move_item(), outcome);
        break;
      default:
        status = InvalidFieldError("operation",
                                   "no operation set (set_field, insert_item, "
                                   "update_item, remove_item or move_item)");
    }
    if (!status.ok()) return Indexed(status);
    outcome.applied.push_back(std::move(applied));
    outcome.inserted_ids.push_back(inserted_id);
    return absl::OkStatus();
  }

 private:
  // Prefixes field errors with "operations[i]." and records the index in ErrorInfo.
  absl::Status Indexed(const absl::Status& status) {
    if (status.code() == absl::StatusCode::kAborted) return status;  // already indexed
    absl::Status out = PrefixFieldErrors(status, absl::StrCat("operations[", index_, "]."));
    google::rpc::ErrorInfo info;
    if (!ReadDetail(out, info)) {
      info.set_domain(kErrorDomain);
      info.set_reason(out.code() == absl::StatusCode::kInvalidArgument
                          ? reason::kInvalidField
                          : reason::kFailedPrecondition);
    }
    (*info.mutable_metadata())["operation_index"] = absl::StrCat(index_);
    AttachDetail(out, info);
    return out;
  }

  absl::StatusOr<DocumentPath> ParsePath(const std::string& text, absl::string_view field) {
    auto path = DocumentPath::Parse(*document_.GetDescriptor(), text);
    if (!path.ok()) return PrefixFieldErrors(path.status(), absl::StrCat(field, "."));
    return path;
  }

  absl::Status CheckWritable(const DocumentPath& path, absl::string_view field) {
    for (size_t i = 0; i < path.steps().size(); ++i) {
      const FieldDescriptor* step = path.steps()[i].field;
      if (IsOutputOnly(step)) {
        return InvalidFieldError(field, absl::StrCat("\"", path.text(), "\": ", step->name(),
                                                     " is set by the server and cannot be edited"));
      }
      const bool last = i + 1 == path.steps().size();
      if (last && IsImmutable(step) && step->containing_oneof() == nullptr &&
          mode_ != EditMode::kCreate) {
        return InvalidFieldError(field, absl::StrCat("\"", path.text(), "\": ", step->name(),
                                                     " cannot be changed once set"));
      }
    }
    return absl::OkStatus();
  }

  // ABORTED when `write_path` overlaps a change made after the base revision.
  absl::Status CheckConflict(const std::string& write_path) {
    for (const PriorChange& change : prior_) {
      if (PathsOverlap(write_path, change.path)) return Conflict(change);
    }
    return absl::OkStatus();
  }

  bool Hidden(const std::string& path) const {
    for (const std::string& hidden : hidden_) {
      if (PathCovers(hidden, path)) return true;
    }
    return false;
  }

  // The hidden paths strictly below `path`: parts of what it names that the caller
  // never saw.
  std::vector<std::string> HiddenBelow(const std::string& path) const {
    std::vector<std::string> below;
    for (const std::string& hidden : hidden_) {
      if (hidden != path && PathCovers(path, hidden)) below.push_back(hidden);
    }
    return below;
  }

  std::unique_ptr<Message> CopyIfHidden(const std::vector<std::string>& inside) const {
    if (inside.empty()) return nullptr;
    std::unique_ptr<Message> copy(document_.New());
    copy->CopyFrom(document_);
    return copy;
  }

  // After a value was written over parts hidden from the writer: puts those parts back
  // (the writer never saw them, so their value lacks them), and refuses a value that
  // holds anything at a hidden path, whether or not it matches what is hidden.
  absl::Status KeepHidden(const Message* before, const std::vector<std::string>& inside) {
    if (before == nullptr) return absl::OkStatus();
    const bool nothing_sent = CarryOverWithheld(*before, document_, inside);
    if (!nothing_sent || !WithheldUnchanged(*before, document_, inside)) {
      return PermissionDeniedError(
          "the value includes information the person prefers not to share with you");
    }
    return absl::OkStatus();
  }

  absl::Status Conflict(const PriorChange& change) {
    v1::EditConflict conflict;
    conflict.set_operation_index(index_);
    conflict.set_path(change.path);
    std::string value_path = change.path;
    if (auto at = value_path.find(kPositionSuffix); at != std::string::npos) value_path.resize(at);
    auto parsed = DocumentPath::Parse(*document_.GetDescriptor(), value_path);
    if (parsed.ok() && !Hidden(parsed->text())) {
      // The current value as the caller may see it: without what is withheld from them.
      std::unique_ptr<Message> visible(document_.New());
      visible->CopyFrom(document_);
      RemovePaths(*visible, hidden_);
      auto value = ValueAt(*visible, *parsed);
      if (value.ok()) *conflict.mutable_current_value() = *value;
    }
    if (!conflict.has_current_value()) {
      conflict.mutable_current_value()->set_null_value(google::protobuf::NULL_VALUE);
    }
    conflict.set_changed_in_revision(change.revision);
    conflict.set_current_revision(current_revision_);
    absl::Status status = absl::AbortedError(
        absl::StrCat("operations[", index_, "] conflicts with a change to \"", change.path,
                     "\" made in revision ", change.revision,
                     " after the base revision; nothing was applied. Rebase on revision ",
                     current_revision_, " and try again"));
    AttachDetail(status, conflict);
    AttachErrorInfo(status, reason::kEditConflict,
                    {{"operation_index", absl::StrCat(index_)},
                     {"path", change.path},
                     {"current_revision", absl::StrCat(current_revision_)}});
    return status;
  }

  // A selector matched no item: a conflict if a later revision touched that item,
  // otherwise the id is simply unknown.
  absl::Status MissingItem(const std::string& missing_path, absl::string_view field) {
    if (Hidden(missing_path)) return UnknownItem(missing_path, field);  // not even a conflict
    for (const PriorChange& change : prior_) {
      if (PathsOverlap(missing_path, change.path)) return Conflict(change);
    }
    return UnknownItem(missing_path, field);
  }

  static absl::Status UnknownItem(const std::string& missing_path, absl::string_view field) {
    return InvalidFieldError(field, absl::StrCat("no item \"", missing_path, "\" in the document"));
  }

  // An item withheld from the caller does not exist for them.
  absl::Status RequireNoHiddenItem(const DocumentPath& path, absl::string_view field) {
    for (size_t i = 1; i <= path.steps().size(); ++i) {
      if (path.steps()[i - 1].item_id && Hidden(path.Prefix(i).text())) {
        return MissingItem(path.Prefix(i).text(), field);
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Location> LocateOrExplain(const DocumentPath& path, bool create,
                                           absl::string_view field) {
    COPLAN_RETURN_IF_ERROR(RequireNoHiddenItem(path, field));
    auto location = Locate(document_, path, create);
    if (location.ok()) return location;
    if (location.status().code() == absl::StatusCode::kNotFound) {
      return MissingItem(std::string(location.status().message()), field);
    }
    return PrefixFieldErrors(location.status(), absl::StrCat(field, "."));
  }

  absl::Status Permit(const std::string& path) {
    if (!may_write_) return absl::OkStatus();
    return may_write_(path);
  }

  absl::Status SetField(v1::SetField& op, EditOutcome& outcome) {
    COPLAN_ASSIGN_OR_RETURN(DocumentPath path, ParsePath(op.path(), "set_field.path"));
    if (path.ends_with_item()) {
      return InvalidFieldError("set_field.path",
                               "names a list item; use update_item to change an item's fields");
    }
    COPLAN_RETURN_IF_ERROR(CheckWritable(path, "set_field.path"));
    // Before the write rule, whose refusal would tell that the hidden item exists.
    COPLAN_RETURN_IF_ERROR(RequireNoHiddenItem(path, "set_field.path"));
    COPLAN_RETURN_IF_ERROR(Permit(path.text()));
    COPLAN_RETURN_IF_ERROR(CheckConflict(path.text()));
    const std::vector<std::string> inside = HiddenBelow(path.text());
    const std::unique_ptr<Message> before = CopyIfHidden(inside);
    COPLAN_ASSIGN_OR_RETURN(Location at, LocateOrExplain(path, /*create=*/true, "set_field.path"));
    absl::Status set = SetFieldFromValue(*at.holder, at.field, op.value());
    if (!set.ok()) {
      return InvalidFieldError("set_field.value", absl::StrCat("not a valid value for \"",
                                                               path.text(), "\": ", set.message()));
    }
    AssignItemIds(*at.holder);
    COPLAN_RETURN_IF_ERROR(KeepHidden(before.get(), inside));
    op.set_path(path.text());
    *op.mutable_value() = FieldToValue(*at.holder, at.field);
    outcome.changed_paths.push_back(path.text());
    return absl::OkStatus();
  }

  // Index at which `position` puts an item in the list at `list_text` (the item being
  // placed is not in the list at this point).
  absl::StatusOr<int> ResolvePosition(const ItemPosition& position, Message& holder,
                                      const FieldDescriptor* list, const std::string& list_text,
                                      absl::string_view field) {
    const int size = holder.GetReflection()->FieldSize(holder, list);
    switch (position.place_case()) {
      case ItemPosition::kBeforeId:
      case ItemPosition::kAfterId: {
        const bool before = position.place_case() == ItemPosition::kBeforeId;
        const std::string& anchor = before ? position.before_id() : position.after_id();
        const std::string anchor_field = absl::StrCat(field, before ? ".before_id" : ".after_id");
        if (!IsValidItemId(anchor))
          return InvalidFieldError(anchor_field, "is not a valid item id");
        const std::string anchor_path = absl::StrCat(list_text, "[", anchor, "]");
        if (Hidden(anchor_path)) return MissingItem(anchor_path, anchor_field);
        const int index = FindItem(holder, list, anchor);
        if (index < 0) return MissingItem(absl::StrCat(list_text, "[", anchor, "]"), anchor_field);
        return before ? index : index + 1;
      }
      case ItemPosition::kAtStart:
        return 0;
      case ItemPosition::kAtEnd:
      case ItemPosition::PLACE_NOT_SET:
        return size;
    }
    return size;
  }

  absl::Status InsertItem(v1::InsertItem& op, EditOutcome& outcome, std::string* inserted_id) {
    COPLAN_ASSIGN_OR_RETURN(DocumentPath path, ParsePath(op.list_path(), "insert_item.list_path"));
    if (path.ends_with_item() || !IsItemList(path.last().field)) {
      return InvalidFieldError("insert_item.list_path",
                               absl::StrCat("\"", path.text(), "\" is not a list of items"));
    }
    COPLAN_RETURN_IF_ERROR(CheckWritable(path, "insert_item.list_path"));
    COPLAN_ASSIGN_OR_RETURN(Location at,
                            LocateOrExplain(path, /*create=*/true, "insert_item.list_path"));
    const Reflection* reflection = at.holder->GetReflection();
    std::unique_ptr<Message> item(
        reflection->GetMessageFactory()->GetPrototype(at.field->message_type())->New());
    absl::Status parsed = MessageFromValue(op.item(), *item);
    if (!parsed.ok()) {
      return InvalidFieldError(
          "insert_item.item",
          absl::StrCat("not a valid ", at.field->message_type()->name(), ": ", parsed.message()));
    }
    ClearOutputOnlyFields(*item);
    std::string id = ItemId(*item);
    const FieldDescriptor* id_field = item->GetDescriptor()->FindFieldByName("id");
    if (id.empty()) {
      do {
        id = NewItemId();
      } while (FindItem(*at.holder, at.field, id) >= 0);
      item->GetReflection()->SetString(item.get(), id_field, id);
    } else if (!IsValidItemId(id)) {
      return InvalidFieldError("insert_item.item.id",
                               "must be 1 to 40 of A-Z, a-z, 0-9, '-' and '_'");
    } else if (FindItem(*at.holder, at.field, id) >= 0) {
      // Said the same way whether or not the item is withheld from the caller.
      return InvalidFieldError(
          "insert_item.item.id",
          absl::StrCat("\"", id, "\" cannot be used in ", path.text(), "; choose another id"));
    }
    AssignItemIds(*item);
    const std::string item_path = absl::StrCat(path.text(), "[", id, "]");
    COPLAN_RETURN_IF_ERROR(Permit(item_path));
    COPLAN_RETURN_IF_ERROR(CheckConflict(item_path));
    COPLAN_ASSIGN_OR_RETURN(int target, ResolvePosition(op.position(), *at.holder, at.field,
                                                        path.text(), "insert_item.position"));
    reflection->AddMessage(at.holder, at.field)->CopyFrom(*item);
    MoveLastTo(*at.holder, at.field, target);
    op.set_list_path(path.text());
    *op.mutable_item() = MessageToValue(*item);
    outcome.changed_paths.push_back(item_path);
    *inserted_id = id;
    return absl::OkStatus();
  }

  absl::StatusOr<std::pair<DocumentPath, Location>> LocateItem(const std::string& text,
                                                               absl::string_view field) {
    COPLAN_ASSIGN_OR_RETURN(DocumentPath path, ParsePath(text, field));
    if (!path.ends_with_item()) {
      return InvalidFieldError(
          field, absl::StrCat("\"", path.text(), "\" does not name a list item (list[id])"));
    }
    COPLAN_RETURN_IF_ERROR(CheckWritable(path, field));
    COPLAN_ASSIGN_OR_RETURN(Location at, LocateOrExplain(path, /*create=*/false, field));
    return std::make_pair(std::move(path), at);
  }

  absl::Status UpdateItem(v1::UpdateItem& op, EditOutcome& outcome) {
    COPLAN_ASSIGN_OR_RETURN(auto found, LocateItem(op.item_path(), "update_item.item_path"));
    auto& [path, at] = found;
    if (op.fields().fields().empty()) {
      return InvalidFieldError("update_item.fields", "names no field to set");
    }
    const std::vector<std::string> inside = HiddenBelow(path.text());
    const std::unique_ptr<Message> before = CopyIfHidden(inside);
    Message* item =
        at.holder->GetReflection()->MutableRepeatedMessage(at.holder, at.field, at.index);
    std::vector<const FieldDescriptor*> written;
    // Struct fields are a map: apply in name order so that replay is deterministic.
    std::map<std::string, Value> ordered(op.fields().fields().begin(), op.fields().fields().end());
    for (const auto& [key, value] : ordered) {
      const std::string key_field = absl::StrCat("update_item.fields.", key);
      COPLAN_ASSIGN_OR_RETURN(DocumentPath field_path,
                              ParsePath(absl::StrCat(path.text(), ".", key), key_field));
      if (field_path.steps().size() != path.steps().size() + 1) {
        return InvalidFieldError(key_field, "must name one field of the item");
      }
      const FieldDescriptor* field = field_path.last().field;
      if (field->name() == "id") return InvalidFieldError(key_field, "an item's id cannot change");
      COPLAN_RETURN_IF_ERROR(CheckWritable(field_path, key_field));
      COPLAN_RETURN_IF_ERROR(Permit(field_path.text()));
      COPLAN_RETURN_IF_ERROR(CheckConflict(field_path.text()));
      absl::Status set = SetFieldFromValue(*item, field, value);
      if (!set.ok()) {
        return InvalidFieldError(key_field, absl::StrCat("not a valid value for \"",
                                                         field_path.text(), "\": ", set.message()));
      }
      AssignItemIds(*item);
      written.push_back(field);
      outcome.changed_paths.push_back(field_path.text());
    }
    COPLAN_RETURN_IF_ERROR(KeepHidden(before.get(), inside));
    // Recorded as they ended up (hidden parts kept), so that replay rebuilds the same item.
    google::protobuf::Struct canonical;
    for (const FieldDescriptor* field : written) {
      (*canonical.mutable_fields())[std::string(field->name())] = FieldToValue(*item, field);
    }
    op.set_item_path(path.text());
    *op.mutable_fields() = canonical;
    return absl::OkStatus();
  }

  absl::Status RemoveItem(const v1::RemoveItem& op, EditOutcome& outcome) {
    COPLAN_ASSIGN_OR_RETURN(auto found, LocateItem(op.item_path(), "remove_item.item_path"));
    auto& [path, at] = found;
    if (!HiddenBelow(path.text()).empty()) {
      // Removing it would destroy what the writer was never shown.
      return PermissionDeniedError(absl::StrCat(
          "\"", path.text(), "\" includes information the person prefers not to share with you"));
    }
    COPLAN_RETURN_IF_ERROR(Permit(path.text()));
    COPLAN_RETURN_IF_ERROR(CheckConflict(path.text()));
    RemoveAt(*at.holder, at.field, at.index);
    outcome.changed_paths.push_back(path.text());
    return absl::OkStatus();
  }

  absl::Status MoveItem(const v1::MoveItem& op, EditOutcome& outcome) {
    COPLAN_ASSIGN_OR_RETURN(auto found, LocateItem(op.item_path(), "move_item.item_path"));
    auto& [path, at] = found;
    const std::string moved = absl::StrCat(path.text(), kPositionSuffix);
    COPLAN_RETURN_IF_ERROR(Permit(path.text()));
    COPLAN_RETURN_IF_ERROR(CheckConflict(moved));
    if (op.position().place_case() == ItemPosition::kBeforeId &&
        op.position().before_id() == path.last().item_id) {
      return InvalidFieldError("move_item.position", "cannot place an item before itself");
    }
    if (op.position().place_case() == ItemPosition::kAfterId &&
        op.position().after_id() == path.last().item_id) {
      return InvalidFieldError("move_item.position", "cannot place an item after itself");
    }
    const Reflection* reflection = at.holder->GetReflection();
    std::unique_ptr<Message> item(
        reflection->GetRepeatedMessage(*at.holder, at.field, at.index).New());
    item->CopyFrom(reflection->GetRepeatedMessage(*at.holder, at.field, at.index));
    RemoveAt(*at.holder, at.field, at.index);
    const std::string list_text = path.text().substr(0, path.text().rfind('['));
    auto target =
        ResolvePosition(op.position(), *at.holder, at.field, list_text, "move_item.position");
    if (!target.ok()) {
      // Put it back so the caller's copy stays consistent, then report.
      reflection->AddMessage(at.holder, at.field)->CopyFrom(*item);
      MoveLastTo(*at.holder, at.field, at.index);
      return target.status();
    }
    reflection->AddMessage(at.holder, at.field)->CopyFrom(*item);
    MoveLastTo(*at.holder, at.field, *target);
    outcome.changed_paths.push_back(moved);
    return absl::OkStatus();
  }

  Message& document_;
  std::vector<PriorChange> prior_;
  const int64_t current_revision_;
  const WritePermission& may_write_;
  const std::vector<std::string>& hidden_;
  const EditMode mode_;
  int index_ = 0;
};

}  // namespace

size_t MaxDocumentBytes(const google::protobuf::Descriptor& document) {
  // Every document message states its limit; a message without one gets the smallest.
  constexpr size_t kUnstated = 256 * 1024;
  const int32_t stated = document.options().GetExtension(v1::max_serialized_bytes);
  return stated > 0 ? static_cast<size_t>(stated) : kUnstated;
}

absl::Status ValidateDocument(const Message& document, absl::string_view document_field) {
  COPLAN_RETURN_IF_ERROR(ValidateFields(document, document_field));
  const size_t limit = MaxDocumentBytes(*document.GetDescriptor());
  if (document.ByteSizeLong() > limit) {
    return InvalidFieldError(
        document_field.empty() ? "operations" : document_field,
        absl::StrCat("would make the document larger than the ", limit,
                     " bytes a document may hold (the max_serialized_bytes option of ",
                     document.GetDescriptor()->name(),
                     "); every field can be within its own "
                     "limits and the whole still too large"));
  }
  return absl::OkStatus();
}

absl::Status ValidateVisible(const Message& document, const std::vector<std::string>& hidden,
                             absl::string_view document_field) {
  if (hidden.empty()) return ValidateDocument(document, document_field);
  std::unique_ptr<Message> visible(document.New());
  visible->CopyFrom(document);
  RemovePaths(*visible, hidden);
  return ValidateDocument(*visible, document_field);
}

absl::StatusOr<EditOutcome> ApplyEditBatch(
    Message& document, const google::protobuf::RepeatedPtrField<EditOperation>& operations,
    const std::vector<PriorChange>& changes_since_base, int64_t current_revision,
    const EditorView& view, EditMode mode) {
  if (operations.empty())
    return InvalidFieldError("operations", "must hold at least one operation");
  if (operations.size() > kMaxOperationsPerBatch) {
    return InvalidFieldError("operations",
                             absl::StrCat("has ", operations.size(), " operations; at most ",
                                          kMaxOperationsPerBatch, " per batch"));
  }
  BatchApplier applier(document, changes_since_base, current_revision, view, mode);
  EditOutcome outcome;
  for (int i = 0; i < operations.size(); ++i) {
    COPLAN_RETURN_IF_ERROR(applier.Apply(i, operations[i], outcome));
    absl::Status valid = ValidateDocument(document);
    if (!valid.ok() && !view.hidden.empty()) {
      // Said as the writer sees the document, so that the error's items, counts and sizes
      // are of what they can see; if only the parts withheld from them make it fail, it is
      // refused without saying more.
      absl::Status seen = ValidateVisible(document, view.hidden);
      if (seen.ok()) {
        absl::Status refused = PermissionDeniedError(absl::StrCat(
            "operations[", i,
            "] cannot be made because of information the person prefers not to share with you"));
        AttachErrorInfo(refused, reason::kFailedPrecondition,
                        {{"operation_index", absl::StrCat(i)}});
        return refused;
      }
      valid = seen;
    }
    if (!valid.ok()) {
      // Keep the document paths of the violations; say which operation caused them.
      absl::Status out(valid.code(), absl::StrCat("operations[", i, "]: ", valid.message()));
      valid.ForEachPayload(
          [&](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
      AttachErrorInfo(out, reason::kInvalidField, {{"operation_index", absl::StrCat(i)}});
      return out;
    }
  }
  ClearOutputOnlyFields(document);
  return outcome;
}

absl::Status ReplayOperations(Message& document,
                              const google::protobuf::RepeatedPtrField<EditOperation>& operations,
                              EditMode mode) {
  if (operations.empty()) return absl::OkStatus();
  auto outcome = ApplyEditBatch(document, operations, {}, 0, EditorView{}, mode);
  return outcome.status();
}

}  // namespace coplan
