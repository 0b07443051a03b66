// coplan: a command-line client for Coplan, on the client core (the same one the phone
// apps use).
//
//   coplan --user=alex --password=alex-demo-password get people/alex/plans/crisis-plan
//   coplan --user=alex --password=alex-demo-password watch people/me/plans/crisis-plan
//
// With --cache_dir and --cache_key_file the device's encrypted offline cache is on: signing
// in once keeps the session, `show` reads a plan with the server down, and `edit` queues
// while offline (`sync` sends what is queued).
//
// Prints resources as JSON; errors (with their field violations) go to stderr.
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "coplan/client/coplan_client.h"
#include "coplan/v1/export_service.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "remote/grpc_status.h"
#include "remote/rpc_client.h"

namespace {

using coplan::client::CoplanClient;
namespace cv1 = coplan::client::v1;

constexpr char kUsage[] = R"(usage: coplan [options] COMMAND [ARGS]

options (or environment):
  --server=HOST:PORT       Coplan server (COPLAN_SERVER, default 127.0.0.1:50051)
  --user=NAME              built-in account (COPLAN_USER)
  --password=PASSWORD      its password (COPLAN_PASSWORD)
  --cache_dir=DIR          keep an encrypted offline cache there (COPLAN_CACHE_DIR); off
                           by default
  --cache_key_file=FILE    the cache's 256-bit key: 64 hex digits (COPLAN_CACHE_KEY_FILE)
  --tls_roots=FILE         use TLS, trusting these roots (PEM) (COPLAN_TLS_ROOTS)
  --tls_client_cert=FILE   mutual TLS: present this certificate chain (PEM), with
  --tls_client_key=FILE    its private key (COPLAN_TLS_CLIENT_CERT, COPLAN_TLS_CLIENT_KEY)
  --send_timeout=DURATION  how long `edit` waits for the server to take an edit before
                           leaving it queued (with a cache) or failing, e.g. 2s
                           (COPLAN_SEND_TIMEOUT, default 10s)

commands:
  sign-in                         sign in (with a cache, the device stays signed in)
  sign-out                        sign out, wiping the device's cache
  forget-device                   sign out and delete the cache file
  whoami                          the signed-in person
  connections                     people you act for, and how
  list-plans PERSON               plans of people/{person} (people/me for yourself)
  list-decisions PERSON           decision records of a person
  get NAME                        a plan, decision record, person, option grid or version
  show DOCUMENT                   the device's copy of a plan or decision record (works
                                  offline with a cache), with when it was last synced
  history DOCUMENT                the revisions of a plan or decision record
  edit DOCUMENT OPS               apply edit operations (a JSON array) to the device's copy
                                  and send them (queued while offline, with a cache)
  pending                         edits waiting to be sent, and conflicts
  resolve BATCH keep-mine|take-theirs   settle a conflict
  sync                            send what is queued, bring copies up to date, then exit
  sign-off DOCUMENT REVISION      sign off a revision as agreed
  watch DOCUMENT...               follow documents live (JSON lines) until Ctrl-C
  grids                           the option grid library
  access-log PERSON               who viewed or changed the person's records
  caseload                        decisions in progress (clinicians)
  export-fhir PERSON FILE [DOCUMENT]   the person's records (or one document) as a FHIR
                                  R4 Bundle (JSON) written to FILE
  export-data PERSON FILE         everything about the person you may see, as a ZIP
                                  archive written to FILE (needs --user and --password)
  print DOCUMENT FILE [LOCALE]    a crisis plan as a PDF written to FILE, in "en"
                                  (default) or "cy" (Welsh)
)";

std::string Json(const google::protobuf::Message& message, bool pretty = true) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = pretty;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!pretty) absl::StripTrailingAsciiWhitespace(&json);
  return json;
}

int Fail(const absl::Status& status) {
  std::cerr << "error: " << absl::StatusCodeToString(status.code()) << ": " << status.message()
            << "\n";
  using coplan::client::remote::ErrorDetail;
  if (auto bad = ErrorDetail<google::rpc::BadRequest>(status)) {
    for (const auto& violation : bad->field_violations()) {
      std::cerr << "  " << violation.field() << ": " << violation.description() << "\n";
    }
  }
  if (auto failure = ErrorDetail<google::rpc::PreconditionFailure>(status)) {
    for (const auto& violation : failure->violations()) {
      std::cerr << "  " << violation.type() << " " << violation.subject() << ": "
                << violation.description() << "\n";
    }
  }
  return 1;
}

std::string Env(const char* name, const std::string& fallback = "") {
  const char* value = std::getenv(name);
  return value ? value : fallback;
}

// Waits on the callback thread's answer.
template <typename T>
class Answer {
 public:
  coplan::client::Callback<T> callback() {
    return [this](absl::StatusOr<T> value) {
      absl::MutexLock lock(&mutex_);
      value_ = std::move(value);
    };
  }
  absl::StatusOr<T> Wait() {
    absl::MutexLock lock(&mutex_);
    mutex_.Await(absl::Condition(
        +[](std::optional<absl::StatusOr<T>>* value) { return value->has_value(); }, &value_));
    return std::move(*value_);
  }

 private:
  absl::Mutex mutex_;
  std::optional<absl::StatusOr<T>> value_ ABSL_GUARDED_BY(mutex_);
};

absl::Status WaitStatus(const std::function<void(coplan::client::StatusCallback)>& start) {
  Answer<bool> answer;
  auto callback = answer.callback();
  start([callback](absl::Status status) {
    if (status.ok()) {
      callback(true);
    } else {
      callback(status);
    }
  });
  return answer.Wait().status();
}

absl::StatusOr<std::string> ReadKeyFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot read the key file ", path));
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::string hex(absl::StripAsciiWhitespace(text));
  const bool all_hex =
      std::all_of(hex.begin(), hex.end(), [](unsigned char c) { return std::isxdigit(c); });
  if (hex.size() != 64 || !all_hex) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " must hold the key as 64 hex digits (256 bits)"));
  }
  return absl::HexStringToBytes(hex);
}

// What --tls_roots, --tls_client_cert and --tls_client_key name, read. A file that
// cannot be read is an error here: falling back to plaintext or to the system's roots
// would not be what was asked for.
struct TransportFiles {
  bool tls = false;
  std::string roots;
  std::string client_certificate_chain;
  std::string client_private_key;
};

absl::StatusOr<std::string> ReadPemFile(const std::string& option, const std::string& path) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat("--", option, ": cannot read ", path));
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

absl::StatusOr<TransportFiles> ReadTransportFiles(std::map<std::string, std::string>& options) {
  TransportFiles files;
  if (options["tls_client_cert"].empty() != options["tls_client_key"].empty()) {
    return absl::InvalidArgumentError("--tls_client_cert and --tls_client_key go together");
  }
  if (!options["tls_client_cert"].empty() && options["tls_roots"].empty()) {
    return absl::InvalidArgumentError("--tls_client_cert needs --tls_roots (TLS)");
  }
  if (options["tls_roots"].empty()) return files;
  files.tls = true;
  auto roots = ReadPemFile("tls_roots", options["tls_roots"]);
  if (!roots.ok()) return roots.status();
  files.roots = *roots;
  if (!options["tls_client_cert"].empty()) {
    auto chain = ReadPemFile("tls_client_cert", options["tls_client_cert"]);
    if (!chain.ok()) return chain.status();
    auto key = ReadPemFile("tls_client_key", options["tls_client_key"]);
    if (!key.ok()) return key.status();
    files.client_certificate_chain = *chain;
    files.client_private_key = *key;
  }
  return files;
}

int CallAndPrint(CoplanClient& client, const std::string& method, const std::string& request) {
  Answer<std::string> answer;
  client.CallJson(method, request, answer.callback());
  absl::StatusOr<std::string> response = answer.Wait();
  if (!response.ok()) return Fail(response.status());
  // Reprinted with the proto's own field names, like the rest of the CLI.
  std::cout << *response << "\n";
  return 0;
}

std::string Quote(const std::string& text) { return absl::StrCat("\"", absl::CEscape(text), "\""); }

int Get(CoplanClient& client, const std::string& name) {
  const std::string request = absl::StrCat("{\"name\": ", Quote(name), "}");
  if (absl::StrContains(name, "/revisions/")) {
    return CallAndPrint(client, "coplan.v1.EditingService/GetDocumentRevision", request);
  }
  if (absl::StrContains(name, "/plans/")) {
    return CallAndPrint(client, "coplan.v1.PlanService/GetPlan", request);
  }
  if (absl::StrContains(name, "/decisions/")) {
    return CallAndPrint(client, "coplan.v1.DecisionService/GetDecisionRecord", request);
  }
  if (absl::StartsWith(name, "optionGrids/") && absl::StrContains(name, "/versions/")) {
    return CallAndPrint(client, "coplan.v1.OptionGridService/GetOptionGridVersion", request);
  }
  if (absl::StartsWith(name, "optionGrids/")) {
    return CallAndPrint(client, "coplan.v1.OptionGridService/GetOptionGrid", request);
  }
  return CallAndPrint(client, "coplan.v1.PeopleService/GetPerson", request);
}

// Writes `contents` to `path`, readable by the user alone (it holds health records).
absl::Status WritePrivateFile(const std::string& path, const std::string& contents) {
  const mode_t previous = umask(077);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  umask(previous);
  out << contents;
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

// Calls a unary method with a serialized request and parses its answer as `Response`.
template <typename Response>
absl::StatusOr<Response> CallFor(CoplanClient& client, const std::string& method,
                                 const google::protobuf::Message& request) {
  Answer<std::string> answer;
  client.Call(method, request.SerializeAsString(), answer.callback());
  absl::StatusOr<std::string> bytes = answer.Wait();
  if (!bytes.ok()) return bytes.status();
  Response response;
  if (!response.ParseFromString(*bytes)) return absl::DataLossError("unreadable answer");
  return response;
}

// The personal data archive is a server stream, which the client core does not carry (it
// has unary calls and the sync stream): this command signs in with the remote layer's
// RpcClient and reads the stream itself.
int ExportPersonalData(const std::map<std::string, std::string>& options,
                       const TransportFiles& transport, const std::string& person,
                       const std::string& path) {
  if (options.at("user").empty()) {
    return Fail(absl::UnauthenticatedError("export-data needs --user and --password"));
  }
  coplan::client::remote::RpcClientOptions rpc_options;
  rpc_options.target = options.at("server");
  if (transport.tls) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = transport.roots;
    ssl.pem_cert_chain = transport.client_certificate_chain;
    ssl.pem_private_key = transport.client_private_key;
    rpc_options.credentials = grpc::SslCredentials(ssl);
  }
  coplan::client::remote::RpcClient rpc(rpc_options);
  absl::Status signed_in = rpc.SignIn(options.at("user"), options.at("password"));
  if (!signed_in.ok()) return Fail(signed_in);
  coplan::v1::ExportPersonalDataRequest request;
  request.set_parent(person);
  auto context = rpc.NewContext(absl::Minutes(10));
  auto reader =
      rpc.stub<coplan::v1::ExportService::Stub>().ExportPersonalData(context.get(), request);
  std::string archive;
  coplan::v1::ExportChunk chunk;
  while (reader->Read(&chunk)) archive += chunk.data();
  absl::Status status = coplan::client::remote::FromGrpcStatus(reader->Finish());
  if (!status.ok()) return Fail(status);
  (void)rpc.SignOut();
  status = WritePrivateFile(path, archive);
  if (!status.ok()) return Fail(status);
  std::cerr << "wrote " << archive.size() << " bytes to " << path << "\n";
  return 0;
}

// Follows `document` until the device has a copy (the cached one at once when offline).
absl::StatusOr<cv1::CachedDocument> CopyOf(CoplanClient& client, const std::string& document,
                                           absl::Duration timeout) {
  auto state = std::make_shared<Answer<cv1::CachedDocument>>();
  auto answered = std::make_shared<std::atomic<bool>>(false);
  auto once = [state, answered](absl::StatusOr<cv1::CachedDocument> value) {
    if (!answered->exchange(true)) state->callback()(std::move(value));
  };
  coplan::client::ListenerId id = client.Follow(document, [once](const cv1::DocumentEvent& event) {
    if (event.has_document()) {
      once(event.document());
    } else if (event.has_ended()) {
      once(coplan::client::remote::FromRpcStatus(event.ended()));
    }
  });
  std::thread timer([once, timeout] {
    absl::SleepFor(timeout);
    once(absl::DeadlineExceededError("no copy of the document arrived (is the server up?)"));
  });
  absl::StatusOr<cv1::CachedDocument> copy = state->Wait();
  timer.detach();
  client.RemoveListener(id);
  return copy;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> options = {
      {"server", Env("COPLAN_SERVER", "127.0.0.1:50051")},
      {"user", Env("COPLAN_USER")},
      {"password", Env("COPLAN_PASSWORD")},
      {"cache_dir", Env("COPLAN_CACHE_DIR")},
      {"cache_key_file", Env("COPLAN_CACHE_KEY_FILE")},
      {"tls_roots", Env("COPLAN_TLS_ROOTS")},
      {"tls_client_cert", Env("COPLAN_TLS_CLIENT_CERT")},
      {"tls_client_key", Env("COPLAN_TLS_CLIENT_KEY")},
      {"send_timeout", Env("COPLAN_SEND_TIMEOUT", "10s")}};
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (arg.rfind("--", 0) == 0 && arg.find('=') != std::string::npos) {
      const size_t eq = arg.find('=');
      const std::string key = arg.substr(2, eq - 2);
      if (!options.count(key)) {
        std::cerr << "unknown option " << arg << "\n" << kUsage;
        return 2;
      }
      options[key] = arg.substr(eq + 1);
    } else {
      args.push_back(arg);
    }
  }
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  absl::Duration send_timeout;
  if (!absl::ParseDuration(options["send_timeout"], &send_timeout) ||
      send_timeout < absl::ZeroDuration()) {
    std::cerr << "--send_timeout: not a duration (e.g. 2s, 500ms): " << options["send_timeout"]
              << "\n";
    return 2;
  }
  absl::StatusOr<TransportFiles> transport = ReadTransportFiles(options);
  if (!transport.ok()) return Fail(transport.status());
  if (args[0] == "export-data") {
    if (args.size() != 3) {
      std::cerr << "'export-data' takes 2 argument(s)\n" << kUsage;
      return 2;
    }
    return ExportPersonalData(options, *transport, args[1], args[2]);
  }
  // Block the stop signals before any thread starts, so that only sigtimedwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  coplan::client::ClientOptions client_options;
  client_options.server = options["server"];
  client_options.user_agent = "coplan-cli";
  client_options.tls = transport->tls;
  client_options.root_certificates = transport->roots;
  client_options.client_certificate_chain = transport->client_certificate_chain;
  client_options.client_private_key = transport->client_private_key;
  const bool cached = !options["cache_dir"].empty();
  if (cached) {
    if (options["cache_key_file"].empty()) {
      return Fail(absl::InvalidArgumentError("--cache_dir needs --cache_key_file"));
    }
    absl::StatusOr<std::string> key = ReadKeyFile(options["cache_key_file"]);
    if (!key.ok()) return Fail(key.status());
    // The directory is the device's private storage: made for this user alone.
    if (mkdir(options["cache_dir"].c_str(), 0700) != 0 && errno != EEXIST) {
      return Fail(absl::InvalidArgumentError(absl::StrCat(
          "--cache_dir: cannot create ", options["cache_dir"], ": ", std::strerror(errno))));
    }
    client_options.cache_path = options["cache_dir"] + "/coplan.cache";
    client_options.cache_key = *key;
    client_options.device_name = "coplan command line";
  }
  const std::string& command = args[0];
  client_options.listener = [command](const cv1::ClientEvent& event) {
    // What happens to queued edits is worth saying; the rest is noise for one command.
    if (event.has_conflict() || event.has_refused() || event.has_signed_out() ||
        event.has_storage_failed() || (event.has_accepted() && command != "watch")) {
      std::cerr << Json(event, false) << "\n";
    }
  };
  absl::StatusOr<std::unique_ptr<CoplanClient>> opened = CoplanClient::Open(client_options);
  if (!opened.ok()) return Fail(opened.status());
  CoplanClient& client = **opened;

  if (!options["user"].empty()) {
    Answer<cv1::SessionState> answer;
    client.SignIn(options["user"], options["password"], answer.callback());
    absl::StatusOr<cv1::SessionState> session = answer.Wait();
    if (!session.ok()) return Fail(session.status());
  } else if (!client.session().signed_in() && command != "sign-out" && command != "forget-device") {
    return Fail(absl::UnauthenticatedError(
        cached ? "not signed in on this device: give --user and --password once"
               : "give --user and --password (or keep a session with --cache_dir)"));
  }
  auto need = [&](size_t count) {
    if (args.size() != count + 1) {
      std::cerr << "'" << command << "' takes " << count << " argument(s)\n" << kUsage;
      return false;
    }
    return true;
  };
  if (command == "sign-in") {
    std::cout << Json(client.session()) << "\n";
    return 0;
  }
  if (command == "sign-out" || command == "forget-device") {
    absl::Status done = WaitStatus([&](coplan::client::StatusCallback callback) {
      if (command == "sign-out") {
        client.SignOut(callback);
      } else {
        client.ForgetDevice(callback);
      }
    });
    return done.ok() ? 0 : Fail(done);
  }
  if (command == "whoami") return Get(client, "people/me");
  if (command == "get" && need(1)) return Get(client, args[1]);
  if (command == "connections") {
    return CallAndPrint(client, "coplan.v1.PeopleService/ListConnections", "{}");
  }
  if (command == "list-plans" && need(1)) {
    return CallAndPrint(client, "coplan.v1.PlanService/ListPlans",
                        absl::StrCat("{\"parent\": ", Quote(args[1]), ", \"pageSize\": 100}"));
  }
  if (command == "list-decisions" && need(1)) {
    return CallAndPrint(client, "coplan.v1.DecisionService/ListDecisionRecords",
                        absl::StrCat("{\"parent\": ", Quote(args[1]), ", \"pageSize\": 100}"));
  }
  if (command == "history" && need(1)) {
    return CallAndPrint(client, "coplan.v1.EditingService/ListRevisions",
                        absl::StrCat("{\"parent\": ", Quote(args[1]), ", \"pageSize\": 500}"));
  }
  if (command == "sign-off" && need(2)) {
    return CallAndPrint(
        client, "coplan.v1.EditingService/SignOffDocument",
        absl::StrCat("{\"name\": ", Quote(args[1]), ", \"revision\": ", Quote(args[2]), "}"));
  }
  if (command == "grids")
    return CallAndPrint(client, "coplan.v1.OptionGridService/ListOptionGrids", "{}");
  if (command == "access-log" && need(1)) {
    return CallAndPrint(client, "coplan.v1.AuditService/ListAccessEvents",
                        absl::StrCat("{\"parent\": ", Quote(args[1]), ", \"pageSize\": 100}"));
  }
  if (command == "export-fhir" && (args.size() == 3 || args.size() == 4)) {
    coplan::v1::ExportFhirBundleRequest request;
    request.set_parent(args[1]);
    if (args.size() == 4) request.set_document(args[3]);
    auto bundle = CallFor<coplan::v1::FhirBundle>(
        client, "coplan.v1.ExportService/ExportFhirBundle", request);
    if (!bundle.ok()) return Fail(bundle.status());
    absl::Status written = WritePrivateFile(args[2], bundle->json());
    if (!written.ok()) return Fail(written);
    std::cerr << "wrote " << bundle->resource_count() << " resources to " << args[2] << "\n";
    return 0;
  }
  if (command == "print" && (args.size() == 3 || args.size() == 4)) {
    coplan::v1::PrintCrisisPlanRequest request;
    request.set_name(args[1]);
    if (args.size() == 4) request.set_locale(args[3]);
    auto printed = CallFor<coplan::v1::PrintedDocument>(
        client, "coplan.v1.ExportService/PrintCrisisPlan", request);
    if (!printed.ok()) return Fail(printed.status());
    absl::Status written = WritePrivateFile(args[2], printed->pdf());
    if (!written.ok()) return Fail(written);
    std::cerr << "wrote " << printed->page_count() << " page(s), revision " << printed->revision()
              << ", to " << args[2] << "\n";
    return 0;
  }
  if (command == "caseload") {
    return CallAndPrint(client, "coplan.v1.DecisionService/ListCaseloadDecisions", "{}");
  }
  if (command == "show" && need(1)) {
    absl::StatusOr<cv1::CachedDocument> copy = CopyOf(client, args[1], absl::Seconds(10));
    if (!copy.ok()) return Fail(copy.status());
    std::cout << Json(*copy) << "\n";
    return 0;
  }
  if (command == "edit" && need(2)) {
    cv1::EditRequest request;
    auto parsed = google::protobuf::util::JsonStringToMessage(
        absl::StrCat("{\"operations\": ", args[2], "}"), &request);
    if (!parsed.ok()) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("OPS is not a JSON array of operations: ", std::string(parsed.message()))));
    }
    request.set_document(args[1]);
    absl::StatusOr<cv1::CachedDocument> copy = CopyOf(client, args[1], absl::Seconds(10));
    if (!copy.ok()) return Fail(copy.status());
    Answer<cv1::EditQueued> queued;
    client.Edit(request, queued.callback());
    absl::StatusOr<cv1::EditQueued> edit = queued.Wait();
    if (!edit.ok()) return Fail(edit.status());
    absl::Status sent = WaitStatus(
        [&](coplan::client::StatusCallback callback) { client.Flush(send_timeout, callback); });
    if (!sent.ok()) {
      if (!cached) return Fail(absl::UnavailableError("the server did not take the edit in time"));
      std::cerr << "queued on this device: it is sent when the server is reachable (coplan sync)\n";
    }
    Answer<cv1::CachedDocument> now;
    client.GetDocument(request.document(), now.callback());
    absl::StatusOr<cv1::CachedDocument> after = now.Wait();
    if (!after.ok()) return Fail(after.status());
    std::cout << Json(*after) << "\n";
    return 0;
  }
  if (command == "pending") {
    Answer<cv1::PendingState> state;
    client.GetPendingState(state.callback());
    absl::StatusOr<cv1::PendingState> pending = state.Wait();
    if (!pending.ok()) return Fail(pending.status());
    std::cout << Json(*pending) << "\n";
    return 0;
  }
  if (command == "resolve" && need(2)) {
    cv1::Resolution resolution;
    resolution.set_batch_id(std::atoll(args[1].c_str()));
    if (args[2] == "keep-mine") {
      resolution.set_choice(cv1::Resolution::CHOICE_KEEP_MINE);
    } else if (args[2] == "take-theirs") {
      resolution.set_choice(cv1::Resolution::CHOICE_TAKE_THEIRS);
    } else {
      return Fail(absl::InvalidArgumentError("choose keep-mine or take-theirs"));
    }
    absl::Status resolved = WaitStatus([&](coplan::client::StatusCallback callback) {
      client.ResolveConflict(resolution, callback);
    });
    if (!resolved.ok()) return Fail(resolved);
    absl::Status sent = WaitStatus(
        [&](coplan::client::StatusCallback callback) { client.Flush(send_timeout, callback); });
    return sent.ok() ? 0 : Fail(sent);
  }
  if (command == "sync") {
    absl::Status sent = WaitStatus([&](coplan::client::StatusCallback callback) {
      client.Flush(absl::Seconds(20), callback);
    });
    return sent.ok() ? 0 : Fail(sent);
  }
  if (command == "watch" && args.size() >= 2) {
    auto ended = std::make_shared<std::atomic<int>>(0);
    const int followed = static_cast<int>(args.size()) - 1;
    for (size_t i = 1; i < args.size(); ++i) {
      const std::string document = args[i];
      client.Follow(document, [document, ended](const cv1::DocumentEvent& event) {
        std::cout << "{\"document\": " << Quote(document) << ", \"event\": " << Json(event, false)
                  << "}" << std::endl;
        if (event.has_ended()) ++*ended;
      });
    }
    while (ended->load() < followed) {
      timespec wait{0, 200000000};
      if (sigtimedwait(&signals, nullptr, &wait) > 0) break;
    }
    return ended->load() < followed ? 0 : 1;
  }
  std::cerr << kUsage;
  return 2;
}
