#include "metrics/prometheus.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace vigil::metrics {
namespace {

bool NameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool NameChar(char c) { return NameStart(c) || (c >= '0' && c <= '9'); }

// Parses one sample line; on failure fills `error` (column is 1-based).
bool ParseSample(std::string_view s, MetricPoint* p, size_t* column, std::string* error) {
  size_t i = 0;
  auto fail = [&](const std::string& m) {
    *column = i + 1;
    *error = m;
    return false;
  };
  auto skip = [&] {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  };
  skip();
  if (i >= s.size() || !NameStart(s[i])) return fail("expected a metric name");
  const size_t name_start = i;
  while (i < s.size() && NameChar(s[i])) ++i;
  p->measurement = std::string(s.substr(name_start, i - name_start));
  if (i < s.size() && s[i] == '{') {
    ++i;
    while (true) {
      skip();
      if (i < s.size() && s[i] == '}') {
        ++i;
        break;
      }
      if (i >= s.size() || !NameStart(s[i])) return fail("expected a label name or '}'");
      const size_t ls = i;
      while (i < s.size() && NameChar(s[i])) ++i;
      std::string label(s.substr(ls, i - ls));
      skip();
      if (i >= s.size() || s[i] != '=') return fail("label '" + label + "' has no '='");
      ++i;
      skip();
      if (i >= s.size() || s[i] != '"') return fail("label '" + label + "': expected '\"'");
      ++i;
      std::string value;
      while (true) {
        if (i >= s.size()) return fail("label '" + label + "': unterminated value");
        char c = s[i++];
        if (c == '"') break;
        if (c == '\\' && i < s.size()) {
          const char n = s[i++];
          c = n == 'n' ? '\n' : n;
          if (n != 'n' && n != '\\' && n != '"') value.push_back('\\');
        }
        value.push_back(c);
      }
      p->tags.emplace_back(std::move(label), std::move(value));
      skip();
      if (i < s.size() && s[i] == ',') {
        ++i;
        continue;
      }
      if (i < s.size() && s[i] == '}') {
        ++i;
        break;
      }
      return fail("expected ',' or '}' after a label");
    }
  }
  if (i >= s.size() || (s[i] != ' ' && s[i] != '\t')) return fail("expected a space and a value");
  skip();
  const size_t vs = i;
  while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
  std::string_view t = s.substr(vs, i - vs);
  FieldValue v;
  if (t == "NaN") {
    v.number = std::numeric_limits<double>::quiet_NaN();
  } else if (t == "+Inf" || t == "Inf") {
    v.number = std::numeric_limits<double>::infinity();
  } else if (t == "-Inf") {
    v.number = -std::numeric_limits<double>::infinity();
  } else {
    if (!t.empty() && t[0] == '+') t.remove_prefix(1);
    auto [q, ec] = std::from_chars(t.data(), t.data() + t.size(), v.number);
    if (t.empty() || ec != std::errc() || q != t.data() + t.size()) {
      i = vs;
      return fail("value '" + std::string(s.substr(vs, t.size())) + "' is not a number");
    }
  }
  p->fields.emplace_back("value", v);
  skip();
  if (i < s.size()) {
    const size_t ts = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    int64_t ms = 0;
    auto [q, ec] = std::from_chars(s.data() + ts, s.data() + i, ms);
    if (ec != std::errc() || q != s.data() + i) {
      i = ts;
      return fail("timestamp is not an integer (milliseconds)");
    }
    int64_t ns = 0;
    if (__builtin_mul_overflow(ms, int64_t{1000000}, &ns)) {
      i = ts;
      return fail("timestamp is out of range");
    }
    p->time_ns = ns;
    skip();
    if (i < s.size()) return fail("unexpected text after the timestamp");
  }
  return true;
}

}  // namespace

LineProtocolBatch ParsePrometheusText(std::string_view text) {
  LineProtocolBatch batch;
  size_t pos = 0, line_number = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    MetricPoint p;
    size_t column = 0;
    std::string error;
    if (ParseSample(line, &p, &column, &error)) {
      batch.points.push_back(std::move(p));
    } else {
      batch.errors.push_back({line_number, column, error});
    }
  }
  return batch;
}

}  // namespace vigil::metrics
