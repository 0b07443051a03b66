// A fixed set of threads for blocking work (database calls), fed by a bounded queue.
//
// gRPC callback handlers must not block, so they hand their work to this pool and
// finish the reactor from the worker:
//
//   if (!pool.TrySubmit([=] { reactor->Finish(DoDatabaseWork()); })) {
//     reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server busy"));
//   }
//
// A full queue refuses new work instead of growing without bound.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace coplan {

class WorkerPool {
 public:
  WorkerPool(int threads, int max_queued);
  ~WorkerPool();  // Runs every queued task, then joins.
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when the queue is full or the pool is shutting down; the task is not run.
  bool TrySubmit(std::function<void()> task);
  // Stops accepting work, runs what is queued and joins the threads. Idempotent.
  void Shutdown();

  int queued() const;

  // For the metrics: threads, those running a task, tasks waiting, and tasks refused
  // (queue full or shutting down) since the pool started.
  struct Use {
    int threads = 0;
    int busy = 0;
    int queued = 0;
    uint64_t refused = 0;
  };
  Use use() const;

 private:
  void Run();

  const size_t max_queued_;
  mutable absl::Mutex mutex_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;
  const int thread_count_;
  std::atomic<int> busy_{0};
  std::atomic<uint64_t> refused_{0};
};

}  // namespace coplan
