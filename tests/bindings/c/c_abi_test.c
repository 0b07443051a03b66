/*
 * The C ABI (mobile-bindings/c/coplan.h) end to end, from pure C11, linked with libcoplan
 * only, against a real server:
 *
 *   c_abi_test <server host:port> <username> <password> <temp dir> <crisis plan name>
 *
 * Run by tests/integration/c_abi_e2e_test.cc, which starts the server and creates the
 * person and the plan. Exits 0 when every check passes; prints what failed otherwise.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coplan.h"

/* --- Checks ---------------------------------------------------------------------------- */

static int checks = 0;

static void fail(int line, const char* condition, const char* format, ...) {
  va_list args;
  fprintf(stderr, "c_abi_test.c:%d: FAILED: %s\n  ", line, condition);
  va_start(args, format);
  vfprintf(stderr, format, args);
  va_end(args);
  fprintf(stderr, "\n");
  exit(1);
}

#define CHECK(condition, ...)                                  \
  do {                                                         \
    ++checks;                                                  \
    if (!(condition)) fail(__LINE__, #condition, __VA_ARGS__); \
  } while (0)

static void step(const char* what) {
  printf("-- %s\n", what);
  fflush(stdout);
}

/* Whether `needle` occurs in the `size` bytes at `data` (protobuf strings are raw UTF-8). */
static int contains(const uint8_t* data, size_t size, const char* needle) {
  size_t n = strlen(needle);
  size_t i;
  if (data == NULL || n > size) return 0;
  for (i = 0; i + n <= size; ++i) {
    if (memcmp(data + i, needle, n) == 0) return 1;
  }
  return 0;
}

static const uint8_t* text(const char* s) { return (const uint8_t*)s; }

static pthread_t main_thread;
/* Set when the library calls back on the thread that made the call. */
static int called_on_caller_thread = 0;

static void note_thread(void) {
  if (pthread_equal(pthread_self(), main_thread)) called_on_caller_thread = 1;
}

static struct timespec deadline_in(int seconds) {
  struct timespec at;
  clock_gettime(CLOCK_REALTIME, &at);
  at.tv_sec += seconds;
  return at;
}

/* --- Waiting for a call's answer ------------------------------------------------------- */

typedef struct waiter {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int answers; /* how many times done ran (must end as 1) */
  int freed;   /* how many times free_context ran (must end as 1) */
  int code;    /* COPLAN_OK, or the error's code */
  char message[2048];
  char rpc_status_json[4096];
  size_t rpc_status_size;
  uint8_t* data;
  size_t size;
  int count;
  /* What coplan_close answered from inside the callback, when asked to try. */
  coplan_client* close_from_callback;
  int close_code;
} waiter;

static void waiter_init(waiter* w) {
  memset(w, 0, sizeof *w);
  pthread_mutex_init(&w->mutex, NULL);
  pthread_cond_init(&w->cond, NULL);
  w->code = -1;
  w->close_code = -1;
}

static void waiter_destroy(waiter* w) {
  free(w->data);
  pthread_mutex_destroy(&w->mutex);
  pthread_cond_destroy(&w->cond);
}

static void record_error(waiter* w, const coplan_error* error) {
  if (error == NULL) {
    w->code = COPLAN_OK;
    return;
  }
  w->code = error->code;
  snprintf(w->message, sizeof w->message, "%s", error->message);
  snprintf(w->rpc_status_json, sizeof w->rpc_status_json, "%s", error->rpc_status_json);
  w->rpc_status_size = error->rpc_status_size;
}

static void finish(waiter* w) {
  ++w->answers;
  pthread_cond_broadcast(&w->cond);
  pthread_mutex_unlock(&w->mutex);
}

static void on_result(void* context, const coplan_error* error, const uint8_t* data, size_t size) {
  waiter* w = context;
  note_thread();
  pthread_mutex_lock(&w->mutex);
  record_error(w, error);
  free(w->data);
  w->data = NULL;
  w->size = 0;
  if (error == NULL) {
    /* Copy: the bytes are valid only during the callback. The library adds a NUL. */
    w->data = malloc(size + 1);
    memcpy(w->data, data, size + 1);
    w->size = size;
  }
  finish(w);
}

static void on_status(void* context, const coplan_error* error) {
  waiter* w = context;
  note_thread();
  pthread_mutex_lock(&w->mutex);
  record_error(w, error);
  finish(w);
}

static void on_count(void* context, const coplan_error* error, int count) {
  waiter* w = context;
  int closed = -1;
  note_thread();
  if (w->close_from_callback != NULL) closed = coplan_close(w->close_from_callback);
  pthread_mutex_lock(&w->mutex);
  record_error(w, error);
  w->count = count;
  w->close_code = closed;
  finish(w);
}

static void on_free(void* context) {
  waiter* w = context;
  pthread_mutex_lock(&w->mutex);
  ++w->freed;
  pthread_cond_broadcast(&w->cond);
  pthread_mutex_unlock(&w->mutex);
}

/* Waits until done has run and free_context after it; 0 on timeout. */
static int wait_done(waiter* w, int seconds) {
  struct timespec at = deadline_in(seconds);
  int ok = 1;
  pthread_mutex_lock(&w->mutex);
  while (w->answers == 0 || w->freed == 0) {
    if (pthread_cond_timedwait(&w->cond, &w->mutex, &at) == ETIMEDOUT) {
      ok = 0;
      break;
    }
  }
  pthread_mutex_unlock(&w->mutex);
  return ok;
}

#define EXPECT_ANSWER(w, seconds)                                                                  \
  do {                                                                                             \
    CHECK(wait_done((w), (seconds)), "no answer (answers %d, freed %d)", (w)->answers,             \
          (w)->freed);                                                                             \
    CHECK((w)->answers == 1 && (w)->freed == 1, "answered %d times, freed %d times", (w)->answers, \
          (w)->freed);                                                                             \
  } while (0)

/* --- Listeners ------------------------------------------------------------------------- */

#define MAX_EVENTS 256

typedef struct events {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  uint8_t* event[MAX_EVENTS]; /* copies, each followed by a NUL */
  size_t size[MAX_EVENTS];
  int count;
  int freed;
} events;

static void events_init(events* e) {
  memset(e, 0, sizeof *e);
  pthread_mutex_init(&e->mutex, NULL);
  pthread_cond_init(&e->cond, NULL);
}

static void events_destroy(events* e) {
  int i;
  for (i = 0; i < e->count; ++i) free(e->event[i]);
  pthread_mutex_destroy(&e->mutex);
  pthread_cond_destroy(&e->cond);
}

/* The last event, for messages. */
static const char* last_event(events* e) {
  return e->count > 0 ? (const char*)e->event[e->count - 1] : "(none)";
}

static void on_event(void* context, const uint8_t* data, size_t size) {
  events* e = context;
  note_thread();
  pthread_mutex_lock(&e->mutex);
  if (e->count < MAX_EVENTS) {
    e->event[e->count] = malloc(size + 1);
    memcpy(e->event[e->count], data, size + 1); /* the library's NUL too */
    e->size[e->count] = size;
    ++e->count;
  }
  pthread_cond_broadcast(&e->cond);
  pthread_mutex_unlock(&e->mutex);
}

static void on_events_free(void* context) {
  events* e = context;
  pthread_mutex_lock(&e->mutex);
  ++e->freed;
  pthread_cond_broadcast(&e->cond);
  pthread_mutex_unlock(&e->mutex);
}

/* Waits for one event in which every needle (a NULL-terminated list) occurs; 0 on timeout. */
static int wait_event(events* e, int seconds, const char* first, ...) {
  struct timespec at = deadline_in(seconds);
  int found = 0;
  int i;
  pthread_mutex_lock(&e->mutex);
  for (;;) {
    for (i = 0; i < e->count && !found; ++i) {
      va_list needles;
      const char* needle = first;
      int all = 1;
      va_start(needles, first);
      while (needle != NULL) {
        if (!contains(e->event[i], e->size[i], needle)) all = 0;
        needle = va_arg(needles, const char*);
      }
      va_end(needles);
      found = all;
    }
    if (found) break;
    if (pthread_cond_timedwait(&e->cond, &e->mutex, &at) == ETIMEDOUT) break;
  }
  pthread_mutex_unlock(&e->mutex);
  return found;
}

static int wait_freed(events* e, int seconds) {
  struct timespec at = deadline_in(seconds);
  int ok = 1;
  pthread_mutex_lock(&e->mutex);
  while (e->freed == 0) {
    if (pthread_cond_timedwait(&e->cond, &e->mutex, &at) == ETIMEDOUT) {
      ok = 0;
      break;
    }
  }
  pthread_mutex_unlock(&e->mutex);
  return ok;
}

/* --- Protobuf by hand (the test has no protobuf runtime) ------------------------------- */

typedef struct pb {
  uint8_t data[4096];
  size_t size;
} pb;

static void pb_varint(pb* b, uint64_t value) {
  while (value >= 0x80) {
    b->data[b->size++] = (uint8_t)(value | 0x80);
    value >>= 7;
  }
  b->data[b->size++] = (uint8_t)value;
}

static void pb_bytes(pb* b, int field, const void* data, size_t size) {
  pb_varint(b, ((uint64_t)field << 3) | 2);
  pb_varint(b, size);
  memcpy(b->data + b->size, data, size);
  b->size += size;
}

static void pb_string(pb* b, int field, const char* s) { pb_bytes(b, field, s, strlen(s)); }

static void pb_message(pb* b, int field, const pb* inner) {
  pb_bytes(b, field, inner->data, inner->size);
}

/* A coplan.client.v1.EditRequest inserting {"text": <text>} into the warning signs. */
static void edit_request_inserting(pb* out, const char* document, const char* sign) {
  pb string_value, entry, fields, item, insert, operation;
  memset(out, 0, sizeof *out);
  memset(&string_value, 0, sizeof string_value);
  memset(&entry, 0, sizeof entry);
  memset(&fields, 0, sizeof fields);
  memset(&item, 0, sizeof item);
  memset(&insert, 0, sizeof insert);
  memset(&operation, 0, sizeof operation);
  pb_string(&string_value, 3, sign);                  /* Value.string_value */
  pb_string(&entry, 1, "text");                       /* map entry key */
  pb_message(&entry, 2, &string_value);               /* map entry value */
  pb_message(&fields, 1, &entry);                     /* Struct.fields */
  pb_message(&item, 5, &fields);                      /* Value.struct_value */
  pb_string(&insert, 1, "crisis_plan.warning_signs"); /* InsertItem.list_path */
  pb_message(&insert, 2, &item);                      /* InsertItem.item */
  pb_message(&operation, 2, &insert);                 /* EditOperation.insert_item */
  pb_string(out, 1, document);                        /* EditRequest.document */
  pb_message(out, 2, &operation);                     /* EditRequest.operations */
}

/* --- The test -------------------------------------------------------------------------- */

static const char* server;
static const char* username;
static const char* password;
static const char* document;
static char cache_path[1024];
static uint8_t key[32];
static uint8_t wrong_key[32];

static void base_options(coplan_options* options, const char* address, const uint8_t* cache_key,
                         int format) {
  memset(options, 0, sizeof *options);
  options->struct_size = sizeof *options;
  options->server = address;
  options->cache_path = cache_path;
  options->cache_key = cache_key;
  options->cache_key_size = 32;
  options->device_name = "C test phone";
  options->user_agent = "coplan-c-abi-test/1";
  options->call_deadline_ms = 3000;
  options->max_backoff_ms = 500;
  options->message_format = format;
}

static void test_versions_and_bad_arguments(void) {
  coplan_options options;
  coplan_client* client = (coplan_client*)&options; /* must be reset to NULL */
  coplan_error* error = NULL;
  int major = -1, minor = -1, patch = -1;
  int code;

  step("versions");
  CHECK(coplan_abi_version() == COPLAN_ABI_VERSION, "ABI %u", (unsigned)coplan_abi_version());
  CHECK(coplan_version() != NULL, "no version");
  CHECK(sscanf(coplan_version(), "%d.%d.%d", &major, &minor, &patch) == 3, "version \"%s\"",
        coplan_version());

  step("NULL and bad arguments: INVALID_ARGUMENT, never a crash");
  code = coplan_open(NULL, &client, &error);
  CHECK(code == COPLAN_INVALID_ARGUMENT, "code %d", code);
  CHECK(client == NULL, "the client out-parameter was not reset");
  CHECK(error != NULL && error->code == COPLAN_INVALID_ARGUMENT, "no error details");
  CHECK(strstr(error->message, "options") != NULL, "message: %s", error->message);
  CHECK(error->rpc_status_size > 0, "no serialized google.rpc.Status");
  CHECK(strstr(error->rpc_status_json, "google.rpc.BadRequest") != NULL, "no BadRequest detail: %s",
        error->rpc_status_json);
  CHECK(strstr(error->rpc_status_json, "\"options\"") != NULL, "field not named: %s",
        error->rpc_status_json);
  coplan_error_free(error);
  error = NULL;
  coplan_error_free(NULL);
  coplan_free_buffer(NULL);

  base_options(&options, server, key, COPLAN_FORMAT_JSON);
  CHECK(coplan_open(&options, NULL, NULL) == COPLAN_INVALID_ARGUMENT, "NULL client out");
  options.struct_size = 0;
  CHECK(coplan_open(&options, &client, NULL) == COPLAN_INVALID_ARGUMENT, "struct_size 0");
  base_options(&options, NULL, key, COPLAN_FORMAT_JSON);
  CHECK(coplan_open(&options, &client, NULL) == COPLAN_INVALID_ARGUMENT, "NULL server");
  base_options(&options, server, key, 7);
  CHECK(coplan_open(&options, &client, NULL) == COPLAN_INVALID_ARGUMENT, "format 7");
  base_options(&options, server, key, COPLAN_FORMAT_JSON);
  options.cache_key_size = 16;
  code = coplan_open(&options, &client, &error);
  CHECK(code == COPLAN_INVALID_ARGUMENT, "a 16-byte key: %d", code);
  CHECK(strstr(error->message, "32") != NULL, "message: %s", error->message);
  coplan_error_free(error);
  base_options(&options, server, NULL, COPLAN_FORMAT_JSON);
  CHECK(coplan_open(&options, &client, NULL) == COPLAN_INVALID_ARGUMENT, "NULL key, size 32");
  base_options(&options, "\xff\xfe:1", key, COPLAN_FORMAT_JSON);
  CHECK(coplan_open(&options, &client, NULL) == COPLAN_INVALID_ARGUMENT, "server not UTF-8");
  CHECK(client == NULL, "no client after failures");

  CHECK(coplan_close(NULL) == COPLAN_INVALID_ARGUMENT, "close NULL");
  CHECK(coplan_client_free(NULL) == COPLAN_INVALID_ARGUMENT, "free NULL");
  CHECK(coplan_destroy_cache(NULL, NULL) == COPLAN_INVALID_ARGUMENT, "destroy NULL");
  CHECK(coplan_sign_in(NULL, "a", "b", on_result, NULL, NULL, NULL) == COPLAN_INVALID_ARGUMENT,
        "sign in on NULL");
  CHECK(coplan_get_document(NULL, document, on_result, NULL, NULL, NULL) == COPLAN_INVALID_ARGUMENT,
        "get_document on NULL");
  CHECK(coplan_flush(NULL, 10, on_status, NULL, NULL, NULL) == COPLAN_INVALID_ARGUMENT,
        "flush on NULL");
}

static void test_online(void) {
  coplan_options options;
  coplan_client* client = NULL;
  coplan_error* error = NULL;
  events client_events, followed;
  waiter w;
  uint8_t* session = NULL;
  size_t session_size = 0;
  uint64_t listener_id = 0;
  int code;
  char json[2048];

  step("open with a cache and a 32-byte key (JSON messages)");
  events_init(&client_events);
  base_options(&options, server, key, COPLAN_FORMAT_JSON);
  options.listener = on_event;
  options.listener_context = &client_events;
  options.listener_free = on_events_free;
  code = coplan_open(&options, &client, &error);
  CHECK(code == COPLAN_OK && client != NULL && error == NULL, "open: %d %s", code,
        error ? error->message : "");
  CHECK(access(cache_path, F_OK) == 0, "no cache file at %s", cache_path);

  CHECK(coplan_session(client, &session, &session_size, NULL) == COPLAN_OK, "session");
  CHECK(session != NULL && strstr((const char*)session, "signedIn") == NULL,
        "signed in before signing in: %s", session ? (const char*)session : "(null)");
  coplan_free_buffer(session);
  CHECK(coplan_session(client, NULL, &session_size, NULL) == COPLAN_INVALID_ARGUMENT,
        "session into NULL");

  step("arguments the library refuses at once (the callback is never called)");
  waiter_init(&w);
  code = coplan_sign_in(client, NULL, password, on_result, &w, on_free, NULL);
  CHECK(code == COPLAN_INVALID_ARGUMENT, "NULL username: %d", code);
  code = coplan_sign_in(client, username, password, NULL, &w, on_free, NULL);
  CHECK(code == COPLAN_INVALID_ARGUMENT, "NULL done: %d", code);
  code = coplan_follow(client, document, on_event, &w, on_free, NULL, NULL);
  CHECK(code == COPLAN_INVALID_ARGUMENT, "NULL listener_id: %d", code);
  code = coplan_edit(client, text("{not json"), 9, on_result, &w, on_free, &error);
  CHECK(code == COPLAN_INVALID_ARGUMENT, "garbage JSON edit: %d", code);
  CHECK(strstr(error->message, "coplan.client.v1.EditRequest") != NULL, "message: %s",
        error->message);
  coplan_error_free(error);
  code = coplan_edit(client, NULL, 5, on_result, &w, on_free, NULL);
  CHECK(code == COPLAN_INVALID_ARGUMENT, "NULL bytes with a size: %d", code);
  code = coplan_call_json(client, "coplan.v1.NoSuchService/Nothing", text("{}"), 2, on_result, &w,
                          on_free, &error);
  CHECK(code == COPLAN_INVALID_ARGUMENT, "unknown method: %d", code);
  CHECK(strstr(error->rpc_status_json, "\"method\"") != NULL, "field: %s", error->rpc_status_json);
  coplan_error_free(error);
  code = coplan_call_json(client, "coplan.v1.PlanService/ListPlans", text("{\"parent\": 12"), 13,
                          on_result, &w, on_free, &error);
  CHECK(code == COPLAN_INVALID_ARGUMENT, "bad JSON request: %d", code);
  CHECK(strstr(error->message, "coplan.v1.ListPlansRequest") != NULL, "message: %s",
        error->message);
  coplan_error_free(error);
  code = coplan_call(client, "coplan.v1.PlanService/GetPlan",
                     text("\x0a\x05"
                          "ab"),
                     4, on_result, &w, on_free, &error);
  CHECK(code == COPLAN_INVALID_ARGUMENT, "garbage request bytes: %d", code);
  CHECK(strstr(error->message, "coplan.v1.GetPlanRequest") != NULL, "message: %s", error->message);
  coplan_error_free(error);
  code = coplan_flush(client, -1, on_status, &w, on_free, NULL);
  CHECK(code == COPLAN_INVALID_ARGUMENT, "negative timeout: %d", code);
  CHECK(w.answers == 0 && w.freed == 0, "a refused call called back (%d, %d)", w.answers, w.freed);
  waiter_destroy(&w);

  step("sign in with a wrong password: UNAUTHENTICATED");
  waiter_init(&w);
  code = coplan_sign_in(client, username, "not the password", on_result, &w, on_free, NULL);
  CHECK(code == COPLAN_OK, "sign_in: %d", code);
  EXPECT_ANSWER(&w, 30);
  CHECK(w.code == COPLAN_UNAUTHENTICATED, "code %d: %s", w.code, w.message);
  CHECK(w.rpc_status_size > 0 && strstr(w.rpc_status_json, "\"code\":16") != NULL, "status: %s",
        w.rpc_status_json);
  waiter_destroy(&w);

  step("sign in");
  waiter_init(&w);
  CHECK(coplan_sign_in(client, username, password, on_result, &w, on_free, NULL) == COPLAN_OK,
        "sign_in");
  EXPECT_ANSWER(&w, 30);
  CHECK(w.code == COPLAN_OK, "code %d: %s", w.code, w.message);
  CHECK(w.size > 0 && strstr((const char*)w.data, "\"signedIn\":true") != NULL, "session: %s",
        w.data ? (const char*)w.data : "");
  CHECK(strstr((const char*)w.data, "\"person\":\"people/") != NULL, "session: %s",
        (const char*)w.data);
  waiter_destroy(&w);
  CHECK(coplan_session(client, &session, &session_size, NULL) == COPLAN_OK, "session");
  CHECK(session_size > 0 && strstr((const char*)session, "\"signedIn\":true") != NULL,
        "session after sign-in: %s", (const char*)session);
  coplan_free_buffer(session);

  step("a unary call by name in JSON: PlanService/ListPlans");
  waiter_init(&w);
  snprintf(json, sizeof json, "{\"parent\": \"people/me\"}");
  code = coplan_call_json(client, "coplan.v1.PlanService/ListPlans", text(json), strlen(json),
                          on_result, &w, on_free, NULL);
  CHECK(code == COPLAN_OK, "call_json: %d", code);
  EXPECT_ANSWER(&w, 30);
  CHECK(w.code == COPLAN_OK, "code %d: %s", w.code, w.message);
  CHECK(strstr((const char*)w.data, document) != NULL && strstr((const char*)w.data, "\"plans\""),
        "answer: %s", (const char*)w.data);
  waiter_destroy(&w);

  step("follow the crisis plan: the document event, live");
  events_init(&followed);
  code = coplan_follow(client, document, on_event, &followed, on_events_free, &listener_id, NULL);
  CHECK(code == COPLAN_OK && listener_id != 0, "follow: %d", code);
  CHECK(wait_event(&followed, 30, "\"document\"", "My crisis plan", "\"live\":true", NULL),
        "no live document event (%d events): %s", followed.count, last_event(&followed));

  step("one sync stream; coplan_close from a callback is refused");
  waiter_init(&w);
  w.close_from_callback = client;
  CHECK(coplan_count_open_streams(client, on_count, &w, on_free, NULL) == COPLAN_OK, "count");
  EXPECT_ANSWER(&w, 30);
  CHECK(w.code == COPLAN_OK && w.count == 1, "streams: %d (code %d)", w.count, w.code);
  CHECK(w.close_code == COPLAN_FAILED_PRECONDITION, "close from a callback: %d", w.close_code);
  waiter_destroy(&w);

  step("an edit, queued and flushed");
  waiter_init(&w);
  snprintf(json, sizeof json,
           "{\"document\": \"%s\", \"operations\": [{\"insertItem\": {\"listPath\": "
           "\"crisis_plan.warning_signs\", \"item\": {\"text\": \"text my sister\"}}}]}",
           document);
  code = coplan_edit(client, text(json), strlen(json), on_result, &w, on_free, NULL);
  CHECK(code == COPLAN_OK, "edit: %d", code);
  EXPECT_ANSWER(&w, 30);
  CHECK(w.code == COPLAN_OK, "code %d: %s", w.code, w.message);
  CHECK(strstr((const char*)w.data, "\"batch\"") && strstr((const char*)w.data, "text my sister"),
        "queued: %s", (const char*)w.data);
  waiter_destroy(&w);
  waiter_init(&w);
  CHECK(coplan_flush(client, 20000, on_status, &w, on_free, NULL) == COPLAN_OK, "flush");
  EXPECT_ANSWER(&w, 40);
  CHECK(w.code == COPLAN_OK, "flush: %d %s", w.code, w.message);
  waiter_destroy(&w);
  CHECK(wait_event(&client_events, 10, "\"accepted\"", document, NULL), "no accepted event: %s",
        last_event(&client_events));
  waiter_init(&w);
  CHECK(coplan_get_pending_state(client, on_result, &w, on_free, NULL) == COPLAN_OK, "pending");
  EXPECT_ANSWER(&w, 30);
  CHECK(w.code == COPLAN_OK && strstr((const char*)w.data, "\"batches\"") == NULL,
        "still pending: %s", (const char*)w.data);
  waiter_destroy(&w);
  /* The server has it. */
  waiter_init(&w);
  snprintf(json, sizeof json, "{\"name\": \"%s\"}", document);
  CHECK(coplan_call_json(client, "coplan.v1.PlanService/GetPlan", text(json), strlen(json),
                         on_result, &w, on_free, NULL) == COPLAN_OK,
        "GetPlan");
  EXPECT_ANSWER(&w, 30);
  CHECK(w.code == COPLAN_OK && strstr((const char*)w.data, "text my sister"),
        "the server's plan: %s %s", w.data ? (const char*)w.data : "", w.message);
  waiter_destroy(&w);

  step("the document, the access log, a missing grid version, an unknown conflict");
  waiter_init(&w);
  CHECK(coplan_get_document(client, document, on_result, &w, on_free, NULL) == COPLAN_OK, "get");
  EXPECT_ANSWER(&w, 30);
  CHECK(w.code == COPLAN_OK && strstr((const char*)w.data, "text my sister") &&
            strstr((const char*)w.data, "\"lastSyncedTime\""),
        "cached document: %s %s", w.data ? (const char*)w.data : "", w.message);
  waiter_destroy(&w);
  waiter_init(&w);
  CHECK(coplan_get_access_log(client, on_result, &w, on_free, NULL) == COPLAN_OK, "access log");
  EXPECT_ANSWER(&w, 30);
  CHECK(w.code == COPLAN_OK && strstr((const char*)w.data, "\"page\""), "access log: %s %s",
        w.data ? (const char*)w.data : "", w.message);
  waiter_destroy(&w);
  waiter_init(&w);
  CHECK(coplan_get_grid_version(client, "optionGrids/no-such-grid/versions/1", on_result, &w,
                                on_free, NULL) == COPLAN_OK,
        "grid version");
  EXPECT_ANSWER(&w, 30);
  CHECK(w.code == COPLAN_NOT_FOUND, "a missing grid version: %d %s", w.code, w.message);
  waiter_destroy(&w);
  waiter_init(&w);
  snprintf(json, sizeof json, "{\"batchId\": \"987654\", \"choice\": \"CHOICE_TAKE_THEIRS\"}");
  CHECK(coplan_resolve_conflict(client, text(json), strlen(json), on_status, &w, on_free, NULL) ==
            COPLAN_OK,
        "resolve");
  EXPECT_ANSWER(&w, 30);
  CHECK(w.code != COPLAN_OK, "resolving no conflict succeeded");
  waiter_destroy(&w);

  step("remove the document listener: released, then its context freed");
  waiter_init(&w);
  CHECK(coplan_remove_listener(client, listener_id, on_status, &w, on_free, NULL) == COPLAN_OK,
        "remove");
  EXPECT_ANSWER(&w, 30);
  CHECK(w.code == COPLAN_OK, "released: %d", w.code);
  waiter_destroy(&w);
  CHECK(wait_freed(&followed, 10), "the listener's context was not freed");
  CHECK(followed.freed == 1, "freed %d times", followed.freed);

  step("close; calls after it are CANCELLED");
  CHECK(coplan_close(client) == COPLAN_OK, "close");
  CHECK(coplan_close(client) == COPLAN_OK, "close again");
  waiter_init(&w);
  code = coplan_get_document(client, document, on_result, &w, on_free, NULL);
  CHECK(code == COPLAN_CANCELLED, "after close: %d", code);
  CHECK(coplan_session(client, &session, &session_size, NULL) == COPLAN_CANCELLED, "session");
  CHECK(w.answers == 0 && w.freed == 0, "a refused call called back");
  waiter_destroy(&w);
  CHECK(wait_freed(&client_events, 10) && client_events.freed == 1,
        "the client listener's context: freed %d times", client_events.freed);
  CHECK(coplan_client_free(client) == COPLAN_OK, "free");
  events_destroy(&followed);
  events_destroy(&client_events);
}

static void test_wrong_key(void) {
  coplan_options options;
  coplan_client* client = NULL;
  coplan_error* error = NULL;
  events listener;
  int code;

  step("a wrong key on the existing cache: DATA_LOSS (CACHE_UNREADABLE)");
  events_init(&listener);
  base_options(&options, server, wrong_key, COPLAN_FORMAT_PROTOBUF);
  options.listener = on_event;
  options.listener_context = &listener;
  options.listener_free = on_events_free;
  code = coplan_open(&options, &client, &error);
  CHECK(code == COPLAN_DATA_LOSS, "open with a wrong key: %d", code);
  CHECK(client == NULL, "a client with a wrong key");
  CHECK(error != NULL && error->code == COPLAN_DATA_LOSS, "error details");
  CHECK(strstr(error->rpc_status_json, "CACHE_UNREADABLE") != NULL, "no ErrorInfo reason: %s",
        error->rpc_status_json);
  CHECK(contains(error->rpc_status, error->rpc_status_size, "CACHE_UNREADABLE"),
        "the serialized status lacks the reason");
  coplan_error_free(error);
  /* A failed open leaves the context the caller's. */
  CHECK(listener.freed == 0, "listener_free ran after a failed open");
  events_destroy(&listener);
}

static void test_offline(void) {
  coplan_options options;
  coplan_client* client = NULL;
  coplan_error* error = NULL;
  events followed;
  waiter w;
  uint8_t* session = NULL;
  size_t session_size = 0;
  uint64_t listener_id = 0;
  pb request;
  int code;

  step("reopen with the same cache and key, the server unreachable (protobuf messages)");
  /* Port 1 on the loopback: nothing listens there. */
  base_options(&options, "127.0.0.1:1", key, COPLAN_FORMAT_PROTOBUF);
  code = coplan_open(&options, &client, &error);
  CHECK(code == COPLAN_OK, "reopen: %d %s", code, error ? error->message : "");
  CHECK(coplan_session(client, &session, &session_size, NULL) == COPLAN_OK, "session");
  CHECK(session_size > 0 && contains(session, session_size, "people/"),
        "not signed in after a restart (%zu bytes)", session_size);
  coplan_free_buffer(session);

  step("the plan, read offline from the cache");
  waiter_init(&w);
  CHECK(coplan_get_document(client, document, on_result, &w, on_free, NULL) == COPLAN_OK, "get");
  EXPECT_ANSWER(&w, 30);
  CHECK(w.code == COPLAN_OK, "offline read: %d %s", w.code, w.message);
  CHECK(contains(w.data, w.size, document) && contains(w.data, w.size, "My crisis plan") &&
            contains(w.data, w.size, "text my sister"),
        "the cached plan lacks its words (%zu bytes)", w.size);
  waiter_destroy(&w);
  events_init(&followed);
  CHECK(coplan_follow(client, document, on_event, &followed, on_events_free, &listener_id, NULL) ==
            COPLAN_OK,
        "follow offline");
  CHECK(wait_event(&followed, 30, "text my sister", NULL), "no cached copy event");

  step("garbage protobuf bytes: INVALID_ARGUMENT naming the message");
  code = coplan_edit(client,
                     text("\x0a\x05"
                          "ab"),
                     4, on_result, NULL, NULL, &error);
  CHECK(code == COPLAN_INVALID_ARGUMENT, "garbage edit: %d", code);
  CHECK(strstr(error->message, "coplan.client.v1.EditRequest") != NULL, "message: %s",
        error->message);
  coplan_error_free(error);
  code = coplan_resolve_conflict(client, text("\xff\xff\xff"), 3, on_status, NULL, NULL, &error);
  CHECK(code == COPLAN_INVALID_ARGUMENT, "garbage resolution: %d", code);
  CHECK(strstr(error->message, "coplan.client.v1.Resolution") != NULL, "message: %s",
        error->message);
  coplan_error_free(error);

  step("an edit while offline, queued (protobuf bytes)");
  edit_request_inserting(&request, document, "call the crisis line");
  waiter_init(&w);
  CHECK(coplan_edit(client, request.data, request.size, on_result, &w, on_free, NULL) == COPLAN_OK,
        "edit offline");
  EXPECT_ANSWER(&w, 30);
  CHECK(w.code == COPLAN_OK && contains(w.data, w.size, "call the crisis line"),
        "queued offline: %d %s", w.code, w.message);
  waiter_destroy(&w);
  CHECK(wait_event(&followed, 10, "call the crisis line", NULL), "the listener did not see it");
  waiter_init(&w);
  CHECK(coplan_get_pending_state(client, on_result, &w, on_free, NULL) == COPLAN_OK, "pending");
  EXPECT_ANSWER(&w, 30);
  CHECK(w.code == COPLAN_OK && contains(w.data, w.size, "call the crisis line"),
        "the queued batch is not pending (%zu bytes)", w.size);
  waiter_destroy(&w);

  step("a call by name with the server unreachable answers with an error, not a hang");
  {
    pb get;
    memset(&get, 0, sizeof get);
    pb_string(&get, 1, document); /* GetPlanRequest.name */
    waiter_init(&w);
    CHECK(coplan_call(client, "coplan.v1.PlanService/GetPlan", get.data, get.size, on_result, &w,
                      on_free, NULL) == COPLAN_OK,
          "call");
    EXPECT_ANSWER(&w, 60);
    CHECK(w.code == COPLAN_UNAVAILABLE || w.code == COPLAN_DEADLINE_EXCEEDED, "offline call: %d %s",
          w.code, w.message);
    waiter_destroy(&w);
  }

  step("sign out wipes the device, even offline");
  waiter_init(&w);
  CHECK(coplan_sign_out(client, on_status, &w, on_free, NULL) == COPLAN_OK, "sign out");
  EXPECT_ANSWER(&w, 60);
  CHECK(w.code == COPLAN_OK || w.code == COPLAN_UNAVAILABLE, "sign out: %d %s", w.code, w.message);
  waiter_destroy(&w);
  CHECK(wait_event(&followed, 10, "signed out", NULL), "the listener was not ended");
  CHECK(wait_freed(&followed, 10), "the ended listener was not released");
  CHECK(coplan_session(client, &session, &session_size, NULL) == COPLAN_OK, "session");
  CHECK(!contains(session, session_size, "people/"), "still signed in after sign-out");
  coplan_free_buffer(session);
  waiter_init(&w);
  CHECK(coplan_get_document(client, document, on_result, &w, on_free, NULL) == COPLAN_OK, "get");
  EXPECT_ANSWER(&w, 30);
  CHECK(w.code == COPLAN_NOT_FOUND, "the plan is still on the device: %d", w.code);
  waiter_destroy(&w);
  waiter_init(&w);
  CHECK(coplan_get_pending_state(client, on_result, &w, on_free, NULL) == COPLAN_OK, "pending");
  EXPECT_ANSWER(&w, 30);
  CHECK(w.code == COPLAN_OK && !contains(w.data, w.size, "call the crisis line"),
        "the queued edit survived sign-out");
  waiter_destroy(&w);
  CHECK(coplan_client_free(client) == COPLAN_OK, "free");
  events_destroy(&followed);
}

static void test_forget_device(void) {
  coplan_options options;
  coplan_client* client = NULL;
  waiter w;
  int code;

  step("forget this device: signed out on the server, the cache file deleted");
  base_options(&options, server, key, COPLAN_FORMAT_PROTOBUF);
  CHECK(coplan_open(&options, &client, NULL) == COPLAN_OK, "open");
  waiter_init(&w);
  CHECK(coplan_sign_in(client, username, password, on_result, &w, on_free, NULL) == COPLAN_OK,
        "sign in");
  EXPECT_ANSWER(&w, 30);
  CHECK(w.code == COPLAN_OK, "sign in: %d %s", w.code, w.message);
  waiter_destroy(&w);
  waiter_init(&w);
  CHECK(coplan_forget_device(client, on_status, &w, on_free, NULL) == COPLAN_OK, "forget");
  EXPECT_ANSWER(&w, 30);
  CHECK(w.code == COPLAN_OK, "forget_device (server reachable): %d %s", w.code, w.message);
  waiter_destroy(&w);
  CHECK(access(cache_path, F_OK) != 0, "the cache file is still there");
  waiter_init(&w);
  code = coplan_get_document(client, document, on_result, &w, on_free, NULL);
  CHECK(code == COPLAN_CANCELLED, "a call after forget_device: %d", code);
  waiter_destroy(&w);
  CHECK(coplan_client_free(client) == COPLAN_OK, "free");
  CHECK(coplan_destroy_cache(cache_path, NULL) == COPLAN_OK, "destroying a missing cache");
}

/* Calls from several threads while another closes the client: every call is either
 * refused at once (CANCELLED) or answered exactly once and its context freed exactly once,
 * by the time coplan_close has returned. */
typedef struct race {
  pthread_mutex_t mutex;
  coplan_client* client;
  int accepted, cancelled, other, answered, freed;
  int dropped; /* answered by libcoplan itself: the core let go of the call unanswered */
} race;

static void race_result(void* context, const coplan_error* error, const uint8_t* data,
                        size_t size) {
  race* r = context;
  (void)data;
  (void)size;
  pthread_mutex_lock(&r->mutex);
  ++r->answered;
  if (error != NULL && strstr(error->message, "before the call was answered") != NULL) {
    ++r->dropped;
  }
  pthread_mutex_unlock(&r->mutex);
}

static void race_free(void* context) {
  race* r = context;
  pthread_mutex_lock(&r->mutex);
  ++r->freed;
  pthread_mutex_unlock(&r->mutex);
}

static void* race_caller(void* context) {
  race* r = context;
  static const char request[] = "{\"parent\": \"people/me\"}";
  int i, refused = 0;
  /* Until well after the close (or, should it never come, a bound). */
  for (i = 0; i < 200000 && refused < 50; ++i) {
    int code = (i % 3 == 0)
                   ? coplan_call_json(r->client, "coplan.v1.PlanService/ListPlans", text(request),
                                      strlen(request), race_result, r, race_free, NULL)
                   : coplan_get_pending_state(r->client, race_result, r, race_free, NULL);
    pthread_mutex_lock(&r->mutex);
    if (code == COPLAN_OK) {
      ++r->accepted;
    } else if (code == COPLAN_CANCELLED) {
      ++r->cancelled;
      ++refused;
    } else {
      ++r->other;
    }
    pthread_mutex_unlock(&r->mutex);
  }
  return NULL;
}

static void test_close_race(void) {
  coplan_options options;
  race r;
  pthread_t callers[4];
  struct timespec pause = {0, 20 * 1000 * 1000};
  int i;

  step("calls from four threads while the client closes");
  memset(&r, 0, sizeof r);
  pthread_mutex_init(&r.mutex, NULL);
  base_options(&options, "127.0.0.1:1", NULL, COPLAN_FORMAT_PROTOBUF);
  options.cache_path = NULL; /* nothing on disk */
  options.cache_key_size = 0;
  CHECK(coplan_open(&options, &r.client, NULL) == COPLAN_OK, "open without a cache");
  for (i = 0; i < 4; ++i) pthread_create(&callers[i], NULL, race_caller, &r);
  nanosleep(&pause, NULL);
  CHECK(coplan_close(r.client) == COPLAN_OK, "close");
  for (i = 0; i < 4; ++i) pthread_join(callers[i], NULL);
  pthread_mutex_lock(&r.mutex);
  printf("   %d calls accepted (%d of them let go of by the core), %d refused as closed\n",
         r.accepted, r.dropped, r.cancelled);
  CHECK(r.other == 0, "%d calls failed otherwise", r.other);
  CHECK(r.cancelled == 4 * 50, "%d calls refused as closed", r.cancelled);
  CHECK(r.answered == r.accepted, "%d calls accepted, %d answered", r.accepted, r.answered);
  CHECK(r.freed == r.accepted, "%d calls accepted, %d contexts freed", r.accepted, r.freed);
  pthread_mutex_unlock(&r.mutex);
  CHECK(coplan_client_free(r.client) == COPLAN_OK, "free");
  pthread_mutex_destroy(&r.mutex);
}

int main(int argc, char** argv) {
  size_t i;
  if (argc != 6) {
    fprintf(stderr, "usage: %s <server> <username> <password> <temp dir> <plan name>\n", argv[0]);
    return 2;
  }
  server = argv[1];
  username = argv[2];
  password = argv[3];
  document = argv[5];
  snprintf(cache_path, sizeof cache_path, "%s/c-abi-test.cache", argv[4]);
  for (i = 0; i < sizeof key; ++i) {
    key[i] = (uint8_t)(i * 7 + 1);
    wrong_key[i] = (uint8_t)(i * 7 + 2);
  }
  main_thread = pthread_self();

  test_versions_and_bad_arguments();
  test_online();
  test_wrong_key();
  test_offline();
  test_forget_device();
  test_close_race();
  CHECK(!called_on_caller_thread, "a callback ran on the thread that made the call");
  printf("c_abi_test: all %d checks passed\n", checks);
  return 0;
}
