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

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

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

 private:
  void Run();

  const size_t max_queued_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;  // guarded by mutex_
  bool stopping_ = false;                    // guarded by mutex_
  std::vector<std::thread> threads_;
};

}  // namespace coplan
