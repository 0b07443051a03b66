#include "server/domain/withholding.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "coplan/v1/common.pb.h"
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

std::optional<v1::EditOperation> RedactOperation(const v1::EditOperation& operation,
                                                 const Message& prototype,
                                                 const std::vector<std::string>& withheld,
                                                 bool see_withholdings) {
  // The path the operation writes, and the path of the value it carries.
  std::string path;
  switch (operation.operation_case()) {
    case v1::EditOperation::kSetField: path = operation.set_field().path(); break;
    case v1::EditOperation::kInsertItem: path = operation.insert_item().list_path(); break;
    case v1::EditOperation::kUpdateItem: path = operation.update_item().item_path(); break;
    case v1::EditOperation::kRemoveItem: path = operation.remove_item().item_path(); break;
    case v1::EditOperation::kMoveItem: path = operation.move_item().item_path(); break;
    default: return std::nullopt;
  }
  if (!see_withholdings && PathCovers("withholdings", path)) return std::nullopt;
  std::vector<std::string> inside;  // withheld paths below what the operation carries
  for (const std::string& hidden : withheld) {
    if (PathCovers(hidden, path)) return std::nullopt;
    if (PathCovers(path, hidden)) inside.push_back(hidden);
  }
  if (operation.operation_case() == v1::EditOperation::kInsertItem) {
    // Hidden parts may sit inside the inserted item: redact it in place.
    const std::string item_id =
        operation.insert_item().item().struct_value().fields().count("id")
            ? operation.insert_item().item().struct_value().fields().at("id").string_value()
            : "";
    const std::string item_path = path + "[" + item_id + "]";
    for (const std::string& hidden : withheld) {
      if (PathCovers(hidden, item_path)) return std::nullopt;
      if (PathCovers(item_path, hidden)) inside.push_back(hidden);
    }
  }
  if (inside.empty()) return operation;
  // Rebuild the carried value inside an empty document, remove the hidden parts, read it back.
  std::unique_ptr<Message> scratch(prototype.New());
  v1::EditOperation redacted = operation;
  google::protobuf::RepeatedPtrField<v1::EditOperation> single;
  *single.Add() = operation;
  if (operation.operation_case() == v1::EditOperation::kSetField) {
    auto parsed = DocumentPath::Parse(*prototype.GetDescriptor(), path);
    if (!parsed.ok() || !ReplayOperations(*scratch, single, EditMode::kCreate).ok()) return std::nullopt;
    RemovePaths(*scratch, inside);
    auto value = ValueAt(*scratch, *parsed);
    if (!value.ok()) return std::nullopt;
    *redacted.mutable_set_field()->mutable_value() = *value;
    return redacted;
  }
  if (operation.operation_case() == v1::EditOperation::kInsertItem) {
    if (!ReplayOperations(*scratch, single, EditMode::kCreate).ok()) return std::nullopt;
    RemovePaths(*scratch, inside);
    const auto& fields = operation.insert_item().item().struct_value().fields();
    auto parsed = DocumentPath::Parse(*prototype.GetDescriptor(),
                                      path + "[" + fields.at("id").string_value() + "]");
    if (!parsed.ok()) return std::nullopt;
    auto value = ValueAt(*scratch, *parsed);
    if (!value.ok()) return std::nullopt;
    *redacted.mutable_insert_item()->mutable_item() = *value;
    return redacted;
  }
  if (operation.operation_case() == v1::EditOperation::kUpdateItem) {
    // Drop the fields that are withheld; keep the others.
    auto* fields = redacted.mutable_update_item()->mutable_fields()->mutable_fields();
    for (auto it = fields->begin(); it != fields->end();) {
      const std::string field_path = path + "." + it->first;
      bool hidden = false;
      for (const std::string& withheld_path : inside) {
        if (PathsOverlap(withheld_path, field_path)) hidden = true;
      }
      if (hidden) {
        it = fields->erase(it);
      } else {
        ++it;
      }
    }
    if (fields->empty()) return std::nullopt;
    return redacted;
  }
  return redacted;
}

WritePermission WithholdingWriteRule(const Message& stored, const std::string& writer, bool owner) {
  if (owner) return WritePermission();
  std::vector<std::string> withheld = PathsWithheldFrom(stored, writer);
  return [withheld](const std::string& path) -> absl::Status {
    if (PathCovers("withholdings", path)) {
      return PermissionDeniedError(
          "only the person the document is about can change what is withheld and from whom");
    }
    for (const std::string& hidden : withheld) {
      if (PathsOverlap(hidden, path)) {
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
        return InvalidFieldError(field, absl::StrCat("\"", path, "\" is not a part of this document"));
      }
      if (PathCovers("withholdings", parsed->text())) {
        return InvalidFieldError(field, "cannot withhold the withholdings themselves");
      }
    }
    if (withholdings[i].paths().empty()) {
      return InvalidFieldError(absl::StrCat("withholdings[", i, "].paths"), "names nothing to withhold");
    }
    if (withholdings[i].withheld_from().empty()) {
      return InvalidFieldError(absl::StrCat("withholdings[", i, "].withheld_from"),
                               "names nobody to withhold from");
    }
  }
  return absl::OkStatus();
}

}  // namespace coplan
