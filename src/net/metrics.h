// Metrics: counters, gauges and histograms, rendered in the Prometheus text exposition format
// (version 0.0.4) for GET /metrics.
//
// A Metrics registry owns its metrics; Add* returns a pointer that stays valid for the registry's
// lifetime. Updating a metric is lock-free (atomics) and safe from any thread; registering and
// rendering take the registry's lock. Names follow Prometheus rules ([a-zA-Z_:][a-zA-Z0-9_:]*);
// `labels` is an optional fixed label set rendered as given (`name="value",...`, values escaped by
// LabelValue).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace vigil {

class Counter {
 public:
  void Add(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void Set(double v) { v_.store(v, std::memory_order_relaxed); }
  void Add(double d);
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double v);
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  // Smallest bucket bound with at least q of the observations at or below it (an upper estimate
  // of the q-quantile); +Inf when it lies in the overflow bucket, 0 when empty.
  double Quantile(double q) const;
  const std::vector<double>& bounds() const { return bounds_; }
  uint64_t bucket(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1 (overflow)
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Bucket bounds growing by `factor` from `start`: start, start*factor, ... (count bounds).
std::vector<double> ExponentialBuckets(double start, double factor, size_t count);

class Metrics {
 public:
  Counter* AddCounter(const std::string& name, const std::string& help,
                      const std::string& labels = "");
  Gauge* AddGauge(const std::string& name, const std::string& help,
                  const std::string& labels = "");
  Histogram* AddHistogram(const std::string& name, const std::string& help,
                          std::vector<double> bounds, const std::string& labels = "");
  // The text exposition of every metric, grouped by name in registration order.
  std::string Render() const;

 private:
  struct Entry {
    std::string name, help, labels, type;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  Entry* Add(const std::string& name, const std::string& help, const std::string& labels,
             const char* type);
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

// A label value escaped for the exposition format (backslash, double quote, newline).
std::string LabelValue(const std::string& v);

}  // namespace vigil
