#include "net/metrics.h"

#include <cmath>
#include <sstream>

#include "core/json_text.h"

namespace vigil {
namespace {

void AtomicAdd(std::atomic<double>* a, double d) {
  double old = a->load(std::memory_order_relaxed);
  while (!a->compare_exchange_weak(old, old + d, std::memory_order_relaxed)) {
  }
}

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  std::string s;
  AppendJsonNumber(&s, v);
  return s;
}

}  // namespace

void Gauge::Add(double d) { AtomicAdd(&v_, d); }

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(&sum_, v);
}

double Histogram::Quantile(double q) const {
  const uint64_t n = count();
  if (n == 0) return 0;
  const auto want = static_cast<uint64_t>(std::ceil(q * static_cast<double>(n)));
  uint64_t seen = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    seen += bucket(i);
    if (seen >= want) return bounds_[i];
  }
  return INFINITY;
}

std::vector<double> ExponentialBuckets(double start, double factor, size_t count) {
  std::vector<double> b;
  for (size_t i = 0; i < count; ++i, start *= factor) b.push_back(start);
  return b;
}

Metrics::Entry* Metrics::Add(const std::string& name, const std::string& help,
                             const std::string& labels, const char* type) {
  auto e = std::make_unique<Entry>();
  e->name = name;
  e->help = help;
  e->labels = labels;
  e->type = type;
  std::lock_guard<std::mutex> lock(mu_);
  entries_.push_back(std::move(e));
  return entries_.back().get();
}

Counter* Metrics::AddCounter(const std::string& name, const std::string& help,
                             const std::string& labels) {
  Entry* e = Add(name, help, labels, "counter");
  e->counter = std::make_unique<Counter>();
  return e->counter.get();
}

Gauge* Metrics::AddGauge(const std::string& name, const std::string& help,
                         const std::string& labels) {
  Entry* e = Add(name, help, labels, "gauge");
  e->gauge = std::make_unique<Gauge>();
  return e->gauge.get();
}

Histogram* Metrics::AddHistogram(const std::string& name, const std::string& help,
                                 std::vector<double> bounds, const std::string& labels) {
  Entry* e = Add(name, help, labels, "histogram");
  e->histogram = std::make_unique<Histogram>(std::move(bounds));
  return e->histogram.get();
}

std::string Metrics::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::ostringstream out;
  std::vector<bool> done(entries_.size(), false);
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (done[i]) continue;
    const Entry& first = *entries_[i];
    out << "# HELP " << first.name << ' ' << first.help << '\n';
    out << "# TYPE " << first.name << ' ' << first.type << '\n';
    for (size_t j = i; j < entries_.size(); ++j) {
      const Entry& e = *entries_[j];
      if (e.name != first.name) continue;
      done[j] = true;
      const std::string braces = e.labels.empty() ? "" : "{" + e.labels + "}";
      if (e.counter) out << e.name << braces << ' ' << e.counter->value() << '\n';
      if (e.gauge) out << e.name << braces << ' ' << Number(e.gauge->value()) << '\n';
      if (e.histogram) {
        const Histogram& h = *e.histogram;
        const std::string sep = e.labels.empty() ? "" : e.labels + ",";
        uint64_t cum = 0;
        for (size_t b = 0; b < h.bounds().size(); ++b) {
          cum += h.bucket(b);
          out << e.name << "_bucket{" << sep << "le=\"" << Number(h.bounds()[b]) << "\"} " << cum
              << '\n';
        }
        out << e.name << "_bucket{" << sep << "le=\"+Inf\"} " << h.count() << '\n';
        out << e.name << "_sum" << braces << ' ' << Number(h.sum()) << '\n';
        out << e.name << "_count" << braces << ' ' << h.count() << '\n';
      }
    }
  }
  return out.str();
}

std::string LabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace vigil
