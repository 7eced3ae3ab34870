// The live series of an agent: one SeriesDetector per series key (measurement + sorted tags +
// field, see point.h), created on the series' first point.
//
// Each series also keeps its last kRecentPoints scored points, so that an alert can be shown with
// what led up to it (SeriesWatch takes them over when the series first alerts).
//
// Memory is bounded: each series holds a fixed-size detector (SeriesDetector::MemoryBytes) and
// those points, and the table holds at most `max_series`; a point of a new series beyond the cap is
// dropped and counted in overflow() (existing series keep being scored). Points of one series must
// arrive in time order; a point older than the series' last one is dropped and counted in
// out_of_order().
//
// Not thread-safe: callers serialise access (the agent's ingest holds a mutex around it).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "metrics/detector.h"

namespace vigil::metrics {

// A scored point as kept for charts: the value, its score and the range the detector expected.
struct ScoredPoint {
  int64_t time_ns = 0;
  float value = 0, score = 0, low = 0, high = 0;
};

struct SeriesScore {
  std::string key;
  int64_t time_ns = 0;
  double value = 0;
  DetectorOutput output;
};

class SeriesTable {
 public:
  SeriesTable(DetectorConfig config, size_t max_series);

  static constexpr size_t kRecentPoints = 32;

  // Scores one point; nullopt when it was dropped (table full, or out of order).
  std::optional<SeriesScore> Observe(const std::string& key, int64_t time_ns, double value);
  // The last (up to kRecentPoints) scored points of `key`, oldest first; empty if it is unknown.
  std::vector<ScoredPoint> Recent(const std::string& key) const;

  size_t size() const { return series_.size(); }
  size_t max_series() const { return max_series_; }
  uint64_t overflow() const { return overflow_; }
  uint64_t out_of_order() const { return out_of_order_; }
  uint64_t points() const { return points_; }
  // Detector and recent-point memory of every live series, plus a per-entry estimate of the
  // map's overhead.
  size_t MemoryBytes() const;

 private:
  struct Entry {
    SeriesDetector detector;
    int64_t last_ns;
    std::array<ScoredPoint, kRecentPoints> recent{};  // a ring: `next` is the oldest once full
    uint32_t next = 0, count = 0;
  };
  DetectorConfig config_;
  size_t max_series_;
  std::unordered_map<std::string, Entry> series_;
  uint64_t overflow_ = 0, out_of_order_ = 0, points_ = 0;
};

}  // namespace vigil::metrics
