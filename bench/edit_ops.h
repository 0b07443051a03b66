// The small edit batches of the edit and fan-out measures.
#pragma once

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "coplan/v1/editing.pb.h"

namespace coplan::bench {

// One small operation, alternating between a warning sign's text (update_item, even
// batches) and the title (set_field, odd batches); the text differs on every batch.
inline v1::EditOperation SmallEdit(int client, int64_t batch, const std::string& item_id) {
  v1::EditOperation op;
  const std::string text = absl::StrFormat("Edited by client %d, batch %d", client, batch);
  if (batch % 2 == 0) {
    auto* update = op.mutable_update_item();
    update->set_item_path(absl::StrCat("crisis_plan.warning_signs[", item_id, "]"));
    (*update->mutable_fields()->mutable_fields())["text"].set_string_value(text);
  } else {
    auto* set = op.mutable_set_field();
    set->set_path("title");
    set->mutable_value()->set_string_value(text);
  }
  return op;
}

}  // namespace coplan::bench
