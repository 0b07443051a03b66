#include "server/domain/field_rules.h"

#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "coplan/v1/field_rules.pb.h"
#include "google/api/field_behavior.pb.h"
#include "google/type/date.pb.h"
#include "server/common/errors.h"
#include "server/common/ids.h"
#include "server/common/proto_time.h"
#include "server/common/resource_names.h"
#include "server/domain/document_paths.h"

namespace coplan {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

bool HasBehavior(const FieldDescriptor* field, google::api::FieldBehavior behavior) {
  const auto& options = field->options();
  for (int i = 0; i < options.ExtensionSize(google::api::field_behavior); ++i) {
    if (options.GetExtension(google::api::field_behavior, i) == behavior) return true;
  }
  return false;
}

class Validator {
 public:
  std::vector<FieldViolation> violations;

  void Visit(const google::protobuf::Message& message, const std::string& path) {
    if (message.GetDescriptor() == google::type::Date::descriptor()) {
      auto status = ValidateDate(static_cast<const google::type::Date&>(message), path);
      if (!status.ok()) Add(path, "is not a valid date (a real calendar date, year 1900-2200)");
      return;
    }
    const auto* descriptor = message.GetDescriptor();
    const Reflection* reflection = message.GetReflection();
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const FieldDescriptor* field = descriptor->field(i);
      if (IsOutputOnly(field)) continue;
      const std::string field_path =
          path.empty() ? std::string(field->name()) : absl::StrCat(path, ".", field->name());
      if (field->is_repeated()) {
        Repeated(message, reflection, field, field_path);
      } else {
        Singular(message, reflection, field, field_path);
      }
    }
  }

 private:
  void Add(const std::string& path, std::string description) {
    violations.push_back({path, std::move(description)});
  }

  void Text(const FieldDescriptor* field, absl::string_view value, const std::string& path) {
    const auto& options = field->options();
    const int max_length = options.GetExtension(coplan::v1::max_length);
    const size_t length = CodePointCount(value);
    if (max_length > 0 && length > static_cast<size_t>(max_length)) {
      Add(path,
          absl::StrCat("is ", length, " characters long; at most ", max_length, " are allowed"));
    }
    const std::string& pattern = options.GetExtension(coplan::v1::resource_pattern);
    if (!pattern.empty() && !value.empty()) {
      auto parsed = ParseName(value, pattern, path);
      if (!parsed.ok()) Add(path, absl::StrCat("must be a name like \"", pattern, "\""));
    }
  }

  void Number(const FieldDescriptor* field, int64_t value, const std::string& path) {
    const auto& options = field->options();
    if (!options.HasExtension(coplan::v1::min_value) &&
        !options.HasExtension(coplan::v1::max_value)) {
      return;
    }
    const int64_t min = options.GetExtension(coplan::v1::min_value);
    const int64_t max = options.GetExtension(coplan::v1::max_value);
    if (value < min || value > max) {
      Add(path, absl::StrCat("is ", value, "; it must be from ", min, " to ", max));
    }
  }

  void Enum(const FieldDescriptor* field, int value, const std::string& path) {
    if (field->enum_type()->FindValueByNumber(value) == nullptr) {
      Add(path, absl::StrCat("has no value ", value, " in ", field->enum_type()->name()));
    } else if (value == 0 && IsRequired(field)) {
      Add(path, "is required");
    }
  }

  void Singular(const google::protobuf::Message& message, const Reflection* reflection,
                const FieldDescriptor* field, const std::string& path) {
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING: {
        const std::string value = reflection->GetString(message, field);
        if (value.empty() && IsRequired(field)) {
          Add(path, "is required");
          return;
        }
        Text(field, value, path);
        return;
      }
      case FieldDescriptor::CPPTYPE_INT32:
        Number(field, reflection->GetInt32(message, field), path);
        return;
      case FieldDescriptor::CPPTYPE_INT64:
        Number(field, reflection->GetInt64(message, field), path);
        return;
      case FieldDescriptor::CPPTYPE_ENUM:
        Enum(field, reflection->GetEnumValue(message, field), path);
        return;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (!reflection->HasField(message, field)) {
          if (IsRequired(field)) Add(path, "is required");
          return;
        }
        Visit(reflection->GetMessage(message, field), path);
        return;
      default:
        return;
    }
  }

  void Repeated(const google::protobuf::Message& message, const Reflection* reflection,
                const FieldDescriptor* field, const std::string& path) {
    const int size = reflection->FieldSize(message, field);
    const int max_items = field->options().GetExtension(coplan::v1::max_items);
    if (max_items > 0 && size > max_items) {
      Add(path, absl::StrCat("has ", size, " items; at most ", max_items, " are allowed"));
      return;
    }
    const bool items = IsItemList(field);
    std::set<std::string> ids;
    for (int i = 0; i < size; ++i) {
      const std::string item_path = absl::StrCat(path, "[", i, "]");
      switch (field->cpp_type()) {
        case FieldDescriptor::CPPTYPE_STRING:
          Text(field, reflection->GetRepeatedString(message, field, i), item_path);
          break;
        case FieldDescriptor::CPPTYPE_ENUM:
          Enum(field, reflection->GetRepeatedEnumValue(message, field, i), item_path);
          break;
        case FieldDescriptor::CPPTYPE_MESSAGE: {
          const auto& item = reflection->GetRepeatedMessage(message, field, i);
          if (items) {
            const std::string id = ItemId(item);
            if (!id.empty() && !IsValidItemId(id)) {
              Add(item_path + ".id", "must be 1 to 40 of A-Z, a-z, 0-9, '-' and '_'");
            } else if (!id.empty() && !ids.insert(id).second) {
              Add(item_path + ".id",
                  absl::StrCat("\"", id, "\" is used by another item of the list"));
            }
          }
          Visit(item, item_path);
          break;
        }
        default:
          break;
      }
    }
  }
};

}  // namespace

bool IsOutputOnly(const FieldDescriptor* field) {
  return HasBehavior(field, google::api::OUTPUT_ONLY);
}
bool IsImmutable(const FieldDescriptor* field) {
  return HasBehavior(field, google::api::IMMUTABLE);
}
bool IsRequired(const FieldDescriptor* field) { return HasBehavior(field, google::api::REQUIRED); }

size_t CodePointCount(absl::string_view text) {
  size_t count = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++count;
  }
  return count;
}

absl::Status ValidateFields(const google::protobuf::Message& message, absl::string_view prefix) {
  Validator validator;
  validator.Visit(message, std::string(prefix));
  if (validator.violations.empty()) return absl::OkStatus();
  return InvalidFieldsError(validator.violations);
}

void ClearOutputOnlyFields(google::protobuf::Message& message) {
  const auto* descriptor = message.GetDescriptor();
  const Reflection* reflection = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (IsOutputOnly(field)) {
      reflection->ClearField(&message, field);
      continue;
    }
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      for (int j = 0; j < reflection->FieldSize(message, field); ++j) {
        ClearOutputOnlyFields(*reflection->MutableRepeatedMessage(&message, field, j));
      }
    } else if (reflection->HasField(message, field)) {
      ClearOutputOnlyFields(*reflection->MutableMessage(&message, field));
    }
  }
}

void AssignItemIds(google::protobuf::Message& message) {
  const auto* descriptor = message.GetDescriptor();
  const Reflection* reflection = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || IsOutputOnly(field)) continue;
    if (!field->is_repeated()) {
      if (reflection->HasField(message, field)) {
        AssignItemIds(*reflection->MutableMessage(&message, field));
      }
      continue;
    }
    const int size = reflection->FieldSize(message, field);
    if (IsItemList(field)) {
      std::set<std::string> taken;
      for (int j = 0; j < size; ++j) {
        taken.insert(ItemId(reflection->GetRepeatedMessage(message, field, j)));
      }
      const FieldDescriptor* id_field = field->message_type()->FindFieldByName("id");
      for (int j = 0; j < size; ++j) {
        auto* item = reflection->MutableRepeatedMessage(&message, field, j);
        if (!ItemId(*item).empty()) continue;
        std::string id;
        do {
          id = NewItemId();
        } while (!taken.insert(id).second);
        item->GetReflection()->SetString(item, id_field, id);
      }
    }
    for (int j = 0; j < size; ++j) {
      AssignItemIds(*reflection->MutableRepeatedMessage(&message, field, j));
    }
  }
}

}  // namespace coplan
