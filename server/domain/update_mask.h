// Whole-field updates (AIP-134): copies the fields named by an update mask from the
// request's resource onto the stored one, and describes the change for the history.
//
//   COPLAN_ASSIGN_OR_RETURN(MaskedUpdate update,
//       ApplyUpdateMask(stored_plan, request.plan(), request.update_mask(), "plan"));
//   update.operations     set_field operations that redo the update (stored in history)
//   update.changed_paths  the finest paths whose values actually changed
//
// Mask rules: "*" means every editable field; an empty mask means the fields set in the
// request (descending into messages, not into lists); a named field absent from the
// request is cleared. Lists are replaced whole: items keep the ids sent, items without
// one get a new id. Output-only fields, and fields that cannot change once set, are
// INVALID_ARGUMENT.
//
// A mask has at most kMaxUpdateMaskPaths paths of at most kMaxUpdateMaskPathLength
// characters, none named twice or inside another: CheckUpdateMask refuses any other before
// the document is loaded or locked, and the work of ApplyUpdateMask is bounded by them (the
// request is copied once, each field moved once).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coplan/v1/editing.pb.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/message.h"

namespace coplan {

inline constexpr int kMaxUpdateMaskPaths = 100;
inline constexpr size_t kMaxUpdateMaskPathLength = 200;

// INVALID_ARGUMENT naming `update_mask.paths[i]` for a mask past the limits above, or one
// naming a field twice ("goals" and "goals", or "crisis_plan" and "crisis_plan.contacts").
absl::Status CheckUpdateMask(const google::protobuf::FieldMask& mask);

struct MaskedUpdate {
  std::vector<coplan::v1::EditOperation> operations;
  std::vector<std::string> changed_paths;
};

absl::StatusOr<MaskedUpdate> ApplyUpdateMask(google::protobuf::Message& stored,
                                             const google::protobuf::Message& request,
                                             const google::protobuf::FieldMask& mask,
                                             const std::string& request_field);

// Paths (canonical, with [id] selectors) whose values differ between `before` and
// `after`, as finely as list ids allow; a list whose ids or order changed is one path.
std::vector<std::string> ChangedPaths(const google::protobuf::Message& before,
                                      const google::protobuf::Message& after);

// The set_field operations that build `document` from an empty message (creation).
std::vector<coplan::v1::EditOperation> CreationOperations(
    const google::protobuf::Message& document);

}  // namespace coplan
