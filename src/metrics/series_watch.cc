#include "metrics/series_watch.h"

#include <algorithm>
#include <cmath>

namespace vigil::metrics {
namespace {

double Seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

// JSON has no NaN or infinity: such a number is written as null.
nlohmann::json Number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nullptr; }

}  // namespace

SeriesWatch::SeriesWatch(size_t max_series, size_t capacity)
    : max_series_(std::max<size_t>(1, max_series)), capacity_(std::max<size_t>(1, capacity)) {}

void SeriesWatch::Alerted(const std::string& key, int64_t time_ns,
                          const std::vector<ScoredPoint>& recent) {
  auto it = series_.find(key);
  if (it == series_.end()) {
    if (series_.size() >= max_series_) {
      auto oldest =
          std::min_element(series_.begin(), series_.end(), [](const auto& a, const auto& b) {
            return a.second.last_alert_ns < b.second.last_alert_ns;
          });
      series_.erase(oldest);
    }
    it = series_.emplace(key, Watched{}).first;
    std::vector<ScoredPoint>& ring = it->second.ring;
    ring.reserve(std::min<size_t>(capacity_, std::max<size_t>(64, recent.size())));
    const size_t skip = recent.size() > capacity_ ? recent.size() - capacity_ : 0;
    ring.assign(recent.begin() + static_cast<std::ptrdiff_t>(skip), recent.end());
  }
  it->second.last_alert_ns = std::max(it->second.last_alert_ns, time_ns);
  ++it->second.alerts;
}

void SeriesWatch::Record(const std::string& key, int64_t time_ns, double value,
                         const DetectorOutput& out) {
  if (series_.empty()) return;
  auto it = series_.find(key);
  if (it == series_.end()) return;
  Watched& w = it->second;
  const ScoredPoint p{time_ns, static_cast<float>(value), static_cast<float>(out.score),
                      static_cast<float>(out.expected_low), static_cast<float>(out.expected_high)};
  if (w.ring.size() < capacity_) {
    w.ring.push_back(p);
  } else {
    w.ring[w.next] = p;
    w.next = (w.next + 1) % capacity_;
  }
}

nlohmann::json SeriesWatch::List() const {
  std::vector<const std::pair<const std::string, Watched>*> order;
  order.reserve(series_.size());
  for (const auto& e : series_) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    return a->second.last_alert_ns != b->second.last_alert_ns
               ? a->second.last_alert_ns > b->second.last_alert_ns
               : a->first < b->first;
  });
  nlohmann::json list = nlohmann::json::array();
  for (const auto* e : order) {
    const Watched& w = e->second;
    const ScoredPoint* last =
        w.ring.empty() ? nullptr : &w.ring[(w.next + w.ring.size() - 1) % w.ring.size()];
    list.push_back({{"series", e->first},
                    {"alerts", w.alerts},
                    {"last_alert", Seconds(w.last_alert_ns)},
                    {"last_score", last ? Number(last->score) : nullptr},
                    {"points", w.ring.size()}});
  }
  return {{"series", std::move(list)}};
}

nlohmann::json SeriesWatch::Points(const std::string& key, size_t max_points) const {
  auto it = series_.find(key);
  if (it == series_.end()) return nullptr;
  const Watched& w = it->second;
  const size_t n = w.ring.size(), take = std::min(n, max_points);
  nlohmann::json points = nlohmann::json::array();
  for (size_t k = n - take; k < n; ++k) {
    const ScoredPoint& p = w.ring[(w.next + k) % n];  // w.next is the oldest once the ring is full
    points.push_back(
        {Seconds(p.time_ns), Number(p.value), Number(p.score), Number(p.low), Number(p.high)});
  }
  return {{"series", key},
          {"alerts", w.alerts},
          {"last_alert", Seconds(w.last_alert_ns)},
          {"points", std::move(points)}};
}

}  // namespace vigil::metrics
