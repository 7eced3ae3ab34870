// vigil metrics: the time-series anomaly detectors on NAB (bench) and their speed (speed).
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "core/file.h"
#include "metrics/bench.h"

namespace vigil {
namespace {

struct MetricsFlags {
  std::string dir, report, scores;
  int threads = 1;
  std::vector<std::string> options;  // name=value detector options
  size_t series = 10000, points = 2000000;
};

Status ApplyOptions(const std::vector<std::string>& options, metrics::DetectorConfig* c) {
  for (const auto& o : options) VIGIL_RETURN_IF_ERROR(metrics::SetDetectorOption(c, o));
  return Status::Ok();
}

int RunMetricsBench(const MetricsFlags& f) {
  metrics::NabBenchOptions o;
  o.dir = f.dir;
  o.scores_dir = f.scores;
  o.threads =
      f.threads <= 0 ? static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN))) : f.threads;
  Status s = ApplyOptions(f.options, &o.detector);
  if (!s.ok()) {
    std::fprintf(stderr, "vigil: error: %s\n", s.message().c_str());
    return 2;
  }
  const bool tty = isatty(STDERR_FILENO);
  o.progress = [tty](size_t done, size_t total, const std::string& name) {
    std::fprintf(stderr, tty ? "\r\033[K[%zu/%zu] %s" : "[%zu/%zu] %s\n", done, total,
                 name.c_str());
    if (tty && done == total) std::fputc('\n', stderr);
  };
  auto r = metrics::RunNabBench(o);
  if (!r.ok()) return ReportError(r.status());
  std::printf(
      "NAB: %zu series, %zu points, detectors %.2f s wall on %d thread(s), %.0f points/s "
      "per core, %zu bytes per series\n",
      r->series, r->points, r->seconds, o.threads,
      r->cpu_seconds > 0 ? r->points / r->cpu_seconds : 0.0, r->bytes_per_series);
  std::printf("%-20s %8s %10s %5s %5s %6s\n", "profile", "score", "threshold", "TP", "FN", "FP");
  for (const auto& p : r->profiles) {
    std::printf("%-20s %8.2f %10.4f %5d %5d %6d\n", p.profile.c_str(), p.normalized, p.threshold,
                p.tp, p.fn, p.fp);
  }
  if (!f.report.empty()) {
    Status w = WriteFileAtomic(f.report, metrics::NabBenchJson(*r, o.detector).dump(2) + "\n");
    if (!w.ok()) return ReportError(w);
    std::printf("wrote %s\n", f.report.c_str());
  }
  return 0;
}

int RunMetricsSpeed(const MetricsFlags& f) {
  metrics::DetectorConfig c;
  Status s = ApplyOptions(f.options, &c);
  if (!s.ok() || f.series == 0) {
    std::fprintf(stderr, "vigil: error: %s\n",
                 s.ok() ? "--series must be > 0" : s.message().c_str());
    return 2;
  }
  auto r = metrics::RunSpeedBench(c, f.series, f.points);
  std::printf(
      "%zu points over %zu live series on one core: %.2f s, %.0f points/s, %zu bytes per "
      "series\n",
      r.points, r.series, r.seconds, r.points_per_s, r.bytes_per_series);
  if (!f.report.empty()) {
    nlohmann::json j = {{"series", r.series},
                        {"points", r.points},
                        {"seconds", r.seconds},
                        {"points_per_s", r.points_per_s},
                        {"bytes_per_series", r.bytes_per_series},
                        {"detector", metrics::DetectorConfigJson(c)}};
    Status w = WriteFileAtomic(f.report, j.dump(2) + "\n");
    if (!w.ok()) return ReportError(w);
  }
  return 0;
}

}  // namespace

void AddMetricsCommands(CLI::App& app, int* exit_code) {
  CLI::App* m = app.add_subcommand("metrics", "Time-series anomaly detection: NAB score, speed");
  m->require_subcommand(1);
  auto f = std::make_shared<MetricsFlags>();
  CLI::App* bench = m->add_subcommand(
      "bench", "Run the detector online over every series of a NAB corpus and score it");
  bench->add_option("--nab", f->dir, "NAB directory (data/, labels/, config/)")
      ->required()
      ->check(CLI::ExistingDirectory);
  bench->add_option("--report", f->report, "Write the scores as JSON");
  bench->add_option("--scores", f->scores,
                    "Write each series' per-row scores as CSV under this directory (NAB's "
                    "results layout: timestamp,value,anomaly_score,label, then each view's score)");
  bench->add_option("--threads", f->threads, "Threads (0: every core)")->capture_default_str();
  bench->add_option("--detector-option", f->options,
                    "Override a detector setting, name=value (repeatable; the default is the one "
                    "configuration reported in docs/metrics.md)");
  bench->callback([f, exit_code]() { *exit_code = RunMetricsBench(*f); });

  CLI::App* speed = m->add_subcommand(
      "speed", "Points per second on one core with many live series, and memory per series");
  speed->add_option("--series", f->series, "Live series")->capture_default_str();
  speed->add_option("--points", f->points, "Points in all")->capture_default_str();
  speed->add_option("--report", f->report, "Write the figures as JSON");
  speed->add_option("--detector-option", f->options, "Override a detector setting, name=value");
  speed->callback([f, exit_code]() { *exit_code = RunMetricsSpeed(*f); });
}

}  // namespace vigil
