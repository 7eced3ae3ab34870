#include "metrics/series_table.h"

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
  return s;
}

size_t SeriesTable::MemoryBytes() const {
  size_t total = 0;
  for (const auto& [key, e] : series_) {
    total += e.detector.MemoryBytes() + key.capacity() + sizeof(Entry) + 32;  // node + bucket
  }
  return total;
}

}  // namespace vigil::metrics
