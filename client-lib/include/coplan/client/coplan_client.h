// The Coplan client core: what every app (Android, iOS, the `coplan` CLI) is built on.
//
// It keeps the documents a device follows on the device, encrypted, so that a crisis plan
// opens with no signal; applies the person's edits at once and sends them when the server
// is reachable, exactly once, in order; follows every document live over one sync stream;
// and hands the app conflicts to show rather than dropping anyone's words.
//
//   ClientOptions options;
//   options.server = "coplan.example.nhs.uk:443";
//   options.tls = true;
//   options.cache_path = app_files_dir + "/coplan.cache";
//   options.cache_key = key_from_keystore;   // 32 bytes; never stored by the library
//   absl::StatusOr<std::unique_ptr<CoplanClient>> client = CoplanClient::Open(options);
//   (*client)->SignIn("alex", password, [](absl::StatusOr<v1::SessionState> session) {...});
//   (*client)->Follow("people/me/plans/crisis-plan", [](const v1::DocumentEvent& event) {...});
//   (*client)->Edit(request, [](absl::StatusOr<v1::EditQueued> queued) {...});
//
// Threads: every method returns at once (Open reads the cache file, nothing more) and may
// be called from any thread. The work happens on the core's own thread; every callback
// and listener runs on the core's one callback thread, one at a time, in order, so a
// callback may call back into the client (but should not block for long: it holds up the
// callbacks after it). Callbacks never run on the caller's thread (except after Close).
//
// Errors are absl::Status with gRPC's codes; the server's google.rpc details (BadRequest,
// ErrorInfo, EditConflict) are payloads keyed by type URL.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coplan/client/v1/device.pb.h"

namespace coplan::client {

using ClientListener = std::function<void(const coplan::client::v1::ClientEvent&)>;

struct ClientOptions {
  // "host:port" of the Coplan server.
  std::string server;
  // TLS (with `root_certificates` in PEM, or the system's when empty); plaintext otherwise,
  // for a server on the same machine only.
  bool tls = false;
  std::string root_certificates;
  // Mutual TLS, for a service rather than a person's device: its certificate chain and
  // private key (PEM), presented to a server that requires client certificates.
  std::string client_certificate_chain;
  std::string client_private_key;
  // The encrypted offline cache: a file path and its 256-bit key (32 raw bytes, from the
  // Android Keystore or the iOS Keychain). Without a path, nothing is kept on disk.
  std::string cache_path;
  std::string cache_key;
  // Opens a device session, which keeps the person signed in across restarts (with the
  // cache) and is shown in their list of sessions, e.g. "Alex's phone". Empty: a plain
  // session that ends with the access token (tools).
  std::string device_name;
  // For the server's logs, e.g. "coplan-android/1.2".
  std::string user_agent;
  // How long one call to the server may take.
  absl::Duration call_deadline = absl::Seconds(10);
  // The longest wait between attempts to reach the server.
  absl::Duration max_backoff = absl::Seconds(30);
  // Hears conflicts, refusals, acceptances, connectivity and the session's end from the
  // start (a batch refused while the app sets up is not missed).
  ClientListener listener;
};

template <typename T>
using Callback = std::function<void(absl::StatusOr<T>)>;
using StatusCallback = std::function<void(absl::Status)>;
using DocumentListener = std::function<void(const coplan::client::v1::DocumentEvent&)>;
using ListenerId = uint64_t;

class CoplanClient {
 public:
  // Opens the cache (DATA_LOSS with ErrorInfo reason CACHE_UNREADABLE for a wrong key or a
  // damaged file: DestroyCache and open again) and, if the device was signed in, carries
  // on: follows its documents and sends its queued edits as soon as the server answers.
  static absl::StatusOr<std::unique_ptr<CoplanClient>> Open(ClientOptions options);
  // Deletes a cache file (and its journal) that is not open.
  static absl::Status DestroyCache(const std::string& path);
  // The library's version, "major.minor.patch".
  static const char* Version();

  // Close().
  ~CoplanClient();
  CoplanClient(const CoplanClient&) = delete;
  CoplanClient& operator=(const CoplanClient&) = delete;

  // Ends every call and the sync stream, runs the callbacks still due (calls not answered
  // get CANCELLED), and closes the cache; waits for all of it. Idempotent. Not from a
  // callback. After Close, every call is answered CANCELLED at once, on the caller's own
  // thread (the one exception to the threading rule above: no callback thread is left),
  // and listeners added then hear nothing.
  void Close();

  // --- The session ---
  // Signs in with a built-in account and opens a device session (kept in the cache, so
  // the person stays signed in across restarts until they sign out).
  void SignIn(const std::string& username, const std::string& password,
              Callback<coplan::client::v1::SessionState> done);
  coplan::client::v1::SessionState session() const;
  // Wipes everything the device holds (copies, queued edits, the session) and ends the
  // session on the server. The wipe happens even offline; `done` then gets UNAVAILABLE to
  // say the server could not be told (the session's tokens are gone from the device).
  void SignOut(StatusCallback done);
  // SignOut, then deletes the cache file itself. Every call made after it is answered
  // CANCELLED as after Close (which still releases the client).
  void ForgetDevice(StatusCallback done);

  // --- Documents ---
  // Keeps `document` ("people/{person}/plans/{plan}" or ".../decisions/{decision}";
  // "people/me/..." for one's own) on the device and up to date, and tells `listener`
  // about it: the cached copy at once if there is one, then every change, presence and
  // sign-off while online. The document stays on the device after the listener is
  // removed, until Forget.
  ListenerId Follow(const std::string& document, DocumentListener listener);
  // The listener hears nothing after `released` has been called (on the callback thread).
  void RemoveListener(ListenerId id, std::function<void()> released = nullptr);
  // Stops keeping the document on the device (FAILED_PRECONDITION while edits of it wait).
  void Forget(const std::string& document, StatusCallback done);
  // The document as the device has it (NOT_FOUND if it has no copy, or may no longer show
  // it).
  void GetDocument(const std::string& document, Callback<coplan::client::v1::CachedDocument> done);
  // An option-grid version ("optionGrids/{grid}/versions/{version}"), from the device if
  // kept there (versions never change), else from the server.
  void GetGridVersion(const std::string& name,
                      Callback<coplan::client::v1::CachedGridVersion> done);
  // The person's latest access-log page: from the server when it answers, else the copy
  // kept on the device (see last_synced_time).
  void GetAccessLog(Callback<coplan::client::v1::CachedAccessLog> done);

  // --- Edits ---
  // Applies the edit to the device's copy at once (with the server's own edit engine) and
  // queues it durably: `done` runs once it is safe from an app kill. Errors are the ones
  // the server would give (INVALID_ARGUMENT naming the field, e.g. for an unknown item;
  // FAILED_PRECONDITION for a document the device does not follow or has no copy of yet),
  // and nothing is queued.
  void Edit(const coplan::client::v1::EditRequest& request,
            Callback<coplan::client::v1::EditQueued> done);
  void ResolveConflict(const coplan::client::v1::Resolution& resolution, StatusCallback done);
  void GetPendingState(Callback<coplan::client::v1::PendingState> done);
  // `done` runs once nothing is waiting to be sent (every batch accepted, refused or in
  // conflict) and every followed document is live; DEADLINE_EXCEEDED after `timeout`.
  void Flush(absl::Duration timeout, StatusCallback done);

  // Conflicts, refusals, acceptances, connectivity and the session's end.
  ListenerId AddClientListener(ClientListener listener);

  // --- Any other call ---
  // Calls a unary method of the API by name ("coplan.v1.PlanService/GetPlan") with the
  // serialized request; the answer is the serialized response. Safe calls (reads, and
  // edits with an idempotency key) are retried when the server is unreachable.
  void Call(const std::string& method, const std::string& request, Callback<std::string> done);
  // The same with proto3 JSON (lowerCamelCase names, int64 as strings, enums as names).
  void CallJson(const std::string& method, const std::string& request_json,
                Callback<std::string> done);

  // For tests and the benchmark: how many sync streams this client has open (0 or 1).
  void CountOpenStreams(Callback<int> done);

  class Impl;

 private:
  explicit CoplanClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace coplan::client
