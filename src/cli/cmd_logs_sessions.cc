// vigil logs sessions: group the lines of a structured CSV (vigil logs parse) into sessions of
// event keys, by an id in the message or by time windows (logs/sessionize.h).
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "core/file.h"
#include "logs/sessionize.h"

namespace vigil {
namespace {

struct SessionsFlags {
  SessionizeOptions options;
  std::string out;
};

int RunSessions(const SessionsFlags& f) {
  auto r = Sessionize(f.options);
  if (!r.ok()) return ReportError(r.status());
  Status s = WriteFileAtomic(f.out, SessionsToCsv(r->sessions));
  if (!s.ok()) return ReportError(s);
  std::printf("%zu lines, %zu sessions (%zu lines in none); wrote %s\n", r->lines,
              r->sessions.size(), r->lines_in_none, f.out.c_str());
  return 0;
}

}  // namespace

void AddLogsSessionsCommand(CLI::App* logs, int* exit_code) {
  auto f = std::make_shared<SessionsFlags>();
  CLI::App* cmd = logs->add_subcommand(
      "sessions", "Group parsed lines into sessions of event keys (by id or time window), CSV");
  cmd->add_option("--input", f->options.input, "Structured CSV written by vigil logs parse")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", f->out, "Sessions CSV (SessionId,Sequence,LineIds)")->required();
  cmd->add_option("--id-pattern", f->options.id_pattern,
                  "Regular expression naming a session in the message (first group if any); "
                  "presets: hdfs (blk_ ids), openstack (instance UUIDs)");
  cmd->add_option("--window", f->options.window_seconds, "Time windows of this many seconds");
  cmd->add_option("--step", f->options.step_seconds,
                  "Sliding windows: seconds between window starts (default: the window)");
  cmd->add_option("--time-columns", f->options.time_columns,
                  "Columns holding the time, joined with a space")
      ->capture_default_str();
  cmd->add_option("--time-format", f->options.time_format,
                  "strptime format of the time, e.g. '%y%m%d %H%M%S' (default: seconds)");
  cmd->add_option("--key-column", f->options.key_column, "Column of the event key")
      ->capture_default_str();
  cmd->add_option("--text-column", f->options.text_column, "Column searched for ids")
      ->capture_default_str();
  cmd->callback([f, exit_code]() { *exit_code = RunSessions(*f); });
}

}  // namespace vigil
