// One WatchDocument stream read with gRPC's callback API: no thread of its own (thousands
// of readers share gRPC's few callback threads). It counts gaps and duplicates across the
// whole watch, and optionally resumes by itself when the server ends the stream for a
// passing reason (RESOURCE_EXHAUSTED for a slow reader, UNAVAILABLE), after its last
// revision, with backoff and jitter.
//
// The one watch consumer of the project's tools: the benchmark's fleets of watchers and
// the tests' collectors are both built on it.
//
//   WatchReader reader(stub, "Bearer ...", {.document = name, .on_event = ..., .on_end = ...});
//   reader.Start();
//   ...
//   reader.Cancel();        // on_end(CANCELLED) follows, and no resume
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "coplan/v1/editing_service.grpc.pb.h"

namespace coplan::client::remote {

// Runs functions after a delay, on one thread (the resumes of watch streams).
class DelayedRunner {
 public:
  DelayedRunner();
  // Drops what has not run yet.
  ~DelayedRunner();
  void After(absl::Duration delay, std::function<void()> fn);

 private:
  absl::Mutex mutex_;
  std::multimap<absl::Time, std::function<void()>> due_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

struct WatchReaderOptions {
  std::string document;
  int64_t resume_after_revision = 0;  // 0: start from a snapshot
  bool editing = false;
  // Resume by itself after a passing end, on this runner (no resume when null).
  DelayedRunner* resumer = nullptr;
  // False: the call opens, but nothing is read until StartReading (a stalled reader).
  bool read = true;
  // Every event, in order, on gRPC's threads (one at a time).
  std::function<void(const coplan::v1::WatchEvent&)> on_event;
  // Once, when the watch ends for good (also after Cancel).
  std::function<void(const grpc::Status&)> on_end;
  // Each time a passing end is to be resumed from (after a backoff)...
  std::function<void(const grpc::Status&)> on_resume;
  // ... and when that resume opens the next call.
  std::function<void()> on_reopen;
};

class WatchReader {
 public:
  WatchReader(coplan::v1::EditingService::Stub* stub, std::string authorization,
              WatchReaderOptions options);
  // Must be finished (Cancel, then wait for on_end) before it is destroyed.
  ~WatchReader();
  WatchReader(const WatchReader&) = delete;
  WatchReader& operator=(const WatchReader&) = delete;

  void Start();
  // Starts reading a reader made with `read = false`.
  void StartReading();
  // Ends the watch (CANCELLED); no resume follows.
  void Cancel();

  // True once on_end has returned: from then on the reader may be destroyed.
  bool finished() const { return finished_.load(); }
  bool got_snapshot() const { return got_snapshot_.load(); }
  // The revision of the snapshot or of the newest change read (0 before any).
  int64_t last_revision() const { return last_revision_.load(); }
  int resumes() const { return resumes_.load(); }
  int64_t gaps() const { return gaps_.load(); }
  int64_t duplicates() const { return duplicates_.load(); }
  // Once finished: what ended it.
  grpc::Status status() const;

 private:
  // One WatchDocument call; a resume is a new call (a reactor serves one call).
  class Attempt : public grpc::ClientReadReactor<coplan::v1::WatchEvent> {
   public:
    Attempt(WatchReader* owner, int64_t resume_after);
    void OnReadDone(bool ok) override;
    void OnDone(const grpc::Status& status) override;

    grpc::ClientContext context;
    coplan::v1::WatchDocumentRequest request;
    coplan::v1::WatchEvent event;
    bool reading = false;  // a read was started (the owner's mutex_ guards it)

   private:
    WatchReader* const owner_;
  };

  void Open();
  void Record(const coplan::v1::WatchEvent& event);
  void AttemptDone(Attempt* attempt, const grpc::Status& status);
  void FinishLocked(const grpc::Status& status, std::function<void(const grpc::Status&)>* end)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  coplan::v1::EditingService::Stub* const stub_;
  const std::string authorization_;
  const WatchReaderOptions options_;

  mutable absl::Mutex mutex_;
  // Every attempt is kept until the reader is destroyed, so that Cancel can reach the
  // current one outside the lock (gRPC may finish a call inline in TryCancel).
  std::vector<std::unique_ptr<Attempt>> attempts_ ABSL_GUARDED_BY(mutex_);
  Attempt* current_ ABSL_GUARDED_BY(mutex_) = nullptr;  // null while waiting to resume
  bool cancelled_ ABSL_GUARDED_BY(mutex_) = false;
  bool read_ ABSL_GUARDED_BY(mutex_) = true;
  bool done_ ABSL_GUARDED_BY(mutex_) = false;  // ended for good (on_end is due)
  grpc::Status status_ ABSL_GUARDED_BY(mutex_);

  std::atomic<bool> got_snapshot_{false};
  std::atomic<int64_t> last_revision_{0};
  std::atomic<bool> finished_{false};
  std::atomic<int> resumes_{0};
  std::atomic<int64_t> gaps_{0};
  std::atomic<int64_t> duplicates_{0};
};

}  // namespace coplan::client::remote
