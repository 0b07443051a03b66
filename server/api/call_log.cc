#include "server/api/call_log.h"

#include "absl/time/clock.h"
#include "server/common/log.h"

namespace coplan {
namespace {

const char* CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const int index = static_cast<int>(code);
  return index >= 0 && index <= 16 ? kNames[index] : "UNKNOWN";
}

}  // namespace

void LogCallEnd(const char* method, const grpc::Status& status, absl::Time start) {
  Log(status.ok() ? LogLevel::kDebug : LogLevel::kInfo, "rpc")
      .Str("method", method)
      .Str("code", CodeName(status.error_code()))
      .Num("ms", absl::ToDoubleMilliseconds(absl::Now() - start));
}

}  // namespace coplan
