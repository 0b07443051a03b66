#include "server/domain/document_paths.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "server/common/errors.h"
#include "server/common/ids.h"
#include "server/common/status_macros.h"

namespace coplan {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using google::protobuf::Value;

const FieldDescriptor* FindField(const Descriptor& type, absl::string_view name) {
  const FieldDescriptor* field = type.FindFieldByName(std::string(name));
  if (field == nullptr) field = type.FindFieldByCamelcaseName(std::string(name));
  return field;
}

google::protobuf::util::JsonParseOptions ParseOptions() {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  return options;
}

google::protobuf::util::JsonPrintOptions PrintOptions() {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  return options;
}

std::string StepText(const PathStep& step) {
  std::string text(step.field->name());
  if (step.item_id) absl::StrAppend(&text, "[", *step.item_id, "]");
  return text;
}

absl::Status ConversionError(const google::protobuf::util::Status& status) {
  return absl::InvalidArgumentError(std::string(status.message()));
}

}  // namespace

bool IsItemList(const FieldDescriptor* field) {
  if (!field->is_repeated() || field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) return false;
  const FieldDescriptor* id = field->message_type()->FindFieldByName("id");
  return id != nullptr && id->type() == FieldDescriptor::TYPE_STRING && !id->is_repeated();
}

std::string ItemId(const Message& item) {
  const FieldDescriptor* id = item.GetDescriptor()->FindFieldByName("id");
  return item.GetReflection()->GetString(item, id);
}

int FindItem(const Message& holder, const FieldDescriptor* list, absl::string_view id) {
  const Reflection* reflection = holder.GetReflection();
  const int size = reflection->FieldSize(holder, list);
  for (int i = 0; i < size; ++i) {
    if (ItemId(reflection->GetRepeatedMessage(holder, list, i)) == id) return i;
  }
  return -1;
}

absl::StatusOr<DocumentPath> DocumentPath::Parse(const Descriptor& root, absl::string_view text) {
  DocumentPath path;
  if (text.empty()) return InvalidFieldError("path", "is empty");
  const Descriptor* type = &root;
  size_t pos = 0;
  while (pos <= text.size()) {
    if (type == nullptr) {
      return InvalidFieldError(
          "path", absl::StrCat("\"", text, "\" goes inside a field that has no fields"));
    }
    size_t end = pos;
    while (end < text.size() && text[end] != '.' && text[end] != '[') ++end;
    absl::string_view name = text.substr(pos, end - pos);
    if (name.empty()) {
      return InvalidFieldError("path", absl::StrCat("\"", text, "\" has an empty segment"));
    }
    const FieldDescriptor* field = FindField(*type, name);
    if (field == nullptr) {
      return InvalidFieldError(
          "path", absl::StrCat("\"", text, "\": ", type->name(), " has no field \"", name, "\""));
    }
    PathStep step{field, std::nullopt};
    if (end < text.size() && text[end] == '[') {
      const size_t close = text.find(']', end);
      if (close == absl::string_view::npos) {
        return InvalidFieldError("path", absl::StrCat("\"", text, "\": missing ']'"));
      }
      absl::string_view id = text.substr(end + 1, close - end - 1);
      if (!IsItemList(field)) {
        return InvalidFieldError(
            "path", absl::StrCat("\"", text, "\": ", field->name(), " is not a list of items"));
      }
      if (!IsValidItemId(id)) {
        return InvalidFieldError(
            "path", absl::StrCat("\"", text, "\": \"", id, "\" is not a valid item id"));
      }
      step.item_id = std::string(id);
      end = close + 1;
    } else if (field->is_repeated() && end < text.size()) {
      return InvalidFieldError("path",
                               absl::StrCat("\"", text, "\": select an item of ", field->name(),
                                            " by its id, e.g. ", field->name(), "[id]"));
    }
    path.steps_.push_back(step);
    if (!path.text_.empty()) path.text_.push_back('.');
    path.text_ += StepText(step);
    if (end >= text.size()) break;
    if (text[end] != '.') {
      return InvalidFieldError("path", absl::StrCat("\"", text, "\": expected '.' after ']'"));
    }
    type = field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE ? field->message_type() : nullptr;
    pos = end + 1;
    if (pos == text.size()) {
      return InvalidFieldError("path", absl::StrCat("\"", text, "\" ends with '.'"));
    }
  }
  return path;
}

DocumentPath DocumentPath::Child(const FieldDescriptor* field,
                                 std::optional<std::string> item_id) const {
  DocumentPath child = *this;
  PathStep step{field, std::move(item_id)};
  if (!child.text_.empty()) child.text_.push_back('.');
  child.text_ += StepText(step);
  child.steps_.push_back(std::move(step));
  return child;
}

DocumentPath DocumentPath::Prefix(size_t count) const {
  DocumentPath prefix;
  for (size_t i = 0; i < count && i < steps_.size(); ++i) {
    if (!prefix.text_.empty()) prefix.text_.push_back('.');
    prefix.text_ += StepText(steps_[i]);
    prefix.steps_.push_back(steps_[i]);
  }
  return prefix;
}

absl::StatusOr<Location> Locate(Message& root, const DocumentPath& path, bool create) {
  Message* current = &root;
  const auto& steps = path.steps();
  for (size_t i = 0; i < steps.size(); ++i) {
    const PathStep& step = steps[i];
    const Reflection* reflection = current->GetReflection();
    const google::protobuf::OneofDescriptor* oneof = step.field->containing_oneof();
    // A oneof member other than the one set is not part of this document (a crisis plan
    // has no care_plan fields), whether reading or writing.
    if (oneof != nullptr) {
      const FieldDescriptor* set = reflection->GetOneofFieldDescriptor(*current, oneof);
      if (set != nullptr && set != step.field) {
        return InvalidFieldError("path", absl::StrCat("\"", path.text(), "\": this document has ",
                                                      set->name(), ", not ", step.field->name()));
      }
    }
    const bool last = i + 1 == steps.size();
    if (step.item_id) {
      const int index = FindItem(*current, step.field, *step.item_id);
      if (index < 0) return absl::NotFoundError(path.Prefix(i + 1).text());
      if (last) return Location{current, step.field, index};
      current = reflection->MutableRepeatedMessage(current, step.field, index);
      continue;
    }
    if (last) return Location{current, step.field, -1};
    if (step.field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      return InvalidFieldError(
          "path", absl::StrCat("\"", path.text(), "\": ", step.field->name(), " has no fields"));
    }
    if (!create && !reflection->HasField(*current, step.field)) {
      // Absent message: nothing below it exists yet.
      return absl::NotFoundError(path.Prefix(i + 1).text());
    }
    current = reflection->MutableMessage(current, step.field);
  }
  return InvalidFieldError("path", "is empty");
}

Value MessageToValue(const Message& message) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json, PrintOptions());
  Value value;
  (void)google::protobuf::util::JsonStringToMessage(json, &value);
  return value;
}

absl::Status MessageFromValue(const Value& value, Message& message) {
  if (value.kind_case() != Value::kStructValue) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a JSON object for ", message.GetDescriptor()->name()));
  }
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(value, &json);
  message.Clear();
  auto status = google::protobuf::util::JsonStringToMessage(json, &message, ParseOptions());
  if (!status.ok()) return ConversionError(status);
  return absl::OkStatus();
}

Value FieldToValue(const Message& holder, const FieldDescriptor* field) {
  const Reflection* reflection = holder.GetReflection();
  const bool present = field->is_repeated()
                           ? reflection->FieldSize(holder, field) > 0
                           : reflection->HasField(holder, field) ||
                                 field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE;
  Value null_value;
  null_value.set_null_value(google::protobuf::NULL_VALUE);
  if (!present) {
    if (field->is_repeated()) {
      Value empty;
      empty.mutable_list_value();
      return empty;
    }
    return null_value;
  }
  // Print the holder with just this field, then take the field back out.
  std::unique_ptr<Message> single(holder.New());
  std::vector<const FieldDescriptor*> fields = {field};
  single->CopyFrom(holder);
  std::vector<const FieldDescriptor*> all;
  reflection->ListFields(*single, &all);
  for (const FieldDescriptor* other : all) {
    if (other != field) single->GetReflection()->ClearField(single.get(), other);
  }
  google::protobuf::util::JsonPrintOptions options = PrintOptions();
  options.always_print_primitive_fields =
      !field->is_repeated() && field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(*single, &json, options);
  google::protobuf::Struct object;
  (void)google::protobuf::util::JsonStringToMessage(json, &object);
  auto found = object.fields().find(field->name());
  if (found == object.fields().end()) return null_value;
  return found->second;
}

absl::Status SetFieldFromValue(Message& holder, const FieldDescriptor* field, const Value& value) {
  const Reflection* reflection = holder.GetReflection();
  if (value.kind_case() == Value::kNullValue || value.kind_case() == Value::KIND_NOT_SET) {
    reflection->ClearField(&holder, field);
    return absl::OkStatus();
  }
  // Parse {"<field>": value} into a scratch message of the holder's type, then move the
  // field over: this gives every type (enums by name, dates, nested messages, lists) the
  // exact proto3 JSON mapping.
  google::protobuf::Struct object;
  (*object.mutable_fields())[field->name()] = value;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(object, &json);
  std::unique_ptr<Message> scratch(holder.New());
  auto status = google::protobuf::util::JsonStringToMessage(json, scratch.get(), ParseOptions());
  if (!status.ok()) return ConversionError(status);
  reflection->ClearField(&holder, field);
  reflection->SwapFields(&holder, scratch.get(), {field});
  return absl::OkStatus();
}

absl::StatusOr<Value> ValueAt(const Message& root, const DocumentPath& path) {
  std::unique_ptr<Message> copy(root.New());
  copy->CopyFrom(root);
  auto location = Locate(*copy, path, /*create=*/false);
  Value null_value;
  null_value.set_null_value(google::protobuf::NULL_VALUE);
  if (!location.ok()) {
    if (location.status().code() == absl::StatusCode::kNotFound) return null_value;
    return location.status();
  }
  if (location->index >= 0) {
    return MessageToValue(location->holder->GetReflection()->GetRepeatedMessage(
        *location->holder, location->field, location->index));
  }
  return FieldToValue(*location->holder, location->field);
}

void MoveLastTo(Message& holder, const FieldDescriptor* field, int index) {
  const Reflection* reflection = holder.GetReflection();
  for (int i = reflection->FieldSize(holder, field) - 1; i > index; --i) {
    reflection->SwapElements(&holder, field, i, i - 1);
  }
}

void RemoveAt(Message& holder, const FieldDescriptor* field, int index) {
  const Reflection* reflection = holder.GetReflection();
  const int size = reflection->FieldSize(holder, field);
  for (int i = index; i + 1 < size; ++i) reflection->SwapElements(&holder, field, i, i + 1);
  reflection->RemoveLast(&holder, field);
}

bool PathCovers(absl::string_view ancestor, absl::string_view path) {
  if (ancestor.empty()) return true;
  if (path.size() < ancestor.size() || path.substr(0, ancestor.size()) != ancestor) return false;
  if (path.size() == ancestor.size()) return true;
  const char next = path[ancestor.size()];
  return next == '.' || next == '[' || next == '@';
}

bool PathsOverlap(absl::string_view a, absl::string_view b) {
  return PathCovers(a, b) || PathCovers(b, a);
}

}  // namespace coplan
