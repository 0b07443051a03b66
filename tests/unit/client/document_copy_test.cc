// The device's copy of a document (client-lib/src/sync/document_copy.cc): changes from the
// sync stream applied with the server's own edit engine, in order or not at all; which
// revisions were the device's own, so that a queued batch is checked only against other
// people's changes; and the view the app sees, with the queued edits on top.
#include "sync/document_copy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coplan/v1/editing_service.pb.h"
#include "server/common/errors.h"
#include "server/common/proto_time.h"
#include "tests/support/edit_operations.h"

namespace coplan::client::sync {
namespace {

using coplan::testing::InsertOp;
using coplan::testing::RemoveOp;
using coplan::testing::SetOp;
using coplan::testing::UpdateOp;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;

constexpr char kName[] = "people/p1/plans/crisis";

// A crisis plan at revision 3 with warning signs w0 and w1.
DocumentCopy CopyAtRevision3() {
  local::StoredDocument stored;
  stored.name = kName;
  stored.revision = 3;
  coplan::v1::Plan* plan = stored.document.mutable_plan();
  plan->set_name(kName);
  plan->set_title("My crisis plan");
  plan->set_revision(3);
  plan->set_etag("etag-3");
  plan->set_last_editor("people/p1");
  for (const char* id : {"w0", "w1"}) {
    auto* sign = plan->mutable_crisis_plan()->add_warning_signs();
    sign->set_id(id);
    sign->set_text(std::string("sign ") + id);
  }
  return DocumentCopy(std::move(stored));
}

coplan::v1::Revision Change(int64_t revision, std::vector<coplan::v1::EditOperation> operations,
                            std::vector<std::string> paths,
                            const std::string& author = "people/clinician") {
  coplan::v1::Revision change;
  change.set_revision(revision);
  change.set_kind(coplan::v1::REVISION_KIND_EDIT);
  change.set_author(author);
  *change.mutable_create_time() = ToTimestamp(absl::FromUnixSeconds(1'800'000'000 + revision));
  for (auto& operation : operations) *change.add_operations() = std::move(operation);
  for (auto& path : paths) change.add_changed_paths(std::move(path));
  return change;
}

std::vector<std::string> Texts(const coplan::v1::Document& document) {
  std::vector<std::string> texts;
  for (const auto& sign : document.plan().crisis_plan().warning_signs()) {
    texts.push_back(sign.id() + "=" + sign.text());
  }
  return texts;
}

coplan::client::v1::PendingBatch Batch(std::vector<coplan::v1::EditOperation> operations) {
  coplan::client::v1::PendingBatch batch;
  batch.set_document(kName);
  for (auto& operation : operations) *batch.add_operations() = std::move(operation);
  return batch;
}

TEST(DocumentCopyTest, AChangeInOrderIsAppliedAsTheServerAppliedIt) {
  DocumentCopy copy = CopyAtRevision3();
  auto applied = copy.ApplyChange(
      Change(4, {UpdateOp("crisis_plan.warning_signs[w1]", R"({"text": "not sleeping"})")},
             {"crisis_plan.warning_signs[w1].text"}));
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, DocumentCopy::Change::kApplied);
  EXPECT_EQ(copy.revision(), 4);
  EXPECT_THAT(Texts(copy.stored().document), ElementsAre("w0=sign w0", "w1=not sleeping"));
  const coplan::v1::Plan& plan = copy.stored().document.plan();
  // The bookkeeping follows the change; the etag is the server's to compute, so none.
  EXPECT_EQ(plan.revision(), 4);
  EXPECT_EQ(plan.last_editor(), "people/clinician");
  EXPECT_EQ(FromTimestamp(plan.update_time()), absl::FromUnixSeconds(1'800'000'004));
  EXPECT_EQ(plan.etag(), "");
  EXPECT_EQ(plan.name(), kName);
}

TEST(DocumentCopyTest, AMissingRevisionIsAGapAndChangesNothing) {
  DocumentCopy copy = CopyAtRevision3();
  const std::string before = copy.stored().document.SerializeAsString();
  auto applied = copy.ApplyChange(Change(5, {SetOp("title", R"("skipped")")}, {"title"}));
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, DocumentCopy::Change::kGap);
  EXPECT_EQ(copy.revision(), 3);
  EXPECT_EQ(copy.stored().document.SerializeAsString(), before);
}

TEST(DocumentCopyTest, AChangeTheCopyAlreadyHasIsKnownAndOnlyItsPathsAreNoted) {
  DocumentCopy copy = CopyAtRevision3();
  const std::string before = copy.stored().document.SerializeAsString();
  auto applied = copy.ApplyChange(Change(3, {SetOp("title", R"("old news")")}, {"title"}));
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, DocumentCopy::Change::kKnown);
  EXPECT_EQ(copy.stored().document.SerializeAsString(), before);
  auto foreign = copy.ForeignChangesSince(2);
  ASSERT_TRUE(foreign.has_value());
  EXPECT_THAT(*foreign, ElementsAre(Field(&PriorChange::path, "title")));
}

TEST(DocumentCopyTest, AnOperationTheEngineRefusesIsAnErrorAndTheCopyStays) {
  DocumentCopy copy = CopyAtRevision3();
  auto applied =
      copy.ApplyChange(Change(4, {UpdateOp("crisis_plan.warning_signs[nope]", R"({"text": "x"})")},
                              {"crisis_plan.warning_signs[nope].text"}));
  EXPECT_FALSE(applied.ok());
  EXPECT_EQ(copy.revision(), 3);
}

TEST(DocumentCopyTest, RebaseChecksSeeOnlyOtherPeoplesChanges) {
  DocumentCopy copy = CopyAtRevision3();
  // The device's own batch became revision 4 (the server answered with the document).
  coplan::v1::Document after_own = copy.stored().document;
  after_own.mutable_plan()->set_title("Mine");
  after_own.mutable_plan()->set_revision(4);
  copy.AcceptOwn(4, {"title"}, after_own);
  // Then someone else changed a warning sign.
  auto applied = copy.ApplyChange(
      Change(5, {UpdateOp("crisis_plan.warning_signs[w0]", R"({"text": "theirs"})")},
             {"crisis_plan.warning_signs[w0].text"}));
  ASSERT_TRUE(applied.ok()) << applied.status();
  ASSERT_EQ(*applied, DocumentCopy::Change::kApplied);
  EXPECT_TRUE(copy.IsOwn(4));
  EXPECT_FALSE(copy.IsOwn(5));
  auto foreign = copy.ForeignChangesSince(3);
  ASSERT_TRUE(foreign.has_value());
  EXPECT_THAT(*foreign,
              ElementsAre(AllOf(Field(&PriorChange::revision, 5),
                                Field(&PriorChange::path, "crisis_plan.warning_signs[w0].text"))));
  EXPECT_EQ(copy.stored().document.plan().title(), "Mine");
}

// BASE_REVISION_TOO_OLD: the server does not merge across that many revisions, and a
// snapshot replaced the copy (its paths are not known here), so what changed since the
// batch's base is found by comparing the copy with the document at that base.
TEST(DocumentCopyTest, ARebaseFromAFarBaseConflictsExactlyWhereTheDocumentChangedSince) {
  DocumentCopy copy = CopyAtRevision3();
  ASSERT_FALSE(copy.ForeignChangesSince(1).has_value());
  coplan::v1::Document base = copy.stored().document;
  base.mutable_plan()->set_revision(1);
  base.mutable_plan()->mutable_crisis_plan()->mutable_warning_signs(1)->set_text("then");

  google::protobuf::RepeatedPtrField<coplan::v1::EditOperation> elsewhere;
  *elsewhere.Add() = UpdateOp("crisis_plan.warning_signs[w0]", R"({"text": "mine"})");
  *elsewhere.Add() = SetOp("title", R"("My plan")");
  EXPECT_TRUE(copy.CheckRebaseFrom(&base, elsewhere).ok());

  google::protobuf::RepeatedPtrField<coplan::v1::EditOperation> same;
  *same.Add() = UpdateOp("crisis_plan.warning_signs[w1]", R"({"text": "mine"})");
  absl::Status conflict = copy.CheckRebaseFrom(&base, same);
  ASSERT_EQ(conflict.code(), absl::StatusCode::kAborted) << conflict;
  coplan::v1::EditConflict detail;
  ASSERT_TRUE(ReadDetail(conflict, detail));
  EXPECT_EQ(detail.path(), "crisis_plan.warning_signs[w1].text");
  EXPECT_EQ(detail.current_value().string_value(), "sign w1");
  EXPECT_EQ(detail.current_revision(), 3);

  // The old base could not be read: every edit is shown to the person as a conflict.
  absl::Status unknown = copy.CheckRebaseFrom(nullptr, elsewhere);
  EXPECT_EQ(unknown.code(), absl::StatusCode::kAborted) << unknown;
  // Checking changes nothing of the copy.
  EXPECT_EQ(copy.stored().document.plan().crisis_plan().warning_signs(0).text(), "sign w0");
}

TEST(DocumentCopyTest, AnOwnBatchAcceptedPastUnknownRevisionsLeavesTheirPathsUnknown) {
  DocumentCopy copy = CopyAtRevision3();
  coplan::v1::Document at_6 = copy.stored().document;
  at_6.mutable_plan()->set_revision(6);
  at_6.mutable_plan()->set_title("Mine at 6");
  copy.AcceptOwn(6, {"title"}, at_6);
  EXPECT_EQ(copy.revision(), 6);
  // Revisions 4 and 5 were someone else's and not seen yet: no rebase decision on guesses.
  EXPECT_FALSE(copy.ForeignChangesSince(3).has_value());
  // The stream brings them (the copy already has their effect): now they are known...
  for (int64_t revision : {4, 5}) {
    auto applied = copy.ApplyChange(Change(revision, {SetOp("crisis_plan.warning_signs", "[]")},
                                           {"crisis_plan.warning_signs"}));
    ASSERT_TRUE(applied.ok());
    EXPECT_EQ(*applied, DocumentCopy::Change::kKnown);
  }
  // ...and the stream's copy of revision 6 does not make the device's own batch foreign.
  auto own_again = copy.ApplyChange(Change(6, {SetOp("title", R"("Mine at 6")")}, {"title"}));
  ASSERT_TRUE(own_again.ok());
  EXPECT_EQ(*own_again, DocumentCopy::Change::kKnown);
  EXPECT_TRUE(copy.IsOwn(6));
  auto foreign = copy.ForeignChangesSince(3);
  ASSERT_TRUE(foreign.has_value());
  EXPECT_THAT(*foreign,
              ElementsAre(Field(&PriorChange::revision, 4), Field(&PriorChange::revision, 5)));
  EXPECT_EQ(copy.stored().document.plan().title(), "Mine at 6");
}

TEST(DocumentCopyTest, PathsKeptInTheCacheRestoreTheSameRebaseKnowledge) {
  DocumentCopy copy = CopyAtRevision3();
  ASSERT_TRUE(copy.ApplyChange(Change(4, {SetOp("title", R"("a")")}, {"title"})).ok());
  coplan::v1::Document at_5 = copy.stored().document;
  at_5.mutable_plan()->set_revision(5);
  copy.AcceptOwn(5, {"crisis_plan.warning_signs"}, at_5);
  const std::vector<local::RevisionPaths> kept = copy.TakeNewPaths();
  EXPECT_THAT(copy.TakeNewPaths(), IsEmpty());  // taken once

  DocumentCopy reopened(copy.stored());
  reopened.LoadPaths(kept);
  EXPECT_TRUE(reopened.IsOwn(5));
  auto foreign = reopened.ForeignChangesSince(3);
  ASSERT_TRUE(foreign.has_value());
  EXPECT_THAT(*foreign, ElementsAre(Field(&PriorChange::path, "title")));
  // Pruned revisions are forgotten: a batch based before them cannot be checked.
  reopened.PrunePaths(4);
  EXPECT_FALSE(reopened.ForeignChangesSince(3).has_value());
  EXPECT_TRUE(reopened.ForeignChangesSince(4).has_value());
}

TEST(DocumentCopyTest, TheViewHasQueuedEditsOnTopAndLeavesOutOneThatNoLongerApplies) {
  DocumentCopy copy = CopyAtRevision3();
  const auto add = Batch({InsertOp("crisis_plan.warning_signs", R"({"id": "w2", "text": "new"})")});
  const auto stale = Batch({UpdateOp("crisis_plan.warning_signs[gone]", R"({"text": "x"})")});
  const auto retitle = Batch({SetOp("title", R"("Offline title")")});
  const coplan::v1::Document view = copy.ViewWith({&add, &stale, &retitle});
  EXPECT_THAT(Texts(view), ElementsAre("w0=sign w0", "w1=sign w1", "w2=new"));
  EXPECT_EQ(view.plan().title(), "Offline title");
  // The server's copy is untouched: the queued edits are not confirmed.
  EXPECT_EQ(copy.stored().document.plan().title(), "My crisis plan");
  EXPECT_EQ(copy.revision(), 3);
  EXPECT_EQ(view.plan().revision(), 3);
}

TEST(DocumentCopyTest, ASnapshotReplacesTheCopyAtItsOwnRevision) {
  DocumentCopy copy = CopyAtRevision3();
  coplan::v1::Document snapshot;
  snapshot.mutable_plan()->set_name(kName);
  snapshot.mutable_plan()->set_revision(9);
  snapshot.mutable_plan()->set_title("From the server");
  copy.Replace(snapshot);
  EXPECT_EQ(copy.revision(), 9);
  EXPECT_EQ(copy.stored().document.plan().title(), "From the server");
  EXPECT_THAT(Texts(copy.stored().document), IsEmpty());
}

}  // namespace
}  // namespace coplan::client::sync
