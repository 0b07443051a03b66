// Paths into a jointly edited document, and reading/writing values at them.
//
// A path names fields with dots and list items by their stable id in brackets:
//
//   "title"
//   "care_plan.about_me.what_matters"
//   "care_plan.goals[g-1]"                 the goal with id "g-1"
//   "care_plan.goals[g-1].steps[s-2].text"
//
// Field names are those of the .proto file; lowerCamelCase (JSON) names are accepted
// and canonicalised. Values are google.protobuf.Value in the proto3 JSON mapping, so
// that clients in any language can send them:
//
//   COPLAN_ASSIGN_OR_RETURN(DocumentPath path,
//                           DocumentPath::Parse(*Plan::descriptor(), "care_plan.review_date"));
//   COPLAN_RETURN_IF_ERROR(SetValueAt(plan, path, value));   // {"year":2026,"month":3,"day":1}
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/struct.pb.h"

namespace coplan {

struct PathStep {
  const google::protobuf::FieldDescriptor* field = nullptr;
  // Set when the step selects one item of a repeated message field.
  std::optional<std::string> item_id;
};

class DocumentPath {
 public:
  // INVALID_ARGUMENT (field "path") for unknown fields, bad ids, or a selector on a
  // field that is not a list of items.
  static absl::StatusOr<DocumentPath> Parse(const google::protobuf::Descriptor& root,
                                            absl::string_view text);

  const std::vector<PathStep>& steps() const { return steps_; }
  const PathStep& last() const { return steps_.back(); }
  bool ends_with_item() const { return steps_.back().item_id.has_value(); }
  // The canonical text: proto field names, "[id]" selectors.
  const std::string& text() const { return text_; }
  // This path with one more step.
  DocumentPath Child(const google::protobuf::FieldDescriptor* field,
                     std::optional<std::string> item_id = std::nullopt) const;
  // The first `count` steps.
  DocumentPath Prefix(size_t count) const;

 private:
  std::vector<PathStep> steps_;
  std::string text_;
};

// True for a repeated message field whose items carry a string "id" (a list of items).
bool IsItemList(const google::protobuf::FieldDescriptor* field);
// Index of the item with `id` in the list, or -1.
int FindItem(const google::protobuf::Message& holder, const google::protobuf::FieldDescriptor* list,
             absl::string_view id);
std::string ItemId(const google::protobuf::Message& item);

// Where a path leads within a document.
struct Location {
  google::protobuf::Message* holder = nullptr;  // message holding the last field
  const google::protobuf::FieldDescriptor* field = nullptr;
  int index = -1;  // item index for an item path
};

// Resolves `path` in `root`. With `create`, absent intermediate messages are created.
// A selector that matches no item gives NOT_FOUND whose message is the canonical path
// of the missing item (so callers can tell a removed item from an unknown one).
// Entering a oneof member that is not the one set gives INVALID_ARGUMENT.
absl::StatusOr<Location> Locate(google::protobuf::Message& root, const DocumentPath& path,
                                bool create);

// The value at `path` (null when absent). Items and messages become JSON objects.
absl::StatusOr<google::protobuf::Value> ValueAt(const google::protobuf::Message& root,
                                                const DocumentPath& path);
// Sets the field at location from a JSON value; null clears it.
absl::Status SetFieldFromValue(google::protobuf::Message& holder,
                               const google::protobuf::FieldDescriptor* field,
                               const google::protobuf::Value& value);
// Replaces `message` with the JSON object `value` (unknown keys are errors).
absl::Status MessageFromValue(const google::protobuf::Value& value,
                              google::protobuf::Message& message);
google::protobuf::Value MessageToValue(const google::protobuf::Message& message);
google::protobuf::Value FieldToValue(const google::protobuf::Message& holder,
                                     const google::protobuf::FieldDescriptor* field);

// Moves the last element of a repeated field to `index` (0 <= index <= size-1).
void MoveLastTo(google::protobuf::Message& holder, const google::protobuf::FieldDescriptor* field,
                int index);
// Removes the element at `index` of a repeated field, keeping the order of the rest.
void RemoveAt(google::protobuf::Message& holder, const google::protobuf::FieldDescriptor* field,
              int index);

// True if `ancestor` equals `path` or is an ancestor of it, by whole segments.
bool PathCovers(absl::string_view ancestor, absl::string_view path);
// True if either path covers the other.
bool PathsOverlap(absl::string_view a, absl::string_view b);

}  // namespace coplan
