#include "logs/sessionize.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <regex>
#include <string_view>
#include <unordered_map>

#include "core/file.h"
#include "data/csv.h"

namespace vigil {
namespace {

// Seconds since the epoch of `text` read with the strptime format (UTC), a fraction after the
// seconds kept; false when it does not match or leaves text over.
bool ParseTime(const std::string& text, const std::string& format, double* out) {
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), format.c_str(), &tm);
  if (end == nullptr) return false;
  double fraction = 0;
  if ((*end == '.' || *end == ',') && end[1] >= '0' && end[1] <= '9') {
    double scale = 0.1;
    for (++end; *end >= '0' && *end <= '9'; ++end, scale /= 10) fraction += (*end - '0') * scale;
  }
  while (*end == ' ' || *end == '\t') ++end;
  if (*end != '\0') return false;
  *out = static_cast<double>(::timegm(&tm)) + fraction;
  return true;
}

bool NeedsQuotes(const std::string& s) { return s.find_first_of(",\"\r\n") != std::string::npos; }

std::string CsvField(const std::string& s) {
  if (!NeedsQuotes(s)) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ' ';
    out += v[i];
  }
  return out;
}

}  // namespace

std::string SessionIdPattern(const std::string& p) {
  if (p == "hdfs") return "blk_-?[0-9]+";
  if (p == "openstack")
    return "instance: "
           "([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})";
  return p;
}

Result<SessionizeResult> Sessionize(const SessionizeOptions& o) {
  const bool by_time = o.window_seconds > 0;
  if (by_time == !o.id_pattern.empty()) {
    return Status::InvalidArgument(
        "sessions: give either an id pattern (--id-pattern) or a time window (--window)");
  }
  if (by_time && !(std::isfinite(o.window_seconds) && o.step_seconds >= 0 &&
                   o.step_seconds <= o.window_seconds)) {
    return Status::InvalidArgument("sessions: --step must be in [0, --window] (0: the window)");
  }
  const double step = o.step_seconds > 0 ? o.step_seconds : o.window_seconds;
  std::regex re;
  if (!by_time) {
    try {
      re =
          std::regex(SessionIdPattern(o.id_pattern), std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      return Status::InvalidArgument("sessions: bad --id-pattern '" + o.id_pattern +
                                     "': " + e.what());
    }
  }
  VIGIL_ASSIGN_OR_RETURN(std::string text, ReadFile(o.input));

  SessionizeResult result;
  std::unordered_map<std::string, size_t> by_id;  // id -> index in result.sessions
  std::map<int64_t, LogSession> windows;          // window number -> session
  int key_field = -1, text_field = -1, line_field = -1;
  std::vector<int> time_fields;
  bool header = true;
  std::string time_text;
  auto field_error = [&](size_t line, const std::string& what) {
    return Status::InvalidArgument(o.input + ":" + std::to_string(line) + ": " + what);
  };
  Status s = ParseCsv(text, o.input, CsvOptions{}, [&](size_t line, const auto& f) -> Status {
    if (header) {
      header = false;
      auto find = [&](const std::string& name) {
        for (size_t i = 0; i < f.size(); ++i) {
          if (f[i] == name) return static_cast<int>(i);
        }
        return -1;
      };
      key_field = find(o.key_column);
      text_field = find(o.text_column);
      line_field = find(o.line_column);
      if (key_field < 0) return field_error(line, "no column '" + o.key_column + "'");
      if (!by_time && text_field < 0) return field_error(line, "no column '" + o.text_column + "'");
      if (by_time) {
        for (const auto& name : o.time_columns) {
          time_fields.push_back(find(name));
          if (time_fields.back() < 0) return field_error(line, "no column '" + name + "'");
        }
        if (time_fields.empty()) return field_error(line, "no time column given");
      }
      return Status::Ok();
    }
    ++result.lines;
    auto get = [&](int i) -> std::string_view {
      return i >= 0 && static_cast<size_t>(i) < f.size() ? f[static_cast<size_t>(i)]
                                                         : std::string_view();
    };
    const std::string key(get(key_field));
    const std::string line_id =
        line_field >= 0 ? std::string(get(line_field)) : std::to_string(result.lines);
    if (by_time) {
      time_text.clear();
      for (size_t i = 0; i < time_fields.size(); ++i) {
        if (i > 0) time_text += ' ';
        time_text += get(time_fields[i]);
      }
      double t = 0;
      bool ok = o.time_format.empty() ? ParseNumber(time_text, &t).ok() && std::isfinite(t)
                                      : ParseTime(time_text, o.time_format, &t);
      if (!ok) {
        return field_error(line, "time '" + time_text + "' does not match '" +
                                     (o.time_format.empty() ? "seconds" : o.time_format) + "'");
      }
      // Windows [k * step, k * step + window) that hold t.
      const auto last = static_cast<int64_t>(std::floor(t / step));
      auto first = static_cast<int64_t>(std::floor((t - o.window_seconds) / step)) + 1;
      for (int64_t k = first; k <= last; ++k) {
        LogSession& w = windows[k];
        w.keys.push_back(key);
        w.line_ids.push_back(line_id);
      }
      if (first > last) ++result.lines_in_none;
      return Status::Ok();
    }
    const std::string content(get(text_field));
    std::vector<std::string> ids;
    for (auto it = std::sregex_iterator(content.begin(), content.end(), re);
         it != std::sregex_iterator(); ++it) {
      std::string id = it->size() > 1 && (*it)[1].matched ? (*it)[1].str() : it->str();
      if (!id.empty() && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    }
    if (ids.empty()) ++result.lines_in_none;
    for (const auto& id : ids) {
      auto [pos, added] = by_id.emplace(id, result.sessions.size());
      if (added) result.sessions.push_back(LogSession{id, {}, {}});
      LogSession& session = result.sessions[pos->second];
      session.keys.push_back(key);
      session.line_ids.push_back(line_id);
    }
    return Status::Ok();
  });
  VIGIL_RETURN_IF_ERROR(s);
  if (header) return Status::InvalidArgument(o.input + ": empty file (no header)");
  for (auto& [k, w] : windows) {
    char id[64];
    std::snprintf(id, sizeof id, "%.17g", static_cast<double>(k) * step);
    w.id = id;
    result.sessions.push_back(std::move(w));
  }
  return result;
}

std::string SessionsToCsv(const std::vector<LogSession>& sessions) {
  std::string out = "SessionId,Sequence,LineIds\n";
  for (const auto& s : sessions) {
    out += CsvField(s.id);
    out += ',';
    out += CsvField(Join(s.keys));
    out += ',';
    out += CsvField(Join(s.line_ids));
    out += '\n';
  }
  return out;
}

}  // namespace vigil
