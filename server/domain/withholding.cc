#include "server/domain/withholding.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "coplan/v1/common.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/message_differencer.h"
#include "server/common/errors.h"
#include "server/domain/document_paths.h"

namespace coplan {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

const FieldDescriptor* WithholdingsField(const Message& document) {
  return document.GetDescriptor()->FindFieldByName("withholdings");
}

std::vector<v1::Withholding> Withholdings(const Message& document) {
  std::vector<v1::Withholding> out;
  const FieldDescriptor* field = WithholdingsField(document);
  if (field == nullptr) return out;
  const auto* reflection = document.GetReflection();
  for (int i = 0; i < reflection->FieldSize(document, field); ++i) {
    v1::Withholding withholding;
    withholding.CopyFrom(reflection->GetRepeatedMessage(document, field, i));
    out.push_back(std::move(withholding));
  }
  return out;
}

}  // namespace

bool HasWithholdings(const Message& document) {
  const FieldDescriptor* field = WithholdingsField(document);
  return field != nullptr && document.GetReflection()->FieldSize(document, field) > 0;
}

std::vector<std::string> PathsWithheldFrom(const Message& document, const std::string& reader) {
  std::vector<std::string> paths;
  for (const auto& withholding : Withholdings(document)) {
    const auto& people = withholding.withheld_from();
    if (std::find(people.begin(), people.end(), reader) == people.end()) continue;
    for (const auto& path : withholding.paths()) {
      // Canonicalise (camelCase names, etc.) so that comparisons are exact.
      auto parsed = DocumentPath::Parse(*document.GetDescriptor(), path);
      if (parsed.ok()) paths.push_back(parsed->text());
    }
  }
  return paths;
}

void RemovePaths(Message& document, const std::vector<std::string>& paths) {
  for (const std::string& text : paths) {
    auto path = DocumentPath::Parse(*document.GetDescriptor(), text);
    if (!path.ok()) continue;
    auto location = Locate(document, *path, /*create=*/false);
    if (!location.ok()) continue;  // already absent
    if (location->index >= 0) {
      RemoveAt(*location->holder, location->field, location->index);
    } else {
      location->holder->GetReflection()->ClearField(location->holder, location->field);
    }
  }
}

void ApplyWithholdings(Message& document, const std::string& reader, bool keep_list) {
  RemovePaths(document, PathsWithheldFrom(document, reader));
  if (!keep_list) {
    if (const FieldDescriptor* field = WithholdingsField(document)) {
      document.GetReflection()->ClearField(&document, field);
    }
  }
}

namespace {

// The paths of `withheld` strictly below `prefix`, relative to it: "a.b[x].c" under
// "a.b[x]" is "c"; "a.b[x]" under "a.b" is "[x]".
std::vector<std::string> RelativeBelow(const std::vector<std::string>& withheld,
                                       const std::string& prefix) {
  std::vector<std::string> relative;
  for (const std::string& path : withheld) {
    if (path.size() <= prefix.size() + 1 || !PathCovers(prefix, path)) continue;
    if (path[prefix.size()] == '.') relative.push_back(path.substr(prefix.size() + 1));
    if (path[prefix.size()] == '[') relative.push_back(path.substr(prefix.size()));
  }
  return relative;
}

std::string PathOf(const v1::EditOperation& operation) {
  switch (operation.operation_case()) {
    case v1::EditOperation::kSetField:
      return operation.set_field().path();
    case v1::EditOperation::kInsertItem:
      return operation.insert_item().list_path();
    case v1::EditOperation::kUpdateItem:
      return operation.update_item().item_path();
    case v1::EditOperation::kRemoveItem:
      return operation.remove_item().item_path();
    case v1::EditOperation::kMoveItem:
      return operation.move_item().item_path();
    default:
      return "";
  }
}

bool FieldHasValue(const Message& holder, const google::protobuf::FieldDescriptor* field) {
  const auto* reflection = holder.GetReflection();
  return field->is_repeated() ? reflection->FieldSize(holder, field) > 0
                              : reflection->HasField(holder, field);
}

bool CoveredByAny(const std::vector<std::string>& withheld, const std::string& path) {
  for (const std::string& hidden : withheld) {
    if (PathCovers(hidden, path)) return true;
  }
  return false;
}

// A position anchored to a hidden item would name it. Re-anchor the placed item after
// its nearest visible neighbour in `current` (the document as the operation left it), or
// at the end when that is not known or the item is gone from it.
void ReanchorPosition(v1::ItemPosition& position, const std::string& list_text,
                      const std::string& item_id, const google::protobuf::Descriptor& root,
                      const Message* current, const std::vector<std::string>& withheld) {
  const std::string anchor = position.has_before_id()  ? position.before_id()
                             : position.has_after_id() ? position.after_id()
                                                       : std::string();
  if (anchor.empty() || !CoveredByAny(withheld, absl::StrCat(list_text, "[", anchor, "]"))) return;
  position.set_at_end(true);
  if (current == nullptr) return;
  auto list = DocumentPath::Parse(root, list_text);
  if (!list.ok()) return;
  std::unique_ptr<Message> copy(current->New());  // Locate wants a mutable message
  copy->CopyFrom(*current);
  auto at = Locate(*copy, *list, /*create=*/false);
  if (!at.ok() || at->index >= 0) return;
  const int index = FindItem(*at->holder, at->field, item_id);
  if (index < 0) return;
  const auto* reflection = at->holder->GetReflection();
  for (int i = index - 1; i >= 0; --i) {
    const std::string id = ItemId(reflection->GetRepeatedMessage(*at->holder, at->field, i));
    if (!CoveredByAny(withheld, absl::StrCat(list_text, "[", id, "]"))) {
      position.set_after_id(id);
      return;
    }
  }
  position.set_at_start(true);
}

}  // namespace

std::optional<v1::EditOperation> RedactOperation(const v1::EditOperation& operation,
                                                 const google::protobuf::Descriptor& root,
                                                 const std::vector<std::string>& withheld,
                                                 bool see_withholdings, const Message* current) {
  const std::string text = PathOf(operation);
  auto path = DocumentPath::Parse(root, text);
  if (!path.ok()) return std::nullopt;
  if (!see_withholdings && PathCovers("withholdings", path->text())) return std::nullopt;
  std::string carried = path->text();  // the part of the document the value describes
  std::string inserted_id;
  if (operation.has_insert_item()) {
    const auto& fields = operation.insert_item().item().struct_value().fields();
    auto id = fields.find("id");
    if (id != fields.end()) inserted_id = id->second.string_value();
    carried = absl::StrCat(path->text(), "[", inserted_id, "]");
  }
  for (const std::string& hidden : withheld) {
    if (PathCovers(hidden, path->text()) || PathCovers(hidden, carried)) return std::nullopt;
  }
  v1::EditOperation redacted = operation;
  if (operation.has_insert_item() && operation.insert_item().has_position()) {
    ReanchorPosition(*redacted.mutable_insert_item()->mutable_position(), path->text(), inserted_id,
                     root, current, withheld);
  }
  if (operation.has_move_item() && path->last().item_id) {
    const std::string list_text = path->text().substr(0, path->text().rfind('['));
    ReanchorPosition(*redacted.mutable_move_item()->mutable_position(), list_text,
                     *path->last().item_id, root, current, withheld);
  }
  google::protobuf::MessageFactory* factory = google::protobuf::MessageFactory::generated_factory();
  if (operation.has_set_field()) {
    // Rebuild the value in a scratch message of the holder's type, remove, read back.
    const auto* field = path->last().field;
    std::vector<std::string> inside = RelativeBelow(withheld, path->text());
    if (inside.empty()) return redacted;
    std::unique_ptr<Message> holder(factory->GetPrototype(field->containing_type())->New());
    if (!SetFieldFromValue(*holder, field, operation.set_field().value()).ok()) return std::nullopt;
    std::vector<std::string> relative;  // the same parts, as paths within the holder
    for (const std::string& below : inside) {
      relative.push_back(absl::StrCat(field->name(), below.front() == '[' ? "" : ".", below));
    }
    RemovePaths(*holder, relative);
    *redacted.mutable_set_field()->mutable_value() = FieldToValue(*holder, field);
    return redacted;
  }
  if (operation.has_insert_item()) {
    std::vector<std::string> inside = RelativeBelow(withheld, carried);
    if (inside.empty()) return redacted;
    std::unique_ptr<Message> item(factory->GetPrototype(path->last().field->message_type())->New());
    if (!MessageFromValue(operation.insert_item().item(), *item).ok()) return std::nullopt;
    RemovePaths(*item, inside);
    *redacted.mutable_insert_item()->mutable_item() = MessageToValue(*item);
    return redacted;
  }
  if (operation.has_update_item()) {
    // Drop the fields that are withheld; from the others, remove withheld parts inside.
    const google::protobuf::Descriptor* item_type = path->last().field->message_type();
    auto* fields = redacted.mutable_update_item()->mutable_fields()->mutable_fields();
    for (auto it = fields->begin(); it != fields->end();) {
      const std::string field_path = path->text() + "." + it->first;
      if (CoveredByAny(withheld, field_path)) {
        it = fields->erase(it);
        continue;
      }
      const std::vector<std::string> inside = RelativeBelow(withheld, field_path);
      const FieldDescriptor* field = item_type->FindFieldByName(it->first);
      if (!inside.empty() && field != nullptr) {
        std::unique_ptr<Message> item(factory->GetPrototype(item_type)->New());
        if (!SetFieldFromValue(*item, field, it->second).ok()) return std::nullopt;
        std::vector<std::string> relative;
        for (const std::string& below : inside) {
          relative.push_back(absl::StrCat(field->name(), below.front() == '[' ? "" : ".", below));
        }
        RemovePaths(*item, relative);
        it->second = FieldToValue(*item, field);
      }
      ++it;
    }
    if (fields->empty()) return std::nullopt;
  }
  return redacted;
}

bool CarryOverWithheld(const Message& stored, Message& incoming,
                       const std::vector<std::string>& withheld) {
  bool nothing_sent = true;
  for (const std::string& text : withheld) {
    auto path = DocumentPath::Parse(*stored.GetDescriptor(), text);
    if (!path.ok()) continue;
    std::unique_ptr<Message> source(stored.New());
    source->CopyFrom(stored);
    auto from = Locate(*source, *path, /*create=*/false);
    if (!from.ok()) continue;  // nothing there to keep
    if (path->ends_with_item()) {
      // Put the item back in the incoming list, where it was.
      const auto* reflection = from->holder->GetReflection();
      const Message& item = reflection->GetRepeatedMessage(*from->holder, from->field, from->index);
      auto to = Locate(incoming, path->Prefix(path->steps().size()), /*create=*/false);
      if (to.ok()) {
        nothing_sent = false;  // the writer sent an item with the hidden item's id
        continue;
      }
      DocumentPath list = path->Prefix(path->steps().size() - 1).Child(path->last().field);
      auto list_at = Locate(incoming, list, /*create=*/true);
      if (!list_at.ok()) continue;
      const auto* target = list_at->holder->GetReflection();
      target->AddMessage(list_at->holder, list_at->field)->CopyFrom(item);
      const int size = target->FieldSize(*list_at->holder, list_at->field);
      MoveLastTo(*list_at->holder, list_at->field, std::min(from->index, size - 1));
      continue;
    }
    auto sent = Locate(incoming, *path, /*create=*/false);
    if (sent.ok() && FieldHasValue(*sent->holder, sent->field)) {
      nothing_sent = false;  // a value of the writer's own for a withheld field
      continue;
    }
    auto to = Locate(incoming, *path, /*create=*/true);
    if (!to.ok()) continue;
    std::unique_ptr<Message> scratch(to->holder->New());
    scratch->CopyFrom(*from->holder);
    to->holder->GetReflection()->ClearField(to->holder, to->field);
    to->holder->GetReflection()->SwapFields(to->holder, scratch.get(), {to->field});
  }
  return nothing_sent;
}

bool WithheldUnchanged(const Message& before, const Message& after,
                       const std::vector<std::string>& withheld) {
  for (const std::string& text : withheld) {
    auto path = DocumentPath::Parse(*before.GetDescriptor(), text);
    if (!path.ok()) continue;
    auto old_value = ValueAt(before, *path);
    auto new_value = ValueAt(after, *path);
    // A withheld item that no longer exists in either is unchanged too.
    if (old_value.ok() != new_value.ok()) return false;
    if (old_value.ok() &&
        !google::protobuf::util::MessageDifferencer::Equals(*old_value, *new_value)) {
      return false;
    }
  }
  return true;
}

WritePermission WithholdingWriteRule(const Message& stored, const std::string& writer, bool owner) {
  if (owner) return WritePermission();
  std::vector<std::string> withheld = PathsWithheldFrom(stored, writer);
  return [withheld](const std::string& path) -> absl::Status {
    if (PathCovers("withholdings", path)) {
      return PermissionDeniedError(
          "only the person the document is about can change what is withheld and from whom");
    }
    // Writes over a withheld part (a whole list holding a withheld item) are the edit
    // engine's to handle: it keeps the part as it is.
    for (const std::string& hidden : withheld) {
      if (PathCovers(hidden, path)) {
        return PermissionDeniedError(absl::StrCat(
            "\"", path, "\" includes information the person prefers not to share with you"));
      }
    }
    return absl::OkStatus();
  };
}

absl::Status ValidateWithholdingPaths(const Message& document) {
  const auto withholdings = Withholdings(document);
  for (size_t i = 0; i < withholdings.size(); ++i) {
    for (int j = 0; j < withholdings[i].paths_size(); ++j) {
      const std::string& path = withholdings[i].paths(j);
      auto parsed = DocumentPath::Parse(*document.GetDescriptor(), path);
      const std::string field = absl::StrCat("withholdings[", i, "].paths[", j, "]");
      if (!parsed.ok()) {
        return InvalidFieldError(field,
                                 absl::StrCat("\"", path, "\" is not a part of this document"));
      }
      if (PathCovers("withholdings", parsed->text())) {
        return InvalidFieldError(field, "cannot withhold the withholdings themselves");
      }
    }
    if (withholdings[i].paths().empty()) {
      return InvalidFieldError(absl::StrCat("withholdings[", i, "].paths"),
                               "names nothing to withhold");
    }
    if (withholdings[i].withheld_from().empty()) {
      return InvalidFieldError(absl::StrCat("withholdings[", i, "].withheld_from"),
                               "names nobody to withhold from");
    }
  }
  return absl::OkStatus();
}

void KeepWithholdingsList(const google::protobuf::Message& stored,
                          google::protobuf::Message& incoming) {
  const auto* field = incoming.GetDescriptor()->FindFieldByName("withholdings");
  if (field == nullptr) return;
  const auto* reflection = incoming.GetReflection();
  reflection->ClearField(&incoming, field);
  for (int i = 0; i < stored.GetReflection()->FieldSize(stored, field); ++i) {
    reflection->AddMessage(&incoming, field)
        ->CopyFrom(stored.GetReflection()->GetRepeatedMessage(stored, field, i));
  }
}

}  // namespace coplan
