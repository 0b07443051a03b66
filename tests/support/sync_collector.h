// A device's sync stream for tests: opens SyncService.Sync, sends requests, and keeps
// every response and the final status for the test to wait on.
//
//   SyncCollector sync(*alex.client);
//   sync.Add(1, "people/alex/plans/crisis-plan");
//   ASSERT_TRUE(sync.WaitForRevision(1, 4));
#pragma once

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coplan/v1/sync_service.grpc.pb.h"
#include "remote/rpc_client.h"

namespace coplan::testing {

class SyncCollector {
 public:
  explicit SyncCollector(coplan::client::remote::RpcClient& client);
  ~SyncCollector();  // cancels and waits

  // AddTarget of a document (resume_after_revision 0: from a snapshot).
  bool Add(int target, const std::string& document, int64_t resume_after = 0);
  bool Remove(int target);
  bool Send(const v1::SyncRequest& request);
  void Cancel();

  // Waits until `predicate()` holds or the stream ends. The predicate runs under the
  // collector's lock: it may read the members, not call the methods below.
  template <typename Predicate>
  bool WaitFor(Predicate predicate, absl::Duration timeout = absl::Seconds(20)) {
    absl::MutexLock lock(&mutex_);
    auto held_or_over = [&]()
                            ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return predicate() || done_; };
    mutex_.AwaitWithTimeout(absl::Condition(&held_or_over), timeout);
    return predicate();
  }
  // The target has had its snapshot or a change of `revision` (or later).
  bool WaitForRevision(int target, int64_t revision, absl::Duration timeout = absl::Seconds(20));
  bool WaitForTargetEnd(int target, absl::Duration timeout = absl::Seconds(20));
  // The target has had its first event, or has ended.
  bool WaitForTargetStart(int target, absl::Duration timeout = absl::Seconds(20));
  bool WaitForEnd(absl::Duration timeout = absl::Seconds(20));

  // What came for a target: its change revisions in order; its end, if it ended.
  std::vector<int64_t> changes(int target);
  int64_t last_revision(int target);
  std::optional<google::rpc::Status> target_end(int target);
  std::vector<v1::SyncResponse> responses();
  grpc::Status status();

 private:
  void Read();

  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<v1::SyncService::Stub> stub_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::SyncRequest, v1::SyncResponse>> stream_;
  absl::Mutex write_mutex_;  // one writer at a time
  std::thread reader_;
  absl::Mutex mutex_;
  std::vector<v1::SyncResponse> responses_ ABSL_GUARDED_BY(mutex_);
  std::map<int, int64_t> last_revision_ ABSL_GUARDED_BY(mutex_);
  std::map<int, google::rpc::Status> ended_ ABSL_GUARDED_BY(mutex_);
  bool done_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace coplan::testing
