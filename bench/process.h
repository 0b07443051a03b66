// What the benchmark reads about its child processes (/proc/<pid>/status), and the
// children themselves: coplan::Subprocess (server/common/subprocess.h), stopped early when
// the benchmark is interrupted.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/common/subprocess.h"

namespace coplan::bench {

using coplan::ReadFileOrEmpty;
using coplan::Subprocess;
using coplan::TailOfFile;

// Starts a child of the benchmark: waits on it end when the benchmark is interrupted.
absl::StatusOr<std::unique_ptr<Subprocess>> StartChild(Subprocess::Options options);
// VmRSS of a process in KiB, from /proc/<pid>/status.
absl::StatusOr<int64_t> ReadVmRssKiB(pid_t pid);
// The path of the running executable (/proc/self/exe).
std::string SelfExecutable();

}  // namespace coplan::bench
