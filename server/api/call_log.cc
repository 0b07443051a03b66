#include "server/api/call_log.h"

#include "absl/time/clock.h"
#include "server/common/log.h"
#include "server/common/metrics.h"

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

CounterFamily& CallsHandled() {
  static CounterFamily& calls =
      Metrics().Counters("coplan_rpc_calls_total", "gRPC calls answered, by method and status code",
                         {"method", "code"});
  return calls;
}

HistogramFamily& CallDurations() {
  static HistogramFamily& durations = Metrics().Histograms(
      "coplan_rpc_duration_seconds",
      "Time from a call's arrival to its answer, by method (for a stream: how long it was "
      "open)",
      {"method"}, {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  return durations;
}

}  // namespace

void LogCallEnd(const char* method, const grpc::Status& status, absl::Time start) {
  // Real time: a latency, not a time the access rules look at.
  const absl::Duration took = absl::Now() - start;
  const char* code = CodeName(status.error_code());
  Log(status.ok() ? LogLevel::kDebug : LogLevel::kInfo, "rpc")
      .Str("method", method)
      .Str("code", code)
      .Num("ms", absl::ToDoubleMilliseconds(took));
  // `method` is one of the handlers' own literals, never what the client sent.
  CallsHandled().Add({method, code});
  CallDurations().Observe({method}, absl::ToDoubleSeconds(took));
}

}  // namespace coplan
