// coplan-server: a thin main over ServerApp (server/app). See --help.
#include <signal.h>

#include <iostream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "server/app/config.h"
#include "server/app/library_logs.h"
#include "server/app/server_app.h"
#include "server/common/log.h"

namespace {

// Blocks SIGINT/SIGTERM in every thread (threads inherit the mask) and returns the set,
// so that the main thread alone receives them with sigwait.
sigset_t BlockShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return signals;
}

int Fail(const absl::Status& status) {
  std::cerr << "coplan-server: " << status.message() << "\n";
  return status.code() == absl::StatusCode::kDataLoss ? 3 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  coplan::RouteLibraryLogsToJsonLog();
  const sigset_t signals = BlockShutdownSignals();
  std::vector<std::string> args;
  auto config = coplan::ParseServerConfig(argc, argv, &args);
  if (!config.ok()) return Fail(config.status());
  coplan::SetMinLogLevel(config->log_level);

  const std::string command = args.empty() ? "serve" : args[0];
  if (command == "migrate") {
    auto status = coplan::RunMigrations(*config);
    return status.ok() ? 0 : Fail(status);
  }
  if (command == "audit" && args.size() == 2 && args[1] == "verify") {
    auto status = coplan::RunAuditVerify(*config);
    return status.ok() ? 0 : Fail(status);
  }
  if (command == "move-secret-to-file" && args.size() == 1) {
    auto status = coplan::RunMoveSecretToFile(*config);
    return status.ok() ? 0 : Fail(status);
  }
  if (command == "rotate-token-key" && args.size() == 1) {
    // Real time: the new key's start and which keys' tokens have expired are wall-clock
    // facts for every instance.
    auto status = coplan::RunRotateTokenKey(*config, absl::Now());
    return status.ok() ? 0 : Fail(status);
  }
  if (command == "create-admin" && args.size() == 3) {
    std::string password;
    std::getline(std::cin, password);
    auto status = coplan::RunCreateAdmin(*config, args[1], args[2], password);
    return status.ok() ? 0 : Fail(status);
  }
  if (command != "serve") {
    std::cerr << "coplan-server: unknown command; see coplan-server --help\n";
    return 2;
  }

  auto app = coplan::ServerApp::Start(*config);
  if (!app.ok()) return Fail(app.status());
  std::cout << "Coplan is serving on " << (*app)->address()
            << (config->demo ? " with demo data" : "") << std::endl;
  int received = 0;
  sigwait(&signals, &received);
  coplan::Log(coplan::LogLevel::kInfo, "signal").Int("signal", received);
  (*app)->Shutdown();
  return 0;
}
