// The device's connection (client-lib/src/remote/server_connection.cc) as it is closed:
// nothing of a call outlives WaitForCalls, and gRPC is not shut down and started again
// between one client and the next (gRPC 1.51 aborts on races in that path).
#include "remote/server_connection.h"

#include <grpc/grpc.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>

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

}  // namespace
}  // namespace coplan::client::remote
