// Benchmarks of the metrics detectors:
//  - RunNabBench runs one SeriesDetector per NAB series, online in time order (each score is
//    computed before the detector learns from the point: no look-ahead), on `threads` threads
//    (series are independent), then scores the outputs with the NAB scorer for every profile;
//  - RunSpeedBench feeds synthetic points round-robin to `series` live series through a
//    SeriesTable (key lookup included) and reports points per second on one core and the memory
//    per series.
//
// Thread-safe to call; each call owns its detectors. Errors name the file that failed to load.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "metrics/detector.h"
#include "metrics/nab.h"

namespace vigil::metrics {

struct NabBenchOptions {
  std::string dir;
  DetectorConfig detector;
  int threads = 1;
  // When set, one CSV per series is written under it, at the series' name
  // (timestamp,value,anomaly_score,label,neural,statistical,level,seasonal; label 1 inside a
  // window).
  std::string scores_dir;
  // Called after each series with (series done, total, name); from the calling thread only.
  std::function<void(size_t, size_t, const std::string&)> progress;
};

struct NabBenchResult {
  std::vector<NabProfileResult> profiles;  // standard, reward_low_FP_rate, reward_low_FN_rate
  size_t series = 0, points = 0;
  double seconds = 0;      // wall time of the detectors
  double cpu_seconds = 0;  // detector time summed over threads
  size_t bytes_per_series = 0;
};

Result<NabBenchResult> RunNabBench(const NabBenchOptions& options);
// {"standard": {...}, "reward_low_FP_rate": {...}, "reward_low_FN_rate": {...}, "detector": ...}
nlohmann::json NabBenchJson(const NabBenchResult& r, const DetectorConfig& config);
nlohmann::json DetectorConfigJson(const DetectorConfig& c);

struct SpeedResult {
  size_t series = 0, points = 0;
  double seconds = 0, points_per_s = 0;
  size_t bytes_per_series = 0;
};
SpeedResult RunSpeedBench(const DetectorConfig& config, size_t series, size_t points);

}  // namespace vigil::metrics
