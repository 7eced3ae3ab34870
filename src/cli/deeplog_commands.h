// `vigil eval` and `vigil predict` for deeplog bundles (log-key sessions); cmd_eval.cc hands a
// bundle over when its model type is deeplog. Session files are `sessions` or `sessions-csv`
// (data/sessions.h; detected when no format is given). A `sessions` file has no labels: eval
// needs `label` ("normal" or "anomaly") for all of its sessions.
// Both return a process exit code and print errors as `vigil: error: ...`.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "bundle/bundle.h"

namespace vigil {

struct SessionScoreOptions {
  std::string model;       // bundle path, for messages and the report
  std::string input;       // session file
  std::string format;      // "", sessions, sessions-csv
  std::string label;       // eval of a `sessions` file: normal | anomaly
  std::string output;      // predict: JSON lines ("" or "-": stdout)
  std::string report;      // eval: JSON report path, or ""
  double threshold = NAN;  // overrides the bundle's (g - 0.5)
  int threads = 0;
  int64_t batch = 4096;
};

int RunDeepLogEval(Bundle bundle, const SessionScoreOptions& o);
int RunDeepLogPredict(Bundle bundle, const SessionScoreOptions& o);

}  // namespace vigil
