// Child processes of the benchmark (servers, echo server, create-admin, pgbench) and
// what the benchmark reads about them (/proc/<pid>/status).
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace coplan::bench {

class Subprocess {
 public:
  struct Options {
    std::vector<std::string> argv;
    // Output goes to files (not pipes) so a chatty child can never block on a full pipe.
    std::string stdout_file;
    std::string stderr_file;
    // Written to the child's stdin, which is then closed; /dev/null when unset.
    std::optional<std::string> stdin_data;
  };

  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(const Options& options);
  // Stops the child (SIGTERM, then SIGKILL after a grace period) if still running.
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  const Options& options() const { return options_; }
  bool Running();
  // The exit code (128 + signal when killed); kills the child after `timeout`.
  absl::StatusOr<int> Wait(absl::Duration timeout);
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
// VmRSS of a process in KiB, from /proc/<pid>/status.
absl::StatusOr<int64_t> ReadVmRssKiB(pid_t pid);
// The path of the running executable (/proc/self/exe).
std::string SelfExecutable();

}  // namespace coplan::bench
