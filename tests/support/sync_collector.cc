#include "tests/support/sync_collector.h"

namespace coplan::testing {
namespace {

int64_t RevisionOf(const v1::WatchEvent& event) {
  if (event.has_change()) return event.change().revision();
  if (event.has_snapshot()) {
    return event.snapshot().has_plan() ? event.snapshot().plan().revision()
                                       : event.snapshot().decision_record().revision();
  }
  return 0;
}

}  // namespace

SyncCollector::SyncCollector(coplan::client::remote::RpcClient& client)
    : context_(client.NewContext(absl::InfiniteDuration())),
      stub_(v1::SyncService::NewStub(client.channel())) {
  stream_ = stub_->Sync(context_.get());
  reader_ = std::thread([this] { Read(); });
}

SyncCollector::~SyncCollector() {
  Cancel();
  if (reader_.joinable()) reader_.join();
}

bool SyncCollector::Send(const v1::SyncRequest& request) {
  absl::MutexLock lock(&write_mutex_);
  return stream_->Write(request);
}

bool SyncCollector::Add(int target, const std::string& document, int64_t resume_after) {
  v1::SyncRequest request;
  request.mutable_add_target()->set_target_id(target);
  request.mutable_add_target()->set_document(document);
  request.mutable_add_target()->set_resume_after_revision(resume_after);
  return Send(request);
}

bool SyncCollector::Remove(int target) {
  v1::SyncRequest request;
  request.mutable_remove_target()->set_target_id(target);
  return Send(request);
}

void SyncCollector::Cancel() { context_->TryCancel(); }

void SyncCollector::Read() {
  v1::SyncResponse response;
  while (stream_->Read(&response)) {
    absl::MutexLock lock(&mutex_);
    if (response.has_event()) {
      const int64_t revision = RevisionOf(response.event());
      if (revision > 0) last_revision_[response.target_id()] = revision;
    }
    if (response.has_ended()) ended_[response.target_id()] = response.ended().status();
    responses_.push_back(response);
  }
  grpc::Status status = stream_->Finish();
  absl::MutexLock lock(&mutex_);
  status_ = status;
  done_ = true;
}

bool SyncCollector::WaitForRevision(int target, int64_t revision, absl::Duration timeout) {
  return WaitFor(
      [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        auto found = last_revision_.find(target);
        return found != last_revision_.end() && found->second >= revision;
      },
      timeout);
}

bool SyncCollector::WaitForTargetEnd(int target, absl::Duration timeout) {
  return WaitFor([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return ended_.count(target) > 0; },
                 timeout);
}

bool SyncCollector::WaitForTargetStart(int target, absl::Duration timeout) {
  return WaitFor(
      [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return ended_.count(target) > 0 || last_revision_.count(target) > 0;
      },
      timeout);
}

bool SyncCollector::WaitForEnd(absl::Duration timeout) {
  absl::MutexLock lock(&mutex_);
  return mutex_.AwaitWithTimeout(absl::Condition(&done_), timeout);
}

std::vector<int64_t> SyncCollector::changes(int target) {
  absl::MutexLock lock(&mutex_);
  std::vector<int64_t> out;
  for (const auto& response : responses_) {
    if (response.target_id() == target && response.event().has_change()) {
      out.push_back(response.event().change().revision());
    }
  }
  return out;
}

int64_t SyncCollector::last_revision(int target) {
  absl::MutexLock lock(&mutex_);
  auto found = last_revision_.find(target);
  return found == last_revision_.end() ? 0 : found->second;
}

std::optional<google::rpc::Status> SyncCollector::target_end(int target) {
  absl::MutexLock lock(&mutex_);
  auto found = ended_.find(target);
  if (found == ended_.end()) return std::nullopt;
  return found->second;
}

std::vector<v1::SyncResponse> SyncCollector::responses() {
  absl::MutexLock lock(&mutex_);
  return responses_;
}

grpc::Status SyncCollector::status() {
  absl::MutexLock lock(&mutex_);
  return status_;
}

}  // namespace coplan::testing
