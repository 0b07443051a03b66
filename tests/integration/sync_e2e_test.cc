// The device's one sync stream (SyncService.Sync) over real gRPC: several documents on one
// stream, each target starting from a snapshot or a revision, changes in order; access
// checked per target, and every end of access ending that target alone, within a second,
// while the others flow; sign-out ending the whole stream.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "server/common/ids.h"
#include "server/common/proto_time.h"
#include "tests/support/edit_operations.h"
#include "tests/support/fake_clock.h"
#include "tests/support/records.h"
#include "tests/support/sync_collector.h"
#include "tests/support/test_server.h"

namespace coplan {
namespace {

using ::testing::ElementsAre;
using testing::SyncCollector;
using testing::TestServer;
using testing::TestUser;

absl::StatusOr<v1::EditDocumentResponse> EditTitle(client::remote::RpcClient& client,
                                                   const std::string& doc, int64_t base,
                                                   const std::string& title) {
  v1::EditDocumentRequest request;
  request.set_name(doc);
  request.set_base_revision(base);
  request.set_idempotency_key(NewRandomToken(12));
  *request.add_operations() = testing::SetOp("title", absl::StrCat("\"", title, "\""));
  return client.Call(&v1::EditingService::Stub::EditDocument, request);
}

class SyncTest : public ::testing::Test {
 protected:
  // The periodic re-check is far away (5 minutes): every end below must come from the
  // event or the scheduled instant itself.
  void Start(const Clock* clock = nullptr) {
    TestServer::Options options;
    options.clock = clock;
    options.configure = [](ServerConfig& config) {
      config.watch_access_recheck = absl::Minutes(5);
      config.token_lifetime = absl::Hours(24 * 30);
    };
    server_ = TestServer::Start(options);
    alex_ = server_->CreateUser("Alex", {.birth_date = testing::Date(2009, 3, 14)});
    jordan_ = server_->CreateUser("Jordan");
    for (int i = 0; i < 3; ++i) plans_.push_back(testing::CreateCrisisPlan(alex_).name());
  }

  // Declared before the server, so that it outlives it: the server reads it until it stops.
  testing::FakeClock clock_{absl::Now()};
  std::unique_ptr<TestServer> server_;
  TestUser alex_, jordan_;
  std::vector<std::string> plans_;
};

TEST_F(SyncTest, OneStreamFollowsSeveralDocumentsEachInOrder) {
  Start();
  SyncCollector sync(*alex_.client);
  ASSERT_TRUE(sync.Add(1, plans_[0]));
  ASSERT_TRUE(sync.Add(2, plans_[1]));
  ASSERT_TRUE(sync.WaitForRevision(1, 1));
  ASSERT_TRUE(sync.WaitForRevision(2, 1));
  // The third starts after a revision the device already has.
  ASSERT_TRUE(EditTitle(*alex_.client, plans_[2], 1, "two").ok());
  ASSERT_TRUE(sync.Add(3, plans_[2], /*resume_after=*/1));
  ASSERT_TRUE(sync.WaitForRevision(3, 2));
  int64_t revision[3] = {1, 1, 2};
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 3; ++i) {
      auto edited = EditTitle(*alex_.client, plans_[i], revision[i], absl::StrCat("r", round));
      ASSERT_TRUE(edited.ok()) << edited.status();
      revision[i] = edited->revision();
    }
  }
  ASSERT_TRUE(sync.WaitForRevision(1, 4));
  ASSERT_TRUE(sync.WaitForRevision(2, 4));
  ASSERT_TRUE(sync.WaitForRevision(3, 5));
  EXPECT_THAT(sync.changes(1), ElementsAre(2, 3, 4));
  EXPECT_THAT(sync.changes(2), ElementsAre(2, 3, 4));
  EXPECT_THAT(sync.changes(3), ElementsAre(2, 3, 4, 5));
  // Targets 1 and 2 began with a snapshot; 3 did not.
  int snapshots[4] = {0, 0, 0, 0};
  for (const auto& response : sync.responses()) {
    if (response.event().has_snapshot()) ++snapshots[response.target_id()];
  }
  EXPECT_EQ(snapshots[1], 1);
  EXPECT_EQ(snapshots[2], 1);
  EXPECT_EQ(snapshots[3], 0);
  // Each target began by saying how it starts: what revision makes the copy current.
  std::map<int, v1::SyncResponse> first;
  for (const auto& response : sync.responses()) first.emplace(response.target_id(), response);
  for (int target = 1; target <= 3; ++target) {
    ASSERT_TRUE(first[target].has_started()) << target;
    EXPECT_FALSE(first[target].started().has_access_end_time()) << target;
  }
  EXPECT_EQ(first[1].started().current_revision(), 1);
  EXPECT_EQ(first[3].started().current_revision(), 2);
  // A removed target hears nothing more; the others go on.
  ASSERT_TRUE(sync.Remove(2));
  absl::SleepFor(absl::Milliseconds(300));  // the removal is handled before the edits below
  ASSERT_TRUE(EditTitle(*alex_.client, plans_[1], revision[1], "after removal").ok());
  ASSERT_TRUE(EditTitle(*alex_.client, plans_[0], revision[0], "still here").ok());
  ASSERT_TRUE(sync.WaitForRevision(1, 5));
  EXPECT_EQ(sync.last_revision(2), 4);
  EXPECT_FALSE(sync.target_end(2).has_value());
}

TEST_F(SyncTest, ATargetWithoutAccessEndsLikeAMissingDocumentAndTheOthersGoOn) {
  Start();
  testing::Grant(alex_, jordan_, plans_[0], v1::ACCESS_LEVEL_READ);
  SyncCollector sync(*jordan_.client);
  ASSERT_TRUE(sync.Add(1, plans_[0]));
  ASSERT_TRUE(sync.Add(2, plans_[1]));                           // not shared
  ASSERT_TRUE(sync.Add(3, alex_.name + "/plans/no-such-plan"));  // does not exist
  ASSERT_TRUE(sync.Add(4, "not a name"));                        // malformed
  ASSERT_TRUE(sync.WaitForTargetEnd(2));
  ASSERT_TRUE(sync.WaitForTargetEnd(3));
  ASSERT_TRUE(sync.WaitForTargetEnd(4));
  const auto unshared = *sync.target_end(2), missing = *sync.target_end(3);
  EXPECT_EQ(unshared.code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(missing.code(), grpc::StatusCode::NOT_FOUND);
  // The same words, but for the name asked about.
  EXPECT_EQ(unshared.message().substr(0, unshared.message().rfind(':')),
            missing.message().substr(0, missing.message().rfind(':')));
  EXPECT_EQ(unshared.details_size(), missing.details_size());
  EXPECT_EQ(sync.target_end(4)->code(), grpc::StatusCode::INVALID_ARGUMENT);
  // The shared one flows.
  ASSERT_TRUE(sync.WaitForRevision(1, 1));
  ASSERT_TRUE(EditTitle(*alex_.client, plans_[0], 1, "shared change").ok());
  ASSERT_TRUE(sync.WaitForRevision(1, 2));
  EXPECT_TRUE(sync.status().ok());
}

TEST_F(SyncTest, RevokingOneGrantEndsThatTargetWithinASecondWhileTwoKeepFlowing) {
  Start();
  std::vector<std::string> grants;
  for (const auto& plan : plans_)
    grants.push_back(testing::Grant(alex_, jordan_, plan, v1::ACCESS_LEVEL_READ));
  SyncCollector sync(*jordan_.client);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(sync.Add(i + 1, plans_[i]));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(sync.WaitForRevision(i + 1, 1));

  v1::RevokeGrantRequest revoke;
  revoke.set_name(grants[1]);
  const absl::Time revoked = absl::Now();
  ASSERT_TRUE(alex_.client->Call(&v1::PeopleService::Stub::RevokeGrant, revoke).ok());
  ASSERT_TRUE(sync.WaitForTargetEnd(2, absl::Seconds(1)));
  EXPECT_LT(absl::Now() - revoked, absl::Seconds(1));
  EXPECT_EQ(sync.target_end(2)->code(), grpc::StatusCode::NOT_FOUND);
  // The other two keep flowing on the same stream; the revoked one hears nothing more.
  ASSERT_TRUE(EditTitle(*alex_.client, plans_[0], 1, "a").ok());
  ASSERT_TRUE(EditTitle(*alex_.client, plans_[1], 1, "b").ok());
  ASSERT_TRUE(EditTitle(*alex_.client, plans_[2], 1, "c").ok());
  ASSERT_TRUE(sync.WaitForRevision(1, 2));
  ASSERT_TRUE(sync.WaitForRevision(3, 2));
  EXPECT_TRUE(sync.changes(2).empty());
  EXPECT_TRUE(sync.status().ok());
  EXPECT_FALSE(sync.target_end(1).has_value());
}

TEST_F(SyncTest, AGrantsExpiryEndsItsTargetAtThatInstantNotAtTheNextRecheck) {
  Start(&clock_);
  const absl::Time expiry = clock_.Now() + absl::Hours(1);
  testing::Grant(alex_, jordan_, plans_[0], v1::ACCESS_LEVEL_READ, expiry);
  testing::Grant(alex_, jordan_, plans_[1], v1::ACCESS_LEVEL_READ);
  SyncCollector sync(*jordan_.client);
  ASSERT_TRUE(sync.Add(1, plans_[0]));
  ASSERT_TRUE(sync.Add(2, plans_[1]));
  ASSERT_TRUE(sync.WaitForRevision(1, 1));
  ASSERT_TRUE(sync.WaitForRevision(2, 1));
  clock_.Set(expiry - absl::Seconds(1));
  ASSERT_FALSE(sync.WaitForTargetEnd(1, absl::Milliseconds(600)));
  clock_.Set(expiry);
  const absl::Time moved = absl::Now();
  ASSERT_TRUE(sync.WaitForTargetEnd(1, absl::Seconds(1)));
  EXPECT_LT(absl::Now() - moved, absl::Seconds(1));
  EXPECT_EQ(sync.target_end(1)->code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(EditTitle(*alex_.client, plans_[1], 1, "still shared").ok());
  ASSERT_TRUE(sync.WaitForRevision(2, 2));
}

TEST_F(SyncTest, ANewlyWithheldPartReplacesTheReadersCopyAndATimedGrantSaysWhenItEnds) {
  Start();
  const absl::Time expiry = absl::Now() + absl::Hours(48);
  testing::Grant(alex_, jordan_, plans_[0], v1::ACCESS_LEVEL_READ, expiry);
  SyncCollector sync(*jordan_.client);
  ASSERT_TRUE(sync.Add(1, plans_[0]));
  ASSERT_TRUE(sync.WaitForRevision(1, 1));
  // First how the target starts (the revision that makes the copy current, and when the
  // access ends), then the snapshot (with the warning sign).
  auto responses = sync.responses();
  ASSERT_GE(responses.size(), 2u);
  ASSERT_TRUE(responses[0].has_started());
  EXPECT_EQ(responses[0].started().current_revision(), 1);
  EXPECT_EQ(responses[0].started().access_end_time().seconds(), absl::ToUnixSeconds(expiry));
  ASSERT_TRUE(responses[1].event().has_snapshot());
  EXPECT_EQ(responses[1].event().snapshot().plan().crisis_plan().warning_signs_size(), 1);

  // Alex withholds the warning signs from Jordan: the redacted change cannot say what is
  // now hidden, so a snapshot without them follows it.
  auto withhold =
      testing::SetOp("withholdings",
                     absl::StrCat(R"([{"paths": ["crisis_plan.warning_signs"], "withheldFrom": [")",
                                  jordan_.name, R"("]}])"));
  v1::EditDocumentRequest edit;
  edit.set_name(plans_[0]);
  edit.set_base_revision(1);
  edit.set_idempotency_key(NewRandomToken(12));
  *edit.add_operations() = withhold;
  ASSERT_TRUE(alex_.client->Call(&v1::EditingService::Stub::EditDocument, edit).ok());
  ASSERT_TRUE(sync.WaitForRevision(1, 2));
  absl::SleepFor(absl::Milliseconds(300));  // the snapshot follows the change
  bool replaced = false;
  for (const auto& response : sync.responses()) {
    if (response.event().has_snapshot() && response.event().snapshot().plan().revision() == 2) {
      replaced = true;
      EXPECT_EQ(response.event().snapshot().plan().crisis_plan().warning_signs_size(), 0);
      EXPECT_EQ(response.event().snapshot().plan().withholdings_size(), 0);
    }
  }
  EXPECT_TRUE(replaced);
}

TEST_F(SyncTest, SigningOutEndsTheWholeStream) {
  Start();
  auto device = server_->SignInAs(alex_.id);
  SyncCollector sync(*device);
  ASSERT_TRUE(sync.Add(1, plans_[0]));
  ASSERT_TRUE(sync.Add(2, plans_[1]));
  ASSERT_TRUE(sync.WaitForRevision(2, 1));
  ASSERT_TRUE(device->Call(&v1::AuthService::Stub::SignOut, v1::SignOutRequest()).ok());
  ASSERT_TRUE(sync.WaitForEnd(absl::Seconds(2)));
  EXPECT_EQ(sync.status().error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(SyncTest, MisusingTheProtocolEndsTheStreamNamingTheField) {
  Start();
  SyncCollector sync(*alex_.client);
  ASSERT_TRUE(sync.Add(1, plans_[0]));
  ASSERT_TRUE(sync.WaitForRevision(1, 1));
  ASSERT_TRUE(sync.Add(1, plans_[1]));  // the id is live
  ASSERT_TRUE(sync.WaitForEnd());
  ASSERT_EQ(sync.status().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(sync.status().error_message(), ::testing::HasSubstr("target 1 is already followed"));
  auto status = client::remote::FromGrpcStatus(sync.status());
  auto bad = client::remote::ErrorDetail<google::rpc::BadRequest>(status);
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->field_violations(0).field(), "add_target.target_id");

  SyncCollector zero(*alex_.client);
  ASSERT_TRUE(zero.Add(0, plans_[0]));
  ASSERT_TRUE(zero.WaitForEnd());
  EXPECT_EQ(zero.status().error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  SyncCollector anonymous(*server_->NewClient());
  ASSERT_TRUE(anonymous.WaitForEnd());
  EXPECT_EQ(anonymous.status().error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace coplan
