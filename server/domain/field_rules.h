// Checks messages against the rules written in the API itself (coplan/v1/field_rules.proto
// and google.api.field_behavior), by reflection:
//
//   - strings: at most (max_length) code points; REQUIRED ones not empty; fields with a
//     (resource_pattern) hold a well-formed name of that pattern;
//   - repeated fields: at most (max_items); items of a list carry valid, unique ids;
//   - integers within (min_value)..(max_value); enums hold a defined value (REQUIRED
//     ones not the _UNSPECIFIED zero);
//   - google.type.Date fields hold real calendar dates.
//
// Field paths in the errors start with `prefix` and index lists by position, e.g.
// "plan.crisis_plan.warning_signs[3].text".
//
//   COPLAN_RETURN_IF_ERROR(ValidateFields(request.plan(), "plan"));
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace coplan {

absl::Status ValidateFields(const google::protobuf::Message& message, absl::string_view prefix);

// Clears every OUTPUT_ONLY field, at any depth (AIP-203: clients may send them back;
// the server ignores them).
void ClearOutputOnlyFields(google::protobuf::Message& message);

// Gives every list item without an id a new one, unique within its list, at any depth.
void AssignItemIds(google::protobuf::Message& message);

bool IsOutputOnly(const google::protobuf::FieldDescriptor* field);
bool IsImmutable(const google::protobuf::FieldDescriptor* field);
bool IsRequired(const google::protobuf::FieldDescriptor* field);

// Length in Unicode code points of UTF-8 text.
size_t CodePointCount(absl::string_view text);

}  // namespace coplan
