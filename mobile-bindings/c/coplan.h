/*
 * coplan.h: the stable C ABI of the Coplan client core (libcoplan.so), the only surface the
 * Android (JNI) and iOS (Swift) wrappers use. Pure C99; C++ may include it too.
 *
 * A client keeps the documents a device follows on the device, encrypted, so a crisis plan
 * opens with no signal; applies edits at once and sends them when the server answers; and
 * follows every document live over one sync stream. See DESIGN.md section 6.
 *
 * ----------------------------------------------------------------------------------------
 * THE CONTRACT
 *
 * Versions. COPLAN_ABI_VERSION is the ABI this header describes; coplan_abi_version() is
 * the one the loaded library implements (they must be equal). Symbols carry the ELF
 * version node COPLAN_1. coplan_version() is the library's release, "major.minor.patch".
 *
 * Threads. Every function returns at once (coplan_open reads the cache file, nothing more;
 * coplan_close and coplan_client_free wait for the core to stop) and may be called from any
 * thread: a coplan_client is thread-safe. Callbacks and listeners run on the core's one
 * callback thread, one at a time, in order, never on the caller's thread while the call is
 * in progress. A callback may call back into the library (not coplan_close or
 * coplan_client_free: they answer FAILED_PRECONDITION from a callback) but should not
 * block for long: it holds up the callbacks after it. Calls not answered when the client
 * closes get CANCELLED, before coplan_close returns; should the core ever let go of one
 * unanswered, the library answers CANCELLED itself, on the thread that let go of it (the
 * core's, or the one in coplan_close). Callbacks must return normally (no C++ exception,
 * no longjmp).
 *
 * Callbacks are a triple: function, `void* context` (passed back untouched) and
 * `free_context` (may be NULL). When a function returns COPLAN_OK, `done` is called
 * exactly once (a listener: any number of times), and then `free_context(context)` exactly
 * once, when the library will never call the function again: after `done` has returned;
 * for a listener, after it was removed, its document ended, or the client closed.
 * free_context may run on the callback thread, the core's thread, or within coplan_close.
 * When a function returns an error, neither is ever called: the context stays the
 * caller's.
 *
 * Memory. Everything passed to a callback (bytes, errors) is valid only during the
 * callback: copy what you keep. What the library allocates for the caller has its free:
 * a coplan_error* (coplan_error_free), a buffer (coplan_free_buffer), a client
 * (coplan_client_free). Arguments are copied before the function returns. Every buffer the
 * library hands out is followed by a NUL byte not counted in its size, so JSON can be read
 * as a C string.
 *
 * Messages cross the ABI as serialized protobuf (proto/coplan/client/v1/device.proto and
 * proto/coplan/v1/), so bindings use their own generated classes; or, for platforms
 * without a protobuf runtime, as proto3 JSON (lowerCamelCase names, int64 as strings,
 * enums as names): coplan_options.message_format chooses, for every message of the client
 * in both directions. coplan_call always takes and gives protobuf bytes, coplan_call_json
 * always JSON.
 *
 * Errors carry gRPC's codes (coplan_code). A function returns COPLAN_OK or the code of an
 * error it can tell at once: a NULL or invalid argument (INVALID_ARGUMENT, naming it),
 * bytes that do not parse (INVALID_ARGUMENT naming the message type), a closed client
 * (CANCELLED), an internal failure (INTERNAL: no C++ exception ever crosses the ABI). Then,
 * if `error` is not NULL, *error receives the details (free it with coplan_error_free);
 * on success *error is set to NULL. Everything else (the server's answers, the cache)
 * arrives at the callback as a coplan_error that is NULL on success. A coplan_error holds
 * the code, a UTF-8 message and the google.rpc.Status (code, message and details: Any
 * payloads such as google.rpc.BadRequest, google.rpc.ErrorInfo, coplan.v1.EditConflict),
 * serialized and as proto3 JSON.
 *
 * Example (error handling shortened):
 *
 *   coplan_options options;
 *   memset(&options, 0, sizeof options);
 *   options.struct_size = sizeof options;
 *   options.server = "coplan.example.nhs.uk:443";
 *   options.tls = 1;
 *   options.cache_path = "/data/.../coplan.cache";
 *   options.cache_key = key;            // 32 bytes from the Keystore / Keychain
 *   options.cache_key_size = 32;
 *   options.message_format = COPLAN_FORMAT_JSON;
 *   coplan_client* client = NULL;
 *   coplan_error* error = NULL;
 *   if (coplan_open(&options, &client, &error) == COPLAN_DATA_LOSS) {
 *     // wrong key or damaged file: coplan_destroy_cache(path, NULL) and open again
 *   }
 *   coplan_error_free(error);
 *   coplan_sign_in(client, "alex", password, on_signed_in, app_state, NULL, NULL);
 *   uint64_t id;
 *   coplan_follow(client, "people/me/plans/crisis", on_event, view, release_view, &id, NULL);
 *   ...
 *   coplan_client_free(client);
 * ----------------------------------------------------------------------------------------
 */
#ifndef COPLAN_H_
#define COPLAN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COPLAN_ABI_VERSION 1

#if defined(__GNUC__) || defined(__clang__)
#define COPLAN_API __attribute__((visibility("default")))
#else
#define COPLAN_API
#endif

/* gRPC's status codes. Functions return them as int. */
typedef enum coplan_code {
  COPLAN_OK = 0,
  COPLAN_CANCELLED = 1,
  COPLAN_UNKNOWN = 2,
  COPLAN_INVALID_ARGUMENT = 3,
  COPLAN_DEADLINE_EXCEEDED = 4,
  COPLAN_NOT_FOUND = 5,
  COPLAN_ALREADY_EXISTS = 6,
  COPLAN_PERMISSION_DENIED = 7,
  COPLAN_RESOURCE_EXHAUSTED = 8,
  COPLAN_FAILED_PRECONDITION = 9,
  COPLAN_ABORTED = 10,
  COPLAN_OUT_OF_RANGE = 11,
  COPLAN_UNIMPLEMENTED = 12,
  COPLAN_INTERNAL = 13,
  COPLAN_UNAVAILABLE = 14,
  COPLAN_DATA_LOSS = 15,
  COPLAN_UNAUTHENTICATED = 16
} coplan_code;

/* How the client's messages cross the ABI (coplan_options.message_format). */
typedef enum coplan_format {
  COPLAN_FORMAT_PROTOBUF = 0, /* serialized protobuf (binary wire format) */
  COPLAN_FORMAT_JSON = 1      /* proto3 JSON, UTF-8 */
} coplan_format;

/* An error. Given to callbacks (valid during the callback only) or through an `error`
 * out-parameter (the caller frees it with coplan_error_free). */
typedef struct coplan_error {
  int code;            /* a coplan_code, never COPLAN_OK */
  const char* message; /* UTF-8, NUL-terminated, for developers */
  /* The google.rpc.Status: code, message and details (Any). Serialized protobuf... */
  const uint8_t* rpc_status;
  size_t rpc_status_size;
  /* ...and the same as proto3 JSON (NUL-terminated), e.g. {"code":3,"message":"...",
   * "details":[{"@type":"type.googleapis.com/google.rpc.BadRequest",...}]}. */
  const char* rpc_status_json;
} coplan_error;

/* The client: opaque; thread-safe. */
typedef struct coplan_client coplan_client;

/* Frees a callback's context (the third member of every callback triple). */
typedef void (*coplan_free_fn)(void* context);
/* A call's answer: error NULL and the message (`data`, `size`), or an error (data NULL). */
typedef void (*coplan_result_fn)(void* context, const coplan_error* error, const uint8_t* data,
                                 size_t size);
/* A call without an answer message: error NULL on success. */
typedef void (*coplan_status_fn)(void* context, const coplan_error* error);
/* A count (coplan_count_open_streams): error NULL and `count`, or an error. */
typedef void (*coplan_count_fn)(void* context, const coplan_error* error, int count);
/* A listener's event: a coplan.client.v1.DocumentEvent (coplan_follow) or
 * coplan.client.v1.ClientEvent (client listeners). */
typedef void (*coplan_event_fn)(void* context, const uint8_t* data, size_t size);

/* How to open a client. Zero it, set struct_size = sizeof(coplan_options) (so later
 * versions can add fields at the end), then what you need. Strings are UTF-8,
 * NUL-terminated; NULL means empty. Copied by coplan_open. */
typedef struct coplan_options {
  size_t struct_size;
  /* "host:port" of the Coplan server (required). */
  const char* server;
  /* Non-zero: TLS, with root_certificates (PEM) or the system's when NULL. Zero:
   * plaintext, for a server on the same machine only. */
  int tls;
  const char* root_certificates;
  /* The encrypted offline cache: a file path and its 256-bit key (32 raw bytes, from the
   * Android Keystore or the iOS Keychain; never stored by the library). Without a path,
   * nothing is kept on disk. */
  const char* cache_path;
  const uint8_t* cache_key;
  size_t cache_key_size;
  /* Opens a device session (kept across restarts, shown in the person's sessions), e.g.
   * "Alex's phone"; NULL: a plain session that ends with the access token. */
  const char* device_name;
  /* For the server's logs, e.g. "coplan-android/1.2". */
  const char* user_agent;
  /* How long one call to the server may take; 0: 10 s. */
  int64_t call_deadline_ms;
  /* The longest wait between attempts to reach the server; 0: 30 s. */
  int64_t max_backoff_ms;
  /* A coplan_format: how this client's messages cross the ABI. */
  int message_format;
  /* Optional: hears conflicts, refusals, acceptances, connectivity and the session's end
   * (coplan.client.v1.ClientEvent) from the start, so nothing refused while the app sets
   * up is missed. listener_free is called once the client is closed (not if coplan_open
   * fails). */
  coplan_event_fn listener;
  void* listener_context;
  coplan_free_fn listener_free;
} coplan_options;

/* --- Versions and memory ------------------------------------------------------------- */

/* COPLAN_ABI_VERSION of the loaded library. */
COPLAN_API uint32_t coplan_abi_version(void);
/* The library's version, "major.minor.patch" (static storage: do not free). */
COPLAN_API const char* coplan_version(void);
/* Frees an error from an out-parameter; NULL is ignored. */
COPLAN_API void coplan_error_free(coplan_error* error);
/* Frees a buffer the library allocated (coplan_session); NULL is ignored. */
COPLAN_API void coplan_free_buffer(uint8_t* data);

/* --- The client -------------------------------------------------------------------- */

/* Opens the cache and, if the device was signed in, carries on (follows its documents and
 * sends its queued edits as soon as the server answers). *client is the new client, or
 * NULL on error. A wrong key or a damaged cache file: COPLAN_DATA_LOSS (ErrorInfo reason
 * CACHE_UNREADABLE): coplan_destroy_cache and open again. A key that is not 32 bytes:
 * INVALID_ARGUMENT. */
COPLAN_API int coplan_open(const coplan_options* options, coplan_client** client,
                           coplan_error** error);
/* Ends every call and the sync stream, runs the callbacks still due (calls not answered
 * get CANCELLED), closes the cache, and waits for all of it. Idempotent; later calls
 * return CANCELLED. FAILED_PRECONDITION from a callback (it would wait for itself). */
COPLAN_API int coplan_close(coplan_client* client);
/* coplan_close, then frees the client. The same FAILED_PRECONDITION from a callback (and
 * nothing is freed). */
COPLAN_API int coplan_client_free(coplan_client* client);
/* Deletes a cache file (and its journal) that no client has open. */
COPLAN_API int coplan_destroy_cache(const char* path, coplan_error** error);

/* --- The session ------------------------------------------------------------------- */

/* Signs in with a built-in account and opens a device session (kept in the cache).
 * done: a coplan.client.v1.SessionState; UNAUTHENTICATED for a wrong password. */
COPLAN_API int coplan_sign_in(coplan_client* client, const char* username, const char* password,
                              coplan_result_fn done, void* context, coplan_free_fn free_context,
                              coplan_error** error);
/* Who is signed in now, at once: a coplan.client.v1.SessionState in a buffer the caller
 * frees with coplan_free_buffer (`*size` may be 0: nobody signed in, in protobuf). */
COPLAN_API int coplan_session(coplan_client* client, uint8_t** data, size_t* size,
                              coplan_error** error);
/* Wipes everything the device holds and ends the session on the server. The wipe
 * happens even offline; done then gets UNAVAILABLE (the server could not be told). */
COPLAN_API int coplan_sign_out(coplan_client* client, coplan_status_fn done, void* context,
                               coplan_free_fn free_context, coplan_error** error);
/* coplan_sign_out, then deletes the cache file itself. Later calls on this client return
 * CANCELLED; free it with coplan_client_free. */
COPLAN_API int coplan_forget_device(coplan_client* client, coplan_status_fn done, void* context,
                                    coplan_free_fn free_context, coplan_error** error);

/* --- Documents --------------------------------------------------------------------- */

/* Keeps `document` ("people/{person}/plans/{plan}", ".../decisions/{decision}";
 * "people/me/..." for one's own) on the device and up to date, and tells `listener`
 * (coplan.client.v1.DocumentEvent): the cached copy at once if there is one, then every
 * change, presence and sign-off. An `ended` event is the last (e.g. NOT_FOUND: no longer
 * shared). *listener_id identifies the listener for coplan_remove_listener. */
COPLAN_API int coplan_follow(coplan_client* client, const char* document, coplan_event_fn listener,
                             void* context, coplan_free_fn free_context, uint64_t* listener_id,
                             coplan_error** error);
/* Removes a document or client listener; it hears nothing after `released` is called
 * (`released` may be NULL). A document stays on the device until coplan_forget. */
COPLAN_API int coplan_remove_listener(coplan_client* client, uint64_t listener_id,
                                      coplan_status_fn released, void* context,
                                      coplan_free_fn free_context, coplan_error** error);
/* Stops keeping the document on the device (FAILED_PRECONDITION while edits of it wait). */
COPLAN_API int coplan_forget(coplan_client* client, const char* document, coplan_status_fn done,
                             void* context, coplan_free_fn free_context, coplan_error** error);
/* The document as the device has it: a coplan.client.v1.CachedDocument (NOT_FOUND without
 * a copy, or one that may no longer be shown). Works offline. */
COPLAN_API int coplan_get_document(coplan_client* client, const char* document,
                                   coplan_result_fn done, void* context,
                                   coplan_free_fn free_context, coplan_error** error);
/* An option-grid version ("optionGrids/{grid}/versions/{version}"): a
 * coplan.client.v1.CachedGridVersion, from the device if kept there, else the server. */
COPLAN_API int coplan_get_grid_version(coplan_client* client, const char* name,
                                       coplan_result_fn done, void* context,
                                       coplan_free_fn free_context, coplan_error** error);
/* The person's latest access-log page: a coplan.client.v1.CachedAccessLog, from the
 * server when it answers, else the device's copy. */
COPLAN_API int coplan_get_access_log(coplan_client* client, coplan_result_fn done, void* context,
                                     coplan_free_fn free_context, coplan_error** error);

/* --- Edits ------------------------------------------------------------------------- */

/* Applies a coplan.client.v1.EditRequest to the device's copy at once and queues it
 * durably. done: a coplan.client.v1.EditQueued once it is safe from an app kill; or the
 * error the server would give (nothing queued). */
COPLAN_API int coplan_edit(coplan_client* client, const uint8_t* request, size_t request_size,
                           coplan_result_fn done, void* context, coplan_free_fn free_context,
                           coplan_error** error);
/* Resolves a conflict: a coplan.client.v1.Resolution. */
COPLAN_API int coplan_resolve_conflict(coplan_client* client, const uint8_t* resolution,
                                       size_t resolution_size, coplan_status_fn done, void* context,
                                       coplan_free_fn free_context, coplan_error** error);
/* The queue of edits and its conflicts: a coplan.client.v1.PendingState. */
COPLAN_API int coplan_get_pending_state(coplan_client* client, coplan_result_fn done, void* context,
                                        coplan_free_fn free_context, coplan_error** error);
/* done once nothing waits to be sent (every batch accepted, refused or in conflict) and
 * every followed document is live; DEADLINE_EXCEEDED after timeout_ms (>= 0). */
COPLAN_API int coplan_flush(coplan_client* client, int64_t timeout_ms, coplan_status_fn done,
                            void* context, coplan_free_fn free_context, coplan_error** error);
/* Adds a client listener (coplan.client.v1.ClientEvent), like coplan_options.listener. */
COPLAN_API int coplan_add_client_listener(coplan_client* client, coplan_event_fn listener,
                                          void* context, coplan_free_fn free_context,
                                          uint64_t* listener_id, coplan_error** error);

/* --- Any other call ---------------------------------------------------------------- */

/* Calls a unary method of the API by name ("coplan.v1.PlanService/GetPlan") with the
 * serialized request; done gets the serialized response. Reads and edits with an
 * idempotency key are retried while the server is unreachable. INVALID_ARGUMENT at once
 * for an unknown or streaming method, or bytes that are not its request. */
COPLAN_API int coplan_call(coplan_client* client, const char* method, const uint8_t* request,
                           size_t request_size, coplan_result_fn done, void* context,
                           coplan_free_fn free_context, coplan_error** error);
/* The same in proto3 JSON (UTF-8, `request_size` bytes, no NUL needed); done gets the
 * response as JSON. */
COPLAN_API int coplan_call_json(coplan_client* client, const char* method,
                                const uint8_t* request_json, size_t request_size,
                                coplan_result_fn done, void* context, coplan_free_fn free_context,
                                coplan_error** error);
/* For tests and benchmarks: how many sync streams the client has open (0 or 1). */
COPLAN_API int coplan_count_open_streams(coplan_client* client, coplan_count_fn done, void* context,
                                         coplan_free_fn free_context, coplan_error** error);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* COPLAN_H_ */
