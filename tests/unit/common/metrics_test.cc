#include "server/common/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace coplan {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, CountersAreWrittenWithHelpTypeAndEscapedLabels) {
  MetricsRegistry registry;
  CounterFamily& calls = registry.Counters("test_calls_total", "Calls\nmade", {"method", "code"});
  calls.Add({"a/B", "OK"});
  calls.Add({"a/B", "OK"}, 2);
  calls.Add({"quote\"back\\slash\nnewline", "NOT_FOUND"});
  EXPECT_EQ(calls.Value({"a/B", "OK"}), 3u);
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("# HELP test_calls_total Calls\\nmade\n"
                              "# TYPE test_calls_total counter\n"));
  EXPECT_THAT(text, HasSubstr("test_calls_total{method=\"a/B\",code=\"OK\"} 3\n"));
  EXPECT_THAT(text,
              HasSubstr("{method=\"quote\\\"back\\\\slash\\nnewline\",code=\"NOT_FOUND\"} 1\n"));
}

TEST(MetricsTest, HistogramBucketsAreCumulativeAndEndAtInfinity) {
  MetricsRegistry registry;
  HistogramFamily& durations =
      registry.Histograms("test_seconds", "Durations", {"method"}, {0.1, 1});
  for (double value : {0.05, 0.1, 0.5, 3.0}) durations.Observe({"m"}, value);
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("# TYPE test_seconds histogram\n"
                              "test_seconds_bucket{method=\"m\",le=\"0.1\"} 2\n"
                              "test_seconds_bucket{method=\"m\",le=\"1\"} 3\n"
                              "test_seconds_bucket{method=\"m\",le=\"+Inf\"} 4\n"
                              "test_seconds_sum{method=\"m\"} 3.65\n"
                              "test_seconds_count{method=\"m\"} 4\n"));
}

TEST(MetricsTest, CollectorsAreAskedAtEveryScrapeUntilTheirHandleGoes) {
  MetricsRegistry registry;
  int asked = 0;
  auto handle = registry.AddCollector([&](MetricsWriter& out) {
    ++asked;
    out.Gauge("test_open", "Open things", {}, {{{}, 7}});
  });
  EXPECT_THAT(registry.Render(), HasSubstr("# TYPE test_open gauge\ntest_open 7\n"));
  handle.reset();
  EXPECT_THAT(registry.Render(), ::testing::Not(HasSubstr("test_open")));
  EXPECT_EQ(asked, 1);
}

}  // namespace
}  // namespace coplan
