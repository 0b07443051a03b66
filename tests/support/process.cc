#include "tests/support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>

#include "absl/strings/str_cat.h"

namespace coplan::testing {
namespace {

pid_t Spawn(const std::vector<std::string>& argv, int* output_fd, int* input_fd) {
  int out[2], in[2];
  if (::pipe(out) != 0 || ::pipe(in) != 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::close(in[1]);
    ::close(out[0]);
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(in[0]);
  *output_fd = out[0];
  *input_fd = in[1];
  return pid;
}

// Reads what is available within `wait`; false at end of file.
bool ReadSome(int fd, std::string* into, absl::Duration wait) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(wait))) <= 0) return true;
  char buffer[4096];
  ssize_t n = ::read(fd, buffer, sizeof buffer);
  if (n <= 0) return false;
  into->append(buffer, n);
  return true;
}

}  // namespace

std::string ServerBinary() {
  const char* path = std::getenv("COPLAN_SERVER_BINARY");
  return path != nullptr ? path : "coplan-server";
}

ProcessResult RunProgram(const std::vector<std::string>& argv, const std::string& input,
                         absl::Duration timeout) {
  ProcessResult result;
  int out = -1, in = -1;
  pid_t pid = Spawn(argv, &out, &in);
  if (pid < 0) return result;
  if (!input.empty()) (void)!::write(in, input.data(), input.size());
  ::close(in);
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline && ReadSome(out, &result.output, absl::Milliseconds(100))) {
  }
  ::close(out);
  int status = 0;
  if (absl::Now() >= deadline) ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(const std::vector<std::string>& args,
                                                                    absl::Duration timeout) {
  std::unique_ptr<ServerProcess> process(new ServerProcess());
  std::vector<std::string> argv = {ServerBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  int in = -1;
  process->pid_ = Spawn(argv, &process->output_fd_, &in);
  ::close(in);
  if (process->pid_ < 0) return absl::InternalError("cannot start coplan-server");
  const std::regex serving("Coplan is serving on ([0-9.]+:[0-9]+)");
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (!ReadSome(process->output_fd_, &process->output_, absl::Milliseconds(100))) break;
    std::smatch match;
    if (std::regex_search(process->output_, match, serving)) {
      process->address_ = match[1];
      return process;
    }
  }
  return absl::UnavailableError(absl::StrCat("coplan-server did not start:\n", process->output_));
}

ServerProcess::~ServerProcess() {
  if (!exited_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (output_fd_ >= 0) ::close(output_fd_);
}

void ServerProcess::Signal(int signal) { ::kill(pid_, signal); }

std::string ServerProcess::Output() {
  for (;;) {
    pollfd p{output_fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) break;
    char buffer[4096];
    ssize_t n = ::read(output_fd_, buffer, sizeof buffer);
    if (n <= 0) break;
    output_.append(buffer, n);
  }
  return output_;
}

int ServerProcess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exited_ = true;
      Output();
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    ReadSome(output_fd_, &output_, absl::Milliseconds(50));
  }
  return -1;
}

}  // namespace coplan::testing
