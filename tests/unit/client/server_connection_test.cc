// The device's connection (client-lib/src/remote/server_connection.cc) as it is closed:
// nothing of a call outlives WaitForCalls, and gRPC is not shut down and started again
// between one client and the next (gRPC 1.51 aborts on races in that path), and a channel
// freed on one of gRPC's own threads does not take gRPC's callback queue with it.
#include "remote/server_connection.h"

#include <grpc/grpc.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace coplan::client::remote {
namespace {

// Nothing listens on port 1: calls end with UNAVAILABLE without a server.
constexpr char kNowhere[] = "127.0.0.1:1";

TEST(ServerConnectionTest, GrpcStaysInitialisedAfterTheLastConnectionIsGone) {
  {
    ServerConnection connection({.target = kNowhere});
    EXPECT_TRUE(grpc_is_initialized());
  }
  // The next client of the process starts on a running gRPC instead of one shutting down.
  EXPECT_TRUE(grpc_is_initialized());
}

// Set by the destructor of what a call's callback holds, after a pause long enough for
// WaitForCalls to return first if it did not wait for it.
struct ReleaseRecorder {
  std::shared_ptr<std::atomic<bool>> released;
  ~ReleaseRecorder() {
    if (released == nullptr) return;
    absl::SleepFor(absl::Milliseconds(300));
    released->store(true);
  }
};

TEST(ServerConnectionTest, WaitForCallsReturnsOnlyOnceWhatTheCallbackHeldIsReleased) {
  auto connection = std::make_unique<ServerConnection>(ConnectionOptions{.target = kNowhere});
  auto released = std::make_shared<std::atomic<bool>>(false);
  auto answered = std::make_shared<absl::Notification>();
  // Held by the callback only: released when the callback itself is destroyed.
  auto recorder = std::make_shared<ReleaseRecorder>();
  recorder->released = released;
  absl::Status status;
  connection->Call(
      "/coplan.v1.PlanService/ListPlans", "", "", absl::Seconds(5),
      [recorder = std::move(recorder), answered, &status](absl::StatusOr<std::string> answer) {
        status = answer.status();
        answered->Notify();
      });
  ASSERT_TRUE(answered->WaitForNotificationWithTimeout(absl::Seconds(10)));
  connection->CancelAll();
  ASSERT_TRUE(connection->WaitForCalls(absl::Seconds(10)));
  EXPECT_TRUE(released->load()) << "WaitForCalls returned while the call's callback still held "
                                   "what the app gave it";
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  connection.reset();
}

TEST(ServerConnectionTest, ACallAfterCancelAllIsAnsweredCancelledAtOnce) {
  ServerConnection connection({.target = kNowhere});
  connection.CancelAll();
  absl::Status status;
  bool answered = false;
  connection.Call("/coplan.v1.PlanService/ListPlans", "", "", absl::Seconds(5),
                  [&](absl::StatusOr<std::string> answer) {
                    answered = true;
                    status = answer.status();
                  });
  EXPECT_TRUE(answered);  // on the caller's thread, before Call returns
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(connection.WaitForCalls(absl::ZeroDuration()));
}

// What a call of the device's channel holds until its callback has run and been freed.
struct CallState {
  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
};

// The sync stream's context is freed when its call is done, on a gRPC thread, and may hold
// the last reference to its channel. gRPC 1.51 then freed its callback queue under the
// thread still reading it (ASan: double free in grpc_cq_internal_unref), unless something
// else holds that queue.
TEST(ServerConnectionTest, AChannelFreedOnAGrpcThreadLeavesCallbacksWorking) {
  for (int round = 0; round < 3; ++round) {
    auto state = std::make_shared<CallState>();
    std::shared_ptr<grpc::Channel> channel = MakeDeviceChannel({.target = kNowhere});
    auto stub = std::make_unique<grpc::GenericStub>(channel);
    grpc::Slice empty;
    state->request = grpc::ByteBuffer(&empty, 1);
    auto answered = std::make_shared<absl::Notification>();
    auto code = std::make_shared<std::atomic<int>>(-1);
    CallState* started = state.get();
    stub->UnaryCall(&started->context, "/coplan.v1.PlanService/ListPlans", grpc::StubOptions(),
                    &started->request, &started->response,
                    [state = std::move(state), answered, code](grpc::Status status) {
                      code->store(status.error_code());
                      answered->Notify();
                    });
    // From here the call's context holds the channel's last reference.
    stub.reset();
    channel.reset();
    ASSERT_TRUE(answered->WaitForNotificationWithTimeout(absl::Seconds(10)));
    EXPECT_EQ(code->load(), grpc::StatusCode::UNAVAILABLE) << "round " << round;
    // Long enough for the callback, and with it the channel, to be freed on gRPC's thread
    // before the next round's channel exists.
    absl::SleepFor(absl::Milliseconds(300));
  }
}

}  // namespace
}  // namespace coplan::client::remote
