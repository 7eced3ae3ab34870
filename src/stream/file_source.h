// File and stdin input for the agent: one record per line (CSV or JSON lines).
//
// Reads `path` ("-" for stdin) in chunks and submits each non-empty line as a record, numbered by
// its physical line (1-based); a trailing '\r' and a UTF-8 byte-order mark at the start are
// removed. A line longer than max_record_bytes is not buffered whole: its first bytes are kept and
// it is submitted as an oversized record (the agent counts it as malformed and dead-letters it),
// and reading resumes at the next line. With `follow`, end of file is not the end: the reader waits
// for more (tail -F): a truncated file is read again from the start, and a rotated one (a new file
// at the path) is picked up after the old one is read to its end; a last line without '\n' waits
// for its newline. With `rate` > 0, records are submitted at that many per second (replaying a data
// set as a live stream). Returns when the input ends (not following), when `stop` is set, or when
// the agent stops taking records.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "core/status.h"
#include "stream/agent.h"

namespace vigil {

struct FileSourceOptions {
  std::string path;  // "-": stdin
  bool follow = false;
  double rate = 0;  // records per second; 0: as fast as the agent takes them
  size_t max_record_bytes = 1u << 20;
  RecordKind kind = RecordKind::kCsv;
};

// Records read so far are reported in *lines (for progress and tests).
Status RunFileSource(Agent* agent, uint32_t input, const FileSourceOptions& o,
                     const std::atomic<bool>* stop, std::atomic<uint64_t>* lines = nullptr);

// The same reading for any consumer (the log ingest tails files with it; `kind` is unused): each
// non-empty line goes to `sink` with its physical line number and, for a line over
// max_record_bytes, its full size (else 0); the sink returns false to stop reading. Returns when
// the input ends (not following), when `stopped` returns true, or when the sink refuses a line.
using LineSink = std::function<bool(uint64_t line_no, std::string&& text, uint64_t oversized)>;
Status TailLines(const FileSourceOptions& o, const std::function<bool()>& stopped,
                 const LineSink& sink);

}  // namespace vigil
