// Helpers for tests of co-editing: building operations, and collecting a watch stream.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "coplan/client/client.h"
#include "coplan/v1/editing_service.grpc.pb.h"
#include "google/protobuf/util/json_util.h"

namespace coplan::testing {

inline google::protobuf::Value JsonValue(const std::string& json) {
  google::protobuf::Value value;
  (void)google::protobuf::util::JsonStringToMessage(json, &value);
  return value;
}

inline v1::EditOperation SetOp(const std::string& path, const std::string& json) {
  v1::EditOperation op;
  op.mutable_set_field()->set_path(path);
  *op.mutable_set_field()->mutable_value() = JsonValue(json);
  return op;
}

inline v1::EditOperation InsertOp(const std::string& list, const std::string& item_json,
                                  const std::string& after_id = "") {
  v1::EditOperation op;
  op.mutable_insert_item()->set_list_path(list);
  *op.mutable_insert_item()->mutable_item() = JsonValue(item_json);
  if (!after_id.empty()) op.mutable_insert_item()->mutable_position()->set_after_id(after_id);
  return op;
}

inline v1::EditOperation UpdateOp(const std::string& item, const std::string& fields_json) {
  v1::EditOperation op;
  op.mutable_update_item()->set_item_path(item);
  (void)google::protobuf::util::JsonStringToMessage(fields_json, op.mutable_update_item()->mutable_fields());
  return op;
}

inline v1::EditOperation RemoveOp(const std::string& item) {
  v1::EditOperation op;
  op.mutable_remove_item()->set_item_path(item);
  return op;
}

inline v1::EditOperation MoveOp(const std::string& item, const std::string& before_id) {
  v1::EditOperation op;
  op.mutable_move_item()->set_item_path(item);
  if (before_id.empty()) {
    op.mutable_move_item()->mutable_position()->set_at_start(true);
  } else {
    op.mutable_move_item()->mutable_position()->set_before_id(before_id);
  }
  return op;
}

// Reads a watch stream on its own thread and keeps every event and the final status.
class WatchCollector {
 public:
  WatchCollector(coplan::client::Client& client, const std::string& document, int64_t resume_after = 0,
                 bool editing = false, bool read = true)
      : context_(client.NewContext(absl::InfiniteDuration())) {
    v1::WatchDocumentRequest request;
    request.set_name(document);
    request.set_resume_after_revision(resume_after);
    request.set_editing(editing);
    reader_ = client.stub<v1::EditingService::Stub>().WatchDocument(context_.get(), request);
    if (read) thread_ = std::thread([this] { Read(); });
  }
  ~WatchCollector() {
    Cancel();
    if (thread_.joinable()) thread_.join();
  }

  // Starts reading (for a collector made with read = false, i.e. a stalled consumer).
  void StartReading() { thread_ = std::thread([this] { Read(); }); }
  void Cancel() { context_->TryCancel(); }

  // Waits until `predicate(events)` holds or the stream ends; true if it held.
  template <typename Predicate>
  bool WaitFor(Predicate predicate, absl::Duration timeout = absl::Seconds(20)) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                             [&] { return predicate(events_) || done_; }) &&
           predicate(events_);
  }
  bool WaitForRevision(int64_t revision, absl::Duration timeout = absl::Seconds(20)) {
    return WaitFor([&](const std::vector<v1::WatchEvent>&) { return last_revision_ >= revision; },
                   timeout);
  }
  bool WaitForEnd(absl::Duration timeout = absl::Seconds(20)) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] { return done_; });
  }

  std::vector<v1::WatchEvent> events() {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_;
  }
  // Revisions of the change events, in the order received.
  std::vector<int64_t> change_revisions() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<int64_t> out;
    for (const auto& event : events_) {
      if (event.has_change()) out.push_back(event.change().revision());
    }
    return out;
  }
  grpc::Status status() {
    std::lock_guard<std::mutex> lock(mutex_);
    return status_;
  }
  int64_t last_revision() {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_revision_;
  }

 private:
  void Read() {
    v1::WatchEvent event;
    while (reader_->Read(&event)) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (event.has_change()) last_revision_ = std::max(last_revision_, event.change().revision());
      if (event.has_snapshot()) {
        last_revision_ = event.snapshot().has_plan() ? event.snapshot().plan().revision()
                                                     : event.snapshot().decision_record().revision();
      }
      events_.push_back(event);
      changed_.notify_all();
    }
    grpc::Status status = reader_->Finish();
    std::lock_guard<std::mutex> lock(mutex_);
    status_ = status;
    done_ = true;
    changed_.notify_all();
  }

  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReader<v1::WatchEvent>> reader_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<v1::WatchEvent> events_;
  int64_t last_revision_ = 0;
  bool done_ = false;
  grpc::Status status_;
};

}  // namespace coplan::testing
