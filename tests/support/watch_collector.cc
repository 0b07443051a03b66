#include "tests/support/watch_collector.h"

#include <thread>

namespace coplan::testing {

WatchCollector::WatchCollector(coplan::client::remote::RpcClient& client,
                               const std::string& document, int64_t resume_after, bool editing,
                               bool read) {
  client::remote::WatchReaderOptions options;
  options.document = document;
  options.resume_after_revision = resume_after;
  options.editing = editing;
  options.read = read;
  options.on_event = [this](const v1::WatchEvent& event) {
    absl::MutexLock lock(&mutex_);
    events_.push_back(event);
  };
  options.on_end = [this](const grpc::Status& status) {
    absl::MutexLock lock(&mutex_);
    status_ = status;
    done_ = true;
  };
  reader_ = std::make_unique<client::remote::WatchReader>(&client.stub<v1::EditingService::Stub>(),
                                                          "Bearer " + client.token(), options);
  reader_->Start();
}

WatchCollector::~WatchCollector() {
  reader_->Cancel();
  WaitForEnd(absl::Seconds(30));
  // on_end has run; wait until the reader has returned from it too.
  while (!reader_->finished()) std::this_thread::yield();
}

bool WatchCollector::WaitForRevision(int64_t revision, absl::Duration timeout) {
  return WaitFor(
      [&](const std::vector<v1::WatchEvent>&) { return reader_->last_revision() >= revision; },
      timeout);
}

bool WatchCollector::WaitForEnd(absl::Duration timeout) {
  absl::MutexLock lock(&mutex_);
  return mutex_.AwaitWithTimeout(absl::Condition(&done_), timeout);
}

std::vector<v1::WatchEvent> WatchCollector::events() {
  absl::MutexLock lock(&mutex_);
  return events_;
}

std::vector<int64_t> WatchCollector::change_revisions() {
  absl::MutexLock lock(&mutex_);
  std::vector<int64_t> out;
  for (const auto& event : events_) {
    if (event.has_change()) out.push_back(event.change().revision());
  }
  return out;
}

grpc::Status WatchCollector::status() {
  absl::MutexLock lock(&mutex_);
  return status_;
}

}  // namespace coplan::testing
