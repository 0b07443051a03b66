// Structured logs: one JSON object per line on stderr.
//
//   Log(LogLevel::kInfo, "rpc_done").Str("method", "GetPlan").Str("code", "OK").Num("ms", 1.7);
//
// Logs must never contain personal data: no names, no free text, no resource contents,
// no token or password material. Log fixed event names, codes, counts and durations;
// status messages of user errors are not logged (they can quote user input).
#pragma once

#include <sstream>
#include <string>

#include "absl/strings/string_view.h"

namespace coplan {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Lines below this level are dropped (default: info; COPLAN_LOG_LEVEL=debug|warning|error).
void SetMinLogLevel(LogLevel level);
bool ParseLogLevel(absl::string_view text, LogLevel* level);

// Builds one log line and writes it when destroyed.
class Log {
 public:
  Log(LogLevel level, absl::string_view event);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  Log& Str(absl::string_view key, absl::string_view value);
  Log& Num(absl::string_view key, double value);
  Log& Int(absl::string_view key, long long value);

 private:
  bool enabled_;
  std::string line_;
};

}  // namespace coplan
