// Sessions from parsed log lines: the input of session models such as DeepLog.
//
// Sessionize reads the structured CSV that `vigil logs parse` writes (NAME_structured.csv: LineId,
// the header fields, Content, EventId, ...) and groups its event keys into sessions, in line order:
//   by id     every match of `id_pattern` (ECMAScript regular expression; its first capture group
//             when it has one, else the whole match) in the text column names a session, and the
//             line's key joins it. A line naming several distinct ids joins each of them once
//             (HDFS lines that name a source and a destination block); a line naming none joins
//             no session. Presets: "hdfs" (blk_ ids), "openstack" (the UUID after "instance: ").
//   by time   fixed windows of `window_seconds` (sliding by `step_seconds` when it is smaller, so a
//             line joins every window that covers it), over the time read from `time_columns`
//             (joined with a space) with the strptime(3) `time_format` (UTC; a fraction after the
//             seconds is kept), or as a number of seconds when the format is empty. Windows are
//             aligned to multiples of the step since the epoch; empty windows are not written.
// Sessions are written in the order of their first line (time windows: by start time) as CSV with
// the header `SessionId,Sequence,LineIds`: the id (or the window's start, seconds since the epoch),
// the keys separated by blanks, and the LineIds of its lines, so `--format sessions-csv` reads it
// (the extra columns are ignored) and an alert can quote the raw lines.
//
// Errors are values: a missing column, a bad regular expression, a time that does not parse
// ("PATH:LINE: column 'Time': '2x' does not match '%H:%M:%S'"). The whole input is held in memory.
// Stateless and thread-safe.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace vigil {

struct SessionizeOptions {
  std::string input;                   // structured CSV
  std::string key_column = "EventId";  // the event key of each line
  std::string text_column = "Content";
  std::string line_column = "LineId";  // written to LineIds; the 1-based row when absent
  std::string id_pattern;              // by id: a regex, or a preset name ("hdfs", "openstack")
  double window_seconds = 0;           // by time, when > 0
  double step_seconds = 0;             // sliding windows when 0 < step < window
  std::vector<std::string> time_columns = {"Date", "Time"};
  std::string time_format;  // strptime format; empty: the columns hold seconds
};

struct LogSession {
  std::string id;
  std::vector<std::string> keys;
  std::vector<std::string> line_ids;
};

struct SessionizeResult {
  std::vector<LogSession> sessions;
  size_t lines = 0;          // rows read
  size_t lines_in_none = 0;  // rows that joined no session
};

Result<SessionizeResult> Sessionize(const SessionizeOptions& options);

// The CSV text described above (ends with a newline).
std::string SessionsToCsv(const std::vector<LogSession>& sessions);

// The regular expression of a preset name, or the pattern itself.
std::string SessionIdPattern(const std::string& pattern_or_preset);

}  // namespace vigil
