// One document as the device holds it, and the rules for keeping it right: the server's
// copy advanced change by change (with the server's own edit engine, so both sides read
// operations the same way), what each revision after a queued batch's base changed, and
// the view the app sees (the server's copy with the device's queued edits on top).
//
// Pure logic, no I/O: the sync engine stores what changes and talks to the server.
//
//   DocumentCopy copy(stored);
//   if (copy.ApplyChange(change) == DocumentCopy::Change::kGap) ...resume from copy.revision()
//   auto foreign = copy.ForeignChangesSince(batch.base_revision());   // for a rebase check
//   v1::Document view = copy.ViewWith(queued_batches);
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coplan/client/v1/device.pb.h"
#include "coplan/v1/editing.pb.h"
#include "google/protobuf/message.h"
#include "local/device_cache.h"
#include "server/domain/edit_engine.h"

namespace coplan::client::sync {

// The Plan or DecisionRecord inside a Document (nullptr for an empty one).
google::protobuf::Message* MutableBody(coplan::v1::Document& document);
const google::protobuf::Message* Body(const coplan::v1::Document& document);
// The document's own revision field (0 for an empty one).
int64_t RevisionOf(const coplan::v1::Document& document);

class DocumentCopy {
 public:
  enum class Change {
    kApplied,  // the copy moved on by one revision
    kKnown,    // the copy already had it (its paths are noted)
    kGap,      // a revision is missing before it: follow again from revision()
  };

  DocumentCopy() = default;
  explicit DocumentCopy(local::StoredDocument stored) : stored_(std::move(stored)) {}

  const local::StoredDocument& stored() const { return stored_; }
  local::StoredDocument& mutable_stored() { return stored_; }
  const std::string& name() const { return stored_.name; }
  int64_t revision() const { return stored_.revision; }
  bool has_copy() const { return stored_.revision > 0; }

  // A change from the sync stream, in order.
  absl::StatusOr<Change> ApplyChange(const coplan::v1::Revision& change);
  // A snapshot replaces the copy (its revision is the document's own).
  void Replace(coplan::v1::Document snapshot);
  // The server accepted one of the device's batches as `revision`, answering with the
  // document after it.
  void AcceptOwn(int64_t revision, const std::vector<std::string>& changed_paths,
                 coplan::v1::Document document);

  // The paths that revisions after `base` (up to the copy's revision) changed, other than
  // the device's own; nullopt when some of those revisions are not known here.
  std::optional<std::vector<PriorChange>> ForeignChangesSince(int64_t base) const;
  // For a batch the server would not merge across the revisions since its base
  // (BASE_REVISION_TOO_OLD): whether it applies on this copy without touching anything that
  // changed since, found by comparing the copy with `base`, the document at the batch's base
  // as the server gives it (nullptr when it could not be read: then everything counts as
  // changed). OK: the batch may be based on revision(); ABORTED with an EditConflict detail:
  // the person chooses. An own batch accepted in between is not told apart: at worst the
  // person is shown their own earlier words as "theirs".
  absl::Status CheckRebaseFrom(
      const coplan::v1::Document* base,
      const google::protobuf::RepeatedPtrField<coplan::v1::EditOperation>& operations) const;
  // True when `revision` was one of the device's own batches.
  bool IsOwn(int64_t revision) const;
  // Revision paths learnt since the last call, for the cache.
  std::vector<local::RevisionPaths> TakeNewPaths();
  void LoadPaths(const std::vector<local::RevisionPaths>& paths);
  // Forgets the revisions at or before `revision`.
  void PrunePaths(int64_t revision);

  // The server's copy with `batches` (this document's, in order) applied on top; a batch
  // that no longer applies is left out (it stays queued; sending it decides).
  coplan::v1::Document ViewWith(
      const std::vector<const coplan::client::v1::PendingBatch*>& batches) const;

 private:
  void NotePaths(int64_t revision, bool own, std::vector<std::string> paths);

  local::StoredDocument stored_;
  std::map<int64_t, local::RevisionPaths> paths_;
  std::vector<local::RevisionPaths> new_paths_;
};

}  // namespace coplan::client::sync
