#include "bench/report.h"

#include <unistd.h>

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "bench/process.h"

namespace coplan::bench {

std::string DescribeMachine() {
  std::string cpu = "unknown CPU";
  for (absl::string_view line : absl::StrSplit(ReadFileOrEmpty("/proc/cpuinfo"), '\n')) {
    if (absl::ConsumePrefix(&line, "model name")) {
      absl::ConsumePrefix(&line, "\t");
      line = absl::StripLeadingAsciiWhitespace(line);
      absl::ConsumePrefix(&line, ":");
      cpu = std::string(absl::StripAsciiWhitespace(line));
      break;
    }
  }
  double ram_gib = 0;
  for (absl::string_view line : absl::StrSplit(ReadFileOrEmpty("/proc/meminfo"), '\n')) {
    if (absl::ConsumePrefix(&line, "MemTotal:")) {
      line = absl::StripAsciiWhitespace(line);
      absl::ConsumeSuffix(&line, "kB");
      int64_t kib = 0;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &kib)) ram_gib = kib / 1048576.0;
      break;
    }
  }
  return absl::StrFormat("%d × %s, %.1f GiB RAM", static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)),
                         cpu, ram_gib);
}

std::string FormatRate(double value) {
  if (value < 100) return absl::StrFormat("%.1f", value);
  std::string digits = absl::StrCat(static_cast<int64_t>(std::llround(value)));
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string FormatLatency(const LatencySummary& latency) {
  return absl::StrFormat("p50 %.2f ms, p99 %.2f ms", latency.p50_ms, latency.p99_ms);
}

std::string FormatTable(const std::vector<ReportRow>& rows) {
  std::string out = "| Measure | Coplan | Baseline | Ratio | Target | Met? |\n";
  out += "|---|---|---|---|---|---|\n";
  for (const auto& row : rows) {
    absl::StrAppend(&out, "| ", row.measure, " | ", row.coplan, " | ", row.baseline, " | ",
                    row.ratio, " | ", row.target, " | ", row.met, " |\n");
  }
  return out;
}

}  // namespace coplan::bench
