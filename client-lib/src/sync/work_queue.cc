#include "sync/work_queue.h"

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace coplan::client::sync {

WorkQueue::WorkQueue() {
  thread_ = std::thread([this] {
    thread_id_ = std::this_thread::get_id();
    Run();
  });
}

WorkQueue::~WorkQueue() { Stop(); }

void WorkQueue::Enqueue(std::function<void()> task) {
  EnqueueAfter(absl::ZeroDuration(), std::move(task));
}

WorkQueue::TaskId WorkQueue::EnqueueAfter(absl::Duration delay, std::function<void()> task) {
  absl::MutexLock lock(&mutex_);
  if (stopping_) return 0;
  const TaskId id = next_id_++;
  const absl::Time due = delay > absl::ZeroDuration() ? absl::Now() + delay : absl::InfinitePast();
  tasks_.emplace(std::make_pair(due, id), std::move(task));
  due_.emplace(id, due);
  return id;
}

void WorkQueue::Cancel(TaskId id) {
  absl::MutexLock lock(&mutex_);
  auto found = due_.find(id);
  if (found == due_.end()) return;
  tasks_.erase({found->second, id});
  due_.erase(found);
}

bool WorkQueue::IsCurrent() const { return std::this_thread::get_id() == thread_id_; }

void WorkQueue::RunSync(std::function<void()> task) {
  absl::Notification done;
  Enqueue([&] {
    task();
    done.Notify();
  });
  // A stopped queue runs nothing: do not wait for ever.
  while (!done.WaitForNotificationWithTimeout(absl::Milliseconds(50))) {
    absl::MutexLock lock(&mutex_);
    if (stopping_ && tasks_.empty()) return;
  }
}

void WorkQueue::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) {
      if (!thread_.joinable()) return;
    }
    stopping_ = true;
    // Delayed tasks will not come due: drop them; what is due now still runs.
    for (auto it = tasks_.begin(); it != tasks_.end();) {
      if (it->first.first > absl::InfinitePast()) {
        due_.erase(it->first.second);
        it = tasks_.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (thread_.joinable()) thread_.join();
}

void WorkQueue::Run() {
  for (;;) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mutex_);
      for (;;) {
        if (!tasks_.empty() && tasks_.begin()->first.first <= absl::Now()) break;
        if (stopping_ && (tasks_.empty() || tasks_.begin()->first.first > absl::Now())) return;
        const absl::Time next =
            tasks_.empty() ? absl::InfiniteFuture() : tasks_.begin()->first.first;
        auto changed = [this, next]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
          return stopping_ || (!tasks_.empty() && tasks_.begin()->first.first < next);
        };
        mutex_.AwaitWithDeadline(absl::Condition(&changed), next);
      }
      auto first = tasks_.begin();
      task = std::move(first->second);
      due_.erase(first->first.second);
      tasks_.erase(first);
    }
    task();
  }
}

}  // namespace coplan::client::sync
