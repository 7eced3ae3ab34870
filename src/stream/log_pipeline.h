// LogPipeline: the core of the agent's log ingest, without sockets or threads. Each raw log line
// goes through
//   header format + masks + template miner (logs/parser.h, resumed from the state `vigil logs
//   parse --state` saved, so template ids are those the training sessions were built with)
//   -> key "E<id>" (or "<id>" when the bundle's keys are plain integers, as in DeepLog's HDFS set)
//   -> sessions: every id the session pattern finds in the message (logs/sessionize.h's rules and
//      presets), or the fixed time window of the line's time
//   -> DeepLog (infer/deeplog_scorer.h): each key is judged as it arrives; a session's end is
//      judged when it has been idle for session_idle_s, or at CloseAll (the end of a finite input)
//   -> alerts, one JSON line each (docs/logs.md, "Streaming logs").
// A session alerts once, at its first unexpected symbol (a key or its end); later unexpected
// symbols are counted. A line whose template is not in the state (the miner makes a new one) is a
// signal of its own: the first line of each new template raises a "new_template" alert, and its
// key is unknown to the model, so its sessions alert too. Lines the header format does not match
// are counted and written to the dead letters, and still parsed (their whole text is the message),
// as `vigil logs parse` does; malformed frames from the sources arrive as lines with an error and
// are counted and dead-lettered only.
//
// Bounds: at most max_sessions open sessions (the least recently seen is evicted, unjudged, and
// counted), session_lines raw lines per session (the oldest are dropped and counted; each line
// kept to max_line_bytes), and max_new_templates templates beyond the state's (then the parser is
// reset to the state, counted, so a flood of novel lines cannot grow memory).
//
// Not thread-safe: one thread calls Process/Sweep/CloseAll (LogIngest's worker). Errors at Create
// name the file and field (bundle, state, format, pattern).
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/status.h"
#include "infer/deeplog_scorer.h"
#include "logs/parser.h"

namespace vigil {

struct LogPipelineOptions {
  std::string model;            // deeplog bundle (.vigil)
  std::string state;            // `vigil logs parse --state` file, or a directory holding one
  std::string format;           // header spec; empty: the state's
  std::string session_pattern;  // regex or preset (hdfs, openstack); empty with a window
  double session_window_s = 0;  // fixed time windows of this many seconds instead of ids
  double session_idle_s = 30;   // a session idle this long has ended
  size_t max_sessions = 100000;
  size_t session_lines = 64;         // raw lines kept per session
  size_t max_line_bytes = 16 << 10;  // of each kept raw line
  size_t max_new_templates = 10000;
};

// A line as a source hands it over.
struct LogLine {
  uint32_t input = 0;
  uint64_t position = 0;  // line number, frame or event number within the input
  double time = 0;        // the source's time for it (seconds since the epoch); 0: unknown
  std::string text;       // the log line, or the raw bytes of a malformed frame
  std::string error;      // non-empty: a malformed frame (counted, dead-lettered, not parsed)
};

struct LogCounters {
  uint64_t lines = 0;               // lines parsed
  uint64_t malformed_lines = 0;     // lines the header format did not match
  uint64_t malformed_frames = 0;    // frames/records the sources could not decode
  uint64_t dead_letters = 0;        // written to the dead-letter output
  uint64_t new_template_lines = 0;  // lines whose template is not in the state
  uint64_t new_templates = 0;       // distinct such templates reported
  uint64_t parser_resets = 0;
  uint64_t lines_without_session = 0;
  uint64_t sessions_opened = 0, sessions_closed = 0, sessions_evicted = 0;
  uint64_t keys_judged = 0, ends_judged = 0, unexpected = 0;
  uint64_t alerts = 0;  // session and new-template alerts written
  uint64_t raw_lines_dropped = 0;
  nlohmann::json ToJson() const;
};

class LogPipeline {
 public:
  using Sink = std::function<void(const std::string& json_line)>;

  // `alerts` and `dead_letters` receive one JSON text each (no newline); either may be empty.
  static Result<std::unique_ptr<LogPipeline>> Create(const LogPipelineOptions& options, Sink alerts,
                                                     Sink dead_letters);

  // Names an input for alerts ("syslog-udp", a file path); returns its id for LogLine::input.
  uint32_t AddInput(const std::string& name);

  // `now`: wall time in seconds since the epoch (idle times, window times of lines without one).
  void Process(const LogLine& line, double now);
  // Judges the end of sessions idle for session_idle_s.
  void Sweep(double now);
  // Judges the end of every open session (a finite input ended).
  void CloseAll(double now);

  const LogCounters& counters() const { return counters_; }
  size_t open_sessions() const { return sessions_.size(); }
  const DeepLogScorer& scorer() const { return scorer_; }
  const std::string& format_spec() const { return parser_->format().spec(); }

 private:
  struct RawLine {
    uint32_t input;
    uint64_t position;
    std::string text;
  };
  struct Session {
    explicit Session(const DeepLogScorer& s) : dl(s) {}
    DeepLogSession dl;
    std::vector<RawLine> lines;  // ring of session_lines, oldest at `head`
    size_t head = 0;
    uint64_t lines_dropped = 0;
    bool alerted = false;
    double last_seen = 0;
    std::list<std::string>::iterator lru;
  };

  LogPipeline(LogPipelineOptions options, DeepLogScorer scorer, Sink alerts, Sink dead_letters)
      : options_(std::move(options)),
        scorer_(std::move(scorer)),
        alerts_(std::move(alerts)),
        dead_letters_(std::move(dead_letters)) {}
  Status Init();
  Status ResetParser();
  void DeadLetter(const LogLine& line, const std::string& error);
  Session& Touch(const std::string& id, double now);
  void Judge(const std::string& id, Session& s, const SymbolVerdict& v, const LogLine* line,
             const std::string& key, int template_id, double now);
  void EndSession(std::unordered_map<std::string, Session>::iterator it, double now);
  std::string TemplateText(int id) const;
  nlohmann::json KeyJson(int64_t symbol) const;
  void Emit(const nlohmann::json& alert);

  LogPipelineOptions options_;
  DeepLogScorer scorer_;
  DeepLogWorkspace ws_;
  Sink alerts_, dead_letters_;
  nlohmann::json state_parser_;  // the state's parser section, for resets
  std::unique_ptr<LogParser> parser_;
  size_t known_templates_ = 0;  // templates in the state
  std::string key_prefix_ = "E";
  std::unordered_set<int> new_templates_seen_;
  bool by_window_ = false;
  bool hdfs_ids_ = false;  // the hdfs preset, matched without std::regex
  std::regex id_pattern_;
  std::vector<std::string> inputs_;
  std::unordered_map<std::string, Session> sessions_;
  std::list<std::string> lru_;  // most recently seen first
  LogCounters counters_;
};

// The current time in seconds since the epoch.
double WallSeconds();
// RFC 3339 UTC with milliseconds, as the agent's alerts write it.
std::string IsoTime(double seconds);

}  // namespace vigil
