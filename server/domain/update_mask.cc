#include "server/domain/update_mask.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/common/errors.h"
#include "server/common/status_macros.h"
#include "server/domain/document_paths.h"
#include "server/domain/field_rules.h"

namespace coplan {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Top-level fields of a resource that an update never names (identity and concurrency).
bool IsResourceBookkeeping(const FieldDescriptor* field) {
  return field->containing_type()->FindFieldByName("name") == field || field->name() == "etag";
}

bool Editable(const FieldDescriptor* field) { return !IsOutputOnly(field); }

bool ScalarEquals(const Message& a, const Message& b, const FieldDescriptor* field, int i) {
  const Reflection* ra = a.GetReflection();
  const Reflection* rb = b.GetReflection();
  const bool repeated = field->is_repeated();
#define COPLAN_COMPARE(GETTER)                                                                   \
  return repeated ? ra->GetRepeated##GETTER(a, field, i) == rb->GetRepeated##GETTER(b, field, i) \
                  : ra->Get##GETTER(a, field) == rb->Get##GETTER(b, field)
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      COPLAN_COMPARE(Int32);
    case FieldDescriptor::CPPTYPE_INT64:
      COPLAN_COMPARE(Int64);
    case FieldDescriptor::CPPTYPE_UINT32:
      COPLAN_COMPARE(UInt32);
    case FieldDescriptor::CPPTYPE_UINT64:
      COPLAN_COMPARE(UInt64);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      COPLAN_COMPARE(Double);
    case FieldDescriptor::CPPTYPE_FLOAT:
      COPLAN_COMPARE(Float);
    case FieldDescriptor::CPPTYPE_BOOL:
      COPLAN_COMPARE(Bool);
    case FieldDescriptor::CPPTYPE_ENUM:
      COPLAN_COMPARE(EnumValue);
    case FieldDescriptor::CPPTYPE_STRING:
      COPLAN_COMPARE(String);
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& ma = repeated ? ra->GetRepeatedMessage(a, field, i) : ra->GetMessage(a, field);
      const Message& mb = repeated ? rb->GetRepeatedMessage(b, field, i) : rb->GetMessage(b, field);
      return ma.SerializeAsString() == mb.SerializeAsString();
    }
  }
#undef COPLAN_COMPARE
  return false;
}

void DiffMessage(const Message& a, const Message& b, const std::string& prefix,
                 std::vector<std::string>* out);

void DiffField(const Message& a, const Message& b, const FieldDescriptor* field,
               const std::string& path, std::vector<std::string>* out) {
  const Reflection* ra = a.GetReflection();
  const Reflection* rb = b.GetReflection();
  if (field->is_repeated()) {
    const int size = ra->FieldSize(a, field);
    if (size != rb->FieldSize(b, field)) {
      out->push_back(path);
      return;
    }
    if (IsItemList(field)) {
      for (int i = 0; i < size; ++i) {
        if (ItemId(ra->GetRepeatedMessage(a, field, i)) !=
            ItemId(rb->GetRepeatedMessage(b, field, i))) {
          out->push_back(path);
          return;
        }
      }
      for (int i = 0; i < size; ++i) {
        const Message& item = ra->GetRepeatedMessage(a, field, i);
        DiffMessage(item, rb->GetRepeatedMessage(b, field, i),
                    absl::StrCat(path, "[", ItemId(item), "]"), out);
      }
      return;
    }
    for (int i = 0; i < size; ++i) {
      if (!ScalarEquals(a, b, field, i)) {
        out->push_back(path);
        return;
      }
    }
    return;
  }
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    const bool has_a = ra->HasField(a, field);
    const bool has_b = rb->HasField(b, field);
    if (!has_a && !has_b) return;
    if (has_a != has_b) {
      out->push_back(path);
      return;
    }
    DiffMessage(ra->GetMessage(a, field), rb->GetMessage(b, field), path, out);
    return;
  }
  if (!ScalarEquals(a, b, field, -1)) out->push_back(path);
}

void DiffMessage(const Message& a, const Message& b, const std::string& prefix,
                 std::vector<std::string>* out) {
  const auto* descriptor = a.GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (IsOutputOnly(field)) continue;
    const std::string path =
        prefix.empty() ? std::string(field->name()) : absl::StrCat(prefix, ".", field->name());
    DiffField(a, b, field, path, out);
  }
}

// The implied mask of AIP-134: set fields, descending into set messages (not lists).
void PopulatedPaths(const Message& message, const std::string& prefix,
                    std::vector<std::string>* out) {
  std::vector<const FieldDescriptor*> fields;
  message.GetReflection()->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (IsOutputOnly(field) || (prefix.empty() && IsResourceBookkeeping(field))) continue;
    const std::string path =
        prefix.empty() ? std::string(field->name()) : absl::StrCat(prefix, ".", field->name());
    if (!field->is_repeated() && field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
        field->message_type()->full_name() != "google.type.Date") {
      const Message& child = message.GetReflection()->GetMessage(message, field);
      std::vector<const FieldDescriptor*> child_fields;
      child.GetReflection()->ListFields(child, &child_fields);
      if (!child_fields.empty()) {
        PopulatedPaths(child, path, out);
        continue;
      }
    }
    out->push_back(path);
  }
}

// "a" and "a.b" name the same field (or one inside the other).
bool MaskPathsOverlap(const std::string& a, const std::string& b) {
  const std::string& shorter = a.size() <= b.size() ? a : b;
  const std::string& longer = a.size() <= b.size() ? b : a;
  return longer.compare(0, shorter.size(), shorter) == 0 &&
         (longer.size() == shorter.size() || longer[shorter.size()] == '.');
}

}  // namespace

absl::Status CheckUpdateMask(const google::protobuf::FieldMask& mask) {
  if (mask.paths_size() > kMaxUpdateMaskPaths) {
    return InvalidFieldError("update_mask.paths",
                             absl::StrCat("has ", mask.paths_size(), " paths; at most ",
                                          kMaxUpdateMaskPaths, " are allowed"));
  }
  for (int i = 0; i < mask.paths_size(); ++i) {
    const std::string& path = mask.paths(i);
    const std::string field = absl::StrCat("update_mask.paths[", i, "]");
    if (path.size() > kMaxUpdateMaskPathLength) {
      return InvalidFieldError(field, absl::StrCat("is ", path.size(), " characters; at most ",
                                                   kMaxUpdateMaskPathLength, " are allowed"));
    }
    for (int j = 0; j < i; ++j) {
      if (MaskPathsOverlap(mask.paths(j), path)) {
        return InvalidFieldError(
            field, absl::StrCat("\"", path, "\" names the same field as \"", mask.paths(j),
                                "\" (update_mask.paths[", j, "])"));
      }
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> ChangedPaths(const Message& before, const Message& after) {
  std::vector<std::string> out;
  DiffMessage(before, after, "", &out);
  return out;
}

std::vector<v1::EditOperation> CreationOperations(const Message& document) {
  std::vector<v1::EditOperation> operations;
  std::vector<const FieldDescriptor*> fields;
  document.GetReflection()->ListFields(document, &fields);
  for (const FieldDescriptor* field : fields) {
    if (IsOutputOnly(field) || IsResourceBookkeeping(field)) continue;
    v1::EditOperation op;
    op.mutable_set_field()->set_path(std::string(field->name()));
    *op.mutable_set_field()->mutable_value() = FieldToValue(document, field);
    operations.push_back(std::move(op));
  }
  return operations;
}

absl::StatusOr<MaskedUpdate> ApplyUpdateMask(Message& stored, const Message& request,
                                             const google::protobuf::FieldMask& mask,
                                             const std::string& request_field) {
  COPLAN_RETURN_IF_ERROR(CheckUpdateMask(mask));
  const auto* descriptor = stored.GetDescriptor();
  std::vector<std::string> paths;
  bool everything = false;
  for (const std::string& path : mask.paths()) {
    if (path == "*") {
      everything = true;
    } else {
      paths.push_back(path);
    }
  }
  if (everything) {
    if (!paths.empty())
      return InvalidFieldError("update_mask", "\"*\" cannot be combined with other paths");
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const FieldDescriptor* field = descriptor->field(i);
      if (!Editable(field) || IsResourceBookkeeping(field)) continue;
      if (IsImmutable(field) && field->containing_oneof() == nullptr) continue;
      if (const auto* oneof = field->containing_oneof()) {
        const FieldDescriptor* set = stored.GetReflection()->GetOneofFieldDescriptor(stored, oneof);
        if (set != nullptr && set != field) continue;
      }
      paths.push_back(std::string(field->name()));
    }
  } else if (paths.empty()) {
    PopulatedPaths(request, "", &paths);
    if (paths.empty()) return InvalidFieldError(request_field, "sets no field to update");
  }

  std::unique_ptr<Message> before(stored.New());
  before->CopyFrom(stored);
  // One copy of the request: each masked field is moved out of it once (the paths do not
  // overlap), so the work grows with the mask, not with the mask times the request.
  std::unique_ptr<Message> request_copy(request.New());
  request_copy->CopyFrom(request);
  MaskedUpdate update;
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string mask_field = absl::StrCat("update_mask.paths[", i, "]");
    if (paths[i].find('[') != std::string::npos) {
      return InvalidFieldError(mask_field, "field masks name fields, not list items");
    }
    auto parsed = DocumentPath::Parse(*descriptor, paths[i]);
    if (!parsed.ok()) {
      return InvalidFieldError(
          mask_field, absl::StrCat("\"", paths[i], "\" is not a field of ", descriptor->name()));
    }
    const DocumentPath& path = *parsed;
    for (size_t s = 0; s < path.steps().size(); ++s) {
      const FieldDescriptor* field = path.steps()[s].field;
      if (IsOutputOnly(field) || (s == 0 && IsResourceBookkeeping(field))) {
        return InvalidFieldError(mask_field,
                                 absl::StrCat("\"", path.text(), "\" is set by the server"));
      }
      if (field->is_repeated() && s + 1 < path.steps().size()) {
        return InvalidFieldError(mask_field, "cannot reach inside a list; name the list");
      }
    }
    const FieldDescriptor* last = path.last().field;
    if (IsImmutable(last) && last->containing_oneof() == nullptr) {
      return InvalidFieldError(mask_field,
                               absl::StrCat("\"", path.text(), "\" cannot be changed once set"));
    }
    // Copy the field from the request (or clear it when the request does not set it).
    auto target = Locate(stored, path, /*create=*/true);
    if (!target.ok()) return PrefixFieldErrors(target.status(), "update_mask.");
    const Reflection* reflection = target->holder->GetReflection();
    auto source = Locate(*request_copy, path, /*create=*/false);
    reflection->ClearField(target->holder, last);
    if (source.ok()) {
      const Reflection* source_reflection = source->holder->GetReflection();
      const bool present = last->is_repeated()
                               ? source_reflection->FieldSize(*source->holder, last) > 0
                               : (last->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
                                  source_reflection->HasField(*source->holder, last));
      if (present) reflection->SwapFields(target->holder, source->holder, {last});
    } else if (source.status().code() != absl::StatusCode::kNotFound) {
      // A oneof member the request does not have: the stored document's kind differs.
      return PrefixFieldErrors(source.status(), absl::StrCat(request_field, "."));
    }
    if (last->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      ClearOutputOnlyFields(*target->holder);
    }
    AssignItemIds(*target->holder);
  }

  update.changed_paths = ChangedPaths(*before, stored);
  // Redo operations: one set per mask path whose subtree changed.
  for (const std::string& text : paths) {
    auto path = DocumentPath::Parse(*descriptor, text);
    bool changed = false;
    for (const auto& changed_path : update.changed_paths) {
      if (PathsOverlap(path->text(), changed_path)) changed = true;
    }
    if (!changed) continue;
    auto value = ValueAt(stored, *path);
    v1::EditOperation op;
    op.mutable_set_field()->set_path(path->text());
    *op.mutable_set_field()->mutable_value() = *value;
    update.operations.push_back(std::move(op));
  }
  return update;
}

}  // namespace coplan
