// The client core's one serial work queue: a thread that runs tasks one at a time, in the
// order they were put in (delayed ones when due). Every piece of client state is owned by
// it, so nothing needs a lock but the queue itself; gRPC's threads and the app's threads
// only put tasks in. Firestore's C++ core (util/async_queue.h) is the model.
//
//   WorkQueue queue;
//   queue.Enqueue([&] { engine.HandleEvent(event); });
//   WorkQueue::TaskId retry = queue.EnqueueAfter(absl::Milliseconds(200), [&] { Send(); });
//   queue.Cancel(retry);
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace coplan::client::sync {

class WorkQueue {
 public:
  using TaskId = uint64_t;

  WorkQueue();
  // Stop().
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // From any thread; dropped once the queue has stopped.
  void Enqueue(std::function<void()> task);
  // Runs `task` after `delay` (unless cancelled first).
  TaskId EnqueueAfter(absl::Duration delay, std::function<void()> task);
  // Cancels a delayed task that has not started; no effect otherwise.
  void Cancel(TaskId id);
  // True on the queue's own thread (for checks).
  bool IsCurrent() const;
  // Runs `task` on the queue and waits for it (never from the queue's own thread).
  void RunSync(std::function<void()> task);
  // Runs what is due now, then stops the thread; later tasks are dropped. Idempotent;
  // not from the queue's own thread.
  void Stop();

 private:
  void Run();

  mutable absl::Mutex mutex_;
  // Due time and order of arrival make the key: tasks due together run in order.
  std::map<std::pair<absl::Time, TaskId>, std::function<void()>> tasks_ ABSL_GUARDED_BY(mutex_);
  std::map<TaskId, absl::Time> due_ ABSL_GUARDED_BY(mutex_);
  TaskId next_id_ ABSL_GUARDED_BY(mutex_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
};

}  // namespace coplan::client::sync
