// The public client: a thin shell that puts every call onto the core's work queue and
// every answer onto the callback thread. The engine (sync/sync_engine.h) decides.
#include "coplan/client/coplan_client.h"

#include <atomic>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "local/device_cache.h"
#include "remote/api_methods.h"
#include "remote/server_connection.h"
#include "server/common/errors.h"
#include "sync/sync_engine.h"
#include "sync/work_queue.h"

namespace coplan::client {

namespace cv1 = coplan::client::v1;

class CoplanClient::Impl {
 public:
  Impl(ClientOptions options, std::unique_ptr<local::DeviceCache> cache)
      : connection_({.target = options.server,
                     .tls = options.tls,
                     .root_certificates = options.root_certificates,
                     .client_certificate_chain = options.client_certificate_chain,
                     .client_private_key = options.client_private_key,
                     .user_agent = options.user_agent}) {
    sync::EngineEnvironment environment;
    environment.queue = &core_;
    environment.deliver = [this](std::function<void()> task) {
      callbacks_.Enqueue(std::move(task));
    };
    environment.connection = &connection_;
    environment.session_changed = [this](cv1::SessionState state) { SetSession(std::move(state)); };
    environment.options = options;
    engine_ = std::make_unique<sync::SyncEngine>(std::move(environment), std::move(cache));
    if (options.listener) engine_->AddClientListener(NextId(), options.listener);
  }

  ~Impl() { Close(); }

  absl::Status Start() {
    absl::Status started;
    core_.RunSync([&] { started = engine_->Start(); });
    return started;
  }

  void Close() {
    if (closed_.exchange(true)) return;
    core_.RunSync([&] { engine_->Shutdown(); });
    // gRPC calls back into the queue until its calls and the stream are done.
    connection_.WaitForCalls(absl::Seconds(10));
    engine_->WaitForStream();
    core_.Stop();
    engine_.reset();
    callbacks_.Stop();  // runs the callbacks already due, then stops
  }

  // Runs `task` on the core's queue; after Close (or once the device is forgotten),
  // answers `closed` at once instead, on the caller's thread: no callback thread is left.
  void Post(std::function<void(sync::SyncEngine&)> task, std::function<void()> closed) {
    if (closed_.load() || forgotten_.load()) {
      if (closed) closed();
      return;
    }
    core_.Enqueue([this, task = std::move(task)] { task(*engine_); });
  }

  ListenerId NextId() { return next_id_.fetch_add(1); }
  // After ForgetDevice: the cache file is gone, so every later call is refused.
  void MarkForgotten() { forgotten_.store(true); }

  cv1::SessionState session() {
    absl::MutexLock lock(&session_mutex_);
    return session_;
  }
  void SetSession(cv1::SessionState state) {
    absl::MutexLock lock(&session_mutex_);
    session_ = std::move(state);
  }

 private:
  sync::WorkQueue callbacks_;  // declared first: destroyed last
  remote::ServerConnection connection_;
  sync::WorkQueue core_;
  std::unique_ptr<sync::SyncEngine> engine_;
  std::atomic<bool> closed_{false};
  std::atomic<bool> forgotten_{false};
  std::atomic<ListenerId> next_id_{1};
  absl::Mutex session_mutex_;
  cv1::SessionState session_ ABSL_GUARDED_BY(session_mutex_);
};

namespace {

absl::Status Closed() { return absl::CancelledError("the client is closed"); }

}  // namespace

absl::StatusOr<std::unique_ptr<CoplanClient>> CoplanClient::Open(ClientOptions options) {
  if (options.server.empty()) return InvalidFieldError("server", "is required (\"host:port\")");
  if (options.call_deadline <= absl::ZeroDuration()) {
    return InvalidFieldError("call_deadline", "must be positive");
  }
  absl::StatusOr<std::unique_ptr<local::DeviceCache>> cache =
      local::DeviceCache::Open(options.cache_path, options.cache_key);
  if (!cache.ok()) return cache.status();
  auto impl = std::make_unique<Impl>(std::move(options), std::move(*cache));
  if (absl::Status started = impl->Start(); !started.ok()) return started;
  return std::unique_ptr<CoplanClient>(new CoplanClient(std::move(impl)));
}

absl::Status CoplanClient::DestroyCache(const std::string& path) {
  return local::DeviceCache::Destroy(path);
}

const char* CoplanClient::Version() { return "0.2.0"; }

CoplanClient::CoplanClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CoplanClient::~CoplanClient() { Close(); }

void CoplanClient::Close() { impl_->Close(); }

void CoplanClient::SignIn(const std::string& username, const std::string& password,
                          Callback<cv1::SessionState> done) {
  impl_->Post([=](sync::SyncEngine& engine) { engine.SignIn(username, password, done); },
              [done] { done(Closed()); });
}

cv1::SessionState CoplanClient::session() const { return impl_->session(); }

void CoplanClient::SignOut(StatusCallback done) {
  impl_->Post([=](sync::SyncEngine& engine) { engine.SignOut(/*forget_device=*/false, done); },
              [done] { done(Closed()); });
}

void CoplanClient::ForgetDevice(StatusCallback done) {
  Impl* impl = impl_.get();
  impl_->Post(
      [=](sync::SyncEngine& engine) {
        // Refused from here on, before anything else queued after this can run.
        impl->MarkForgotten();
        engine.SignOut(/*forget_device=*/true, done);
      },
      [done] { done(Closed()); });
}

ListenerId CoplanClient::Follow(const std::string& document, DocumentListener listener) {
  const ListenerId id = impl_->NextId();
  impl_->Post([=](sync::SyncEngine& engine) { engine.Follow(id, document, listener); },
              [listener] {
                cv1::DocumentEvent ended;
                ended.mutable_ended()->set_code(static_cast<int>(absl::StatusCode::kCancelled));
                ended.mutable_ended()->set_message("the client is closed");
                listener(ended);
              });
  return id;
}

void CoplanClient::RemoveListener(ListenerId id, std::function<void()> released) {
  impl_->Post([=](sync::SyncEngine& engine) { engine.RemoveListener(id, released); },
              [released] {
                if (released) released();
              });
}

void CoplanClient::Forget(const std::string& document, StatusCallback done) {
  impl_->Post([=](sync::SyncEngine& engine) { engine.Forget(document, done); },
              [done] { done(Closed()); });
}

void CoplanClient::GetDocument(const std::string& document, Callback<cv1::CachedDocument> done) {
  impl_->Post([=](sync::SyncEngine& engine) { engine.GetDocument(document, done); },
              [done] { done(Closed()); });
}

void CoplanClient::GetGridVersion(const std::string& name, Callback<cv1::CachedGridVersion> done) {
  impl_->Post([=](sync::SyncEngine& engine) { engine.GetGridVersion(name, done); },
              [done] { done(Closed()); });
}

void CoplanClient::GetAccessLog(Callback<cv1::CachedAccessLog> done) {
  impl_->Post([=](sync::SyncEngine& engine) { engine.GetAccessLog(done); },
              [done] { done(Closed()); });
}

void CoplanClient::Edit(const cv1::EditRequest& request, Callback<cv1::EditQueued> done) {
  impl_->Post([=](sync::SyncEngine& engine) { engine.Edit(request, done); },
              [done] { done(Closed()); });
}

void CoplanClient::ResolveConflict(const cv1::Resolution& resolution, StatusCallback done) {
  impl_->Post([=](sync::SyncEngine& engine) { engine.ResolveConflict(resolution, done); },
              [done] { done(Closed()); });
}

void CoplanClient::GetPendingState(Callback<cv1::PendingState> done) {
  impl_->Post([=](sync::SyncEngine& engine) { engine.GetPendingState(done); },
              [done] { done(Closed()); });
}

void CoplanClient::Flush(absl::Duration timeout, StatusCallback done) {
  impl_->Post([=](sync::SyncEngine& engine) { engine.Flush(timeout, done); },
              [done] { done(Closed()); });
}

ListenerId CoplanClient::AddClientListener(ClientListener listener) {
  const ListenerId id = impl_->NextId();
  impl_->Post([=](sync::SyncEngine& engine) { engine.AddClientListener(id, listener); }, nullptr);
  return id;
}

void CoplanClient::Call(const std::string& method, const std::string& request,
                        Callback<std::string> done) {
  absl::StatusOr<remote::ApiMethod> found = remote::FindApiMethod(method);
  if (!found.ok()) {
    // Still on the callback thread, never the caller's.
    impl_->Post([done, status = found.status()](
                    sync::SyncEngine& engine) { engine.Deliver([done, status] { done(status); }); },
                [done] { done(Closed()); });
    return;
  }
  impl_->Post(
      [=, method = *found](sync::SyncEngine& engine) { engine.Call(method, request, done); },
      [done] { done(Closed()); });
}

void CoplanClient::CallJson(const std::string& method, const std::string& request_json,
                            Callback<std::string> done) {
  absl::StatusOr<remote::ApiMethod> found = remote::FindApiMethod(method);
  std::string request;
  absl::Status converted = found.status();
  const google::protobuf::Message* prototype = nullptr;
  if (found.ok()) {
    prototype = google::protobuf::MessageFactory::generated_factory()->GetPrototype(found->request);
    std::unique_ptr<google::protobuf::Message> message(prototype->New());
    auto parsed = google::protobuf::util::JsonStringToMessage(request_json, message.get());
    if (!parsed.ok()) {
      converted = InvalidFieldError(
          "request", absl::StrCat("is not a ", found->request->full_name(),
                                  " in proto3 JSON: ", std::string(parsed.message())));
    } else {
      request = message->SerializeAsString();
    }
  }
  if (!converted.ok()) {
    impl_->Post(
        [done, converted](sync::SyncEngine& engine) {
          engine.Deliver([done, converted] { done(converted); });
        },
        [done] { done(Closed()); });
    return;
  }
  const google::protobuf::Descriptor* response_type = found->response;
  auto to_json = [done, response_type](absl::StatusOr<std::string> answer) {
    if (!answer.ok()) {
      done(answer.status());
      return;
    }
    const google::protobuf::Message* response_prototype =
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(response_type);
    std::unique_ptr<google::protobuf::Message> message(response_prototype->New());
    if (!message->ParseFromString(*answer)) {
      done(absl::InternalError("the server's answer does not parse"));
      return;
    }
    std::string json;
    auto printed = google::protobuf::util::MessageToJsonString(*message, &json);
    if (!printed.ok()) {
      done(absl::InternalError(std::string(printed.message())));
      return;
    }
    done(std::move(json));
  };
  impl_->Post(
      [=, method = *found](sync::SyncEngine& engine) { engine.Call(method, request, to_json); },
      [done] { done(Closed()); });
}

void CoplanClient::CountOpenStreams(Callback<int> done) {
  impl_->Post(
      [done](sync::SyncEngine& engine) {
        const int open = engine.open_streams();
        engine.Deliver([done, open] { done(open); });
      },
      [done] { done(Closed()); });
}

}  // namespace coplan::client
