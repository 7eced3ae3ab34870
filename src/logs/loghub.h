// The loghub parsing benchmark: for every <System>/<System>_2k.log under a directory, parse it and
// score the grouping accuracy (accuracy.h) against <System>_2k.log_structured.csv (EventId) and,
// when present, against the corrected ground truth <System>_2k.log_structured_corrected.csv. The
// corrected files keep the original EventIds and fix the templates, so "corrected" groups lines by
// their corrected EventTemplate text.
//
// Presets give the header format of 16 loghub systems (one setting each, the format only: masks
// and miner options are the same for every system). Without a preset (or with presets off) the
// format is detected from the log itself (detect.h).
//
// Stateless and thread-safe; RunLoghubBench reads files and writes nothing.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "logs/masks.h"
#include "logs/miner.h"

namespace vigil {

struct LoghubPreset {
  std::string_view system;
  std::string_view format;
};
const std::vector<LoghubPreset>& LoghubPresets();
// nullptr when there is no preset for `system`.
const LoghubPreset* FindLoghubPreset(std::string_view system);

struct LoghubBenchOptions {
  std::string dir;
  bool use_presets = true;  // false: detect every format (--preset none)
  MaskOptions masks;
  MinerOptions miner;
  int repeats = 5;  // timed parses per system; lines_per_s is from the median
};

struct LoghubResult {
  std::string system;
  std::string format;  // the spec used
  bool preset = false;
  size_t lines = 0;
  size_t malformed = 0;
  size_t templates = 0;        // live templates found
  size_t truth_templates = 0;  // distinct ground-truth events
  double accuracy = 0;
  double accuracy_corrected = -1;  // -1 when there is no corrected ground truth
  double lines_per_s = 0;
};

// NotFound when `dir` holds no <System>/<System>_2k.log; errors name the file that failed.
Result<std::vector<LoghubResult>> RunLoghubBench(const LoghubBenchOptions& options);

// {system: {accuracy, accuracy_corrected (null if absent), templates, lines_per_s, ...}}
nlohmann::json LoghubReportJson(const std::vector<LoghubResult>& results);

}  // namespace vigil
