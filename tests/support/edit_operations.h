// Edit operations for tests, written the way a client sends them: paths and proto3 JSON
// values. Header-only and protobuf-only, so the domain's unit tests can use it too.
//
//   ApplyEditBatch(plan, Batch({SetOp("title", "\"Mine\""),
//                               InsertOp("crisis_plan.warning_signs", R"({"text": "tired"})")}),
//                               ...);
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "coplan/v1/editing.pb.h"
#include "google/protobuf/repeated_field.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace coplan::testing {

inline google::protobuf::Value JsonValue(const std::string& json) {
  google::protobuf::Value value;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &value).ok()) << json;
  return value;
}

inline v1::EditOperation SetOp(const std::string& path, const std::string& json) {
  v1::EditOperation op;
  op.mutable_set_field()->set_path(path);
  *op.mutable_set_field()->mutable_value() = JsonValue(json);
  return op;
}

inline v1::EditOperation InsertOp(const std::string& list, const std::string& item_json,
                                  const std::string& after_id = "") {
  v1::EditOperation op;
  op.mutable_insert_item()->set_list_path(list);
  *op.mutable_insert_item()->mutable_item() = JsonValue(item_json);
  if (!after_id.empty()) op.mutable_insert_item()->mutable_position()->set_after_id(after_id);
  return op;
}

inline v1::EditOperation UpdateOp(const std::string& item, const std::string& fields_json) {
  v1::EditOperation op;
  op.mutable_update_item()->set_item_path(item);
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(
                  fields_json, op.mutable_update_item()->mutable_fields())
                  .ok())
      << fields_json;
  return op;
}

inline v1::EditOperation RemoveOp(const std::string& item) {
  v1::EditOperation op;
  op.mutable_remove_item()->set_item_path(item);
  return op;
}

// Moves `item` before `before_id`, or to the start of its list when that is empty.
inline v1::EditOperation MoveOp(const std::string& item, const std::string& before_id) {
  v1::EditOperation op;
  op.mutable_move_item()->set_item_path(item);
  if (before_id.empty()) {
    op.mutable_move_item()->mutable_position()->set_at_start(true);
  } else {
    op.mutable_move_item()->mutable_position()->set_before_id(before_id);
  }
  return op;
}

inline google::protobuf::RepeatedPtrField<v1::EditOperation> Batch(
    std::initializer_list<v1::EditOperation> ops) {
  google::protobuf::RepeatedPtrField<v1::EditOperation> batch;
  for (const auto& op : ops) *batch.Add() = op;
  return batch;
}

}  // namespace coplan::testing
