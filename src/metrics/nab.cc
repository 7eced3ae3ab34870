#include "metrics/nab.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "core/file.h"

namespace vigil::metrics {
namespace {

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// Per-row contribution to the sweep, prepared once per file and profile.
struct Row {
  double score;
  int file;
  int window;     // index into the corpus-wide window list, or -1 outside windows
  double weight;  // tp reward when in a window, fp cost (negative) outside
};

}  // namespace

Result<int64_t> ParseNabTime(const std::string& text) {
  int y, mo, d, h, mi, s;
  if (std::sscanf(text.c_str(), "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &s) != 6 || mo < 1 ||
      mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return Status::InvalidArgument("'" + text + "' is not a time (YYYY-MM-DD HH:MM:SS)");
  }
  return DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

size_t NabProbationLength(size_t rows) {
  return std::min<size_t>(static_cast<size_t>(std::floor(0.15 * rows)), 750);
}

double NabScaledSigmoid(double x) {
  if (x >= 3.0) return -1.0;
  return 2.0 / (1.0 + std::exp(5.0 * x)) - 1.0;
}

Result<std::vector<NabProfile>> ParseNabProfiles(const std::string& json_text) {
  std::vector<NabProfile> out;
  try {
    auto j = nlohmann::json::parse(json_text);
    for (const char* name : {"standard", "reward_low_FP_rate", "reward_low_FN_rate"}) {
      if (!j.contains(name))
        return Status::InvalidArgument(std::string("no profile '") + name + "'");
      const auto& c = j.at(name).at("CostMatrix");
      NabProfile p;
      p.name = name;
      p.tp_weight = c.at("tpWeight").get<double>();
      p.fp_weight = c.at("fpWeight").get<double>();
      p.fn_weight = c.at("fnWeight").get<double>();
      p.tn_weight = c.value("tnWeight", 1.0);
      out.push_back(p);
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("profiles: ") + e.what());
  }
  return out;
}

namespace {

Result<NabSeries> LoadSeriesCsv(const std::string& path, const std::string& name) {
  VIGIL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  NabSeries s;
  s.name = name;
  size_t pos = 0, line = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string row = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line;
    if (!row.empty() && row.back() == '\r') row.pop_back();
    if (row.empty() || line == 1) continue;  // header "timestamp,value"
    size_t comma = row.find(',');
    if (comma == std::string::npos) {
      return Status::InvalidArgument(path + ":" + std::to_string(line) + ": expected 'time,value'");
    }
    auto t = ParseNabTime(row.substr(0, comma));
    if (!t.ok()) return t.status().WithContext(path + ":" + std::to_string(line) + ":1");
    const char* begin = row.c_str() + comma + 1;
    char* end = nullptr;
    double v = std::strtod(begin, &end);
    if (end == begin || !std::isfinite(v)) {
      return Status::InvalidArgument(path + ":" + std::to_string(line) + ":" +
                                     std::to_string(comma + 2) + ": value '" + std::string(begin) +
                                     "' is not a number");
    }
    s.times.push_back(*t);
    s.values.push_back(v);
  }
  return s;
}

}  // namespace

Result<NabCorpus> LoadNabCorpus(const std::string& dir) {
  namespace fs = std::filesystem;
  NabCorpus corpus;
  VIGIL_ASSIGN_OR_RETURN(std::string profiles, ReadFile(dir + "/config/profiles.json"));
  auto p = ParseNabProfiles(profiles);
  if (!p.ok()) return p.status().WithContext(dir + "/config/profiles.json");
  corpus.profiles = std::move(*p);
  VIGIL_ASSIGN_OR_RETURN(std::string windows_text, ReadFile(dir + "/labels/combined_windows.json"));
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> windows;
  try {
    auto j = nlohmann::json::parse(windows_text);
    for (auto it = j.begin(); it != j.end(); ++it) {
      for (const auto& w : it.value()) {
        windows[it.key()].emplace_back(w.at(0).get<std::string>(), w.at(1).get<std::string>());
      }
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument(dir + "/labels/combined_windows.json: " + e.what());
  }
  const fs::path data = fs::path(dir) / "data";
  std::error_code ec;
  if (!fs::is_directory(data, ec)) return Status::NotFound(data.string() + ": no such directory");
  std::vector<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(data, ec)) {
    if (e.is_regular_file() && e.path().extension() == ".csv") {
      names.push_back(fs::relative(e.path(), data).generic_string());
    }
  }
  std::sort(names.begin(), names.end());
  if (names.empty()) return Status::NotFound(data.string() + ": no .csv series");
  for (const auto& name : names) {
    VIGIL_ASSIGN_OR_RETURN(NabSeries s, LoadSeriesCsv((data / name).string(), name));
    for (const auto& [b, e] : windows[name]) {
      VIGIL_ASSIGN_OR_RETURN(int64_t tb, ParseNabTime(b));
      VIGIL_ASSIGN_OR_RETURN(int64_t te, ParseNabTime(e));
      auto lo = std::lower_bound(s.times.begin(), s.times.end(), tb);
      auto hi = std::upper_bound(s.times.begin(), s.times.end(), te);
      if (lo == s.times.end() || hi == s.times.begin() || lo >= hi) {
        return Status::InvalidArgument(name + ": window [" + b + ", " + e + "] holds no rows");
      }
      s.windows.push_back({static_cast<size_t>(lo - s.times.begin()),
                           static_cast<size_t>(hi - s.times.begin()) - 1});
    }
    corpus.series.push_back(std::move(s));
  }
  return corpus;
}

namespace {

// Appends the scored rows of one file; windows get corpus-wide ids starting at `window_base`.
void PrepareRows(const NabSeries& s, const std::vector<double>& scores, const NabProfile& p,
                 int file, int window_base, std::vector<Row>* rows, int* windows_registered) {
  const double max_tp = NabScaledSigmoid(-1.0);
  const size_t probation = NabProbationLength(s.values.size());
  size_t next = 0;
  long prev_right = -1;
  double prev_width = 0;
  std::vector<bool> seen(s.windows.size(), false);
  for (size_t i = 0; i < s.values.size(); ++i) {
    while (next < s.windows.size() && s.windows[next].end < i) {
      prev_right = static_cast<long>(s.windows[next].end);
      prev_width = static_cast<double>(s.windows[next].end - s.windows[next].begin + 1);
      ++next;
    }
    if (i < probation) continue;
    Row r{scores[i], file, -1, 0};
    if (next < s.windows.size() && s.windows[next].begin <= i) {
      const auto& w = s.windows[next];
      const double width = static_cast<double>(w.end - w.begin + 1);
      const double position = -static_cast<double>(w.end - i + 1) / width;
      r.window = window_base + static_cast<int>(next);
      r.weight = NabScaledSigmoid(position) * p.tp_weight / max_tp;
      if (!seen[next]) {
        seen[next] = true;
        ++*windows_registered;
      }
    } else {
      double past = 3.0;
      if (prev_right >= 0 && prev_width > 1) {
        past = static_cast<double>(static_cast<long>(i) - prev_right) / (prev_width - 1);
      }
      r.weight = NabScaledSigmoid(past) * p.fp_weight;
    }
    rows->push_back(r);
  }
}

}  // namespace

NabFileScore ScoreNabFile(const NabSeries& series, const std::vector<double>& scores,
                          const NabProfile& profile, double threshold) {
  std::vector<Row> rows;
  int registered = 0;
  PrepareRows(series, scores, profile, 0, 0, &rows, &registered);
  std::vector<double> best(series.windows.size(), -profile.fn_weight);
  std::vector<bool> hit(series.windows.size(), false), live(series.windows.size(), false);
  NabFileScore out;
  out.name = series.name;
  double fp = 0;
  for (const Row& r : rows) {
    if (r.window >= 0) live[r.window] = true;
    if (r.score < threshold) continue;
    if (r.window >= 0) {
      hit[r.window] = true;
      best[r.window] = std::max(best[r.window], r.weight);
    } else {
      fp += r.weight;
      ++out.fp;
    }
  }
  out.score = fp;
  for (size_t w = 0; w < best.size(); ++w) {
    if (!live[w]) continue;
    out.score += best[w];
    (hit[w] ? out.tp : out.fn)++;
  }
  return out;
}

NabProfileResult ScoreNab(const std::vector<NabSeries>& series,
                          const std::vector<std::vector<double>>& scores,
                          const NabProfile& profile) {
  std::vector<Row> rows;
  int registered = 0, window_base = 0;
  for (size_t f = 0; f < series.size(); ++f) {
    PrepareRows(series[f], scores[f], profile, static_cast<int>(f), window_base, &rows,
                &registered);
    window_base += static_cast<int>(series[f].windows.size());
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.score > b.score; });
  // Sweep the threshold down through every distinct score, keeping each window's best reward.
  std::vector<double> best(window_base, -profile.fn_weight);
  double total = -profile.fn_weight * registered;
  double best_total = total, best_threshold = rows.empty() ? 1.0 : rows.front().score + 1e-9;
  for (size_t i = 0; i < rows.size();) {
    size_t j = i;
    for (; j < rows.size() && rows[j].score == rows[i].score; ++j) {
      const Row& r = rows[j];
      if (r.window < 0) {
        total += r.weight;
      } else if (r.weight > best[r.window]) {
        total += r.weight - best[r.window];
        best[r.window] = r.weight;
      }
    }
    if (total > best_total) {
      best_total = total;
      best_threshold = rows[i].score;
    }
    i = j;
  }
  NabProfileResult out;
  out.profile = profile.name;
  out.threshold = best_threshold;
  // The null detector (one constant score) can only detect nothing or everything; NAB's baseline
  // is the better of the two (on real corpora: nothing).
  out.null_score = std::max(-profile.fn_weight * registered, total);
  out.perfect = profile.tp_weight * registered;
  for (size_t f = 0; f < series.size(); ++f) {
    NabFileScore fs = ScoreNabFile(series[f], scores[f], profile, best_threshold);
    out.raw += fs.score;
    out.tp += fs.tp;
    out.fn += fs.fn;
    out.fp += fs.fp;
    out.files.push_back(std::move(fs));
  }
  const double span = out.perfect - out.null_score;
  out.normalized = span > 0 ? 100.0 * (out.raw - out.null_score) / span : 0.0;
  return out;
}

nlohmann::json NabResultJson(const NabProfileResult& r) {
  nlohmann::json files = nlohmann::json::object();
  for (const auto& f : r.files) {
    files[f.name] = {{"score", f.score}, {"tp", f.tp}, {"fn", f.fn}, {"fp", f.fp}};
  }
  return {{"score", r.normalized},
          {"threshold", r.threshold},
          {"raw", r.raw},
          {"null", r.null_score},
          {"perfect", r.perfect},
          {"tp", r.tp},
          {"fn", r.fn},
          {"fp", r.fp},
          {"files", files}};
}

}  // namespace vigil::metrics
