// Running the real coplan-server binary (or any program) from tests, on the project's one
// subprocess runner (server/common/subprocess.h).
//
//   ProcessResult result = RunProgram({ServerBinary(), "migrate", "--database_url=..."});
//   auto server = ServerProcess::Start({"--demo", "--data_dir=/tmp/x", "--listen=127.0.0.1:0"});
//   server->address();   // parsed from "Coplan is serving on ..."
//   server->Signal(SIGKILL);
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/common/subprocess.h"

namespace coplan::testing {

// The coplan-server binary built with the tests ($COPLAN_SERVER_BINARY).
std::string ServerBinary();

struct ProcessResult {
  int exit_code = -1;  // -1 when it did not finish in time
  std::string output;  // stdout and stderr
};

// Runs to completion (killed after `timeout`), feeding `input` on stdin. `environment`
// ("NAME=value" entries) is the child's whole environment when set, the parent's otherwise:
// a test that runs servers or clients in-process passes variables this way, because
// setenv while their threads read the environment (gRPC, libpq, getaddrinfo) is a crash.
ProcessResult RunProgram(const std::vector<std::string>& argv, const std::string& input = "",
                         absl::Duration timeout = absl::Seconds(120),
                         std::optional<std::vector<std::string>> environment = std::nullopt);

class ServerProcess {
 public:
  // Starts coplan-server with `args` and waits until it says where it is serving.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const std::vector<std::string>& args, absl::Duration timeout = absl::Seconds(90));
  ~ServerProcess();  // SIGKILL if still running

  const std::string& address() const { return address_; }
  pid_t pid() const { return child_->pid(); }
  void Signal(int signal) { child_->Signal(signal); }
  // Waits for the exit; the exit code, or -1 on timeout (or death by signal).
  int Wait(absl::Duration timeout);
  // Everything it printed so far.
  std::string Output() const { return ReadFileOrEmpty(output_file_); }

 private:
  std::string output_file_;
  std::unique_ptr<Subprocess> child_;  // SIGTERM, then SIGKILL, when destroyed
  std::string address_;
};

}  // namespace coplan::testing
