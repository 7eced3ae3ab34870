#include "metrics/bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include "core/file.h"
#include "metrics/series_table.h"

namespace vigil::metrics {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// One NAB-style result file: the row's score and label, then each view's score.
Status WriteScores(const std::string& dir, const NabSeries& s,
                   const std::vector<DetectorOutput>& out) {
  std::string text = "timestamp,value,anomaly_score,label,neural,statistical,level,seasonal\n";
  size_t w = 0;
  char line[256];
  for (size_t k = 0; k < out.size(); ++k) {
    while (w < s.windows.size() && s.windows[w].end < k) ++w;
    const bool in = w < s.windows.size() && s.windows[w].begin <= k;
    std::snprintf(line, sizeof line, "%lld,%.17g,%.6f,%d,%.6f,%.6f,%.6f,%.6f\n",
                  static_cast<long long>(s.times[k]), s.values[k], out[k].score, in ? 1 : 0,
                  out[k].neural, out[k].statistical, out[k].level, out[k].seasonal);
    text += line;
  }
  const std::string path = dir + "/" + s.name;
  std::error_code ec;
  std::filesystem::create_directories(path.substr(0, path.rfind('/')), ec);
  if (ec) return Status::IOError(path + ": " + ec.message());
  return WriteFileAtomic(path, text);
}

}  // namespace

Result<NabBenchResult> RunNabBench(const NabBenchOptions& o) {
  VIGIL_ASSIGN_OR_RETURN(NabCorpus corpus, LoadNabCorpus(o.dir));
  NabBenchResult r;
  r.series = corpus.series.size();
  std::vector<std::vector<double>> scores(corpus.series.size());
  std::atomic<size_t> next{0};
  std::vector<double> busy(std::max(1, o.threads), 0.0);
  std::mutex mu;
  size_t done = 0;
  std::vector<std::string> finished;
  Status write_error = Status::Ok();
  const auto start = Clock::now();
  auto work = [&](int t) {
    for (size_t i = next++; i < corpus.series.size(); i = next++) {
      const NabSeries& s = corpus.series[i];
      const auto t0 = Clock::now();
      DetectorConfig config = o.detector;
      if (config.cad_nab_convention) {
        // What NAB gives its own detectors (look-ahead, for comparison only): the rest period is
        // a fifth of the file's probationary period, the range the file's minimum and maximum.
        config.cad_rest = static_cast<int>(NabProbationLength(s.values.size()) / 5);
      }
      SeriesDetector d(config);
      if (config.cad_nab_convention && !s.values.empty()) {
        const auto [lo, hi] = std::minmax_element(s.values.begin(), s.values.end());
        d.SetKnownRange(*lo, *hi);
      }
      std::vector<DetectorOutput> views(o.scores_dir.empty() ? 0 : s.values.size());
      std::vector<double> out(s.values.size());
      for (size_t k = 0; k < s.values.size(); ++k) {
        const DetectorOutput v = d.Update(s.times[k], s.values[k]);
        out[k] = v.score;
        if (!views.empty()) views[k] = v;
      }
      busy[t] += Since(t0);
      Status written = views.empty() ? Status::Ok() : WriteScores(o.scores_dir, s, views);
      std::lock_guard<std::mutex> lock(mu);
      if (!written.ok() && write_error.ok()) write_error = written;
      scores[i] = std::move(out);
      finished.push_back(s.name);
    }
  };
  const int threads = std::max(1, o.threads);
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (int t = 0; t < threads; ++t) pool.emplace_back(work, t);
  // The calling thread reports progress as series finish.
  while (done < corpus.series.size()) {
    std::vector<std::string> names;
    {
      std::lock_guard<std::mutex> lock(mu);
      names.swap(finished);
    }
    for (const auto& n : names) {
      ++done;
      if (o.progress) o.progress(done, corpus.series.size(), n);
    }
    if (names.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& th : pool) th.join();
  VIGIL_RETURN_IF_ERROR(write_error);
  r.seconds = Since(start);
  for (double b : busy) r.cpu_seconds += b;
  for (const auto& s : corpus.series) r.points += s.values.size();
  r.bytes_per_series = SeriesDetector(o.detector).MemoryBytes();
  for (const auto& p : corpus.profiles) r.profiles.push_back(ScoreNab(corpus.series, scores, p));
  return r;
}

nlohmann::json DetectorConfigJson(const DetectorConfig& c) {
  return {{"window", c.window},
          {"hidden", c.hidden},
          {"learning_rate", c.learning_rate},
          {"learning_period", c.learning_period},
          {"norm_alpha", c.norm_alpha},
          {"stat_alpha", c.stat_alpha},
          {"like_alpha", c.like_alpha},
          {"short_window", c.short_window},
          {"rest_level", c.rest_level},
          {"rest_points", c.rest_points},
          {"rest_break", c.rest_break},
          {"neural_weight", c.neural_weight},
          {"stat_weight", c.stat_weight},
          {"level_weight", c.level_weight},
          {"level_alpha", c.level_alpha},
          {"winsor", c.winsor},
          {"season_weight", c.season_weight},
          {"spread_weight", c.spread_weight},
          {"time_inputs", c.time_inputs},
          {"tail_mode", c.tail_mode},
          {"record_decay", c.record_decay},
          {"record_day_decay", c.record_day_decay},
          {"daily_record_decay", c.daily_record_decay},
          {"cad_weight", c.cad_weight},
          {"cad_combine", c.cad_combine},
          {"cad_rest", c.cad_rest},
          {"cad_max_contexts", c.cad_max_contexts},
          {"cad_nab_convention", c.cad_nab_convention},
          {"seed", c.seed}};
}

nlohmann::json NabBenchJson(const NabBenchResult& r, const DetectorConfig& config) {
  nlohmann::json j;
  for (const auto& p : r.profiles) j[p.profile] = NabResultJson(p);
  j["detector"] = DetectorConfigJson(config);
  j["series"] = r.series;
  j["points"] = r.points;
  j["seconds"] = r.seconds;
  j["points_per_s_per_core"] = r.cpu_seconds > 0 ? r.points / r.cpu_seconds : 0.0;
  j["bytes_per_series"] = r.bytes_per_series;
  return j;
}

SpeedResult RunSpeedBench(const DetectorConfig& config, size_t series, size_t points) {
  SeriesTable table(config, series);
  std::vector<std::string> keys;
  for (size_t i = 0; i < series; ++i) {
    keys.push_back("cpu,host=node" + std::to_string(i) + ",region=eu usage_user");
  }
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<double> level(series);
  for (auto& l : level) l = 50 + 10 * noise(rng);
  // Pre-draw the noise so the timing is the table and the detectors.
  std::vector<float> draws(4096);
  for (auto& d : draws) d = static_cast<float>(noise(rng));
  SpeedResult r;
  r.series = series;
  r.points = points;
  double sink = 0;
  const auto start = Clock::now();
  for (size_t k = 0; k < points; ++k) {
    const size_t s = k % series;
    const int64_t step = static_cast<int64_t>(k / series);
    const int64_t ns = (1700000000 + step * 10) * 1000000000LL;
    auto out = table.Observe(keys[s], ns, level[s] + draws[k % draws.size()]);
    if (out) sink += out->output.score;
  }
  r.seconds = Since(start);
  r.points_per_s = r.seconds > 0 ? points / r.seconds : 0;
  r.bytes_per_series = table.size() ? table.MemoryBytes() / table.size() : 0;
  if (sink < 0) r.points = 0;  // keeps the loop from being optimised away
  return r;
}

}  // namespace vigil::metrics
