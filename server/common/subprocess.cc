#include "server/common/subprocess.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace coplan {
namespace {

std::vector<char*> Pointers(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (const auto& text : strings) pointers.push_back(const_cast<char*>(text.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(const Options& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("no program to run");
  std::vector<char*> argv = Pointers(options.argv);
  std::vector<char*> envp;
  if (options.environment) envp = Pointers(*options.environment);
  const char* out = options.stdout_file.empty() ? "/dev/null" : options.stdout_file.c_str();
  const char* err = options.stderr_file.empty() ? "/dev/null" : options.stderr_file.c_str();
  int stdin_pipe[2] = {-1, -1};
  if (options.stdin_data && pipe2(stdin_pipe, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    if (options.die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(126);
    }
    // The parent's handlers and signal mask are not the child's.
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int in = stdin_pipe[0] >= 0 ? stdin_pipe[0] : open("/dev/null", O_RDONLY);
    int out_fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0600);
    int err_fd = open(err, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (in < 0 || out_fd < 0 || err_fd < 0) _exit(127);
    dup2(in, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    if (options.gid >= 0 && (setgroups(0, nullptr) != 0 || setgid(options.gid) != 0)) _exit(126);
    if (options.uid >= 0 && setuid(options.uid) != 0) _exit(126);
    if (options.environment) {
      execve(argv[0], argv.data(), envp.data());
    } else {
      execv(argv[0], argv.data());
    }
    _exit(127);
  }
  if (options.stdin_data) {
    close(stdin_pipe[0]);
    const std::string& data = *options.stdin_data;
    size_t written = 0;
    while (written < data.size()) {
      const ssize_t n = write(stdin_pipe[1], data.data() + written, data.size() - written);
      if (n <= 0) break;
      written += static_cast<size_t>(n);
    }
    close(stdin_pipe[1]);
  }
  return std::unique_ptr<Subprocess>(new Subprocess(options, pid));
}

Subprocess::~Subprocess() { Terminate(); }

bool Subprocess::Reap(bool block) {
  if (exited_) return true;
  int status = 0;
  pid_t done;
  do {
    done = waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (done < 0 && errno == EINTR);
  if (done != pid_) return false;
  exited_ = true;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

bool Subprocess::Running() { return !Reap(false); }

absl::StatusOr<int> Subprocess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!Reap(false)) {
    if (absl::Now() >= deadline || (options_.interrupted && options_.interrupted())) {
      Terminate(absl::Seconds(2));
      return absl::DeadlineExceededError(
          absl::StrCat(options_.argv[0], " did not finish within ", absl::FormatDuration(timeout)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exit_code_;
}

void Subprocess::Signal(int signal) {
  if (!Reap(false)) kill(pid_, signal);
}

int Subprocess::Terminate(absl::Duration grace) {
  if (Reap(false)) return exit_code_;
  kill(pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + grace;
  while (!Reap(false)) {
    if (absl::Now() >= deadline) {
      kill(pid_, SIGKILL);
      Reap(true);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exit_code_;
}

absl::StatusOr<std::string> Subprocess::WaitForLine(const std::string& prefix,
                                                    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    for (absl::string_view line : absl::StrSplit(ReadFileOrEmpty(options_.stdout_file), '\n')) {
      if (absl::ConsumePrefix(&line, prefix)) return std::string(absl::StripAsciiWhitespace(line));
    }
    if (!Running()) {
      return absl::UnavailableError(absl::StrCat(options_.argv[0], " exited with code ", exit_code_,
                                                 " before it was ready:\n",
                                                 TailOfFile(options_.stderr_file)));
    }
    if (absl::Now() >= deadline || (options_.interrupted && options_.interrupted())) {
      return absl::DeadlineExceededError(absl::StrCat(options_.argv[0], " was not ready within ",
                                                      absl::FormatDuration(timeout), ":\n",
                                                      TailOfFile(options_.stderr_file)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string TailOfFile(const std::string& path, int lines) {
  std::vector<std::string> all = absl::StrSplit(ReadFileOrEmpty(path), '\n', absl::SkipEmpty());
  const size_t from = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0;
  return absl::StrJoin(all.begin() + from, all.end(), "\n");
}

}  // namespace coplan
