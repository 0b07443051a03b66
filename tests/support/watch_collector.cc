#include "tests/support/watch_collector.h"

namespace coplan::testing {

WatchCollector::WatchCollector(coplan::client::Client& client, const std::string& document,
                               int64_t resume_after, bool editing, bool read) {
  client::remote::WatchReaderOptions options;
  options.document = document;
  options.resume_after_revision = resume_after;
  options.editing = editing;
  options.read = read;
  options.on_event = [this](const v1::WatchEvent& event) {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back(event);
    changed_.notify_all();
  };
  options.on_end = [this](const grpc::Status& status) {
    std::lock_guard<std::mutex> lock(mutex_);
    status_ = status;
    done_ = true;
    changed_.notify_all();
  };
  reader_ = std::make_unique<client::remote::WatchReader>(
      &client.stub<v1::EditingService::Stub>(), "Bearer " + client.token(), options);
  reader_->Start();
}

WatchCollector::~WatchCollector() {
  reader_->Cancel();
  WaitForEnd(absl::Seconds(30));
  // on_end has run; wait until the reader has returned from it too.
  while (!reader_->finished()) std::this_thread::yield();
}

bool WatchCollector::WaitForRevision(int64_t revision, absl::Duration timeout) {
  return WaitFor([&](const std::vector<v1::WatchEvent>&) { return reader_->last_revision() >= revision; },
                 timeout);
}

bool WatchCollector::WaitForEnd(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] { return done_; });
}

std::vector<v1::WatchEvent> WatchCollector::events() {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_;
}

std::vector<int64_t> WatchCollector::change_revisions() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<int64_t> out;
  for (const auto& event : events_) {
    if (event.has_change()) out.push_back(event.change().revision());
  }
  return out;
}

grpc::Status WatchCollector::status() {
  std::lock_guard<std::mutex> lock(mutex_);
  return status_;
}

}  // namespace coplan::testing
