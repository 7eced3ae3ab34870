// The Numenta Anomaly Benchmark (NAB) corpus and scorer, written from the NAB paper (Lavin & Ahmad,
// "Evaluating Real-time Anomaly Detection Algorithms", 2015) and the NAB documentation.
//
// A corpus is the CSV series under DIR/data (timestamp,value), the anomaly windows of
// DIR/labels/combined_windows.json and the cost profiles of DIR/config/profiles.json. Scoring:
//  - the first 15% of each file (at most 750 rows) is the probationary period and is not scored;
//  - a point whose score is >= the threshold is a detection;
//  - a window earns the scaled sigmoid of its earliest detection's relative position
//    (-1 at the window's left edge: full tpWeight; ~0 at its right edge), or -fnWeight if missed;
//  - a detection outside every window costs fpWeight times the scaled sigmoid of its distance past
//    the previous window (in window widths), which is -fpWeight far from (or before) any window;
//  - one threshold per profile is chosen to maximise the corpus total (an exact sweep over every
//    distinct score), and the total is normalised to 0..100 between the null detector (every
//    window missed, or every row detected if that scores better, as a constant score would
//    after threshold optimisation) and the perfect detector (every window caught at its left edge).
//
// Stateless functions; loading reads files and returns errors naming the file and line.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"

namespace vigil::metrics {

struct NabProfile {
  std::string name;
  double tp_weight = 1, fp_weight = 0.11, fn_weight = 1, tn_weight = 1;
};

struct NabWindow {
  size_t begin = 0, end = 0;  // row indices, inclusive
};

struct NabSeries {
  std::string name;            // "<category>/<file>.csv", the key of combined_windows.json
  std::vector<int64_t> times;  // seconds since the epoch (UTC)
  std::vector<double> values;
  std::vector<NabWindow> windows;
};

struct NabCorpus {
  std::vector<NabSeries> series;     // sorted by name
  std::vector<NabProfile> profiles;  // standard, reward_low_FP_rate, reward_low_FN_rate
};

// Reads DIR/data/**.csv, DIR/labels/combined_windows.json and DIR/config/profiles.json. Windows
// of files that are not present are ignored; a window whose edges are not timestamps of its file
// is an error.
Result<NabCorpus> LoadNabCorpus(const std::string& dir);
Result<std::vector<NabProfile>> ParseNabProfiles(const std::string& json_text);
// "YYYY-MM-DD HH:MM:SS[.ffffff]" as seconds since the epoch (UTC).
Result<int64_t> ParseNabTime(const std::string& text);

size_t NabProbationLength(size_t rows);
// 2 * sigmoid(-5 x) - 1, and -1 from x >= 3 on.
double NabScaledSigmoid(double relative_position);

struct NabFileScore {
  std::string name;
  double score = 0;
  int tp = 0, fn = 0, fp = 0;  // windows caught, windows missed, detections outside windows
};

struct NabProfileResult {
  std::string profile;
  double threshold = 0;
  double raw = 0, null_score = 0, perfect = 0;
  double normalized = 0;  // 100 * (raw - null) / (perfect - null)
  int tp = 0, fn = 0, fp = 0;
  std::vector<NabFileScore> files;
};

// `scores[i]` holds one score per row of `series[i]`. The threshold is optimised over the corpus.
NabProfileResult ScoreNab(const std::vector<NabSeries>& series,
                          const std::vector<std::vector<double>>& scores,
                          const NabProfile& profile);
// The raw score of one file at a fixed threshold (detections are scores >= threshold).
NabFileScore ScoreNabFile(const NabSeries& series, const std::vector<double>& scores,
                          const NabProfile& profile, double threshold);

nlohmann::json NabResultJson(const NabProfileResult& r);

}  // namespace vigil::metrics
