// The benchmark's output: one Markdown table, with the machine and settings it ran with.
#pragma once

#include <string>
#include <vector>

#include "bench/harness.h"

namespace coplan::bench {

struct ReportRow {
  std::string measure;
  std::string coplan;
  std::string baseline;  // "—" when the measure has none
  std::string ratio;
  std::string target;
  std::string met;  // "yes", "no", or "not run"
};

// "2 × Intel(R) Xeon(R) Processor, 23.5 GiB RAM".
std::string DescribeMachine();
std::string FormatTable(const std::vector<ReportRow>& rows);
// "4,321" (thousands separated, no decimals) or "12.3" for small values.
std::string FormatRate(double value);
// "p50 1.23 ms, p99 4.56 ms".
std::string FormatLatency(const LatencySummary& latency);

}  // namespace coplan::bench
