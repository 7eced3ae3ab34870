// SeriesWatch: the recent history of the series that raised alerts, so that a person can see an
// alert in its series (the console's Live page, through the agent's GET /v1/metrics/series).
//
// A series is watched from its first alert on, starting with the points that led up to it (the
// series table's recent points): every later point is recorded with its score and the range the
// detector expected, in a ring of the last `capacity` points. At most `max_series` series are
// watched; a new one replaces the one whose last alert is oldest. Nothing is kept here for series
// that never alerted, so memory is bounded by max_series x capacity x 24 bytes (32 x 720: 553 KB)
// whatever the number of live series.
//
// Not thread-safe: the agent's ingest calls it under the mutex that guards its series table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "metrics/detector.h"
#include "metrics/series_table.h"

namespace vigil::metrics {

class SeriesWatch {
 public:
  explicit SeriesWatch(size_t max_series = 32, size_t capacity = 720);

  // Starts (or goes on) watching `key`, which alerted at `time_ns`. A series not watched yet starts
  // with `recent`, its latest points oldest first (the alert's own point included).
  void Alerted(const std::string& key, int64_t time_ns,
               const std::vector<ScoredPoint>& recent = {});
  // Records a scored point if `key` is watched (a hash lookup otherwise).
  void Record(const std::string& key, int64_t time_ns, double value, const DetectorOutput& out);

  bool empty() const { return series_.empty(); }
  size_t size() const { return series_.size(); }
  // {"series": [{"series", "alerts", "last_alert", "last_score", "points"}...]}, last alert first.
  nlohmann::json List() const;
  // {"series": key, "alerts", "last_alert", "points": [[time_s, value, score, low, high], ...]}
  // oldest first, at most `max_points` (the newest); null if `key` is not watched.
  nlohmann::json Points(const std::string& key, size_t max_points) const;

 private:
  struct Watched {
    std::vector<ScoredPoint> ring;  // grows to capacity, then wraps at `next`
    size_t next = 0;
    int64_t last_alert_ns = 0;
    uint64_t alerts = 0;
  };
  size_t max_series_, capacity_;
  std::unordered_map<std::string, Watched> series_;
};

}  // namespace vigil::metrics
