#include "coplan/client/watch.h"

#include "absl/strings/numbers.h"
#include "google/rpc/error_details.pb.h"

namespace coplan::client {
namespace {

bool Final(absl::StatusCode code) {
  return code == absl::StatusCode::kNotFound || code == absl::StatusCode::kPermissionDenied ||
         code == absl::StatusCode::kUnauthenticated || code == absl::StatusCode::kInvalidArgument ||
         code == absl::StatusCode::kFailedPrecondition;
}

}  // namespace

WatchSubscription::WatchSubscription(Client& client, std::string document, WatchOptions options)
    : client_(client),
      document_(std::move(document)),
      options_(std::move(options)),
      last_revision_(options_.resume_after_revision) {
  thread_ = std::thread([this] { Run(); });
}

WatchSubscription::~WatchSubscription() { Stop(); }

void WatchSubscription::Stop() {
  stopping_ = true;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (current_ != nullptr) current_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

void WatchSubscription::Run() {
  absl::Duration backoff = absl::Milliseconds(50);
  absl::Status end = absl::OkStatus();
  while (!stopping_) {
    auto context = client_.NewContext(absl::InfiniteDuration());
    {
      std::lock_guard<std::mutex> lock(mutex_);
      current_ = context.get();
    }
    if (stopping_) break;
    coplan::v1::WatchDocumentRequest request;
    request.set_name(document_);
    request.set_resume_after_revision(last_revision_.load());
    request.set_editing(options_.editing);
    ++connections_;
    auto reader =
        client_.stub<coplan::v1::EditingService::Stub>().WatchDocument(context.get(), request);
    coplan::v1::WatchEvent event;
    bool received = false;
    while (reader->Read(&event)) {
      received = true;
      if (event.has_snapshot()) {
        last_revision_ = event.snapshot().has_plan()
                             ? event.snapshot().plan().revision()
                             : event.snapshot().decision_record().revision();
      } else if (event.has_change()) {
        // Never deliver a revision twice, even across a resume.
        if (event.change().revision() <= last_revision_.load()) continue;
        last_revision_ = event.change().revision();
      }
      if (options_.on_event) options_.on_event(event);
    }
    absl::Status status = FromGrpcStatus(reader->Finish());
    {
      std::lock_guard<std::mutex> lock(mutex_);
      current_ = nullptr;
    }
    if (stopping_) break;
    if (Final(status.code())) {
      end = status;
      break;
    }
    // The server may say where to resume; our own count is the same or later.
    if (auto info = ErrorDetail<google::rpc::ErrorInfo>(status)) {
      int64_t resume = 0;
      auto found = info->metadata().find("resume_after_revision");
      if (found != info->metadata().end() && absl::SimpleAtoi(found->second, &resume) &&
          resume > last_revision_.load()) {
        last_revision_ = resume;
      }
    }
    if (received) backoff = absl::Milliseconds(50);
    std::this_thread::sleep_for(absl::ToChronoNanoseconds(backoff));
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  if (options_.on_end) options_.on_end(end);
}

}  // namespace coplan::client
