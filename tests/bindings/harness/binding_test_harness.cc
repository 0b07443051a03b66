// The server side of the binding suites (Java over JNI, Swift): starts a real Coplan server
// on a throwaway PostgreSQL database of the test cluster, registers the people the suites
// act as, runs the suite's command with where to find them in its environment, and exits
// with the command's exit code.
//
//   coplan_binding_test_harness -- java -Xcheck:jni -jar junit.jar ...
//
// The suite reads (all strings):
//   COPLAN_TEST_SERVER      "127.0.0.1:port" of the server (plaintext, loopback)
//   COPLAN_TEST_CONTROL     "127.0.0.1:port" of the harness's control socket (below)
//   COPLAN_TEST_PASSWORD    the password of every account
//   COPLAN_TEST_ALEX        the service user's id (born 2009: a young person)
//   COPLAN_TEST_CLINICIAN   a clinician in Alex's care team (reads and edits Alex's plans)
//   COPLAN_TEST_CARER       a carer with an EDIT grant on the crisis plan
//   COPLAN_TEST_CARER_GRANT the grant's name ("people/{alex}/grants/{id}"), to revoke
//   COPLAN_TEST_PLAN        Alex's crisis plan ("people/{alex}/plans/{id}"), with warning
//                           signs "w0", "w1", "w2"
//   COPLAN_TEST_DIR         an empty directory for caches, removed afterwards
//
// The control socket takes one command per line and answers one line, "ok" or
// "error <why>": `stop` stops the server (gracefully; the database stays), `start` starts
// it again on the same port and database, `ping` answers. A suite uses them to go offline
// and back. Only loopback is listened on.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/support/process.h"
#include "tests/support/records.h"
#include "tests/support/test_cluster.h"
#include "tests/support/test_server.h"

namespace coplan::testing {
namespace {

// The server, stopped and started again on the same port and database by the control socket.
class RestartableServer {
 public:
  RestartableServer() {
    server_ = TestServer::Start();
    conninfo_ = server_->conninfo();
    secret_file_ = server_->secret_file();
    address_ = server_->address();
  }

  TestServer& server() { return *server_; }
  const std::string& address() const { return address_; }

  std::string Stop() {
    absl::MutexLock lock(&mutex_);
    if (!running_) return "error the server is not running";
    server_->Stop();
    running_ = false;
    return "ok";
  }

  std::string Start() {
    absl::MutexLock lock(&mutex_);
    if (running_) return "error the server is running";
    TestServer::Options options;
    options.conninfo = conninfo_;
    options.secret_file = secret_file_;
    const std::string listen = address_;
    options.configure = [listen](ServerConfig& config) { config.listen = listen; };
    server_ = TestServer::Start(options);
    running_ = true;
    return "ok";
  }

 private:
  absl::Mutex mutex_;
  std::unique_ptr<TestServer> server_;
  std::string conninfo_, secret_file_, address_;
  bool running_ ABSL_GUARDED_BY(mutex_) = true;
};

// A loopback TCP socket answering the control commands, on its own thread.
class ControlSocket {
 public:
  explicit ControlSocket(RestartableServer& server) : server_(server) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    if (listener_ < 0 ||
        ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_, 8) != 0) {
      std::cerr << "harness: cannot listen for control: " << std::strerror(errno) << "\n";
      std::exit(2);
    }
    socklen_t size = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }

  ~ControlSocket() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void Serve() {
    while (!stopping_) {
      const int connection = ::accept(listener_, nullptr, nullptr);
      if (connection < 0) {
        if (stopping_) return;
        continue;
      }
      Answer(connection);
      ::close(connection);
    }
  }

  // Reads lines until the peer closes; answers each.
  void Answer(int connection) {
    std::string buffer;
    char chunk[256];
    while (true) {
      const ssize_t got = ::read(connection, chunk, sizeof chunk);
      if (got <= 0) return;
      buffer.append(chunk, static_cast<size_t>(got));
      for (size_t end; (end = buffer.find('\n')) != std::string::npos;) {
        std::string command = buffer.substr(0, end);
        buffer.erase(0, end + 1);
        if (!command.empty() && command.back() == '\r') command.pop_back();
        const std::string reply = Run(command) + "\n";
        if (::write(connection, reply.data(), reply.size()) < 0) return;
      }
    }
  }

  std::string Run(const std::string& command) {
    std::cerr << "harness: " << command << "\n";
    if (command == "stop") return server_.Stop();
    if (command == "start") return server_.Start();
    if (command == "ping") return "ok";
    return "error unknown command '" + command + "' (stop, start, ping)";
  }

  RestartableServer& server_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// The suite's environment: the harness's own (read here, before the server's threads exist,
// and never changed: setenv while gRPC and libpq threads read the environment can crash
// them) and the COPLAN_TEST_* variables, which replace any of the same name.
std::vector<std::string> InheritedEnvironment() {
  std::vector<std::string> inherited;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (std::strncmp(*entry, "COPLAN_TEST_", 12) != 0) inherited.emplace_back(*entry);
  }
  return inherited;
}

int RunSuite(const std::vector<std::string>& command) {
  std::vector<std::string> environment = InheritedEnvironment();
  RestartableServer server;
  TestUser alex = server.server().CreateUser("Alex", {.birth_date = Date(2009, 3, 14)});
  TestUser clinician = server.server().CreateUser("Dr Lee", {.clinician = true});
  TestUser carer = server.server().CreateUser("Sam");
  JoinCareTeam(server.server(), alex, clinician);
  const v1::Plan plan = CreateCrisisPlan(alex, 3);
  const std::string grant = Grant(alex, carer, plan.name(), v1::ACCESS_LEVEL_EDIT);
  if (plan.name().empty() || grant.empty()) {
    std::cerr << "harness: could not create the suite's records\n";
    return 2;
  }
  const std::string dir = MakeTempDir("coplan-bindings");
  ControlSocket control(server);

  const std::vector<std::pair<std::string, std::string>> suite_variables = {
      {"COPLAN_TEST_SERVER", server.address()},
      {"COPLAN_TEST_CONTROL", control.address()},
      {"COPLAN_TEST_PASSWORD", TestServer::kPassword},
      {"COPLAN_TEST_ALEX", alex.id},
      {"COPLAN_TEST_CLINICIAN", clinician.id},
      {"COPLAN_TEST_CARER", carer.id},
      {"COPLAN_TEST_CARER_GRANT", grant},
      {"COPLAN_TEST_PLAN", plan.name()},
      {"COPLAN_TEST_DIR", dir},
  };
  for (const auto& [name, value] : suite_variables) environment.push_back(name + "=" + value);

  ProcessResult result = RunProgram(command, "", absl::Minutes(15), std::move(environment));
  std::cout << result.output << std::flush;
  if (result.exit_code < 0) std::cerr << "harness: the suite did not finish in 15 minutes\n";
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return result.exit_code < 0 ? 1 : result.exit_code;
}

}  // namespace
}  // namespace coplan::testing

int main(int argc, char** argv) {
  std::vector<std::string> command;
  int i = 1;
  if (i < argc && std::string(argv[i]) == "--") ++i;
  for (; i < argc; ++i) command.emplace_back(argv[i]);
  if (command.empty()) {
    std::cerr << "usage: coplan_binding_test_harness -- <suite command...>\n";
    return 2;
  }
  return coplan::testing::RunSuite(command);
}
