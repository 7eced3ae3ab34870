#include "metrics/series_table.h"

#include <algorithm>
#include <limits>

namespace vigil::metrics {

SeriesTable::SeriesTable(DetectorConfig config, size_t max_series)
    : config_(config), max_series_(max_series) {}

std::optional<SeriesScore> SeriesTable::Observe(const std::string& key, int64_t time_ns,
                                                double value) {
  auto it = series_.find(key);
  if (it == series_.end()) {
    if (series_.size() >= max_series_) {
      ++overflow_;
      return std::nullopt;
    }
    it = series_.emplace(key, Entry{SeriesDetector(config_), std::numeric_limits<int64_t>::min()})
             .first;
  }
  Entry& e = it->second;
  if (time_ns < e.last_ns) {
    ++out_of_order_;
    return std::nullopt;
  }
  e.last_ns = time_ns;
  ++points_;
  SeriesScore s;
  s.key = key;
  s.time_ns = time_ns;
  s.value = value;
  // The detector's clock is in seconds (floor division keeps negative times consistent).
  const int64_t seconds = time_ns >= 0 ? time_ns / 1000000000 : -((-time_ns - 1) / 1000000000) - 1;
  s.output = e.detector.Update(seconds, value);
  e.recent[e.next] = {time_ns, static_cast<float>(value), static_cast<float>(s.output.score),
                      static_cast<float>(s.output.expected_low),
                      static_cast<float>(s.output.expected_high)};
  e.next = (e.next + 1) % kRecentPoints;
  e.count = std::min<uint32_t>(e.count + 1, kRecentPoints);
  return s;
}

std::vector<ScoredPoint> SeriesTable::Recent(const std::string& key) const {
  std::vector<ScoredPoint> out;
  auto it = series_.find(key);
  if (it == series_.end()) return out;
  const Entry& e = it->second;
  out.reserve(e.count);
  for (uint32_t k = 0; k < e.count; ++k) {
    out.push_back(e.recent[(e.next + kRecentPoints - e.count + k) % kRecentPoints]);
  }
  return out;
}

size_t SeriesTable::MemoryBytes() const {
  size_t total = 0;
  for (const auto& [key, e] : series_) {
    // The detector counts its own sizeof; the rest of the entry is the clock and recent points.
    total += e.detector.MemoryBytes() + (sizeof(Entry) - sizeof(SeriesDetector)) + key.capacity() +
             sizeof(std::string) + 32;  // the map node's key and links, and its bucket
  }
  return total;
}

}  // namespace vigil::metrics
