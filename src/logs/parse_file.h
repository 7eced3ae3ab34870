// `vigil logs parse` as a library call: parse one log file into loghub-style CSV files, optionally
// resuming from and saving a state file.
//
// Outputs in `out_dir`, named after the input file NAME:
//   NAME_structured.csv  LineId, the format's fields (Content among them), EventId, EventTemplate,
//                        ParameterList (a JSON array of strings); one row per line parsed in this
//                        run, malformed lines included (empty header fields, the whole line as
//                        Content);
//   NAME_templates.csv   EventId, EventTemplate, Occurrences: every live template, counts over all
//                        runs of the state;
//   NAME_malformed.csv   LineId, Line: the lines the format did not match (only when there are
//   any).
// EventIds are "E<id>" with the miner's stable ids, resolved to the live template at the end.
//
// State file (JSON, written atomically after a successful run): the masks, the miner, the format
// spec, and per input file (by absolute path) the lines and bytes consumed and the SHA-256 of
// those bytes. A later run with the same state continues the file after the consumed lines when
// its first bytes are unchanged (a log that grew), or from the start otherwise; templates keep
// their ids either way. The state's masks win: --masks that differ from them is an error, and the
// state's format is used unless --format is given.
//
// Thread-compatible: concurrent calls must use different state files and output directories.
#pragma once

#include <string>

#include "core/status.h"
#include "logs/miner.h"

namespace vigil {

struct ParseFileOptions {
  std::string input;
  std::string format;      // header spec; empty: the state's, else detected from the file
  std::string masks_path;  // masks.toml; empty: the state's, else the defaults
  std::string state_path;  // empty: no state
  std::string out_dir;
  MinerOptions miner;  // for a new state only
};

struct ParseFileSummary {
  std::string format;  // the spec used
  bool format_detected = false;
  size_t first_line = 1;  // LineId of the first line parsed in this run
  size_t lines = 0;       // parsed in this run
  size_t malformed = 0;
  size_t templates = 0;      // live templates after the run
  size_t new_templates = 0;  // ids handed out in this run
  bool resumed = false;      // skipped lines parsed by an earlier run
  double seconds = 0;        // parsing time (excluding reading and writing files)
  std::string structured_path, templates_path, malformed_path;
};

Result<ParseFileSummary> ParseLogFile(const ParseFileOptions& options);

}  // namespace vigil
