#include "server/api/export_handler.h"

#include <algorithm>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/api/call_log.h"
#include "server/api/grpc_status.h"

namespace coplan {
namespace {

constexpr char kExportPersonalData[] = "coplan.v1.ExportService/ExportPersonalData";
// A reader that takes no chunk for this long is let go: each export holds a worker while
// it waits, whatever deadline the client asked for.
constexpr absl::Duration kReaderStallLimit = absl::Seconds(30);

// A personal data export may take longer than other calls (it is many reads and a large
// answer): up to this long, or the client's own deadline when that is sooner.
constexpr absl::Duration kMaxExportTime = absl::Minutes(10);

// The gRPC side of the archive: one write in flight at a time, the worker waiting for it.
// gRPC deletes nothing: the reactor deletes itself when the call is done (OnDone), which
// comes only after Finish, which comes only after the worker is done with it and no write
// is in flight (gRPC allows no Finish during a write).
class ArchiveChunkStream final : public grpc::ServerWriteReactor<v1::ExportChunk> {
 public:
  explicit ArchiveChunkStream(grpc::CallbackServerContext* context) : context_(context) {}

  // Sends one chunk and waits until gRPC has taken it; false when the call has ended
  // (cancelled, or the client went away), or when the reader took nothing for
  // kReaderStallLimit or by `deadline` (the call is then cancelled: a reader that stops
  // reading must not hold a worker).
  bool Send(absl::string_view data, absl::Time deadline) {
    {
      absl::MutexLock lock(&mutex_);
      if (cancelled_) return false;
      writing_ = true;
    }
    // Only this thread touches the chunk, and only between writes.
    chunk_.Clear();
    chunk_.set_data(std::string(data));
    if (first_) {
      chunk_.set_content_type("application/zip");
      chunk_.set_file_name("coplan-records.zip");
      first_ = false;
    }
    // Not under the lock: gRPC may run OnWriteDone on this thread.
    StartWrite(&chunk_);
    absl::MutexLock lock(&mutex_);
    const absl::Condition written(
        +[](ArchiveChunkStream* self)
             ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mutex_) { return !self->writing_; },
        this);
    if (!mutex_.AwaitWithDeadline(written, std::min(deadline, absl::Now() + kReaderStallLimit))) {
      cancelled_ = true;
      context_->TryCancel();  // gRPC then ends the write, with ok = false
      mutex_.Await(written);
    }
    return !cancelled_;
  }
  void End(const absl::Status& status) {
    const grpc::Status result = ToGrpcStatus(status);
    LogCallEnd(kExportPersonalData, result, start_);
    Finish(result);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mutex_);
    if (!ok) cancelled_ = true;
    writing_ = false;
  }
  void OnCancel() override {
    absl::MutexLock lock(&mutex_);
    cancelled_ = true;
  }
  void OnDone() override { delete this; }

 private:
  grpc::CallbackServerContext* const context_;
  const absl::Time start_ = absl::Now();
  v1::ExportChunk chunk_;  // the worker's alone
  bool first_ = true;      // the worker's alone
  absl::Mutex mutex_;
  bool writing_ ABSL_GUARDED_BY(mutex_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace

grpc::ServerUnaryReactor* ExportHandler::ExportFhirBundle(
    grpc::CallbackServerContext* context, const v1::ExportFhirBundleRequest* request,
    v1::FhirBundle* response) {
  return runner_.Run(context, "coplan.v1.ExportService/ExportFhirBundle",
                     [=](const Caller& caller) -> absl::Status {
                       v1::ExportFhirBundleRequest resolved = *request;
                       resolved.set_parent(ResolveMe(request->parent(), caller));
                       resolved.set_document(ResolveMe(request->document(), caller));
                       return Respond(exports_.FhirBundle(caller, resolved), response);
                     });
}

grpc::ServerWriteReactor<v1::ExportChunk>* ExportHandler::ExportPersonalData(
    grpc::CallbackServerContext* context, const v1::ExportPersonalDataRequest* request) {
  auto* stream = new ArchiveChunkStream(context);
  const auto client_deadline = context->deadline();
  runner_.Dispatch(
      context, kExportPersonalData, /*authenticated=*/true,
      [this, stream, request, client_deadline](const Caller& caller) -> absl::Status {
        // Each export holds a worker for as long as its reader takes: only a few at once,
        // so that exports never starve the other calls.
        if (running_exports_.fetch_add(1) >= kMaxConcurrentExports) {
          running_exports_.fetch_sub(1);
          return absl::ResourceExhaustedError(
              "too many personal data exports are running on this server; retry in a minute");
        }
        struct Release {
          std::atomic<int>& count;
          ~Release() { count.fetch_sub(1); }
        } release{running_exports_};
        v1::ExportPersonalDataRequest resolved = *request;
        resolved.set_parent(ResolveMe(request->parent(), caller));
        Caller exporter = caller;
        exporter.deadline = absl::Now() + kMaxExportTime;  // deadlines are real time
        if (client_deadline != std::chrono::system_clock::time_point::max()) {
          exporter.deadline = std::min(exporter.deadline, absl::FromChrono(client_deadline));
        }
        return exports_.PersonalData(
            exporter, resolved, [stream, deadline = exporter.deadline](absl::string_view chunk) {
              return stream->Send(chunk, deadline);
            });
      },
      [stream](const absl::Status& status) { stream->End(status); });
  return stream;
}

grpc::ServerUnaryReactor* ExportHandler::PrintCrisisPlan(grpc::CallbackServerContext* context,
                                                         const v1::PrintCrisisPlanRequest* request,
                                                         v1::PrintedDocument* response) {
  return runner_.Run(context, "coplan.v1.ExportService/PrintCrisisPlan",
                     [=](const Caller& caller) -> absl::Status {
                       v1::PrintCrisisPlanRequest resolved = *request;
                       resolved.set_name(ResolveMe(request->name(), caller));
                       return Respond(exports_.PrintCrisisPlan(caller, resolved), response);
                     });
}

}  // namespace coplan
