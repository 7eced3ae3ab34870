// vigil logs: parse log files into templates (parse) and score the parser on loghub (bench).
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "core/file.h"
#include "logs/format.h"
#include "logs/loghub.h"
#include "logs/parse_file.h"

namespace vigil {
namespace {

// Usage errors (a bad --format spec, options out of range) exit 2 like CLI11's own.
int UsageError(const Status& s) {
  std::fprintf(stderr, "vigil: error: %s\n", s.message().c_str());
  return 2;
}

void AddMinerFlags(CLI::App* cmd, MinerOptions* o) {
  cmd->add_option("--similarity", o->similarity, "Minimum similarity to join a template")
      ->capture_default_str();
  cmd->add_option("--depth", o->depth, "Prefix tree depth (length layer + depth-2 token layers)")
      ->capture_default_str();
  cmd->add_option("--merge-distinct", o->merge_distinct,
                  "Templates differing at one position that merge into a variable")
      ->capture_default_str();
}

int RunParse(const ParseFileOptions& o) {
  if (!o.format.empty()) {
    auto f = LogFormat::Parse(o.format);
    if (!f.ok()) return UsageError(f.status());
  }
  Status valid = ValidateMinerOptions(o.miner);
  if (!valid.ok()) return UsageError(valid);
  auto sum = ParseLogFile(o);
  if (!sum.ok()) return ReportError(sum.status());
  double rate = sum->seconds > 0 ? static_cast<double>(sum->lines) / sum->seconds : 0;
  std::printf("format: %s%s\n", sum->format.c_str(), sum->format_detected ? " (detected)" : "");
  std::printf("parsed %zu lines from %s", sum->lines, o.input.c_str());
  if (sum->resumed) std::printf(" (resumed at line %zu)", sum->first_line);
  std::printf(" in %.3f s (%.0f lines/s): %zu malformed, %zu templates (%zu new)\n", sum->seconds,
              rate, sum->malformed, sum->templates, sum->new_templates);
  std::printf("wrote %s\nwrote %s\n", sum->structured_path.c_str(), sum->templates_path.c_str());
  if (!sum->malformed_path.empty()) {
    std::printf("wrote %s (lines the format does not match)\n", sum->malformed_path.c_str());
  }
  if (!o.state_path.empty()) std::printf("saved state %s\n", o.state_path.c_str());
  return 0;
}

struct BenchFlags {
  std::string dir, preset = "auto", report, masks;
  int repeats = 5;
  MinerOptions miner;
};

int RunBench(const BenchFlags& f) {
  LoghubBenchOptions o;
  o.dir = f.dir;
  o.use_presets = f.preset == "auto";
  o.repeats = f.repeats;
  o.miner = f.miner;
  Status valid = ValidateMinerOptions(o.miner);
  if (!valid.ok()) return UsageError(valid);
  if (!f.masks.empty()) {
    auto m = LoadMaskOptions(f.masks);
    if (!m.ok()) return ReportError(m.status());
    o.masks = *m;
  }
  auto results = RunLoghubBench(o);
  if (!results.ok()) return ReportError(results.status());
  std::printf("%-12s %-9s %9s %10s %10s %7s %12s\n", "system", "format", "accuracy", "corrected",
              "templates", "truth", "lines/s");
  double sum = 0, sum_corrected = 0;
  size_t corrected = 0;
  for (const LoghubResult& r : *results) {
    char fixed[16] = "-";
    if (r.accuracy_corrected >= 0) {
      std::snprintf(fixed, sizeof(fixed), "%.4f", r.accuracy_corrected);
      sum_corrected += r.accuracy_corrected;
      ++corrected;
    }
    std::printf("%-12s %-9s %9.4f %10s %10zu %7zu %12.0f\n", r.system.c_str(),
                r.preset ? "preset" : "detected", r.accuracy, fixed, r.templates, r.truth_templates,
                r.lines_per_s);
    if (r.malformed > 0) std::printf("  (%zu lines did not match the format)\n", r.malformed);
    sum += r.accuracy;
  }
  std::printf("%-12s %-9s %9.4f", "average", "", sum / static_cast<double>(results->size()));
  if (corrected > 0) std::printf(" %10.4f", sum_corrected / static_cast<double>(corrected));
  std::printf("\n");
  for (const LoghubResult& r : *results) {
    if (!r.preset) std::printf("detected %s: %s\n", r.system.c_str(), r.format.c_str());
  }
  if (!f.report.empty()) {
    Status s = WriteFileAtomic(f.report, LoghubReportJson(*results).dump(2) + "\n");
    if (!s.ok()) return ReportError(s);
    std::printf("wrote %s\n", f.report.c_str());
  }
  return 0;
}

}  // namespace

// vigil logs sessions (cmd_logs_sessions.cc).
void AddLogsSessionsCommand(CLI::App* logs, int* exit_code);

void AddLogsCommands(CLI::App& app, int* exit_code) {
  CLI::App* logs = app.add_subcommand("logs", "Log template mining: parse logs, score on loghub");
  logs->require_subcommand(1);

  auto po = std::make_shared<ParseFileOptions>();
  CLI::App* parse = logs->add_subcommand(
      "parse", "Parse a log file into templates (structured lines and a template table, CSV)");
  parse->add_option("--input", po->input, "Log file to parse")
      ->required()
      ->check(CLI::ExistingFile);
  parse->add_option("--format", po->format,
                    "Header format, e.g. '<Date> <Time> <Level> <Component>: <Content>' "
                    "(default: the state's, else detected from the file)");
  parse->add_option("--masks", po->masks_path, "Variable masks (masks.toml; default: built-in)")
      ->check(CLI::ExistingFile);
  parse->add_option("--state", po->state_path,
                    "State file (JSON): resume from it if it exists, save to it after parsing");
  parse->add_option("--out", po->out_dir, "Output directory")->required();
  AddMinerFlags(parse, &po->miner);
  parse->callback([po, exit_code]() { *exit_code = RunParse(*po); });

  auto bf = std::make_shared<BenchFlags>();
  CLI::App* bench = logs->add_subcommand(
      "bench", "Grouping accuracy and speed on loghub's <System>/<System>_2k.log samples");
  bench->add_option("--loghub", bf->dir, "Directory holding <System>/<System>_2k.log")
      ->required()
      ->check(CLI::ExistingDirectory);
  bench
      ->add_option("--preset", bf->preset,
                   "auto: a system's preset header format when there is one; none: detect all")
      ->check(CLI::IsMember({"auto", "none"}))
      ->capture_default_str();
  bench->add_option("--report", bf->report,
                    "JSON report {system: {accuracy, accuracy_corrected, templates, lines_per_s}}");
  bench->add_option("--masks", bf->masks, "Variable masks (masks.toml; default: built-in)")
      ->check(CLI::ExistingFile);
  bench->add_option("--repeats", bf->repeats, "Timed parses per system (median)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  AddMinerFlags(bench, &bf->miner);
  bench->callback([bf, exit_code]() { *exit_code = RunBench(*bf); });
  AddLogsSessionsCommand(logs, exit_code);
}

}  // namespace vigil
