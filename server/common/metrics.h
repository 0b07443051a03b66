// The server's metrics, in Prometheus' text exposition format (version 0.0.4), served by
// the app on --metrics_listen (server/app/metrics_endpoint.h). Debian packages no
// Prometheus client library for C++, so this is the small part of one that the server
// needs: counters and histograms with fixed label names, and gauges read when scraped.
//
//   // once, at namespace scope (the family lives for the whole process)
//   CounterFamily& calls = Metrics().Counters("coplan_rpc_calls_total",
//                                             "gRPC calls handled", {"method", "code"});
//   calls.Add({"coplan.v1.PlanService/GetPlan", "OK"});
//   // a component's current state, asked for at every scrape
//   auto collector = Metrics().AddCollector([&](MetricsWriter& out) {
//     out.Gauge("coplan_open_streams", "...", {}, hub.use().streams);
//   });
//
// Label values are method names, gRPC codes, pool and reason names: never a person,
// document, username or anything else a caller sent (DESIGN.md §3).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace coplan {

using MetricLabels = std::vector<std::string>;  // values, in the family's label order

// Writes families in the text format. A family is written whole by one call.
class MetricsWriter {
 public:
  struct Sample {
    MetricLabels labels;
    double value = 0;
  };
  void Family(const std::string& name, const std::string& help, const char* type,
              const std::vector<std::string>& label_names, const std::vector<Sample>& samples);
  void Gauge(const std::string& name, const std::string& help,
             const std::vector<std::string>& label_names, const std::vector<Sample>& samples) {
    Family(name, help, "gauge", label_names, samples);
  }
  void Counter(const std::string& name, const std::string& help,
               const std::vector<std::string>& label_names, const std::vector<Sample>& samples) {
    Family(name, help, "counter", label_names, samples);
  }
  // For histograms: one line, without # HELP / # TYPE.
  void Line(const std::string& name, const std::vector<std::string>& label_names,
            const MetricLabels& labels, double value);
  void Header(const std::string& name, const std::string& help, const char* type);
  std::string Take() { return std::move(text_); }

 private:
  std::string text_;
};

class CounterFamily {
 public:
  CounterFamily(std::string name, std::string help, std::vector<std::string> label_names);
  void Add(const MetricLabels& labels, uint64_t amount = 1);
  uint64_t Value(const MetricLabels& labels) const;
  void Write(MetricsWriter& out) const;

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  mutable absl::Mutex mutex_;
  std::map<MetricLabels, std::unique_ptr<std::atomic<uint64_t>>> series_ ABSL_GUARDED_BY(mutex_);
};

class HistogramFamily {
 public:
  // `bounds`: the buckets' upper bounds, ascending; +Inf is added.
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds);
  void Observe(const MetricLabels& labels, double value);
  void Write(MetricsWriter& out) const;

 private:
  struct Series {
    explicit Series(size_t buckets) : counts(buckets) {}
    std::vector<std::atomic<uint64_t>> counts;  // per bucket (not cumulative), +Inf last
    std::atomic<uint64_t> count{0};
    std::atomic<double> sum{0};
  };
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;
  mutable absl::Mutex mutex_;
  std::map<MetricLabels, std::unique_ptr<Series>> series_ ABSL_GUARDED_BY(mutex_);
};

class MetricsRegistry {
 public:
  using Collector = std::function<void(MetricsWriter&)>;
  // Removes its collector when destroyed.
  class CollectorHandle {
   public:
    CollectorHandle(MetricsRegistry* registry, int id) : registry_(registry), id_(id) {}
    ~CollectorHandle();
    CollectorHandle(const CollectorHandle&) = delete;
    CollectorHandle& operator=(const CollectorHandle&) = delete;

   private:
    MetricsRegistry* registry_;
    int id_;
  };

  // The family of that name, made on first use (later calls must agree on its labels).
  CounterFamily& Counters(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names);
  HistogramFamily& Histograms(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names, std::vector<double> bounds);
  std::unique_ptr<CollectorHandle> AddCollector(Collector collector);

  // Every family, in the text format.
  std::string Render() const;

 private:
  // Families and collectors have locks of their own: a collector reads a component under
  // that component's lock, and a component may make its first family (Counters()) while
  // holding it, so the two must never wait on each other.
  mutable absl::Mutex families_mutex_;
  std::map<std::string, std::unique_ptr<CounterFamily>> counters_ ABSL_GUARDED_BY(families_mutex_);
  std::map<std::string, std::unique_ptr<HistogramFamily>> histograms_
      ABSL_GUARDED_BY(families_mutex_);
  mutable absl::Mutex collectors_mutex_;
  std::map<int, Collector> collectors_ ABSL_GUARDED_BY(collectors_mutex_);
  int next_collector_ ABSL_GUARDED_BY(collectors_mutex_) = 0;
};

// The process's registry.
MetricsRegistry& Metrics();

}  // namespace coplan
