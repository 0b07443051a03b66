#include "tests/support/process.h"

#include <signal.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "tests/support/test_cluster.h"

namespace coplan::testing {
namespace {

// A fresh file for a child's stdout and stderr together.
std::string OutputFile() { return MakeTempDir("coplan-test-process") + "/output.log"; }

}  // namespace

std::string ServerBinary() {
  const char* path = std::getenv("COPLAN_SERVER_BINARY");
  return path != nullptr ? path : "coplan-server";
}

ProcessResult RunProgram(const std::vector<std::string>& argv, const std::string& input,
                         absl::Duration timeout,
                         std::optional<std::vector<std::string>> environment) {
  ProcessResult result;
  Subprocess::Options options;
  options.argv = argv;
  options.environment = std::move(environment);
  options.stdout_file = options.stderr_file = OutputFile();
  options.stdin_data = input;
  auto child = Subprocess::Start(options);
  if (!child.ok()) return result;
  auto code = (*child)->Wait(timeout);
  result.exit_code = code.ok() && *code < 128 ? *code : -1;
  result.output = ReadFileOrEmpty(options.stdout_file);
  return result;
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const std::vector<std::string>& args, absl::Duration timeout) {
  std::unique_ptr<ServerProcess> process(new ServerProcess());
  process->output_file_ = OutputFile();
  Subprocess::Options options;
  options.argv = {ServerBinary()};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.stdout_file = options.stderr_file = process->output_file_;
  auto child = Subprocess::Start(options);
  if (!child.ok()) return child.status();
  process->child_ = std::move(child).value();
  auto serving = process->child_->WaitForLine("Coplan is serving on ", timeout);
  if (!serving.ok()) {
    return absl::UnavailableError(
        absl::StrCat("coplan-server did not start:\n", process->Output()));
  }
  // "127.0.0.1:50051" or "127.0.0.1:50051 with demo data".
  process->address_ = serving->substr(0, serving->find(' '));
  return process;
}

ServerProcess::~ServerProcess() {
  if (child_ != nullptr) child_->Signal(SIGKILL);
}

int ServerProcess::Wait(absl::Duration timeout) {
  auto code = child_->Wait(timeout);
  return code.ok() && *code < 128 ? *code : -1;
}

}  // namespace coplan::testing
