#include "server/common/metrics.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace coplan {
namespace {

std::string EscapeLabelValue(const std::string& value) {
  std::string escaped;
  escaped.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      escaped += "\\\\";
    } else if (c == '"') {
      escaped += "\\\"";
    } else if (c == '\n') {
      escaped += "\\n";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

std::string EscapeHelp(const std::string& help) {
  std::string escaped;
  for (char c : help) {
    if (c == '\\') {
      escaped += "\\\\";
    } else if (c == '\n') {
      escaped += "\\n";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

std::string FormatValue(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.15g", value);
  return text;
}

std::string LabelSet(const std::vector<std::string>& names, const MetricLabels& values) {
  if (names.empty()) return "";
  std::string text = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += ",";
    absl::StrAppend(&text, names[i], "=\"",
                    EscapeLabelValue(i < values.size() ? values[i] : std::string()), "\"");
  }
  return text + "}";
}

void AddTo(std::atomic<double>& total, double amount) {
  double seen = total.load(std::memory_order_relaxed);
  while (!total.compare_exchange_weak(seen, seen + amount, std::memory_order_relaxed)) {
  }
}

}  // namespace

void MetricsWriter::Header(const std::string& name, const std::string& help, const char* type) {
  absl::StrAppend(&text_, "# HELP ", name, " ", EscapeHelp(help), "\n# TYPE ", name, " ", type,
                  "\n");
}

void MetricsWriter::Line(const std::string& name, const std::vector<std::string>& label_names,
                         const MetricLabels& labels, double value) {
  absl::StrAppend(&text_, name, LabelSet(label_names, labels), " ", FormatValue(value), "\n");
}

void MetricsWriter::Family(const std::string& name, const std::string& help, const char* type,
                           const std::vector<std::string>& label_names,
                           const std::vector<Sample>& samples) {
  Header(name, help, type);
  for (const Sample& sample : samples) Line(name, label_names, sample.labels, sample.value);
}

CounterFamily::CounterFamily(std::string name, std::string help,
                             std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

void CounterFamily::Add(const MetricLabels& labels, uint64_t amount) {
  std::atomic<uint64_t>* series = nullptr;
  {
    absl::MutexLock lock(&mutex_);
    auto& slot = series_[labels];
    if (slot == nullptr) slot = std::make_unique<std::atomic<uint64_t>>(0);
    series = slot.get();  // never freed while the family lives
  }
  series->fetch_add(amount, std::memory_order_relaxed);
}

uint64_t CounterFamily::Value(const MetricLabels& labels) const {
  absl::MutexLock lock(&mutex_);
  auto found = series_.find(labels);
  return found == series_.end() ? 0 : found->second->load(std::memory_order_relaxed);
}

void CounterFamily::Write(MetricsWriter& out) const {
  std::vector<MetricsWriter::Sample> samples;
  {
    absl::MutexLock lock(&mutex_);
    for (const auto& [labels, value] : series_) {
      samples.push_back({labels, static_cast<double>(value->load(std::memory_order_relaxed))});
    }
  }
  out.Counter(name_, help_, label_names_, samples);
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names, std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)) {}

void HistogramFamily::Observe(const MetricLabels& labels, double value) {
  Series* series = nullptr;
  {
    absl::MutexLock lock(&mutex_);
    auto& slot = series_[labels];
    if (slot == nullptr) slot = std::make_unique<Series>(bounds_.size() + 1);
    series = slot.get();
  }
  size_t bucket = 0;
  while (bucket < bounds_.size() && value > bounds_[bucket]) ++bucket;
  series->counts[bucket].fetch_add(1, std::memory_order_relaxed);
  AddTo(series->sum, value);
  series->count.fetch_add(1, std::memory_order_relaxed);
}

void HistogramFamily::Write(MetricsWriter& out) const {
  out.Header(name_, help_, "histogram");
  std::vector<std::string> bucket_labels = label_names_;
  bucket_labels.push_back("le");
  absl::MutexLock lock(&mutex_);
  for (const auto& [labels, series] : series_) {
    // Cumulative, as the format wants; read once each so that the lines agree.
    uint64_t cumulative = 0;
    MetricLabels with_bound = labels;
    with_bound.resize(label_names_.size());
    with_bound.emplace_back();
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      cumulative += series->counts[i].load(std::memory_order_relaxed);
      with_bound.back() = i < bounds_.size() ? FormatValue(bounds_[i]) : "+Inf";
      out.Line(name_ + "_bucket", bucket_labels, with_bound, static_cast<double>(cumulative));
    }
    out.Line(name_ + "_sum", label_names_, labels, series->sum.load(std::memory_order_relaxed));
    // The count is the +Inf bucket's, so that the two never disagree mid-observation.
    out.Line(name_ + "_count", label_names_, labels, static_cast<double>(cumulative));
  }
}

MetricsRegistry::CollectorHandle::~CollectorHandle() {
  absl::MutexLock lock(&registry_->collectors_mutex_);
  registry_->collectors_.erase(id_);
}

CounterFamily& MetricsRegistry::Counters(const std::string& name, const std::string& help,
                                         std::vector<std::string> label_names) {
  absl::MutexLock lock(&families_mutex_);
  auto& family = counters_[name];
  if (family == nullptr) {
    family = std::make_unique<CounterFamily>(name, help, std::move(label_names));
  }
  return *family;
}

HistogramFamily& MetricsRegistry::Histograms(const std::string& name, const std::string& help,
                                             std::vector<std::string> label_names,
                                             std::vector<double> bounds) {
  absl::MutexLock lock(&families_mutex_);
  auto& family = histograms_[name];
  if (family == nullptr) {
    family =
        std::make_unique<HistogramFamily>(name, help, std::move(label_names), std::move(bounds));
  }
  return *family;
}

std::unique_ptr<MetricsRegistry::CollectorHandle> MetricsRegistry::AddCollector(
    Collector collector) {
  absl::MutexLock lock(&collectors_mutex_);
  const int id = next_collector_++;
  collectors_[id] = std::move(collector);
  return std::make_unique<CollectorHandle>(this, id);
}

std::string MetricsRegistry::Render() const {
  MetricsWriter out;
  std::vector<const CounterFamily*> counters;
  std::vector<const HistogramFamily*> histograms;
  {
    absl::MutexLock lock(&families_mutex_);
    for (const auto& [name, family] : counters_) counters.push_back(family.get());
    for (const auto& [name, family] : histograms_) histograms.push_back(family.get());
  }
  // Families live as long as the registry.
  for (const CounterFamily* family : counters) family->Write(out);
  for (const HistogramFamily* family : histograms) family->Write(out);
  // Collectors run under their lock, so one being removed (its component shutting down)
  // waits for a scrape in progress rather than being called after it is gone.
  absl::MutexLock lock(&collectors_mutex_);
  for (const auto& [id, collector] : collectors_) collector(out);
  return out.Take();
}

MetricsRegistry& Metrics() {
  static MetricsRegistry* const registry = new MetricsRegistry();  // lives with the process
  return *registry;
}

}  // namespace coplan
