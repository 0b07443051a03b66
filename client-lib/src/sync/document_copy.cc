#include "sync/document_copy.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/common/proto_time.h"
#include "server/domain/decision_rules.h"
#include "server/domain/field_rules.h"
#include "server/domain/plan_rules.h"
#include "server/domain/update_mask.h"

namespace coplan::client::sync {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

const DocumentRules* RulesOf(const coplan::v1::Document& document) {
  static const PlanRules plans;
  static const DecisionRules decisions;
  switch (document.kind_case()) {
    case coplan::v1::Document::kPlan:
      return &plans;
    case coplan::v1::Document::kDecisionRecord:
      return &decisions;
    default:
      return nullptr;
  }
}

// The edit engine works on bodies and clears the bookkeeping fields (the server keeps
// them in the row): put back what the copy had.
void RestoreOutputOnly(const Message& before, Message& after) {
  const Reflection* reflection = after.GetReflection();
  const auto* descriptor = after.GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (!IsOutputOnly(field) || field->is_repeated()) continue;
    if (!before.GetReflection()->HasField(before, field)) {
      reflection->ClearField(&after, field);
      continue;
    }
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_MESSAGE:
        reflection->MutableMessage(&after, field)
            ->CopyFrom(before.GetReflection()->GetMessage(before, field));
        break;
      case FieldDescriptor::CPPTYPE_STRING:
        reflection->SetString(&after, field, before.GetReflection()->GetString(before, field));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        reflection->SetInt64(&after, field, before.GetReflection()->GetInt64(before, field));
        break;
      case FieldDescriptor::CPPTYPE_INT32:
        reflection->SetInt32(&after, field, before.GetReflection()->GetInt32(before, field));
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        reflection->SetBool(&after, field, before.GetReflection()->GetBool(before, field));
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        reflection->SetEnumValue(&after, field,
                                 before.GetReflection()->GetEnumValue(before, field));
        break;
      default:
        break;
    }
  }
}

const FieldDescriptor* FieldNamed(const Message& message, const char* name) {
  return message.GetDescriptor()->FindFieldByName(name);
}

// Applies `operations` to the body of `document` as the server did; the bookkeeping stays.
absl::Status Replay(coplan::v1::Document& document,
                    const google::protobuf::RepeatedPtrField<coplan::v1::EditOperation>& operations,
                    EditMode mode) {
  Message* body = MutableBody(document);
  if (body == nullptr) return absl::FailedPreconditionError("the copy has no document yet");
  std::unique_ptr<Message> working(body->New());
  working->CopyFrom(*body);
  absl::Status applied = ReplayOperations(*working, operations, mode);
  if (!applied.ok()) return applied;
  RestoreOutputOnly(*body, *working);
  body->GetReflection()->Swap(body, working.get());
  return absl::OkStatus();
}

// The computed fields (SURE scores, overdue reviews) as the server would show them today.
void Decorate(coplan::v1::Document& document) {
  const DocumentRules* rules = RulesOf(document);
  if (rules != nullptr) rules->Decorate(*MutableBody(document), TodayInUk(absl::Now()));
}

}  // namespace

Message* MutableBody(coplan::v1::Document& document) {
  switch (document.kind_case()) {
    case coplan::v1::Document::kPlan:
      return document.mutable_plan();
    case coplan::v1::Document::kDecisionRecord:
      return document.mutable_decision_record();
    default:
      return nullptr;
  }
}

const Message* Body(const coplan::v1::Document& document) {
  switch (document.kind_case()) {
    case coplan::v1::Document::kPlan:
      return &document.plan();
    case coplan::v1::Document::kDecisionRecord:
      return &document.decision_record();
    default:
      return nullptr;
  }
}

int64_t RevisionOf(const coplan::v1::Document& document) {
  const Message* body = Body(document);
  if (body == nullptr) return 0;
  const FieldDescriptor* field = FieldNamed(*body, "revision");
  return field == nullptr ? 0 : body->GetReflection()->GetInt64(*body, field);
}

absl::StatusOr<DocumentCopy::Change> DocumentCopy::ApplyChange(const coplan::v1::Revision& change) {
  const int64_t revision = change.revision();
  if (revision <= stored_.revision) {
    if (paths_.count(revision) == 0 && revision > 0) {
      NotePaths(revision, false, {change.changed_paths().begin(), change.changed_paths().end()});
    }
    return Change::kKnown;
  }
  if (revision != stored_.revision + 1 || !has_copy()) return Change::kGap;
  coplan::v1::Document next = stored_.document;
  switch (change.kind()) {
    case coplan::v1::REVISION_KIND_CREATE:
      if (absl::Status done = Replay(next, change.operations(), EditMode::kCreate); !done.ok()) {
        return done;
      }
      break;
    case coplan::v1::REVISION_KIND_DELETE:
    case coplan::v1::REVISION_KIND_UNDELETE: {
      Message* body = MutableBody(next);
      const FieldDescriptor* field = FieldNamed(*body, "delete_time");
      if (field != nullptr) {
        if (change.kind() == coplan::v1::REVISION_KIND_DELETE) {
          body->GetReflection()->MutableMessage(body, field)->CopyFrom(change.create_time());
        } else {
          body->GetReflection()->ClearField(body, field);
        }
      }
      break;
    }
    default:
      if (absl::Status done = Replay(next, change.operations(), EditMode::kEdit); !done.ok()) {
        return done;
      }
  }
  Message* body = MutableBody(next);
  const Reflection* reflection = body->GetReflection();
  if (const FieldDescriptor* field = FieldNamed(*body, "revision")) {
    reflection->SetInt64(body, field, revision);
  }
  if (const FieldDescriptor* field = FieldNamed(*body, "update_time")) {
    reflection->MutableMessage(body, field)->CopyFrom(change.create_time());
  }
  if (const FieldDescriptor* field = FieldNamed(*body, "last_editor")) {
    reflection->SetString(body, field, change.author());
  }
  // The etag is the server's to compute; a copy built here has none rather than a stale one.
  if (const FieldDescriptor* field = FieldNamed(*body, "etag")) reflection->ClearField(body, field);
  Decorate(next);
  stored_.document = std::move(next);
  stored_.revision = revision;
  NotePaths(revision, IsOwn(revision),
            {change.changed_paths().begin(), change.changed_paths().end()});
  return Change::kApplied;
}

void DocumentCopy::Replace(coplan::v1::Document snapshot) {
  stored_.revision = RevisionOf(snapshot);
  stored_.document = std::move(snapshot);
}

void DocumentCopy::AcceptOwn(int64_t revision, const std::vector<std::string>& changed_paths,
                             coplan::v1::Document document) {
  auto known = paths_.find(revision);
  if (known == paths_.end()) {
    NotePaths(revision, true, changed_paths);
  } else if (!known->second.own) {
    known->second.own = true;
    new_paths_.push_back(known->second);
  }
  if (revision > stored_.revision) {
    // Revisions between the copy and this one were someone else's: the sync stream brings
    // their paths; until then ForeignChangesSince does not know them.
    stored_.document = std::move(document);
    stored_.revision = revision;
  }
}

std::optional<std::vector<PriorChange>> DocumentCopy::ForeignChangesSince(int64_t base) const {
  std::vector<PriorChange> out;
  for (int64_t revision = base + 1; revision <= stored_.revision; ++revision) {
    auto found = paths_.find(revision);
    if (found == paths_.end()) return std::nullopt;
    if (found->second.own) continue;
    for (const auto& path : found->second.changed_paths) out.push_back({revision, path});
  }
  return out;
}

absl::Status DocumentCopy::CheckRebaseFrom(
    const coplan::v1::Document* base,
    const google::protobuf::RepeatedPtrField<coplan::v1::EditOperation>& operations) const {
  const google::protobuf::Message* current = Body(stored_.document);
  if (current == nullptr) return absl::FailedPreconditionError("the device has no copy");
  std::vector<PriorChange> changed;
  const google::protobuf::Message* then = base == nullptr ? nullptr : Body(*base);
  if (then != nullptr && then->GetDescriptor() == current->GetDescriptor()) {
    for (std::string& path : ChangedPaths(*then, *current)) {
      changed.push_back({stored_.revision, std::move(path)});
    }
  } else {
    const auto* descriptor = current->GetDescriptor();
    for (int i = 0; i < descriptor->field_count(); ++i) {
      changed.push_back({stored_.revision, std::string(descriptor->field(i)->name())});
    }
  }
  coplan::v1::Document working = stored_.document;
  absl::StatusOr<EditOutcome> check =
      ApplyEditBatch(*MutableBody(working), operations, changed, stored_.revision, EditorView{});
  return check.status();
}

bool DocumentCopy::IsOwn(int64_t revision) const {
  auto found = paths_.find(revision);
  return found != paths_.end() && found->second.own;
}

std::vector<local::RevisionPaths> DocumentCopy::TakeNewPaths() {
  std::vector<local::RevisionPaths> out;
  out.swap(new_paths_);
  return out;
}

void DocumentCopy::LoadPaths(const std::vector<local::RevisionPaths>& paths) {
  for (const auto& entry : paths) paths_[entry.revision] = entry;
}

void DocumentCopy::PrunePaths(int64_t revision) {
  paths_.erase(paths_.begin(), paths_.upper_bound(revision));
}

void DocumentCopy::NotePaths(int64_t revision, bool own, std::vector<std::string> paths) {
  local::RevisionPaths entry{revision, own, std::move(paths)};
  paths_[revision] = entry;
  new_paths_.push_back(std::move(entry));
}

coplan::v1::Document DocumentCopy::ViewWith(
    const std::vector<const coplan::client::v1::PendingBatch*>& batches) const {
  coplan::v1::Document view = stored_.document;
  bool changed = false;
  for (const auto* batch : batches) {
    coplan::v1::Document next = view;
    if (Replay(next, batch->operations(), EditMode::kEdit).ok()) {
      view = std::move(next);
      changed = true;
    }
  }
  if (changed) Decorate(view);
  return view;
}

}  // namespace coplan::client::sync
