// coplan: a command-line client for Coplan, built on the client library.
//
//   coplan --user=alex --password=alex-demo-password get people/alex/plans/crisis-plan
//   COPLAN_TOKEN=$(coplan --user=okafor --password=... sign-in) coplan list-plans people/alex
//
// Prints resources as JSON; errors (with their field violations) go to stderr.
#include <atomic>
#include <csignal>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "coplan/client/client.h"
#include "coplan/client/watch.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"

namespace {

using namespace coplan;

constexpr char kUsage[] = R"(usage: coplan [options] COMMAND [ARGS]

options (or environment):
  --server=HOST:PORT      Coplan server (COPLAN_SERVER, default 127.0.0.1:50051)
  --user=NAME             built-in account (COPLAN_USER)
  --password=PASSWORD     its password (COPLAN_PASSWORD)
  --token=TOKEN           an access token instead (COPLAN_TOKEN)

commands:
  sign-in                         print an access token
  whoami                          the signed-in person
  connections                     people you act for, and how
  list-plans PERSON               plans of people/{person} (people/me for yourself)
  list-decisions PERSON           decision records of a person
  get NAME                        a plan, decision record, person, option grid or version
  history DOCUMENT                the revisions of a plan or decision record
  edit DOCUMENT REVISION OPS      apply edit operations (a JSON array) on a base revision
  sign-off DOCUMENT REVISION      sign off a revision as agreed
  watch DOCUMENT                  print live changes (JSON lines) until Ctrl-C
  grids                           the option grid library
  access-log PERSON               who viewed or changed the person's records
  caseload                        decisions in progress (clinicians)
)";

std::string Json(const google::protobuf::Message& message, bool pretty = true) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = pretty;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

int Fail(const absl::Status& status) {
  std::cerr << "error: " << absl::StatusCodeToString(status.code()) << ": " << status.message()
            << "\n";
  if (auto bad = client::ErrorDetail<google::rpc::BadRequest>(status)) {
    for (const auto& violation : bad->field_violations()) {
      std::cerr << "  " << violation.field() << ": " << violation.description() << "\n";
    }
  }
  if (auto failure = client::ErrorDetail<google::rpc::PreconditionFailure>(status)) {
    for (const auto& violation : failure->violations()) {
      std::cerr << "  " << violation.type() << " " << violation.subject() << ": "
                << violation.description() << "\n";
    }
  }
  return 1;
}

template <typename T>
int Print(const absl::StatusOr<T>& result) {
  if (!result.ok()) return Fail(result.status());
  std::cout << Json(*result) << "\n";
  return 0;
}

std::string Env(const char* name, const std::string& fallback = "") {
  const char* value = std::getenv(name);
  return value ? value : fallback;
}

int Get(client::Client& c, const std::string& name) {
  if (name.find("/plans/") != std::string::npos && name.find("/revisions/") == std::string::npos) {
    v1::GetPlanRequest r;
    r.set_name(name);
    return Print(c.Call(&v1::PlanService::Stub::GetPlan, r, {.retry = true}));
  }
  if (name.find("/revisions/") != std::string::npos) {
    v1::GetDocumentRevisionRequest r;
    r.set_name(name);
    return Print(c.Call(&v1::EditingService::Stub::GetDocumentRevision, r, {.retry = true}));
  }
  if (name.find("/decisions/") != std::string::npos) {
    v1::GetDecisionRecordRequest r;
    r.set_name(name);
    return Print(c.Call(&v1::DecisionService::Stub::GetDecisionRecord, r, {.retry = true}));
  }
  if (name.rfind("optionGrids/", 0) == 0 && name.find("/versions/") != std::string::npos) {
    v1::GetOptionGridVersionRequest r;
    r.set_name(name);
    return Print(c.Call(&v1::OptionGridService::Stub::GetOptionGridVersion, r, {.retry = true}));
  }
  if (name.rfind("optionGrids/", 0) == 0) {
    v1::GetOptionGridRequest r;
    r.set_name(name);
    return Print(c.Call(&v1::OptionGridService::Stub::GetOptionGrid, r, {.retry = true}));
  }
  v1::GetPersonRequest r;
  r.set_name(name);
  return Print(c.Call(&v1::PeopleService::Stub::GetPerson, r, {.retry = true}));
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> options = {{"server", Env("COPLAN_SERVER", "127.0.0.1:50051")},
                                                {"user", Env("COPLAN_USER")},
                                                {"password", Env("COPLAN_PASSWORD")},
                                                {"token", Env("COPLAN_TOKEN")}};
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
  client::Client c({.target = options["server"]});
  if (!options["token"].empty()) {
    c.SetToken(options["token"]);
  } else if (!options["user"].empty()) {
    absl::Status signed_in = c.SignIn(options["user"], options["password"]);
    if (!signed_in.ok()) return Fail(signed_in);
  }
  const std::string& command = args[0];
  auto need = [&](size_t count) {
    if (args.size() != count + 1) {
      std::cerr << "'" << command << "' takes " << count << " argument(s)\n" << kUsage;
      return false;
    }
    return true;
  };
  if (command == "sign-in") {
    if (c.token().empty()) return Fail(absl::InvalidArgumentError("give --user and --password"));
    std::cout << c.token() << "\n";
    return 0;
  }
  if (command == "whoami") return Get(c, "people/me");
  if (command == "get" && need(1)) return Get(c, args[1]);
  if (command == "connections") {
    return Print(c.Call(&v1::PeopleService::Stub::ListConnections, v1::ListConnectionsRequest()));
  }
  if (command == "list-plans" && need(1)) {
    v1::ListPlansRequest r;
    r.set_parent(args[1]);
    r.set_page_size(100);
    return Print(c.Call(&v1::PlanService::Stub::ListPlans, r, {.retry = true}));
  }
  if (command == "list-decisions" && need(1)) {
    v1::ListDecisionRecordsRequest r;
    r.set_parent(args[1]);
    r.set_page_size(100);
    return Print(c.Call(&v1::DecisionService::Stub::ListDecisionRecords, r, {.retry = true}));
  }
  if (command == "history" && need(1)) {
    v1::ListRevisionsRequest r;
    r.set_parent(args[1]);
    r.set_page_size(500);
    return Print(c.Call(&v1::EditingService::Stub::ListRevisions, r, {.retry = true}));
  }
  if (command == "edit" && need(3)) {
    v1::EditDocumentRequest r;
    r.set_name(args[1]);
    r.set_base_revision(std::atoll(args[2].c_str()));
    const std::string json = "{\"operations\": " + args[3] + "}";
    auto parsed = google::protobuf::util::JsonStringToMessage(json, &r);
    if (!parsed.ok())
      return Fail(absl::InvalidArgumentError("OPS is not a JSON array of operations"));
    std::random_device random;
    r.set_idempotency_key("cli-" + std::to_string(random()) + "-" + std::to_string(random()));
    return Print(c.Call(&v1::EditingService::Stub::EditDocument, r, {.retry = true}));
  }
  if (command == "sign-off" && need(2)) {
    v1::SignOffDocumentRequest r;
    r.set_name(args[1]);
    r.set_revision(std::atoll(args[2].c_str()));
    return Print(c.Call(&v1::EditingService::Stub::SignOffDocument, r));
  }
  if (command == "grids") {
    return Print(c.Call(&v1::OptionGridService::Stub::ListOptionGrids, v1::ListOptionGridsRequest(),
                        {.retry = true}));
  }
  if (command == "access-log" && need(1)) {
    v1::ListAccessEventsRequest r;
    r.set_parent(args[1]);
    r.set_page_size(100);
    return Print(c.Call(&v1::AuditService::Stub::ListAccessEvents, r, {.retry = true}));
  }
  if (command == "caseload") {
    return Print(c.Call(&v1::DecisionService::Stub::ListCaseloadDecisions,
                        v1::ListCaseloadDecisionsRequest()));
  }
  if (command == "watch" && need(1)) {
    // Block the stop signals before any thread starts, so that only sigtimedwait sees them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    absl::Status ended;
    std::atomic<bool> done{false};
    client::WatchSubscription watch(
        c, args[1],
        {.on_event =
             [](const v1::WatchEvent& event) { std::cout << Json(event, false) << std::endl; },
         .on_end =
             [&](const absl::Status& status) {
               ended = status;
               done = true;
             }});
    while (!done) {
      timespec wait{0, 200000000};
      if (sigtimedwait(&signals, nullptr, &wait) > 0) break;
    }
    watch.Stop();
    return ended.ok() ? 0 : Fail(ended);
  }
  std::cerr << kUsage;
  return 2;
}
