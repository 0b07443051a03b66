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

// The gRPC side of the archive: one write in flight at a time, the worker waiting for it.
// gRPC deletes nothing: the reactor deletes itself when the call is done (OnDone), which
// comes only after Finish, which comes only after the worker is done with it.
class ArchiveChunkStream final : public grpc::ServerWriteReactor<v1::ExportChunk> {
 public:
  // Sends one chunk and waits until gRPC has taken it; false when the call has ended
  // (cancelled, or the client went away) or the reader has not taken it by the call's
  // deadline (a reader that stops reading must not hold a worker for ever).
  bool Send(absl::string_view data, absl::Time deadline) {
    absl::MutexLock lock(&mutex_);
    if (cancelled_) return false;
    chunk_.Clear();
    chunk_.set_data(std::string(data));
    if (first_) {
      chunk_.set_content_type("application/zip");
      chunk_.set_file_name("coplan-records.zip");
      first_ = false;
    }
    writing_ = true;
    StartWrite(&chunk_);
    const bool taken = mutex_.AwaitWithDeadline(
        absl::Condition(
            +[](ArchiveChunkStream* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mutex_) {
              return !self->writing_ || self->cancelled_;
            },
            this),
        std::min(deadline, absl::Now() + kReaderStallLimit));
    return taken && !cancelled_;
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
  const absl::Time start_ = absl::Now();
  absl::Mutex mutex_;
  v1::ExportChunk chunk_ ABSL_GUARDED_BY(mutex_);
  bool first_ ABSL_GUARDED_BY(mutex_) = true;
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
  auto* stream = new ArchiveChunkStream();
  runner_.Dispatch(
      context, kExportPersonalData, /*authenticated=*/true,
      [this, stream, request](const Caller& caller) -> absl::Status {
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
        return exports_.PersonalData(caller, resolved,
                                     [stream, deadline = caller.deadline](absl::string_view chunk) {
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
