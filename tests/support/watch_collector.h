// Reads a watch stream (client::remote::WatchReader, the project's one watch consumer) and
// keeps every event and the final status, for tests to wait on and inspect.
//
//   WatchCollector watch(*alex.client, "people/alex/plans/crisis-plan");
//   ASSERT_TRUE(watch.WaitForRevision(7));
//   EXPECT_THAT(watch.change_revisions(), ElementsAre(2, 3, 4, 5, 6, 7));
#pragma once

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "remote/rpc_client.h"
#include "remote/watch_reader.h"

namespace coplan::testing {

class WatchCollector {
 public:
  // `read = false` opens the stream without reading it (a stalled reader) until
  // StartReading. The server's end is kept, never resumed.
  WatchCollector(coplan::client::remote::RpcClient& client, const std::string& document,
                 int64_t resume_after = 0, bool editing = false, bool read = true);
  // Cancels and waits for the stream to be over.
  ~WatchCollector();

  void StartReading() { reader_->StartReading(); }
  void Cancel() { reader_->Cancel(); }

  // Waits until `predicate(events)` holds or the stream ends; true if it held.
  template <typename Predicate>
  bool WaitFor(Predicate predicate, absl::Duration timeout = absl::Seconds(20)) {
    absl::MutexLock lock(&mutex_);
    auto held_or_over = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return predicate(events_) || done_;
    };
    mutex_.AwaitWithTimeout(absl::Condition(&held_or_over), timeout);
    return predicate(events_);
  }
  bool WaitForRevision(int64_t revision, absl::Duration timeout = absl::Seconds(20));
  bool WaitForEnd(absl::Duration timeout = absl::Seconds(20));

  std::vector<v1::WatchEvent> events();
  // Revisions of the change events, in the order received.
  std::vector<int64_t> change_revisions();
  grpc::Status status();
  // The revision of the snapshot or the newest change received.
  int64_t last_revision() { return reader_->last_revision(); }

 private:
  absl::Mutex mutex_;
  std::vector<v1::WatchEvent> events_ ABSL_GUARDED_BY(mutex_);
  bool done_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mutex_);
  std::unique_ptr<coplan::client::remote::WatchReader> reader_;
};

}  // namespace coplan::testing
