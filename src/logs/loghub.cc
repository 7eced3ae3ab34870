#include "logs/loghub.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>
#include <unordered_map>

#include "core/file.h"
#include "data/csv.h"
#include "logs/accuracy.h"
#include "logs/detect.h"
#include "logs/parser.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

// Ground truth of one structured CSV: the `column` value of each LineId (1-based), "" if missing.
Result<std::vector<std::string>> ReadTruth(const std::string& path, const std::string& column,
                                           size_t lines) {
  VIGIL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::vector<std::string> truth(lines);
  int id_col = -1, value_col = -1;
  Status s = ParseCsv(text, path, {}, [&](size_t line, const std::vector<std::string_view>& f) {
    if (id_col < 0) {
      for (size_t i = 0; i < f.size(); ++i) {
        if (f[i] == "LineId") id_col = static_cast<int>(i);
        if (f[i] == column) value_col = static_cast<int>(i);
      }
      if (id_col < 0 || value_col < 0) {
        return Status::InvalidArgument(path + ": needs columns LineId and " + column);
      }
      return Status::Ok();
    }
    size_t need = static_cast<size_t>(std::max(id_col, value_col));
    if (f.size() <= need) {
      return Status::InvalidArgument(path + ":" + std::to_string(line) + ": too few fields");
    }
    double id = 0;
    if (!ParseNumber(f[static_cast<size_t>(id_col)], &id).ok() || id < 1 ||
        id > static_cast<double>(lines)) {
      return Status::InvalidArgument(path + ":" + std::to_string(line) + ": bad LineId");
    }
    truth[static_cast<size_t>(id) - 1] = std::string(f[static_cast<size_t>(value_col)]);
    return Status::Ok();
  });
  VIGIL_RETURN_IF_ERROR(s);
  return truth;
}

// Accuracy over the lines that have a ground-truth label (loghub drops unlabelled lines).
double ScoredAccuracy(const std::vector<std::string>& truth, const std::vector<int>& predicted) {
  std::vector<std::string> t;
  std::vector<int> p;
  for (size_t i = 0; i < truth.size(); ++i) {
    if (truth[i].empty()) continue;
    t.push_back(truth[i]);
    p.push_back(predicted[i]);
  }
  return GroupingAccuracy(t, p);
}

Result<LoghubResult> RunSystem(const LoghubBenchOptions& o, const std::string& system,
                               const fs::path& dir) {
  LoghubResult r;
  r.system = system;
  std::string log_path = (dir / (system + "_2k.log")).string();
  VIGIL_ASSIGN_OR_RETURN(std::string text, ReadFile(log_path));
  std::vector<std::string_view> lines = SplitLines(text);
  r.lines = lines.size();
  const LoghubPreset* preset = o.use_presets ? FindLoghubPreset(system) : nullptr;
  r.preset = preset != nullptr;
  r.format = preset ? std::string(preset->format) : DetectFormatSpec(lines);
  VIGIL_ASSIGN_OR_RETURN(LogFormat format, LogFormat::Parse(r.format));

  std::vector<int> ids(lines.size());
  std::vector<double> seconds;
  for (int rep = 0; rep < std::max(1, o.repeats); ++rep) {
    VIGIL_ASSIGN_OR_RETURN(LogParser parser, LogParser::Create(format, o.masks, o.miner));
    size_t malformed = 0;
    auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < lines.size(); ++i) {
      ParsedLine p = parser.Parse(lines[i]);
      ids[i] = p.template_id;
      malformed += p.malformed;
    }
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    for (int& id : ids) id = parser.miner().Resolve(id);
    r.malformed = malformed;
    r.templates = parser.miner().live_count();
  }
  std::sort(seconds.begin(), seconds.end());
  double median = seconds[seconds.size() / 2];
  r.lines_per_s = median > 0 ? static_cast<double>(lines.size()) / median : 0;

  std::string structured = (dir / (system + "_2k.log_structured.csv")).string();
  VIGIL_ASSIGN_OR_RETURN(std::vector<std::string> truth,
                         ReadTruth(structured, "EventId", lines.size()));
  r.accuracy = ScoredAccuracy(truth, ids);
  std::set<std::string> events(truth.begin(), truth.end());
  events.erase("");
  r.truth_templates = events.size();
  std::string corrected = (dir / (system + "_2k.log_structured_corrected.csv")).string();
  if (FileExists(corrected)) {
    VIGIL_ASSIGN_OR_RETURN(std::vector<std::string> fixed,
                           ReadTruth(corrected, "EventTemplate", lines.size()));
    r.accuracy_corrected = ScoredAccuracy(fixed, ids);
  }
  return r;
}

}  // namespace

const std::vector<LoghubPreset>& LoghubPresets() {
  // Header formats of the loghub systems (as in the loghub benchmark; a "(...)?" optional part
  // there is folded into the field before it here).
  static const std::vector<LoghubPreset> kPresets = {
      {"Android", "<Date> <Time> <Pid> <Tid> <Level> <Component>: <Content>"},
      {"Apache", "\\[<Time>\\] \\[<Level>\\] <Content>"},
      {"BGL",
       "<Label> <Timestamp> <Date> <Node> <Time> <NodeRepeat> <Type> <Component> <Level> "
       "<Content>"},
      {"HDFS", "<Date> <Time> <Pid> <Level> <Component>: <Content>"},
      {"HPC", "<LogId> <Node> <Component> <State> <Time> <Flag> <Content>"},
      {"Hadoop", "<Date> <Time> <Level> \\[<Process>\\] <Component>: <Content>"},
      {"HealthApp", "<Time>\\|<Component>\\|<Pid>\\|<Content>"},
      {"Linux", "<Month> <Date> <Time> <Level> <Component>: <Content>"},
      {"Mac", "<Month> <Date> <Time> <User> <Component>: <Content>"},
      {"OpenSSH", "<Date> <Day> <Time> <Component> sshd\\[<Pid>\\]: <Content>"},
      {"OpenStack", "<Logrecord> <Date> <Time> <Pid> <Level> <Component> \\[<ADDR>\\] <Content>"},
      {"Proxifier", "\\[<Time>\\] <Program> - <Content>"},
      {"Spark", "<Date> <Time> <Level> <Component>: <Content>"},
      {"Thunderbird",
       "<Label> <Timestamp> <Date> <User> <Month> <Day> <Time> <Location> <Component>: "
       "<Content>"},
      {"Windows", "<Date> <Time>, <Level> <Component> <Content>"},
      {"Zookeeper", "<Date> <Time> - <Level> \\[<Node>:<Component>@<Id>\\] - <Content>"},
  };
  return kPresets;
}

const LoghubPreset* FindLoghubPreset(std::string_view system) {
  for (const LoghubPreset& p : LoghubPresets()) {
    if (p.system == system) return &p;
  }
  return nullptr;
}

Result<std::vector<LoghubResult>> RunLoghubBench(const LoghubBenchOptions& options) {
  std::error_code ec;
  fs::path root(options.dir);
  if (!fs::is_directory(root, ec)) return Status::NotFound(options.dir + ": not a directory");
  std::vector<std::string> systems;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    if (!entry.is_directory()) continue;
    std::string name = entry.path().filename().string();
    if (fs::is_regular_file(entry.path() / (name + "_2k.log"))) systems.push_back(name);
  }
  if (ec) return Status::IOError(options.dir + ": " + ec.message());
  if (systems.empty()) {
    return Status::NotFound(options.dir + ": no <System>/<System>_2k.log found");
  }
  std::sort(systems.begin(), systems.end());
  std::vector<LoghubResult> results;
  for (const std::string& s : systems) {
    VIGIL_ASSIGN_OR_RETURN(LoghubResult r, RunSystem(options, s, root / s));
    results.push_back(std::move(r));
  }
  return results;
}

nlohmann::json LoghubReportJson(const std::vector<LoghubResult>& results) {
  nlohmann::json j = nlohmann::json::object();
  for (const LoghubResult& r : results) {
    j[r.system] = {
        {"accuracy", r.accuracy},
        {"accuracy_corrected",
         r.accuracy_corrected < 0 ? nlohmann::json(nullptr) : nlohmann::json(r.accuracy_corrected)},
        {"templates", r.templates},
        {"truth_templates", r.truth_templates},
        {"lines_per_s", r.lines_per_s},
        {"lines", r.lines},
        {"malformed", r.malformed},
        {"format", r.format},
        {"preset", r.preset}};
  }
  return j;
}

}  // namespace vigil
