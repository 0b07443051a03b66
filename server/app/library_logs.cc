#include "server/app/library_logs.h"

#include <grpc/support/log.h>

#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/stubs/logging.h"
#include "server/common/log.h"

namespace coplan {
namespace {

// A library's message names its own source location and says what went wrong in a fixed
// phrase (protobuf: "String field 'coplan.v1.SignInRequest.username' contains invalid
// UTF-8 data"); it is cut short so that a library quoting input cannot flood the log.
constexpr size_t kMaxMessageBytes = 512;

void WriteLibraryLine(LogLevel level, absl::string_view library, absl::string_view file, int line,
                      absl::string_view message) {
  Log(level, "library_log")
      .Str("library", library)
      .Str("file", file)
      .Int("line", line)
      .Str("message", message.substr(0, kMaxMessageBytes));
}

void FromProtobuf(google::protobuf::LogLevel level, const char* file, int line,
                  const std::string& message) {
  LogLevel ours = LogLevel::kError;
  if (level == google::protobuf::LOGLEVEL_INFO) ours = LogLevel::kInfo;
  if (level == google::protobuf::LOGLEVEL_WARNING) ours = LogLevel::kWarning;
  WriteLibraryLine(ours, "protobuf", file != nullptr ? file : "", line, message);
}

void FromGrpc(gpr_log_func_args* args) {
  LogLevel ours = LogLevel::kError;
  if (args->severity == GPR_LOG_SEVERITY_DEBUG) ours = LogLevel::kDebug;
  if (args->severity == GPR_LOG_SEVERITY_INFO) ours = LogLevel::kInfo;
  WriteLibraryLine(ours, "grpc", args->file != nullptr ? args->file : "", args->line,
                   args->message != nullptr ? args->message : "");
}

}  // namespace

void RouteLibraryLogsToJsonLog() {
  google::protobuf::SetLogHandler(&FromProtobuf);
  gpr_set_log_function(&FromGrpc);
}

}  // namespace coplan
