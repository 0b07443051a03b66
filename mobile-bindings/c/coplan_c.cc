// The C ABI (coplan.h) over coplan::client::CoplanClient.
//
// Shape: every entry point is a Guard() that turns a C++ exception into INTERNAL and an
// absl::Status into the int code plus an optional coplan_error*. Callbacks are held by
// shared objects captured in the core's std::functions: a one-shot call (ResultCall,
// StatusCall, CountCall) answers exactly once, and answers CANCELLED from its destructor
// if the core dropped it unanswered (a call racing with Close); a listener only forwards.
// Each owns a Context whose destructor is the app's free_context, so free_context runs
// exactly once, when the last copy held by the core goes away, i.e. when the function
// can no longer be called.
//
// A handle is thread-safe: calls take the handle's lock shared (only to enqueue on the
// core), coplan_close takes it exclusively to mark the handle closed, then closes the core
// without the lock (callbacks still due during Close may call in and get CANCELLED).
#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coplan.h"
#include "coplan/client/coplan_client.h"
#include "coplan/client/v1/device.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/status.pb.h"
#include "remote/api_methods.h"
#include "remote/grpc_status.h"
#include "server/common/errors.h"

namespace cv1 = coplan::client::v1;
using coplan::InvalidFieldError;
using coplan::client::CoplanClient;

struct coplan_client {
  std::unique_ptr<CoplanClient> core;
  int format = COPLAN_FORMAT_PROTOBUF;
  absl::Mutex mutex;
  bool closed ABSL_GUARDED_BY(mutex) = false;
  // coplan_forget_device was called: the core's cache is gone, nothing more may be asked.
  bool forgotten ABSL_GUARDED_BY(mutex) = false;
  // Serialises coplan_close, so that every caller returns only once the core is closed.
  absl::Mutex close_mutex;
};

namespace {

// > 0 while the app's code runs on this thread, called by the library (a callback, a
// listener, a free_context): coplan_close from there would wait for itself.
thread_local int callback_depth = 0;

class CallbackScope {
 public:
  CallbackScope() { ++callback_depth; }
  ~CallbackScope() { --callback_depth; }
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;
};

// --- Errors -------------------------------------------------------------------------------

std::string RpcStatusJson(const google::rpc::Status& status) {
  std::string json;
  if (google::protobuf::util::MessageToJsonString(status, &json).ok()) return json;
  // A detail of a type this library does not know: the code and message still tell.
  google::rpc::Status bare = status;
  bare.clear_details();
  json.clear();
  if (google::protobuf::util::MessageToJsonString(bare, &json).ok()) return json;
  return "{}";
}

// A coplan_error over strings it owns, for the length of a callback.
class ErrorView {
 public:
  explicit ErrorView(const absl::Status& status) : message_(status.message()) {
    const google::rpc::Status rpc = coplan::client::remote::ToRpcStatus(status);
    rpc_status_ = rpc.SerializeAsString();
    rpc_status_json_ = RpcStatusJson(rpc);
    error_.code = static_cast<int>(status.code());
    error_.message = message_.c_str();
    error_.rpc_status = reinterpret_cast<const uint8_t*>(rpc_status_.c_str());
    error_.rpc_status_size = rpc_status_.size();
    error_.rpc_status_json = rpc_status_json_.c_str();
  }
  ErrorView(const ErrorView&) = delete;
  ErrorView& operator=(const ErrorView&) = delete;

  const coplan_error* get() const { return &error_; }

 private:
  std::string message_;
  std::string rpc_status_;
  std::string rpc_status_json_;
  coplan_error error_{};
};

// What a callback gets when even an error cannot be built (memory is exhausted).
const coplan_error kOutOfMemory = {COPLAN_INTERNAL, "coplan: out of memory", nullptr, 0,
                                   "{\"code\":13,\"message\":\"coplan: out of memory\"}"};

// A coplan_error in one malloc block (freed by coplan_error_free): the struct, then the
// message, the serialized status and its JSON, each followed by a NUL.
coplan_error* NewError(const absl::Status& status) noexcept {
  try {
    ErrorView view(status);
    const coplan_error& e = *view.get();
    const size_t message_size = std::strlen(e.message) + 1;
    const size_t json_size = std::strlen(e.rpc_status_json) + 1;
    char* block = static_cast<char*>(
        std::malloc(sizeof(coplan_error) + message_size + e.rpc_status_size + 1 + json_size));
    if (block == nullptr) return nullptr;
    auto* out = reinterpret_cast<coplan_error*>(block);
    char* message = block + sizeof(coplan_error);
    char* rpc_status = message + message_size;
    char* json = rpc_status + e.rpc_status_size + 1;
    std::memcpy(message, e.message, message_size);
    if (e.rpc_status_size > 0) std::memcpy(rpc_status, e.rpc_status, e.rpc_status_size);
    rpc_status[e.rpc_status_size] = '\0';
    std::memcpy(json, e.rpc_status_json, json_size);
    out->code = e.code;
    out->message = message;
    out->rpc_status = reinterpret_cast<const uint8_t*>(rpc_status);
    out->rpc_status_size = e.rpc_status_size;
    out->rpc_status_json = json;
    return out;
  } catch (...) {
    return nullptr;
  }
}

int Report(const absl::Status& status, coplan_error** error) noexcept {
  if (error != nullptr) *error = status.ok() ? nullptr : NewError(status);
  return static_cast<int>(status.code());
}

// Runs an entry point's body: no exception leaves it.
template <typename Body>
int Guard(coplan_error** error, Body&& body) noexcept {
  if (error != nullptr) *error = nullptr;
  try {
    return Report(body(), error);
  } catch (const std::exception& e) {
    try {
      return Report(absl::InternalError(absl::StrCat("coplan: ", e.what())), error);
    } catch (...) {
      return COPLAN_INTERNAL;
    }
  } catch (...) {
    return Report(absl::InternalError("coplan: an unexpected C++ exception"), error);
  }
}

absl::Status Closed() { return absl::CancelledError("the client is closed"); }

absl::Status NullError(absl::string_view field) { return InvalidFieldError(field, "is NULL"); }

// --- Arguments ----------------------------------------------------------------------------

bool IsUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    int length = 0;
    uint32_t point = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      length = 2;
      point = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3;
      point = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4;
      point = c & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (int k = 1; k < length; ++k) {
      const unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      point = (point << 6) | (next & 0x3F);
    }
    // Overlong forms, surrogates and points past U+10FFFF are not UTF-8.
    static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (point < kSmallest[length] || point > 0x10FFFF || (point >= 0xD800 && point <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

// A required NUL-terminated UTF-8 string argument.
absl::StatusOr<std::string> Text(const char* text, absl::string_view field) {
  if (text == nullptr) return NullError(field);
  std::string out(text);
  if (!IsUtf8(out)) return InvalidFieldError(field, "is not UTF-8");
  return out;
}

// An optional one (NULL: empty).
absl::StatusOr<std::string> OptionalText(const char* text, absl::string_view field) {
  if (text == nullptr) return std::string();
  return Text(text, field);
}

absl::Status CheckBytes(const uint8_t* data, size_t size, absl::string_view field) {
  if (data == nullptr && size > 0) {
    return InvalidFieldError(field, absl::StrCat("is NULL with a size of ", size));
  }
  return absl::OkStatus();
}

absl::string_view Bytes(const uint8_t* data, size_t size) {
  return size == 0 ? absl::string_view()
                   : absl::string_view(reinterpret_cast<const char*>(data), size);
}

// --- Messages -----------------------------------------------------------------------------

absl::StatusOr<std::string> Encode(const google::protobuf::Message& message, int format) {
  std::string out;
  if (format == COPLAN_FORMAT_JSON) {
    auto printed = google::protobuf::util::MessageToJsonString(message, &out);
    if (!printed.ok()) {
      return absl::InternalError(
          absl::StrCat("coplan: a ", message.GetTypeName(),
                       " cannot be printed as JSON: ", std::string(printed.message())));
    }
    return out;
  }
  if (!message.SerializeToString(&out)) {
    return absl::InternalError(
        absl::StrCat("coplan: a ", message.GetTypeName(), " cannot be serialized"));
  }
  return out;
}

absl::Status Decode(const uint8_t* data, size_t size, int format, absl::string_view field,
                    google::protobuf::Message& message) {
  if (absl::Status checked = CheckBytes(data, size, field); !checked.ok()) return checked;
  const absl::string_view bytes = Bytes(data, size);
  if (format == COPLAN_FORMAT_JSON) {
    auto parsed = google::protobuf::util::JsonStringToMessage(std::string(bytes), &message);
    if (!parsed.ok()) {
      return InvalidFieldError(field,
                               absl::StrCat("is not a ", message.GetTypeName(),
                                            " in proto3 JSON: ", std::string(parsed.message())));
    }
    return absl::OkStatus();
  }
  if (size > static_cast<size_t>(INT_MAX) ||
      !message.ParseFromArray(bytes.data(), static_cast<int>(size))) {
    return InvalidFieldError(field, absl::StrCat("is not a serialized ", message.GetTypeName(),
                                                 " (", size, " bytes that do not parse)"));
  }
  return absl::OkStatus();
}

// --- Callbacks ----------------------------------------------------------------------------

// The app's context and its free function: freed when this goes away.
class Context {
 public:
  Context(void* context, coplan_free_fn free_context)
      : context_(context), free_context_(free_context) {}
  ~Context() {
    if (free_context_ == nullptr) return;
    CallbackScope scope;
    free_context_(context_);
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  void* get() const { return context_; }
  // The call was refused after all: the context stays the caller's.
  void Disarm() { free_context_ = nullptr; }

 private:
  void* context_;
  coplan_free_fn free_context_;
};

absl::Status Dropped() {
  return absl::CancelledError("the client closed before the call was answered");
}

// A call answered once. Derived classes say how an answer reaches the app.
class OneShot {
 public:
  OneShot(void* context, coplan_free_fn free_context) : context_(context, free_context) {}
  virtual ~OneShot() = default;
  OneShot(const OneShot&) = delete;
  OneShot& operator=(const OneShot&) = delete;

  // The core will never answer (the call could not be handed to it).
  void Disarm() {
    answered_ = true;
    context_.Disarm();
  }

 protected:
  // True the first time only.
  bool Claim() { return !answered_.exchange(true); }
  // For destructors: answers CANCELLED if nothing was answered.
  template <typename Deliver>
  void AnswerIfDropped(Deliver&& deliver) noexcept {
    if (!Claim()) return;
    try {
      ErrorView view(Dropped());
      CallbackScope scope;
      deliver(view.get());
    } catch (...) {
      CallbackScope scope;
      deliver(&kOutOfMemory);
    }
  }
  void* context() const { return context_.get(); }

 private:
  Context context_;
  std::atomic<bool> answered_{false};
};

// done(context, error, data, size): a message, or raw bytes.
class ResultCall : public OneShot {
 public:
  ResultCall(coplan_result_fn done, void* context, coplan_free_fn free_context, int format)
      : OneShot(context, free_context), done_(done), format_(format) {}
  ~ResultCall() override {
    AnswerIfDropped([this](const coplan_error* error) { done_(context(), error, nullptr, 0); });
  }

  template <typename Message>
  void Answer(const absl::StatusOr<Message>& result) noexcept {
    if (!Claim()) return;
    try {
      if (!result.ok()) return Deliver(result.status(), {});
      absl::StatusOr<std::string> encoded = Encode(*result, format_);
      if (!encoded.ok()) return Deliver(encoded.status(), {});
      Deliver(absl::OkStatus(), *encoded);
    } catch (...) {
      CallbackScope scope;
      done_(context(), &kOutOfMemory, nullptr, 0);
    }
  }
  // The answer as bytes already (coplan_call, coplan_call_json).
  void AnswerBytes(const absl::StatusOr<std::string>& result) noexcept {
    if (!Claim()) return;
    try {
      if (!result.ok()) return Deliver(result.status(), {});
      Deliver(absl::OkStatus(), *result);
    } catch (...) {
      CallbackScope scope;
      done_(context(), &kOutOfMemory, nullptr, 0);
    }
  }

 private:
  void Deliver(const absl::Status& status, const std::string& data) {
    if (status.ok()) {
      CallbackScope scope;
      // std::string's buffer ends with a NUL, as coplan.h promises.
      done_(context(), nullptr, reinterpret_cast<const uint8_t*>(data.c_str()), data.size());
      return;
    }
    ErrorView view(status);
    CallbackScope scope;
    done_(context(), view.get(), nullptr, 0);
  }

  coplan_result_fn done_;
  int format_;
};

// done(context, error); `done` may be NULL (coplan_remove_listener's `released`).
class StatusCall : public OneShot {
 public:
  StatusCall(coplan_status_fn done, void* context, coplan_free_fn free_context)
      : OneShot(context, free_context), done_(done) {}
  ~StatusCall() override {
    AnswerIfDropped([this](const coplan_error* error) {
      if (done_ != nullptr) done_(context(), error);
    });
  }

  void Answer(const absl::Status& status) noexcept {
    if (!Claim() || done_ == nullptr) return;
    try {
      if (status.ok()) {
        CallbackScope scope;
        done_(context(), nullptr);
        return;
      }
      ErrorView view(status);
      CallbackScope scope;
      done_(context(), view.get());
    } catch (...) {
      CallbackScope scope;
      done_(context(), &kOutOfMemory);
    }
  }

 private:
  coplan_status_fn done_;
};

class CountCall : public OneShot {
 public:
  CountCall(coplan_count_fn done, void* context, coplan_free_fn free_context)
      : OneShot(context, free_context), done_(done) {}
  ~CountCall() override {
    AnswerIfDropped([this](const coplan_error* error) { done_(context(), error, 0); });
  }

  void Answer(const absl::StatusOr<int>& count) noexcept {
    if (!Claim()) return;
    try {
      if (count.ok()) {
        CallbackScope scope;
        done_(context(), nullptr, *count);
        return;
      }
      ErrorView view(count.status());
      CallbackScope scope;
      done_(context(), view.get(), 0);
    } catch (...) {
      CallbackScope scope;
      done_(context(), &kOutOfMemory, 0);
    }
  }

 private:
  coplan_count_fn done_;
};

// A document or client listener: every event, in the client's format.
class Listener {
 public:
  Listener(coplan_event_fn listener, void* context, coplan_free_fn free_context, int format)
      : listener_(listener), context_(context, free_context), format_(format) {}
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void Event(const google::protobuf::Message& event) noexcept {
    try {
      absl::StatusOr<std::string> encoded = Encode(event, format_);
      if (!encoded.ok()) return;  // cannot happen for the client's own messages
      CallbackScope scope;
      listener_(context_.get(), reinterpret_cast<const uint8_t*>(encoded->c_str()),
                encoded->size());
    } catch (...) {
      // Out of memory: the event is lost, but nothing crosses into the core's thread.
    }
  }
  void Disarm() { context_.Disarm(); }

 private:
  coplan_event_fn listener_;
  Context context_;
  int format_;
};

// Hands a call to the core; if that throws, the call was not taken: nothing will be
// called, and the exception becomes INTERNAL.
template <typename Call, typename Submit>
absl::Status Hand(const std::shared_ptr<Call>& call, Submit&& submit) {
  try {
    submit();
  } catch (...) {
    call->Disarm();
    throw;
  }
  return absl::OkStatus();
}

// Runs `body` with the open client, holding its lock shared.
template <typename Body>
absl::Status WithClient(coplan_client* client, Body&& body) {
  if (client == nullptr) return NullError("client");
  absl::ReaderMutexLock lock(&client->mutex);
  if (client->closed) return Closed();
  if (client->forgotten) {
    return absl::CancelledError("the client is closed: the device was forgotten (free it)");
  }
  return body(*client->core, client->format);
}

template <typename Message>
coplan::client::Callback<Message> ResultTo(std::shared_ptr<ResultCall> call) {
  return [call = std::move(call)](absl::StatusOr<Message> result) { call->Answer(result); };
}

coplan::client::StatusCallback StatusTo(std::shared_ptr<StatusCall> call) {
  return [call = std::move(call)](absl::Status status) { call->Answer(status); };
}

// The method by name and a request of its type, checked here so that a mistake is told at
// once (the core would only find out from the server).
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> NewRequestOf(const std::string& method) {
  absl::StatusOr<coplan::client::remote::ApiMethod> found =
      coplan::client::remote::FindApiMethod(method);
  if (!found.ok()) return found.status();
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(found->request);
  if (prototype == nullptr) {
    return absl::InternalError(
        absl::StrCat("coplan: no generated type for ", found->request->full_name()));
  }
  return std::unique_ptr<google::protobuf::Message>(prototype->New());
}

}  // namespace

// --- Versions and memory --------------------------------------------------------------------

extern "C" {

uint32_t coplan_abi_version(void) { return COPLAN_ABI_VERSION; }

const char* coplan_version(void) { return CoplanClient::Version(); }

void coplan_error_free(coplan_error* error) { std::free(error); }

void coplan_free_buffer(uint8_t* data) { std::free(data); }

// --- The client ------------------------------------------------------------------------------

int coplan_open(const coplan_options* options, coplan_client** client, coplan_error** error) {
  if (client != nullptr) *client = nullptr;
  return Guard(error, [&]() -> absl::Status {
    if (client == nullptr) return NullError("client");
    if (options == nullptr) return NullError("options");
    if (options->struct_size < sizeof(coplan_options)) {
      return InvalidFieldError(
          "options.struct_size",
          absl::StrCat("is ", options->struct_size, ": set it to sizeof(coplan_options) (",
                       sizeof(coplan_options), " for ABI version ", COPLAN_ABI_VERSION, ")"));
    }
    // A newer header's struct may be longer: only the fields this version knows are read.
    const coplan_options& o = *options;
    if (o.message_format != COPLAN_FORMAT_PROTOBUF && o.message_format != COPLAN_FORMAT_JSON) {
      return InvalidFieldError(
          "options.message_format",
          absl::StrCat("is ", o.message_format,
                       ": COPLAN_FORMAT_PROTOBUF (0) or COPLAN_FORMAT_JSON (1)"));
    }
    coplan::client::ClientOptions core_options;
    absl::StatusOr<std::string> server = Text(o.server, "options.server");
    if (!server.ok()) return server.status();
    core_options.server = *server;
    core_options.tls = o.tls != 0;
    for (auto [text, field, out] :
         {std::make_tuple(o.root_certificates, "options.root_certificates",
                          &core_options.root_certificates),
          std::make_tuple(o.cache_path, "options.cache_path", &core_options.cache_path),
          std::make_tuple(o.device_name, "options.device_name", &core_options.device_name),
          std::make_tuple(o.user_agent, "options.user_agent", &core_options.user_agent)}) {
      absl::StatusOr<std::string> value = OptionalText(text, field);
      if (!value.ok()) return value.status();
      *out = *std::move(value);
    }
    if (absl::Status key = CheckBytes(o.cache_key, o.cache_key_size, "options.cache_key");
        !key.ok()) {
      return key;
    }
    core_options.cache_key = std::string(Bytes(o.cache_key, o.cache_key_size));
    if (o.call_deadline_ms < 0) {
      return InvalidFieldError("options.call_deadline_ms", "must not be negative (0: 10 s)");
    }
    if (o.max_backoff_ms < 0) {
      return InvalidFieldError("options.max_backoff_ms", "must not be negative (0: 30 s)");
    }
    if (o.call_deadline_ms > 0) core_options.call_deadline = absl::Milliseconds(o.call_deadline_ms);
    if (o.max_backoff_ms > 0) core_options.max_backoff = absl::Milliseconds(o.max_backoff_ms);
    std::shared_ptr<Listener> listener;
    if (o.listener != nullptr) {
      listener = std::make_shared<Listener>(o.listener, o.listener_context, o.listener_free,
                                            o.message_format);
      core_options.listener = [listener](const cv1::ClientEvent& event) { listener->Event(event); };
    }
    auto handle = std::make_unique<coplan_client>();
    handle->format = o.message_format;
    absl::StatusOr<std::unique_ptr<CoplanClient>> opened;
    try {
      opened = CoplanClient::Open(std::move(core_options));
    } catch (...) {
      if (listener) listener->Disarm();
      throw;
    }
    if (!opened.ok()) {
      // The core is gone with its copies of the listener; ours is the last: the context
      // stays the caller's, as for every call that fails.
      if (listener) listener->Disarm();
      return opened.status();
    }
    handle->core = *std::move(opened);
    *client = handle.release();
    return absl::OkStatus();
  });
}

int coplan_close(coplan_client* client) {
  return Guard(nullptr, [&]() -> absl::Status {
    if (client == nullptr) return NullError("client");
    if (callback_depth > 0) {
      return coplan::FailedPreconditionError(
          "coplan_close cannot be called from a callback (it waits for the callbacks)");
    }
    absl::MutexLock close_lock(&client->close_mutex);
    {
      absl::WriterMutexLock lock(&client->mutex);
      client->closed = true;
    }
    client->core->Close();  // idempotent
    return absl::OkStatus();
  });
}

int coplan_client_free(coplan_client* client) {
  return Guard(nullptr, [&]() -> absl::Status {
    if (client == nullptr) return NullError("client");
    if (callback_depth > 0) {
      return coplan::FailedPreconditionError(
          "coplan_client_free cannot be called from a callback (it waits for the callbacks)");
    }
    const int closed = coplan_close(client);
    if (closed != COPLAN_OK) {
      return absl::Status(static_cast<absl::StatusCode>(closed), "the client could not close");
    }
    delete client;
    return absl::OkStatus();
  });
}

int coplan_destroy_cache(const char* path, coplan_error** error) {
  return Guard(error, [&]() -> absl::Status {
    absl::StatusOr<std::string> file = Text(path, "path");
    if (!file.ok()) return file.status();
    return CoplanClient::DestroyCache(*file);
  });
}

// --- The session -----------------------------------------------------------------------------

int coplan_sign_in(coplan_client* client, const char* username, const char* password,
                   coplan_result_fn done, void* context, coplan_free_fn free_context,
                   coplan_error** error) {
  return Guard(error, [&]() -> absl::Status {
    absl::StatusOr<std::string> user = Text(username, "username");
    if (!user.ok()) return user.status();
    absl::StatusOr<std::string> secret = Text(password, "password");
    if (!secret.ok()) return secret.status();
    if (done == nullptr) return NullError("done");
    return WithClient(client, [&](CoplanClient& core, int format) {
      auto call = std::make_shared<ResultCall>(done, context, free_context, format);
      return Hand(call, [&] { core.SignIn(*user, *secret, ResultTo<cv1::SessionState>(call)); });
    });
  });
}

int coplan_session(coplan_client* client, uint8_t** data, size_t* size, coplan_error** error) {
  if (data != nullptr) *data = nullptr;
  if (size != nullptr) *size = 0;
  return Guard(error, [&]() -> absl::Status {
    if (data == nullptr) return NullError("data");
    if (size == nullptr) return NullError("size");
    return WithClient(client, [&](CoplanClient& core, int format) -> absl::Status {
      absl::StatusOr<std::string> encoded = Encode(core.session(), format);
      if (!encoded.ok()) return encoded.status();
      auto* buffer = static_cast<uint8_t*>(std::malloc(encoded->size() + 1));
      if (buffer == nullptr) return absl::ResourceExhaustedError("coplan: out of memory");
      std::memcpy(buffer, encoded->c_str(), encoded->size() + 1);
      *data = buffer;
      *size = encoded->size();
      return absl::OkStatus();
    });
  });
}

int coplan_sign_out(coplan_client* client, coplan_status_fn done, void* context,
                    coplan_free_fn free_context, coplan_error** error) {
  return Guard(error, [&]() -> absl::Status {
    if (done == nullptr) return NullError("done");
    return WithClient(client, [&](CoplanClient& core, int) {
      auto call = std::make_shared<StatusCall>(done, context, free_context);
      return Hand(call, [&] { core.SignOut(StatusTo(call)); });
    });
  });
}

int coplan_forget_device(coplan_client* client, coplan_status_fn done, void* context,
                         coplan_free_fn free_context, coplan_error** error) {
  return Guard(error, [&]() -> absl::Status {
    if (client == nullptr) return NullError("client");
    if (done == nullptr) return NullError("done");
    // Exclusively: no call may reach the core once its cache is being deleted.
    absl::WriterMutexLock lock(&client->mutex);
    if (client->closed || client->forgotten) return Closed();
    auto call = std::make_shared<StatusCall>(done, context, free_context);
    absl::Status handed = Hand(call, [&] { client->core->ForgetDevice(StatusTo(call)); });
    client->forgotten = true;
    return handed;
  });
}

// --- Documents -------------------------------------------------------------------------------

int coplan_follow(coplan_client* client, const char* document, coplan_event_fn listener,
                  void* context, coplan_free_fn free_context, uint64_t* listener_id,
                  coplan_error** error) {
  if (listener_id != nullptr) *listener_id = 0;
  return Guard(error, [&]() -> absl::Status {
    absl::StatusOr<std::string> name = Text(document, "document");
    if (!name.ok()) return name.status();
    if (listener == nullptr) return NullError("listener");
    if (listener_id == nullptr) return NullError("listener_id");
    return WithClient(client, [&](CoplanClient& core, int format) {
      auto heard = std::make_shared<Listener>(listener, context, free_context, format);
      return Hand(heard, [&] {
        *listener_id =
            core.Follow(*name, [heard](const cv1::DocumentEvent& event) { heard->Event(event); });
      });
    });
  });
}

int coplan_remove_listener(coplan_client* client, uint64_t listener_id, coplan_status_fn released,
                           void* context, coplan_free_fn free_context, coplan_error** error) {
  return Guard(error, [&]() -> absl::Status {
    return WithClient(client, [&](CoplanClient& core, int) {
      auto call = std::make_shared<StatusCall>(released, context, free_context);
      return Hand(call, [&] {
        core.RemoveListener(listener_id, [call] { call->Answer(absl::OkStatus()); });
      });
    });
  });
}

int coplan_forget(coplan_client* client, const char* document, coplan_status_fn done, void* context,
                  coplan_free_fn free_context, coplan_error** error) {
  return Guard(error, [&]() -> absl::Status {
    absl::StatusOr<std::string> name = Text(document, "document");
    if (!name.ok()) return name.status();
    if (done == nullptr) return NullError("done");
    return WithClient(client, [&](CoplanClient& core, int) {
      auto call = std::make_shared<StatusCall>(done, context, free_context);
      return Hand(call, [&] { core.Forget(*name, StatusTo(call)); });
    });
  });
}

int coplan_get_document(coplan_client* client, const char* document, coplan_result_fn done,
                        void* context, coplan_free_fn free_context, coplan_error** error) {
  return Guard(error, [&]() -> absl::Status {
    absl::StatusOr<std::string> name = Text(document, "document");
    if (!name.ok()) return name.status();
    if (done == nullptr) return NullError("done");
    return WithClient(client, [&](CoplanClient& core, int format) {
      auto call = std::make_shared<ResultCall>(done, context, free_context, format);
      return Hand(call, [&] { core.GetDocument(*name, ResultTo<cv1::CachedDocument>(call)); });
    });
  });
}

int coplan_get_grid_version(coplan_client* client, const char* name, coplan_result_fn done,
                            void* context, coplan_free_fn free_context, coplan_error** error) {
  return Guard(error, [&]() -> absl::Status {
    absl::StatusOr<std::string> version = Text(name, "name");
    if (!version.ok()) return version.status();
    if (done == nullptr) return NullError("done");
    return WithClient(client, [&](CoplanClient& core, int format) {
      auto call = std::make_shared<ResultCall>(done, context, free_context, format);
      return Hand(call,
                  [&] { core.GetGridVersion(*version, ResultTo<cv1::CachedGridVersion>(call)); });
    });
  });
}

int coplan_get_access_log(coplan_client* client, coplan_result_fn done, void* context,
                          coplan_free_fn free_context, coplan_error** error) {
  return Guard(error, [&]() -> absl::Status {
    if (done == nullptr) return NullError("done");
    return WithClient(client, [&](CoplanClient& core, int format) {
      auto call = std::make_shared<ResultCall>(done, context, free_context, format);
      return Hand(call, [&] { core.GetAccessLog(ResultTo<cv1::CachedAccessLog>(call)); });
    });
  });
}

// --- Edits -----------------------------------------------------------------------------------

int coplan_edit(coplan_client* client, const uint8_t* request, size_t request_size,
                coplan_result_fn done, void* context, coplan_free_fn free_context,
                coplan_error** error) {
  return Guard(error, [&]() -> absl::Status {
    if (done == nullptr) return NullError("done");
    return WithClient(client, [&](CoplanClient& core, int format) -> absl::Status {
      cv1::EditRequest edit;
      if (absl::Status parsed = Decode(request, request_size, format, "request", edit);
          !parsed.ok()) {
        return parsed;
      }
      auto call = std::make_shared<ResultCall>(done, context, free_context, format);
      return Hand(call, [&] { core.Edit(edit, ResultTo<cv1::EditQueued>(call)); });
    });
  });
}

int coplan_resolve_conflict(coplan_client* client, const uint8_t* resolution,
                            size_t resolution_size, coplan_status_fn done, void* context,
                            coplan_free_fn free_context, coplan_error** error) {
  return Guard(error, [&]() -> absl::Status {
    if (done == nullptr) return NullError("done");
    return WithClient(client, [&](CoplanClient& core, int format) -> absl::Status {
      cv1::Resolution choice;
      if (absl::Status parsed = Decode(resolution, resolution_size, format, "resolution", choice);
          !parsed.ok()) {
        return parsed;
      }
      auto call = std::make_shared<StatusCall>(done, context, free_context);
      return Hand(call, [&] { core.ResolveConflict(choice, StatusTo(call)); });
    });
  });
}

int coplan_get_pending_state(coplan_client* client, coplan_result_fn done, void* context,
                             coplan_free_fn free_context, coplan_error** error) {
  return Guard(error, [&]() -> absl::Status {
    if (done == nullptr) return NullError("done");
    return WithClient(client, [&](CoplanClient& core, int format) {
      auto call = std::make_shared<ResultCall>(done, context, free_context, format);
      return Hand(call, [&] { core.GetPendingState(ResultTo<cv1::PendingState>(call)); });
    });
  });
}

int coplan_flush(coplan_client* client, int64_t timeout_ms, coplan_status_fn done, void* context,
                 coplan_free_fn free_context, coplan_error** error) {
  return Guard(error, [&]() -> absl::Status {
    if (timeout_ms < 0) return InvalidFieldError("timeout_ms", "must not be negative");
    if (done == nullptr) return NullError("done");
    return WithClient(client, [&](CoplanClient& core, int) {
      auto call = std::make_shared<StatusCall>(done, context, free_context);
      return Hand(call, [&] { core.Flush(absl::Milliseconds(timeout_ms), StatusTo(call)); });
    });
  });
}

int coplan_add_client_listener(coplan_client* client, coplan_event_fn listener, void* context,
                               coplan_free_fn free_context, uint64_t* listener_id,
                               coplan_error** error) {
  if (listener_id != nullptr) *listener_id = 0;
  return Guard(error, [&]() -> absl::Status {
    if (listener == nullptr) return NullError("listener");
    if (listener_id == nullptr) return NullError("listener_id");
    return WithClient(client, [&](CoplanClient& core, int format) {
      auto heard = std::make_shared<Listener>(listener, context, free_context, format);
      return Hand(heard, [&] {
        *listener_id =
            core.AddClientListener([heard](const cv1::ClientEvent& event) { heard->Event(event); });
      });
    });
  });
}

// --- Any other call --------------------------------------------------------------------------

namespace {

// coplan_call and coplan_call_json: the request is checked here, in its format, so that a
// mistake is INVALID_ARGUMENT at once rather than an answer from the server.
int CallByName(coplan_client* client, const char* method, const uint8_t* request,
               size_t request_size, coplan_format format, const char* argument,
               coplan_result_fn done, void* context, coplan_free_fn free_context,
               coplan_error** error) {
  return Guard(error, [&]() -> absl::Status {
    absl::StatusOr<std::string> name = Text(method, "method");
    if (!name.ok()) return name.status();
    if (done == nullptr) return NullError("done");
    absl::StatusOr<std::unique_ptr<google::protobuf::Message>> message = NewRequestOf(*name);
    if (!message.ok()) return message.status();
    if (absl::Status parsed = Decode(request, request_size, format, argument, **message);
        !parsed.ok()) {
      return parsed;
    }
    return WithClient(client, [&](CoplanClient& core, int) {
      auto call = std::make_shared<ResultCall>(done, context, free_context, format);
      std::string body(Bytes(request, request_size));
      auto answer = [call](absl::StatusOr<std::string> result) { call->AnswerBytes(result); };
      return Hand(call, [&] {
        if (format == COPLAN_FORMAT_JSON) {
          core.CallJson(*name, std::move(body), answer);
        } else {
          core.Call(*name, std::move(body), answer);
        }
      });
    });
  });
}

}  // namespace

int coplan_call(coplan_client* client, const char* method, const uint8_t* request,
                size_t request_size, coplan_result_fn done, void* context,
                coplan_free_fn free_context, coplan_error** error) {
  return CallByName(client, method, request, request_size, COPLAN_FORMAT_PROTOBUF, "request", done,
                    context, free_context, error);
}

int coplan_call_json(coplan_client* client, const char* method, const uint8_t* request_json,
                     size_t request_size, coplan_result_fn done, void* context,
                     coplan_free_fn free_context, coplan_error** error) {
  return CallByName(client, method, request_json, request_size, COPLAN_FORMAT_JSON, "request_json",
                    done, context, free_context, error);
}

int coplan_count_open_streams(coplan_client* client, coplan_count_fn done, void* context,
                              coplan_free_fn free_context, coplan_error** error) {
  return Guard(error, [&]() -> absl::Status {
    if (done == nullptr) return NullError("done");
    return WithClient(client, [&](CoplanClient& core, int) {
      auto call = std::make_shared<CountCall>(done, context, free_context);
      return Hand(call, [&] {
        core.CountOpenStreams([call](absl::StatusOr<int> count) { call->Answer(count); });
      });
    });
  });
}

}  // extern "C"
