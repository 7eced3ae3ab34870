#include "stream/log_pipeline.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>

#include "core/file.h"
#include "logs/sessionize.h"

namespace vigil {
namespace {

constexpr char kStateKind[] = "vigil-logs-state";

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool AllDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Result<nlohmann::json> ReadState(const std::string& path) {
  VIGIL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("kind", "") != kStateKind) {
    return Status::InvalidArgument(path + ": not a vigil logs state (kind '" +
                                   std::string(kStateKind) +
                                   "'; written by vigil logs parse "
                                   "--state)");
  }
  if (!j.contains("parser")) return Status::Corruption(path + ": state has no 'parser'");
  return j;
}

// A state file, or the one state file in a directory.
Result<std::string> FindState(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return path;
  std::vector<std::string> found;
  for (const auto& e : std::filesystem::directory_iterator(path, ec)) {
    if (!e.is_regular_file() || e.path().extension() != ".json") continue;
    if (ReadState(e.path().string()).ok()) found.push_back(e.path().string());
  }
  if (found.size() != 1) {
    return Status::InvalidArgument(path +
                                   ": expected one vigil logs state (*.json) in the "
                                   "directory, found " +
                                   std::to_string(found.size()));
  }
  return found[0];
}

}  // namespace

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string IsoTime(double seconds) {
  const auto whole = static_cast<std::time_t>(std::floor(seconds));
  const int ms = std::min(999, static_cast<int>((seconds - std::floor(seconds)) * 1000));
  std::tm tm{};
  gmtime_r(&whole, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

nlohmann::json LogCounters::ToJson() const {
  return {{"lines", lines},
          {"malformed_lines", malformed_lines},
          {"malformed_frames", malformed_frames},
          {"dead_letters", dead_letters},
          {"new_template_lines", new_template_lines},
          {"new_templates", new_templates},
          {"parser_resets", parser_resets},
          {"lines_without_session", lines_without_session},
          {"sessions_opened", sessions_opened},
          {"sessions_closed", sessions_closed},
          {"sessions_evicted", sessions_evicted},
          {"keys_judged", keys_judged},
          {"ends_judged", ends_judged},
          {"unexpected", unexpected},
          {"alerts", alerts},
          {"raw_lines_dropped", raw_lines_dropped}};
}

Result<std::unique_ptr<LogPipeline>> LogPipeline::Create(const LogPipelineOptions& options,
                                                         Sink alerts, Sink dead_letters) {
  if (options.model.empty()) return Status::InvalidArgument("--log-model: a deeplog bundle");
  VIGIL_ASSIGN_OR_RETURN(DeepLogScorer scorer, DeepLogScorer::Load(options.model));
  std::unique_ptr<LogPipeline> p(
      new LogPipeline(options, std::move(scorer), std::move(alerts), std::move(dead_letters)));
  VIGIL_RETURN_IF_ERROR(p->Init());
  return p;
}

Status LogPipeline::Init() {
  const LogPipelineOptions& o = options_;
  if (o.state.empty()) {
    return Status::InvalidArgument(
        "--log-state: the state `vigil logs parse --state` wrote (the templates the model knows)");
  }
  if (o.max_sessions == 0 || o.session_lines == 0 || !(o.session_idle_s >= 0)) {
    return Status::InvalidArgument("--max-sessions and --session-lines must be positive");
  }
  VIGIL_ASSIGN_OR_RETURN(std::string state_path, FindState(o.state));
  VIGIL_ASSIGN_OR_RETURN(nlohmann::json state, ReadState(state_path));
  if (options_.format.empty()) options_.format = state.value("format", "");
  if (options_.format.empty()) {
    return Status::InvalidArgument(state_path +
                                   ": the state has no header format: give "
                                   "--log-format");
  }
  state_parser_ = state["parser"];
  VIGIL_RETURN_IF_ERROR(ResetParser().WithContext(state_path));
  known_templates_ = parser_->miner().size();
  const auto& keys = scorer_.vocab().keys();
  if (std::all_of(keys.begin(), keys.end(), AllDigits)) key_prefix_.clear();

  by_window_ = o.session_window_s > 0;
  if (by_window_ == !o.session_pattern.empty()) {
    return Status::InvalidArgument(
        "give --session-pattern (an id in each line) or "
        "--session-window (seconds), one of them");
  }
  hdfs_ids_ = !by_window_ && SessionIdPattern(o.session_pattern) == SessionIdPattern("hdfs");
  if (!by_window_) {
    try {
      id_pattern_ = std::regex(SessionIdPattern(o.session_pattern),
                               std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      return Status::InvalidArgument("--session-pattern '" + o.session_pattern + "': " + e.what());
    }
  }
  return Status::Ok();
}

Status LogPipeline::ResetParser() {
  auto format = LogFormat::Parse(options_.format);
  if (!format.ok()) return format.status().WithContext("header format '" + options_.format + "'");
  VIGIL_ASSIGN_OR_RETURN(LogParser parser, LogParser::FromState(*format, state_parser_));
  parser_ = std::make_unique<LogParser>(std::move(parser));
  return Status::Ok();
}

uint32_t LogPipeline::AddInput(const std::string& name) {
  inputs_.push_back(name);
  return static_cast<uint32_t>(inputs_.size() - 1);
}

void LogPipeline::Emit(const nlohmann::json& alert) {
  ++counters_.alerts;
  if (alerts_) alerts_(Dump(alert));
}

void LogPipeline::DeadLetter(const LogLine& line, const std::string& error) {
  ++counters_.dead_letters;
  if (!dead_letters_) return;
  nlohmann::json j = {{"time", IsoTime(WallSeconds())},
                      {"input", line.input < inputs_.size() ? inputs_[line.input] : ""},
                      {"position", line.position},
                      {"error", error},
                      {"record", line.text.substr(0, 64 << 10)},
                      {"bytes", line.text.size()}};
  dead_letters_(Dump(j));
}

std::string LogPipeline::TemplateText(int id) const {
  if (id < 1 || id > static_cast<int>(parser_->miner().size())) return {};
  return parser_->miner().Get(parser_->miner().Resolve(id)).Text();
}

nlohmann::json LogPipeline::KeyJson(int64_t symbol) const {
  const std::string name = scorer_.vocab().Name(symbol);
  nlohmann::json j = {{"key", name}};
  std::string digits = name.substr(std::min(name.size(), key_prefix_.size()));
  if (symbol >= KeyVocabulary::kFirstKey && AllDigits(digits) && digits.size() < 9) {
    std::string text = TemplateText(std::stoi(digits));
    if (!text.empty()) j["template"] = text;
  }
  return j;
}

LogPipeline::Session& LogPipeline::Touch(const std::string& id, double now) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    if (sessions_.size() >= options_.max_sessions) {
      sessions_.erase(lru_.back());
      lru_.pop_back();
      ++counters_.sessions_evicted;
    }
    it = sessions_.emplace(id, Session(scorer_)).first;
    lru_.push_front(id);
    it->second.lru = lru_.begin();
    ++counters_.sessions_opened;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  it->second.last_seen = now;
  return it->second;
}

void LogPipeline::Process(const LogLine& line, double now) {
  if (!line.error.empty()) {
    ++counters_.malformed_frames;
    DeadLetter(line, line.error);
    return;
  }
  ++counters_.lines;
  ParsedLine parsed = parser_->Parse(line.text);
  if (parsed.malformed) {
    ++counters_.malformed_lines;
    DeadLetter(line, "line does not match the header format '" + options_.format +
                         "' (parsed as a whole message)");
  }
  const int id = parser_->miner().Resolve(parsed.template_id);
  const bool is_new = id > static_cast<int>(known_templates_);
  if (is_new) {
    ++counters_.new_template_lines;
    if (new_templates_seen_.insert(id).second) {
      ++counters_.new_templates;
      Emit({{"time", IsoTime(now)},
            {"type", "new_template"},
            {"template_id", id},
            {"template", TemplateText(id)},
            {"input", line.input < inputs_.size() ? inputs_[line.input] : ""},
            {"position", line.position},
            {"line", line.text.substr(0, options_.max_line_bytes)}});
    }
  }
  const std::string key = key_prefix_ + std::to_string(id);

  std::vector<std::string> ids;
  if (by_window_) {
    const double t = line.time > 0 ? line.time : now;
    const double start = std::floor(t / options_.session_window_s) * options_.session_window_s;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.15g", start);
    ids.emplace_back(buf);
  } else if (hdfs_ids_) {
    // The hdfs preset's "blk_-?[0-9]+" without std::regex (a quarter of the time per line).
    const std::string_view c = parsed.content;
    for (size_t at = c.find("blk_"); at != std::string_view::npos; at = c.find("blk_", at + 1)) {
      size_t end = at + 4;
      if (end < c.size() && c[end] == '-') ++end;
      const size_t digits = end;
      while (end < c.size() && c[end] >= '0' && c[end] <= '9') ++end;
      if (end == digits) continue;
      std::string sid(c.substr(at, end - at));
      if (std::find(ids.begin(), ids.end(), sid) == ids.end()) ids.push_back(std::move(sid));
      at = end - 1;
    }
  } else {
    const std::string_view content = parsed.content;
    for (std::cregex_iterator m(content.data(), content.data() + content.size(), id_pattern_), end;
         m != end; ++m) {
      std::string sid = m->size() > 1 && (*m)[1].matched ? (*m)[1].str() : m->str();
      if (std::find(ids.begin(), ids.end(), sid) == ids.end()) ids.push_back(std::move(sid));
    }
  }
  if (ids.empty()) ++counters_.lines_without_session;
  for (const std::string& sid : ids) {
    Session& s = Touch(sid, now);
    RawLine raw{line.input, line.position, line.text.substr(0, options_.max_line_bytes)};
    if (s.lines.size() < options_.session_lines) {
      s.lines.push_back(std::move(raw));
    } else {
      s.lines[s.head] = std::move(raw);
      s.head = (s.head + 1) % s.lines.size();
      ++s.lines_dropped;
      ++counters_.raw_lines_dropped;
    }
    SymbolVerdict v = s.dl.Add(scorer_, key, &ws_);
    ++counters_.keys_judged;
    if (!v.expected) Judge(sid, s, v, &line, key, id, now);
  }
  if (parser_->miner().size() > known_templates_ + options_.max_new_templates) {
    // Novel lines beyond the bound: forget the templates learnt here (the state's stay).
    if (ResetParser().ok()) {
      ++counters_.parser_resets;
      new_templates_seen_.clear();
    }
  }
}

void LogPipeline::Judge(const std::string& id, Session& s, const SymbolVerdict& v,
                        const LogLine* line, const std::string& key, int template_id, double now) {
  ++counters_.unexpected;
  if (s.alerted) return;
  s.alerted = true;
  nlohmann::json expected = nlohmann::json::array(), top = nlohmann::json::array();
  for (size_t k = 0; k < v.top.size(); ++k) {
    nlohmann::json e = KeyJson(v.top[k].symbol);
    e["probability"] = v.top[k].probability;
    top.push_back(e);
    if (v.passes[k]) expected.push_back(std::move(e));
  }
  nlohmann::json lines = nlohmann::json::array();
  for (size_t k = 0; k < s.lines.size(); ++k) {
    const RawLine& r = s.lines[(s.head + k) % s.lines.size()];
    lines.push_back({{"input", r.input < inputs_.size() ? inputs_[r.input] : ""},
                     {"position", r.position},
                     {"text", r.text}});
  }
  nlohmann::json a = {{"time", IsoTime(now)},
                      {"type", "log_session"},
                      {"session", id},
                      {"model", "deeplog"},
                      {"version", scorer_.version()},
                      {"position", line != nullptr ? s.dl.keys() : s.dl.keys() + 1},
                      {"key", line != nullptr ? key : "<end>"},
                      {"unknown_key", v.symbol == KeyVocabulary::kUnknown},
                      {"probability", v.probability},
                      {"score", v.score},
                      {"threshold", scorer_.threshold()},
                      {"expected", std::move(expected)},
                      {"top_g", std::move(top)},
                      {"lines", std::move(lines)},
                      {"lines_dropped", s.lines_dropped}};
  if (line != nullptr) {
    a["template_id"] = template_id;
    a["template"] = TemplateText(template_id);
    a["new_template"] = template_id > static_cast<int>(known_templates_);
    a["input"] = line->input < inputs_.size() ? inputs_[line->input] : "";
  }
  Emit(a);
}

void LogPipeline::EndSession(std::unordered_map<std::string, Session>::iterator it, double now) {
  Session& s = it->second;
  SymbolVerdict v = s.dl.End(scorer_, &ws_);
  ++counters_.ends_judged;
  if (!v.expected) Judge(it->first, s, v, nullptr, "<end>", 0, now);
  lru_.erase(s.lru);
  sessions_.erase(it);
  ++counters_.sessions_closed;
}

void LogPipeline::Sweep(double now) {
  while (!lru_.empty()) {
    auto it = sessions_.find(lru_.back());
    if (now - it->second.last_seen < options_.session_idle_s) break;
    EndSession(it, now);
  }
}

void LogPipeline::CloseAll(double now) {
  while (!lru_.empty()) EndSession(sessions_.find(lru_.back()), now);
}

}  // namespace vigil
