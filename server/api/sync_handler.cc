#include "server/api/sync_handler.h"

#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "server/api/call_log.h"
#include "server/api/grpc_status.h"
#include "server/common/errors.h"
#include "server/common/proto_time.h"
#include "server/common/status_macros.h"

namespace coplan {
namespace {

constexpr char kMethod[] = "coplan.v1.SyncService/Sync";

// One sync stream: the gRPC bidirectional reactor, and the live layer's sink for it.
//
// Reads are one at a time; each request is handled on the worker pool, and the next read
// starts when it is done, so requests apply in order. Writes come from the WatchStream,
// one at a time. The reactor frees itself once gRPC is done with the call and no pool
// job still uses it.
class SyncStreamReactor final : public grpc::ServerBidiReactor<v1::SyncRequest, v1::SyncResponse>,
                                public EventSink {
 public:
  SyncStreamReactor(grpc::CallbackServerContext* context, RpcRunner& runner,
                    DocumentService& documents, WatchHub& hub)
      : context_(context), runner_(runner), documents_(documents), hub_(hub), start_(absl::Now()) {}

  // Authenticates the stream on the pool, then reads the first request.
  void Begin() {
    Hold();
    runner_.Dispatch(
        context_, kMethod, /*authenticated=*/true,
        [this](const Caller& caller) -> absl::Status {
          caller_ = caller;
          caller_.deadline = absl::InfiniteFuture();
          COPLAN_ASSIGN_OR_RETURN(
              stream_, hub_.OpenStream(*this, WatchStream::Kind::kSync, caller.person_id));
          ReadNext();
          return absl::OkStatus();
        },
        [this](const absl::Status& status) {
          if (!status.ok()) Close(status);  // before the stream opened: end the call here
          Release();
        });
  }

  // EventSink.
  void Bind(std::shared_ptr<SinkListener> listener) override {
    bool cancelled;
    {
      absl::MutexLock lock(&mutex_);
      listener_ = listener;
      cancelled = cancelled_;
    }
    if (cancelled) listener->OnCancel();  // held back for the listener
  }

  void Send(const StreamItem& item) override {
    response_.Clear();
    response_.set_target_id(item.target);
    if (item.event != nullptr) {
      *response_.mutable_event() = *item.event;
    } else if (item.target_end != nullptr) {
      *response_.mutable_ended()->mutable_status() = ToRpcStatus(*item.target_end);
    } else if (item.target_start != nullptr) {
      v1::TargetStarted& started = *response_.mutable_started();
      started.set_current_revision(item.target_start->current_revision);
      if (item.target_start->access_end) {
        *started.mutable_access_end_time() = ToTimestamp(*item.target_start->access_end);
      }
    }
    StartWrite(&response_);
  }

  void Close(const absl::Status& status) override {
    const grpc::Status result = ToGrpcStatus(status);
    LogCallEnd(kMethod, result, start_);
    {
      absl::MutexLock ops(&ops_mutex_);
      closing_ = true;  // a read already started may stay outstanding: it ends with the call
    }
    Finish(result);  // last: OnDone (and the reactor's end) may follow at once
  }

  // grpc::ServerBidiReactor.
  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client has finished sending (or gone): the stream ends. Not inline: this may
      // run inside our own StartRead.
      Hold();
      if (!runner_.Submit(kMethod, [this] {
            stream_->End(absl::OkStatus());
            Release();
          })) {
        Release();
      }
      return;
    }
    v1::SyncRequest request = std::move(request_);
    Hold();
    if (!runner_.Submit(kMethod, [this, request = std::move(request)] {
          Handle(request);
          Release();
        })) {
      Release();
      Hold();
      // Not inline, as above; the pool is full, so a thread of our own.
      std::thread([this] {
        stream_->End(absl::UnavailableError("the server is busy; sync again shortly"));
        Release();
      }).detach();
    }
  }

  void OnWriteDone(bool ok) override {
    if (auto bound = listener()) bound->OnWriteDone(ok);
  }

  void OnCancel() override {
    std::shared_ptr<SinkListener> bound;
    {
      absl::MutexLock lock(&mutex_);
      cancelled_ = true;
      bound = listener_;
    }
    if (bound) bound->OnCancel();
  }

  void OnDone() override {
    std::shared_ptr<SinkListener> bound;
    {
      absl::MutexLock lock(&mutex_);
      bound = std::move(listener_);
    }
    if (bound) bound->OnDone();
    bool free_now;
    {
      absl::MutexLock lock(&mutex_);
      done_ = true;
      free_now = jobs_ == 0;
    }
    if (free_now) delete this;
  }

 private:
  std::shared_ptr<SinkListener> listener() {
    absl::MutexLock lock(&mutex_);
    return listener_;
  }

  // A pool job (or the set-up) uses the reactor until it releases it.
  void Hold() {
    absl::MutexLock lock(&mutex_);
    ++jobs_;
  }
  void Release() {
    bool free_now;
    {
      absl::MutexLock lock(&mutex_);
      free_now = --jobs_ == 0 && done_;
    }
    if (free_now) delete this;
  }

  void ReadNext() {
    absl::MutexLock ops(&ops_mutex_);
    if (closing_) return;  // no read may start after Finish
    StartRead(&request_);  // its OnReadDone, even inline, never takes ops_mutex_
  }

  // One request, on the pool; then the next read.
  void Handle(const v1::SyncRequest& request) {
    absl::Status status;
    switch (request.request_case()) {
      case v1::SyncRequest::kAddTarget:
        status = AddTarget(request.add_target());
        break;
      case v1::SyncRequest::kRemoveTarget:
        RemoveTarget(request.remove_target().target_id());
        break;
      case v1::SyncRequest::REQUEST_NOT_SET:
        status = InvalidFieldError("request", "set add_target or remove_target");
        break;
    }
    if (!status.ok()) {
      stream_->End(status);  // the protocol was misused: end the stream, naming the field
      return;
    }
    ReadNext();
  }

  absl::Status AddTarget(const v1::AddTarget& add) {
    const int id = add.target_id();
    if (id < 1) return InvalidFieldError("add_target.target_id", "must be 1 or more");
    auto known = followed_.find(id);
    if (known != followed_.end()) {
      if (!stream_->TargetEnded(id)) {
        return InvalidFieldError("add_target.target_id",
                                 absl::StrCat("target ", id,
                                              " is already followed on this stream; remove it or "
                                              "choose another id"));
      }
      followed_.erase(known);  // it ended: the id is free again
    }
    // What is wrong with this one target ends it alone.
    auto end_target = [&](const absl::Status& why) {
      if (stream_->AddTarget(id, 0)) stream_->EndTarget(id, why);
      return absl::OkStatus();
    };
    if (stream_->target_count() >= SyncHandler::kMaxTargetsPerStream) {
      return end_target(absl::ResourceExhaustedError(absl::StrCat("a sync stream follows at most ",
                                                                  SyncHandler::kMaxTargetsPerStream,
                                                                  " targets; remove one first")));
    }
    if (add.target_case() != v1::AddTarget::kDocument) {
      return end_target(InvalidFieldError("add_target.document", "is required"));
    }
    Caller caller = caller_;
    caller.now = runner_.Now();
    caller.deadline = absl::Now() + absl::Seconds(10);
    const uint64_t access_epoch = hub_.AccessEpoch();  // before the access is checked
    auto start = documents_.StartWatch(caller, ResolveMe(add.document(), caller),
                                       add.resume_after_revision());
    if (!start.ok()) return end_target(start.status());
    WatchTarget target;
    target.name = start->name;
    target.document_key = start->document_key;
    target.reader = caller_;
    target.editing = add.editing() && start->may_edit;  // never for a read-only reader
    target.see_withholdings = start->see_withholdings;
    target.via = start->via;
    target.access_ends = start->access_ends;
    target.current_revision = start->revision;
    target.shown_until = start->shown_until;
    target.access_epoch = access_epoch;
    auto watcher = hub_.Follow(stream_, id, std::move(target), start->start_revision,
                               std::move(start->snapshot));
    if (watcher != nullptr) followed_[id] = std::move(watcher);
    return absl::OkStatus();
  }

  void RemoveTarget(int id) {
    auto known = followed_.find(id);
    if (known == followed_.end()) return;  // unknown or ended: nothing to do
    hub_.Unfollow(known->second);
    followed_.erase(known);
  }

  grpc::CallbackServerContext* const context_;
  RpcRunner& runner_;
  DocumentService& documents_;
  WatchHub& hub_;
  const absl::Time start_;

  // Set by the set-up job before the first read; read by the request jobs after it.
  Caller caller_;
  std::shared_ptr<WatchStream> stream_;
  // Only the one request job running at a time touches these.
  std::map<int, std::shared_ptr<Watcher>> followed_;
  v1::SyncRequest request_;    // the read in flight
  v1::SyncResponse response_;  // the write in flight

  // A read must never start once Finish has been called.
  absl::Mutex ops_mutex_;
  bool closing_ ABSL_GUARDED_BY(ops_mutex_) = false;

  absl::Mutex mutex_;
  std::shared_ptr<SinkListener> listener_ ABSL_GUARDED_BY(mutex_);
  bool cancelled_ ABSL_GUARDED_BY(mutex_) = false;
  bool done_ ABSL_GUARDED_BY(mutex_) = false;
  int jobs_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace

grpc::ServerBidiReactor<v1::SyncRequest, v1::SyncResponse>* SyncHandler::Sync(
    grpc::CallbackServerContext* context) {
  auto* reactor = new SyncStreamReactor(context, runner_, documents_, hub_);
  reactor->Begin();
  return reactor;
}

}  // namespace coplan
