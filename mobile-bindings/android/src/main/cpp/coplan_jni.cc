// libcoplan_jni.so: the JNI glue of the Android binding (app.coplan.mobile) over the C ABI
// (mobile-bindings/c/coplan.h). Written to Android's JNI rules:
//
// - Only JNI_OnLoad is exported (hidden visibility and libcoplan_jni.map); the natives are
//   bound with RegisterNatives on app.coplan.mobile.NativeBridge, so no Java_* symbols.
// - Classes and method ids are cached in JNI_OnLoad: a native thread (the core's callback
//   thread) cannot FindClass the app's classes on Android (it would get the system loader).
// - Callbacks from native threads attach with AttachCurrentThreadAsDaemon (detached when
//   the thread ends); every call into Java is followed by an exception check, and a
//   pending exception (a listener that threw) is handed to NativeBridge.reportFailure and
//   cleared: it never reaches the core.
// - Strings cross as UTF-8 byte[] (JNI's UTF functions use modified UTF-8), never
//   NewStringUTF/GetStringUTFChars.
// - No C++ exception crosses: every native method and callback catches everything.
// - Each callback context holds one JNI global reference, released in free_context; the
//   count of live ones is kept (nativeLiveGlobalRefs) so tests can see that none leak.
#include <jni.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "coplan.h"

namespace {

JavaVM* g_vm = nullptr;
jclass g_callback_class = nullptr;     // app.coplan.mobile.NativeCallback
jmethodID g_on_result = nullptr;       // void onResult(int, byte[], byte[], byte[], int)
jmethodID g_on_event = nullptr;        // void onEvent(byte[])
jclass g_exception_class = nullptr;    // app.coplan.mobile.CoplanException
jmethodID g_exception_init = nullptr;  // CoplanException(int, byte[], byte[])
jclass g_bridge_class = nullptr;       // app.coplan.mobile.NativeBridge
jmethodID g_report_failure = nullptr;  // static void reportFailure(Throwable)

// Live global references made for callback contexts (not the cached classes).
std::atomic<int> g_live_refs{0};

constexpr jint kJniVersion = JNI_VERSION_1_6;

// Detaches a thread this library attached, when the thread ends.
struct Attachment {
  bool attached = false;
  ~Attachment() {
    if (attached && g_vm != nullptr) g_vm->DetachCurrentThread();
  }
};
thread_local Attachment t_attachment;

// The JNIEnv of this thread, attaching it (as a daemon) when it is a native thread.
JNIEnv* CurrentEnv() {
  if (g_vm == nullptr) return nullptr;
  JNIEnv* env = nullptr;
  const jint got = g_vm->GetEnv(reinterpret_cast<void**>(&env), kJniVersion);
  if (got == JNI_OK) return env;
  if (got != JNI_EDETACHED) return nullptr;
  JavaVMAttachArgs args;
  args.version = kJniVersion;
  args.name = const_cast<char*>("coplan-callback");
  args.group = nullptr;
#ifdef __ANDROID__
  if (g_vm->AttachCurrentThreadAsDaemon(&env, &args) != JNI_OK) return nullptr;
#else
  if (g_vm->AttachCurrentThreadAsDaemon(reinterpret_cast<void**>(&env), &args) != JNI_OK) {
    return nullptr;
  }
#endif
  t_attachment.attached = true;
  return env;
}

// A pending Java exception (thrown by a listener, or an OutOfMemoryError) is reported to
// NativeBridge.reportFailure and cleared. Returns true when there was one.
bool ReportAndClear(JNIEnv* env) {
  if (!env->ExceptionCheck()) return false;
  jthrowable thrown = env->ExceptionOccurred();
  env->ExceptionClear();
  if (thrown != nullptr && g_bridge_class != nullptr && g_report_failure != nullptr) {
    env->CallStaticVoidMethod(g_bridge_class, g_report_failure, thrown);
    if (env->ExceptionCheck()) env->ExceptionClear();  // the reporter failed too: drop it
  }
  if (thrown != nullptr) env->DeleteLocalRef(thrown);
  return true;
}

// A new byte[] with a copy of the bytes; nullptr on failure, with an exception pending
// (none for over 2 GiB, which no byte[] can hold).
jbyteArray NewBytes(JNIEnv* env, const void* data, size_t size) {
  if (size > static_cast<size_t>(INT32_MAX)) return nullptr;
  jbyteArray array = env->NewByteArray(static_cast<jsize>(size));
  if (array == nullptr || env->ExceptionCheck()) return nullptr;
  if (size > 0) {
    env->SetByteArrayRegion(array, 0, static_cast<jsize>(size),
                            reinterpret_cast<const jbyte*>(data));
    if (env->ExceptionCheck()) {
      env->DeleteLocalRef(array);
      return nullptr;
    }
  }
  return array;
}

jobject NewCountedRef(JNIEnv* env, jobject object) {
  jobject ref = env->NewGlobalRef(object);
  if (ref != nullptr) g_live_refs.fetch_add(1);
  return ref;
}

void DeleteCountedRef(JNIEnv* env, jobject ref) {
  if (ref == nullptr) return;
  env->DeleteGlobalRef(ref);
  g_live_refs.fetch_sub(1);
}

// --- Exceptions into Java ---------------------------------------------------------------

// Throws app.coplan.mobile.CoplanException(code, message, serialized google.rpc.Status or
// null). Keeps an exception already pending.
void ThrowCoplan(JNIEnv* env, int code, const char* message, const uint8_t* status,
                 size_t status_size) {
  if (env->ExceptionCheck()) return;
  if (message == nullptr) message = "";
  jbyteArray message_bytes = NewBytes(env, message, std::strlen(message));
  if (message_bytes == nullptr) return;
  jbyteArray status_bytes = nullptr;
  if (status != nullptr && status_size > 0) {
    status_bytes = NewBytes(env, status, status_size);
    if (status_bytes == nullptr) {
      env->DeleteLocalRef(message_bytes);
      return;
    }
  }
  jobject exception = env->NewObject(g_exception_class, g_exception_init, static_cast<jint>(code),
                                     message_bytes, status_bytes);
  if (exception != nullptr && !env->ExceptionCheck()) {
    env->Throw(static_cast<jthrowable>(exception));
  }
  if (exception != nullptr) env->DeleteLocalRef(exception);
  env->DeleteLocalRef(message_bytes);
  if (status_bytes != nullptr) env->DeleteLocalRef(status_bytes);
}

// Throws the ABI's error (and frees it), or a plain one with `code` when there is none.
void ThrowAbiError(JNIEnv* env, int code, coplan_error* error) {
  if (error != nullptr) {
    ThrowCoplan(env, error->code, error->message, error->rpc_status, error->rpc_status_size);
    coplan_error_free(error);
  } else {
    ThrowCoplan(env, code, "the Coplan library refused the call", nullptr, 0);
  }
}

void ThrowInternal(JNIEnv* env, const char* what) {
  ThrowCoplan(env, COPLAN_INTERNAL, what, nullptr, 0);
}

// Runs a native method's body; a C++ exception becomes a CoplanException (INTERNAL).
template <typename Result, typename Body>
Result Guarded(JNIEnv* env, Result failed, Body body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    ThrowInternal(env, "out of native memory");
  } catch (...) {
    ThrowInternal(env, "unexpected failure in the JNI glue");
  }
  return failed;
}

// --- Arguments from Java ----------------------------------------------------------------

// The bytes of a byte[]; false with an exception pending on failure.
bool ReadBytes(JNIEnv* env, jbyteArray array, std::string* out) {
  const jsize size = env->GetArrayLength(array);
  out->assign(static_cast<size_t>(size), '\0');
  if (size > 0) env->GetByteArrayRegion(array, 0, size, reinterpret_cast<jbyte*>(&(*out)[0]));
  return !env->ExceptionCheck();
}

// A UTF-8 string argument (a NUL-terminated C string for the ABI). A null one is
// INVALID_ARGUMENT naming it, unless `optional` (then *present is false).
bool ReadText(JNIEnv* env, jbyteArray array, const char* name, std::string* out,
              bool optional = false, bool* present = nullptr) {
  if (present != nullptr) *present = array != nullptr;
  if (array == nullptr) {
    if (optional) return true;
    ThrowCoplan(env, COPLAN_INVALID_ARGUMENT, (std::string(name) + " is null").c_str(), nullptr, 0);
    return false;
  }
  if (!ReadBytes(env, array, out)) return false;
  if (out->find('\0') != std::string::npos) {
    ThrowCoplan(env, COPLAN_INVALID_ARGUMENT,
                (std::string(name) + " contains a NUL character").c_str(), nullptr, 0);
    return false;
  }
  return true;
}

coplan_client* Client(jlong handle) {
  return reinterpret_cast<coplan_client*>(static_cast<intptr_t>(handle));
}

// --- Callbacks --------------------------------------------------------------------------

// A callback's context: a global reference to its app.coplan.mobile.NativeCallback.
struct Callback {
  jobject target = nullptr;
};

// A new context for `target`; nullptr with an exception pending on failure.
Callback* NewCallback(JNIEnv* env, jobject target) {
  if (target == nullptr) {
    ThrowCoplan(env, COPLAN_INVALID_ARGUMENT, "callback is null", nullptr, 0);
    return nullptr;
  }
  Callback* callback = new (std::nothrow) Callback;
  if (callback == nullptr) {
    ThrowInternal(env, "out of native memory");
    return nullptr;
  }
  callback->target = NewCountedRef(env, target);
  if (callback->target == nullptr) {
    delete callback;
    if (!env->ExceptionCheck()) ThrowInternal(env, "no JNI global reference left");
    return nullptr;
  }
  return callback;
}

void DeleteCallback(JNIEnv* env, Callback* callback) {
  if (callback == nullptr) return;
  if (env != nullptr) DeleteCountedRef(env, callback->target);
  delete callback;
}

// free_context: on the callback thread, the core's, or a Java thread within coplan_close.
void FreeCallback(void* context) noexcept {
  try {
    DeleteCallback(CurrentEnv(), static_cast<Callback*>(context));
  } catch (...) {
  }
}

// Calls target.onResult(code, message, status, data, count) on this thread.
void DeliverResult(void* context, const coplan_error* error, const uint8_t* data, size_t size,
                   int count) noexcept {
  try {
    auto* callback = static_cast<Callback*>(context);
    JNIEnv* env = CurrentEnv();
    if (callback == nullptr || env == nullptr) return;
    const bool framed = env->PushLocalFrame(8) == JNI_OK;
    if (!framed) ReportAndClear(env);
    jint code = COPLAN_OK;
    jbyteArray message = nullptr;
    jbyteArray status = nullptr;
    jbyteArray bytes = nullptr;
    bool ready = framed;
    if (!ready) {
    } else if (error != nullptr) {
      code = error->code;
      const char* text = error->message != nullptr ? error->message : "";
      message = NewBytes(env, text, std::strlen(text));
      ready = message != nullptr;
      if (ready && error->rpc_status != nullptr && error->rpc_status_size > 0) {
        status = NewBytes(env, error->rpc_status, error->rpc_status_size);
        ready = status != nullptr;
      }
    } else {
      bytes = NewBytes(env, data, data != nullptr ? size : 0);
      ready = bytes != nullptr;
    }
    if (!ready) {
      // The answer could not be made into Java arrays (out of memory, or over 2 GiB): the
      // call still ends, with an error, so that its future never waits for ever.
      ReportAndClear(env);
      static constexpr char kUndeliverable[] =
          "the answer could not be handed to Java (out of memory)";
      code = COPLAN_RESOURCE_EXHAUSTED;
      message = NewBytes(env, kUndeliverable, sizeof kUndeliverable - 1);
      if (message == nullptr) ReportAndClear(env);
      status = nullptr;
      bytes = nullptr;
    }
    env->CallVoidMethod(callback->target, g_on_result, code, message, status, bytes,
                        static_cast<jint>(count));
    ReportAndClear(env);
    if (framed) env->PopLocalFrame(nullptr);
  } catch (...) {
  }
}

void OnResult(void* context, const coplan_error* error, const uint8_t* data, size_t size) noexcept {
  DeliverResult(context, error, data, size, 0);
}

void OnStatus(void* context, const coplan_error* error) noexcept {
  DeliverResult(context, error, nullptr, 0, 0);
}

void OnCount(void* context, const coplan_error* error, int count) noexcept {
  DeliverResult(context, error, nullptr, 0, count);
}

// A listener's event: target.onEvent(bytes).
void OnEvent(void* context, const uint8_t* data, size_t size) noexcept {
  try {
    auto* callback = static_cast<Callback*>(context);
    JNIEnv* env = CurrentEnv();
    if (callback == nullptr || env == nullptr) return;
    if (env->PushLocalFrame(4) != JNI_OK) {
      ReportAndClear(env);
      return;
    }
    jbyteArray bytes = NewBytes(env, data, data != nullptr ? size : 0);
    if (bytes != nullptr) env->CallVoidMethod(callback->target, g_on_event, bytes);
    ReportAndClear(env);
    env->PopLocalFrame(nullptr);
  } catch (...) {
  }
}

// --- Native methods (static, on app.coplan.mobile.NativeBridge) -------------------------

jlong NativeOpen(JNIEnv* env, jclass, jbyteArray server, jboolean tls, jbyteArray root_certificates,
                 jbyteArray cache_path, jbyteArray cache_key, jbyteArray device_name,
                 jbyteArray user_agent, jlong call_deadline_ms, jlong max_backoff_ms,
                 jint message_format, jobject listener) {
  return Guarded<jlong>(env, 0, [&]() -> jlong {
    std::string server_text, roots, path, key, device, agent;
    bool has_roots = false, has_path = false, has_device = false, has_agent = false;
    if (!ReadText(env, server, "server", &server_text) ||
        !ReadText(env, root_certificates, "rootCertificates", &roots, true, &has_roots) ||
        !ReadText(env, cache_path, "cachePath", &path, true, &has_path) ||
        !ReadText(env, device_name, "deviceName", &device, true, &has_device) ||
        !ReadText(env, user_agent, "userAgent", &agent, true, &has_agent)) {
      return 0;
    }
    if (cache_key != nullptr && !ReadBytes(env, cache_key, &key)) return 0;
    coplan_options options;
    std::memset(&options, 0, sizeof options);
    options.struct_size = sizeof options;
    options.server = server_text.c_str();
    options.tls = tls ? 1 : 0;
    options.root_certificates = has_roots ? roots.c_str() : nullptr;
    options.cache_path = has_path ? path.c_str() : nullptr;
    options.cache_key =
        cache_key != nullptr ? reinterpret_cast<const uint8_t*>(key.data()) : nullptr;
    options.cache_key_size = cache_key != nullptr ? key.size() : 0;
    options.device_name = has_device ? device.c_str() : nullptr;
    options.user_agent = has_agent ? agent.c_str() : nullptr;
    options.call_deadline_ms = call_deadline_ms;
    options.max_backoff_ms = max_backoff_ms;
    options.message_format = message_format;
    Callback* callback = nullptr;
    if (listener != nullptr) {
      callback = NewCallback(env, listener);
      if (callback == nullptr) return 0;
      options.listener = OnEvent;
      options.listener_context = callback;
      options.listener_free = FreeCallback;
    }
    coplan_client* client = nullptr;
    coplan_error* error = nullptr;
    const int code = coplan_open(&options, &client, &error);
    // The key's copy is wiped once the library has its own.
    if (!key.empty()) std::memset(&key[0], 0, key.size());
    if (code != COPLAN_OK) {
      DeleteCallback(env, callback);  // a failed open leaves the context ours
      ThrowAbiError(env, code, error);
      return 0;
    }
    coplan_error_free(error);
    return static_cast<jlong>(reinterpret_cast<intptr_t>(client));
  });
}

jint NativeClose(JNIEnv* env, jclass, jlong client) {
  return Guarded<jint>(env, COPLAN_INTERNAL,
                       [&]() -> jint { return coplan_close(Client(client)); });
}

jint NativeFree(JNIEnv* env, jclass, jlong client) {
  return Guarded<jint>(env, COPLAN_INTERNAL,
                       [&]() -> jint { return coplan_client_free(Client(client)); });
}

jbyteArray NativeSession(JNIEnv* env, jclass, jlong client) {
  return Guarded<jbyteArray>(env, nullptr, [&]() -> jbyteArray {
    uint8_t* data = nullptr;
    size_t size = 0;
    coplan_error* error = nullptr;
    const int code = coplan_session(Client(client), &data, &size, &error);
    if (code != COPLAN_OK) {
      ThrowAbiError(env, code, error);
      return nullptr;
    }
    jbyteArray bytes = NewBytes(env, data, data != nullptr ? size : 0);
    coplan_free_buffer(data);
    return bytes;
  });
}

// Makes the callback's context, calls the ABI, and on a refusal frees the context (the
// library never will) and throws its error.
template <typename Call>
void WithCallback(JNIEnv* env, jobject done, Call call) {
  Callback* callback = NewCallback(env, done);
  if (callback == nullptr) return;
  coplan_error* error = nullptr;
  const int code = call(callback, &error);
  if (code != COPLAN_OK) {
    DeleteCallback(env, callback);
    ThrowAbiError(env, code, error);
  }
}

void NativeSignIn(JNIEnv* env, jclass, jlong client, jbyteArray username, jbyteArray password,
                  jobject done) {
  Guarded<int>(env, 0, [&]() {
    std::string user, secret;
    if (!ReadText(env, username, "username", &user) ||
        !ReadText(env, password, "password", &secret)) {
      return 0;
    }
    WithCallback(env, done, [&](Callback* callback, coplan_error** error) {
      return coplan_sign_in(Client(client), user.c_str(), secret.c_str(), OnResult, callback,
                            FreeCallback, error);
    });
    std::memset(&secret[0], 0, secret.size());
    return 0;
  });
}

void NativeSignOut(JNIEnv* env, jclass, jlong client, jobject done) {
  Guarded<int>(env, 0, [&]() {
    WithCallback(env, done, [&](Callback* callback, coplan_error** error) {
      return coplan_sign_out(Client(client), OnStatus, callback, FreeCallback, error);
    });
    return 0;
  });
}

void NativeForgetDevice(JNIEnv* env, jclass, jlong client, jobject done) {
  Guarded<int>(env, 0, [&]() {
    WithCallback(env, done, [&](Callback* callback, coplan_error** error) {
      return coplan_forget_device(Client(client), OnStatus, callback, FreeCallback, error);
    });
    return 0;
  });
}

jlong NativeFollow(JNIEnv* env, jclass, jlong client, jbyteArray document, jobject listener) {
  return Guarded<jlong>(env, 0, [&]() -> jlong {
    std::string name;
    if (!ReadText(env, document, "document", &name)) return 0;
    uint64_t id = 0;
    WithCallback(env, listener, [&](Callback* callback, coplan_error** error) {
      return coplan_follow(Client(client), name.c_str(), OnEvent, callback, FreeCallback, &id,
                           error);
    });
    return static_cast<jlong>(id);
  });
}

jlong NativeAddClientListener(JNIEnv* env, jclass, jlong client, jobject listener) {
  return Guarded<jlong>(env, 0, [&]() -> jlong {
    uint64_t id = 0;
    WithCallback(env, listener, [&](Callback* callback, coplan_error** error) {
      return coplan_add_client_listener(Client(client), OnEvent, callback, FreeCallback, &id,
                                        error);
    });
    return static_cast<jlong>(id);
  });
}

void NativeRemoveListener(JNIEnv* env, jclass, jlong client, jlong id, jobject released) {
  Guarded<int>(env, 0, [&]() {
    WithCallback(env, released, [&](Callback* callback, coplan_error** error) {
      return coplan_remove_listener(Client(client), static_cast<uint64_t>(id), OnStatus, callback,
                                    FreeCallback, error);
    });
    return 0;
  });
}

// The calls on a document name with a result (`with_result`) or a status.
void NativeForget(JNIEnv* env, jclass, jlong client, jbyteArray document, jobject done) {
  Guarded<int>(env, 0, [&]() {
    std::string name;
    if (!ReadText(env, document, "document", &name)) return 0;
    WithCallback(env, done, [&](Callback* callback, coplan_error** error) {
      return coplan_forget(Client(client), name.c_str(), OnStatus, callback, FreeCallback, error);
    });
    return 0;
  });
}

void NativeGetDocument(JNIEnv* env, jclass, jlong client, jbyteArray document, jobject done) {
  Guarded<int>(env, 0, [&]() {
    std::string name;
    if (!ReadText(env, document, "document", &name)) return 0;
    WithCallback(env, done, [&](Callback* callback, coplan_error** error) {
      return coplan_get_document(Client(client), name.c_str(), OnResult, callback, FreeCallback,
                                 error);
    });
    return 0;
  });
}

void NativeGetGridVersion(JNIEnv* env, jclass, jlong client, jbyteArray version, jobject done) {
  Guarded<int>(env, 0, [&]() {
    std::string name;
    if (!ReadText(env, version, "name", &name)) return 0;
    WithCallback(env, done, [&](Callback* callback, coplan_error** error) {
      return coplan_get_grid_version(Client(client), name.c_str(), OnResult, callback, FreeCallback,
                                     error);
    });
    return 0;
  });
}

void NativeGetAccessLog(JNIEnv* env, jclass, jlong client, jobject done) {
  Guarded<int>(env, 0, [&]() {
    WithCallback(env, done, [&](Callback* callback, coplan_error** error) {
      return coplan_get_access_log(Client(client), OnResult, callback, FreeCallback, error);
    });
    return 0;
  });
}

void NativeEdit(JNIEnv* env, jclass, jlong client, jbyteArray request, jobject done) {
  Guarded<int>(env, 0, [&]() {
    std::string bytes;
    if (request == nullptr) {
      ThrowCoplan(env, COPLAN_INVALID_ARGUMENT, "request is null", nullptr, 0);
      return 0;
    }
    if (!ReadBytes(env, request, &bytes)) return 0;
    WithCallback(env, done, [&](Callback* callback, coplan_error** error) {
      return coplan_edit(Client(client), reinterpret_cast<const uint8_t*>(bytes.data()),
                         bytes.size(), OnResult, callback, FreeCallback, error);
    });
    return 0;
  });
}

void NativeResolveConflict(JNIEnv* env, jclass, jlong client, jbyteArray resolution, jobject done) {
  Guarded<int>(env, 0, [&]() {
    std::string bytes;
    if (resolution == nullptr) {
      ThrowCoplan(env, COPLAN_INVALID_ARGUMENT, "resolution is null", nullptr, 0);
      return 0;
    }
    if (!ReadBytes(env, resolution, &bytes)) return 0;
    WithCallback(env, done, [&](Callback* callback, coplan_error** error) {
      return coplan_resolve_conflict(Client(client), reinterpret_cast<const uint8_t*>(bytes.data()),
                                     bytes.size(), OnStatus, callback, FreeCallback, error);
    });
    return 0;
  });
}

void NativeGetPendingState(JNIEnv* env, jclass, jlong client, jobject done) {
  Guarded<int>(env, 0, [&]() {
    WithCallback(env, done, [&](Callback* callback, coplan_error** error) {
      return coplan_get_pending_state(Client(client), OnResult, callback, FreeCallback, error);
    });
    return 0;
  });
}

void NativeFlush(JNIEnv* env, jclass, jlong client, jlong timeout_ms, jobject done) {
  Guarded<int>(env, 0, [&]() {
    WithCallback(env, done, [&](Callback* callback, coplan_error** error) {
      return coplan_flush(Client(client), timeout_ms, OnStatus, callback, FreeCallback, error);
    });
    return 0;
  });
}

void NativeCall(JNIEnv* env, jclass, jlong client, jbyteArray method, jbyteArray request,
                jobject done) {
  Guarded<int>(env, 0, [&]() {
    std::string name, bytes;
    if (!ReadText(env, method, "method", &name)) return 0;
    if (request == nullptr) {
      ThrowCoplan(env, COPLAN_INVALID_ARGUMENT, "request is null", nullptr, 0);
      return 0;
    }
    if (!ReadBytes(env, request, &bytes)) return 0;
    WithCallback(env, done, [&](Callback* callback, coplan_error** error) {
      return coplan_call(Client(client), name.c_str(),
                         reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), OnResult,
                         callback, FreeCallback, error);
    });
    return 0;
  });
}

void NativeCountOpenStreams(JNIEnv* env, jclass, jlong client, jobject done) {
  Guarded<int>(env, 0, [&]() {
    WithCallback(env, done, [&](Callback* callback, coplan_error** error) {
      return coplan_count_open_streams(Client(client), OnCount, callback, FreeCallback, error);
    });
    return 0;
  });
}

void NativeDestroyCache(JNIEnv* env, jclass, jbyteArray path) {
  Guarded<int>(env, 0, [&]() {
    std::string file;
    if (!ReadText(env, path, "path", &file)) return 0;
    coplan_error* error = nullptr;
    const int code = coplan_destroy_cache(file.c_str(), &error);
    if (code != COPLAN_OK) ThrowAbiError(env, code, error);
    return 0;
  });
}

jint NativeAbiVersion(JNIEnv*, jclass) { return static_cast<jint>(coplan_abi_version()); }

jbyteArray NativeVersion(JNIEnv* env, jclass) {
  const char* version = coplan_version();
  return NewBytes(env, version, std::strlen(version));
}

jint NativeLiveGlobalRefs(JNIEnv*, jclass) { return g_live_refs.load(); }

// For the tests: `threads` native threads (attached here, like the core's callback thread)
// each deliver `per_thread` events to target.onEvent, whatever it throws.
void NativeCallbackStorm(JNIEnv* env, jclass, jobject target, jint threads, jint per_thread) {
  Guarded<int>(env, 0, [&]() {
    if (threads < 0 || threads > 64 || per_thread < 0) {
      ThrowCoplan(env, COPLAN_INVALID_ARGUMENT, "threads must be 0-64, per_thread >= 0", nullptr,
                  0);
      return 0;
    }
    Callback* callback = NewCallback(env, target);
    if (callback == nullptr) return 0;
    std::vector<std::thread> workers;
    for (jint t = 0; t < threads; ++t) {
      workers.emplace_back([callback, t, per_thread]() {
        for (jint i = 0; i < per_thread; ++i) {
          const std::string event = std::to_string(t) + ":" + std::to_string(i);
          OnEvent(callback, reinterpret_cast<const uint8_t*>(event.data()), event.size());
        }
      });
    }
    for (std::thread& worker : workers) worker.join();
    DeleteCallback(env, callback);
    return 0;
  });
}

#define COPLAN_CALLBACK "Lapp/coplan/mobile/NativeCallback;"

const JNINativeMethod kMethods[] = {
    {const_cast<char*>("nativeOpen"), const_cast<char*>("([BZ[B[B[B[B[BJJI" COPLAN_CALLBACK ")J"),
     reinterpret_cast<void*>(NativeOpen)},
    {const_cast<char*>("nativeClose"), const_cast<char*>("(J)I"),
     reinterpret_cast<void*>(NativeClose)},
    {const_cast<char*>("nativeFree"), const_cast<char*>("(J)I"),
     reinterpret_cast<void*>(NativeFree)},
    {const_cast<char*>("nativeSession"), const_cast<char*>("(J)[B"),
     reinterpret_cast<void*>(NativeSession)},
    {const_cast<char*>("nativeSignIn"), const_cast<char*>("(J[B[B" COPLAN_CALLBACK ")V"),
     reinterpret_cast<void*>(NativeSignIn)},
    {const_cast<char*>("nativeSignOut"), const_cast<char*>("(J" COPLAN_CALLBACK ")V"),
     reinterpret_cast<void*>(NativeSignOut)},
    {const_cast<char*>("nativeForgetDevice"), const_cast<char*>("(J" COPLAN_CALLBACK ")V"),
     reinterpret_cast<void*>(NativeForgetDevice)},
    {const_cast<char*>("nativeFollow"), const_cast<char*>("(J[B" COPLAN_CALLBACK ")J"),
     reinterpret_cast<void*>(NativeFollow)},
    {const_cast<char*>("nativeAddClientListener"), const_cast<char*>("(J" COPLAN_CALLBACK ")J"),
     reinterpret_cast<void*>(NativeAddClientListener)},
    {const_cast<char*>("nativeRemoveListener"), const_cast<char*>("(JJ" COPLAN_CALLBACK ")V"),
     reinterpret_cast<void*>(NativeRemoveListener)},
    {const_cast<char*>("nativeForget"), const_cast<char*>("(J[B" COPLAN_CALLBACK ")V"),
     reinterpret_cast<void*>(NativeForget)},
    {const_cast<char*>("nativeGetDocument"), const_cast<char*>("(J[B" COPLAN_CALLBACK ")V"),
     reinterpret_cast<void*>(NativeGetDocument)},
    {const_cast<char*>("nativeGetGridVersion"), const_cast<char*>("(J[B" COPLAN_CALLBACK ")V"),
     reinterpret_cast<void*>(NativeGetGridVersion)},
    {const_cast<char*>("nativeGetAccessLog"), const_cast<char*>("(J" COPLAN_CALLBACK ")V"),
     reinterpret_cast<void*>(NativeGetAccessLog)},
    {const_cast<char*>("nativeEdit"), const_cast<char*>("(J[B" COPLAN_CALLBACK ")V"),
     reinterpret_cast<void*>(NativeEdit)},
    {const_cast<char*>("nativeResolveConflict"), const_cast<char*>("(J[B" COPLAN_CALLBACK ")V"),
     reinterpret_cast<void*>(NativeResolveConflict)},
    {const_cast<char*>("nativeGetPendingState"), const_cast<char*>("(J" COPLAN_CALLBACK ")V"),
     reinterpret_cast<void*>(NativeGetPendingState)},
    {const_cast<char*>("nativeFlush"), const_cast<char*>("(JJ" COPLAN_CALLBACK ")V"),
     reinterpret_cast<void*>(NativeFlush)},
    {const_cast<char*>("nativeCall"), const_cast<char*>("(J[B[B" COPLAN_CALLBACK ")V"),
     reinterpret_cast<void*>(NativeCall)},
    {const_cast<char*>("nativeCountOpenStreams"), const_cast<char*>("(J" COPLAN_CALLBACK ")V"),
     reinterpret_cast<void*>(NativeCountOpenStreams)},
    {const_cast<char*>("nativeDestroyCache"), const_cast<char*>("([B)V"),
     reinterpret_cast<void*>(NativeDestroyCache)},
    {const_cast<char*>("nativeAbiVersion"), const_cast<char*>("()I"),
     reinterpret_cast<void*>(NativeAbiVersion)},
    {const_cast<char*>("nativeVersion"), const_cast<char*>("()[B"),
     reinterpret_cast<void*>(NativeVersion)},
    {const_cast<char*>("nativeLiveGlobalRefs"), const_cast<char*>("()I"),
     reinterpret_cast<void*>(NativeLiveGlobalRefs)},
    {const_cast<char*>("nativeCallbackStorm"), const_cast<char*>("(" COPLAN_CALLBACK "II)V"),
     reinterpret_cast<void*>(NativeCallbackStorm)},
};

// A global reference to a class (kept for the library's life; not counted).
jclass CacheClass(JNIEnv* env, const char* name) {
  jclass local = env->FindClass(name);
  if (local == nullptr || env->ExceptionCheck()) return nullptr;
  auto global = static_cast<jclass>(env->NewGlobalRef(local));
  env->DeleteLocalRef(local);
  return global;
}

bool Load(JNIEnv* env) {
  g_callback_class = CacheClass(env, "app/coplan/mobile/NativeCallback");
  g_exception_class = CacheClass(env, "app/coplan/mobile/CoplanException");
  g_bridge_class = CacheClass(env, "app/coplan/mobile/NativeBridge");
  if (g_callback_class == nullptr || g_exception_class == nullptr || g_bridge_class == nullptr) {
    return false;
  }
  g_on_result = env->GetMethodID(g_callback_class, "onResult", "(I[B[B[BI)V");
  if (g_on_result == nullptr || env->ExceptionCheck()) return false;
  g_on_event = env->GetMethodID(g_callback_class, "onEvent", "([B)V");
  if (g_on_event == nullptr || env->ExceptionCheck()) return false;
  g_exception_init = env->GetMethodID(g_exception_class, "<init>", "(I[B[B)V");
  if (g_exception_init == nullptr || env->ExceptionCheck()) return false;
  g_report_failure =
      env->GetStaticMethodID(g_bridge_class, "reportFailure", "(Ljava/lang/Throwable;)V");
  if (g_report_failure == nullptr || env->ExceptionCheck()) return false;
  const jint count = static_cast<jint>(sizeof kMethods / sizeof kMethods[0]);
  if (env->RegisterNatives(g_bridge_class, kMethods, count) != JNI_OK || env->ExceptionCheck()) {
    return false;
  }
  return true;
}

}  // namespace

// The one exported symbol. Fails the load (UnsatisfiedLinkError) when the loaded
// libcoplan is not the ABI this glue was built for, or the Java classes do not match.
extern "C" __attribute__((visibility("default"))) jint JNI_OnLoad(JavaVM* vm, void*) {
  try {
    g_vm = vm;
    JNIEnv* env = nullptr;
    if (vm->GetEnv(reinterpret_cast<void**>(&env), kJniVersion) != JNI_OK) return JNI_ERR;
    if (coplan_abi_version() != COPLAN_ABI_VERSION) return JNI_ERR;
    if (!Load(env)) {
      if (env->ExceptionCheck()) env->ExceptionClear();
      return JNI_ERR;
    }
    return kJniVersion;
  } catch (...) {
    return JNI_ERR;
  }
}
