// The co-editing engine: applies a batch of structured operations to a document
// (any jointly edited resource message: Plan, DecisionRecord) and decides conflicts.
//
// A batch is made against a base revision. `changes_since_base` lists the paths changed
// by every revision after the base. An operation that writes a path overlapping one of
// them (the same path, an ancestor, or a descendant) was made without seeing that change:
// the batch is rejected with ABORTED and an EditConflict detail carrying the current
// value. Otherwise operations apply in order; any error rejects the whole batch (the
// caller discards the document copy).
//
//   Plan working = current;   // a copy
//   EditorView view{WithholdingWriteRule(current, writer, owner), withheld_from_writer};
//   COPLAN_ASSIGN_OR_RETURN(EditOutcome outcome,
//       ApplyEditBatch(working, request.operations(), changes, current_revision, view));
//   // outcome.applied: the operations with inserted ids filled in, to store and broadcast
//   // outcome.changed_paths: what this revision changed, for later conflict checks
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "coplan/v1/editing.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/repeated_field.h"

namespace coplan {

// A path changed by a revision after the base revision.
struct PriorChange {
  int64_t revision = 0;
  std::string path;
};

struct EditOutcome {
  std::vector<coplan::v1::EditOperation> applied;
  std::vector<std::string> changed_paths;
  std::vector<std::string> inserted_ids;  // one per operation; empty unless it inserted
};

// Returns OK if the caller may change the canonical path, or the error to give.
using WritePermission = std::function<absl::Status(const std::string& path)>;

// What the caller may do and see while editing.
struct EditorView {
  WritePermission may_write;        // empty: anything
  std::vector<std::string> hidden;  // paths withheld from the caller: absent to them
};

enum class EditMode {
  kEdit,    // normal editing: IMMUTABLE fields cannot be set
  kCreate,  // building a document from its creation operations (replay)
};

// Most operations in one batch.
inline constexpr int kMaxOperationsPerBatch = 100;
// Most revisions a batch merges across (from its base to the current revision). The
// changes of each are loaded and checked while the document is locked, so a batch based
// further back is answered BASE_REVISION_TOO_OLD at once: the client rebases it on a
// recent revision (with what it knows changed in between) and sends it again.
inline constexpr int64_t kMaxRevisionsToMergeAcross = 1000;

// Items withheld from the caller behave as if they did not exist (they cannot be named,
// anchored to or seen in a conflict's current value). A document an operation makes
// invalid is described as the caller sees it (ValidateVisible), and refused with
// PERMISSION_DENIED without more when only the parts withheld from them make it so.
absl::StatusOr<EditOutcome> ApplyEditBatch(
    google::protobuf::Message& document,
    const google::protobuf::RepeatedPtrField<coplan::v1::EditOperation>& operations,
    const std::vector<PriorChange>& changes_since_base, int64_t current_revision,
    const EditorView& view, EditMode mode = EditMode::kEdit);

// Applies stored operations again (history replay): no conflicts, every path writable.
absl::Status ReplayOperations(
    google::protobuf::Message& document,
    const google::protobuf::RepeatedPtrField<coplan::v1::EditOperation>& operations,
    EditMode mode = EditMode::kEdit);

// Checks the whole document against the field rules and its message's size limit (the
// option coplan.v1.max_serialized_bytes). `document_field` is the request field holding
// the document ("plan"): violations are named under it. Without one (an edit: paths are
// document paths) the size error names "operations", which made the document too large.
// The size error gives the limit, never the size: that could tell a writer the size of
// parts withheld from them.
absl::Status ValidateDocument(const google::protobuf::Message& document,
                              absl::string_view document_field = "");

// ValidateDocument on the document as a writer sees it: without the `hidden` parts
// (withheld from them), so that no error counts, sizes or positions what they cannot see.
absl::Status ValidateVisible(const google::protobuf::Message& document,
                             const std::vector<std::string>& hidden,
                             absl::string_view document_field = "");

// The size limit of a document message, from its max_serialized_bytes option.
size_t MaxDocumentBytes(const google::protobuf::Descriptor& document);

}  // namespace coplan
