// "Prefer not to share with": the withholdings of a document, enforced for every reader
// and writer other than the person the document is about.
//
//   ApplyWithholdings(plan, "people/mum", /*keep_list=*/false);   // what mum may read
//   WritePermission may_write = WithholdingWriteRule(stored, "people/mum", /*owner=*/false);
//
// A withholding lists edit paths ("care_plan.medication_preferences",
// "crisis_plan.help_contacts[c-1]") and the people they are withheld from. Withheld parts
// are removed from what those people read, and they cannot write them. Only the owner
// sees the list itself or changes it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "coplan/v1/editing.pb.h"
#include "google/protobuf/message.h"
#include "server/domain/edit_engine.h"

namespace coplan {

// Whether the document says that anything is withheld from anyone.
bool HasWithholdings(const google::protobuf::Message& document);

// The withheld paths that apply to `reader` ("people/{id}").
std::vector<std::string> PathsWithheldFrom(const google::protobuf::Message& document,
                                           const std::string& reader);

// Removes the parts at `paths` (fields are cleared, items removed).
void RemovePaths(google::protobuf::Message& document, const std::vector<std::string>& paths);

// Removes what is withheld from `reader`; clears the withholdings list unless `keep_list`.
void ApplyWithholdings(google::protobuf::Message& document, const std::string& reader,
                       bool keep_list);

// An operation of the history as `reader` may see it, given the paths withheld from them
// (and whether they may see the withholdings list): nullopt if it only touches withheld
// parts; otherwise with withheld parts removed from the value it carries, and a position
// anchored to a hidden item re-anchored after the nearest visible item before it in
// `current` (the document exactly as this operation left it), or at the end of the list
// when that is not known (null).
std::optional<coplan::v1::EditOperation> RedactOperation(
    const coplan::v1::EditOperation& operation, const google::protobuf::Descriptor& root,
    const std::vector<std::string>& withheld, bool see_withholdings,
    const google::protobuf::Message* current = nullptr);

// Puts the parts of `stored` that are withheld from a writer into `incoming` (what the
// writer sent back, which lacks them because they never saw them), so that a whole-field
// update neither erases them nor tells the writer they exist. Returns false if `incoming`
// already held something at a withheld path (a value for a withheld field, an item with a
// hidden item's id): the caller must refuse that write whatever the value, or whether it
// matched would tell the writer what is hidden.
[[nodiscard]] bool CarryOverWithheld(const google::protobuf::Message& stored,
                                     google::protobuf::Message& incoming,
                                     const std::vector<std::string>& withheld);

// True when every withheld part has the same value in both documents.
bool WithheldUnchanged(const google::protobuf::Message& before,
                       const google::protobuf::Message& after,
                       const std::vector<std::string>& withheld);

// Puts the stored list of withholdings into `incoming` in place of whatever it holds: a
// writer who may not see the list never saw it, so they cannot change it, and their
// whole-document update must not wipe it.
void KeepWithholdingsList(const google::protobuf::Message& stored,
                          google::protobuf::Message& incoming);

// The write rule for edits and updates by `writer`.
WritePermission WithholdingWriteRule(const google::protobuf::Message& stored,
                                     const std::string& writer, bool owner);

// Checks that every withholding path names a part of the document type.
absl::Status ValidateWithholdingPaths(const google::protobuf::Message& document);

}  // namespace coplan
