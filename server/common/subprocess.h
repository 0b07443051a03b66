// A child process: started with its output going to files (never pipes, so a chatty
// child can never block on a full pipe), waited for with a deadline, stopped with SIGTERM
// then SIGKILL. The one way this project runs programs: the embedded PostgreSQL's tools,
// the benchmark's servers and baselines, and the tests' server processes.
//
//   COPLAN_ASSIGN_OR_RETURN(auto child, Subprocess::Start({.argv = {"/usr/bin/pg_ctl", ...},
//                                                          .stdout_file = log, .stderr_file =
//                                                          log}));
//   COPLAN_ASSIGN_OR_RETURN(int code, child->Wait(absl::Seconds(60)));
//
// Everything the child needs is prepared before fork; after it the child makes only
// async-signal-safe calls (the parent has many threads).
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace coplan {

class Subprocess {
 public:
  struct Options {
    std::vector<std::string> argv;  // argv[0] is the program's path
    // The whole environment when set; the parent's otherwise.
    std::optional<std::vector<std::string>> environment;
    // Appended to; /dev/null when empty. Both may name the same file.
    std::string stdout_file;
    std::string stderr_file;
    // Written to the child's stdin, which is then closed; /dev/null when unset.
    std::optional<std::string> stdin_data;
    // Run as this user and group (the parent must be root); -1 keeps the parent's.
    int uid = -1;
    int gid = -1;
    // The child gets SIGTERM if the parent dies first (it would otherwise keep its port
    // and database busy).
    bool die_with_parent = true;
    // Checked while waiting: true stops the wait early (the benchmark's Ctrl-C).
    std::function<bool()> interrupted;
  };

  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(const Options& options);
  // Stops the child (SIGTERM, then SIGKILL after a grace period) if still running.
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  const Options& options() const { return options_; }
  bool Running();
  // The exit code (128 + signal when killed by one); DEADLINE_EXCEEDED (the child is then
  // stopped) if it has not exited within `timeout`.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  void Signal(int signal);
  // SIGTERM, and SIGKILL if it has not exited after `grace`. Returns the exit code.
  int Terminate(absl::Duration grace = absl::Seconds(15));
  // Waits for a stdout line starting with `prefix` and returns the rest of it.
  absl::StatusOr<std::string> WaitForLine(const std::string& prefix, absl::Duration timeout);

 private:
  Subprocess(Options options, pid_t pid) : options_(std::move(options)), pid_(pid) {}
  bool Reap(bool block);

  Options options_;
  pid_t pid_;
  bool exited_ = false;
  int exit_code_ = 0;
};

std::string ReadFileOrEmpty(const std::string& path);
// The last `lines` lines of a file (for error messages).
std::string TailOfFile(const std::string& path, int lines = 15);

}  // namespace coplan
