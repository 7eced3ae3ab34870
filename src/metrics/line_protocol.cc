#include "metrics/line_protocol.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace vigil::metrics {
namespace {

class LineParser {
 public:
  LineParser(std::string_view line, Precision precision, size_t line_number)
      : s_(line), precision_(precision), line_(line_number) {}

  Result<MetricPoint> Parse() {
    MetricPoint p;
    VIGIL_ASSIGN_OR_RETURN(p.measurement, Token(",  ", false, "measurement"));
    if (p.measurement.empty()) return Error("missing measurement");
    while (Peek() == ',') {
      ++pos_;
      VIGIL_ASSIGN_OR_RETURN(std::string key, Token("=, ", true, "tag key"));
      if (key.empty()) return Error("empty tag key");
      if (Peek() != '=') return Error("tag '" + key + "' has no '='");
      ++pos_;
      VIGIL_ASSIGN_OR_RETURN(std::string value, Token(", ", true, "tag value"));
      if (value.empty()) return Error("tag '" + key + "' has an empty value");
      p.tags.emplace_back(std::move(key), std::move(value));
    }
    if (Peek() != ' ') return Error(AtEnd() ? "missing fields" : "expected a space after the tags");
    SkipSpaces();
    if (AtEnd()) return Error("missing fields");
    while (true) {
      VIGIL_ASSIGN_OR_RETURN(std::string key, Token("=, ", true, "field key"));
      if (key.empty()) return Error("empty field key");
      if (Peek() != '=') return Error("field '" + key + "' has no '='");
      ++pos_;
      VIGIL_ASSIGN_OR_RETURN(FieldValue value, Value(key));
      p.fields.emplace_back(std::move(key), std::move(value));
      if (Peek() != ',') break;
      ++pos_;
    }
    if (!AtEnd() && Peek() != ' ') return Error("expected ',' or a space after a field");
    SkipSpaces();
    if (!AtEnd()) {
      const size_t start = pos_;
      while (!AtEnd() && Peek() != ' ') ++pos_;
      VIGIL_ASSIGN_OR_RETURN(int64_t ns, Timestamp(s_.substr(start, pos_ - start), start));
      p.time_ns = ns;
      SkipSpaces();
      if (!AtEnd()) return Error("unexpected text after the timestamp");
    }
    return p;
  }

 private:
  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek() const { return AtEnd() ? '\0' : s_[pos_]; }
  void SkipSpaces() {
    while (Peek() == ' ') ++pos_;
  }
  Status Error(const std::string& message, size_t at = std::string::npos) const {
    return Status::InvalidArgument(
        LineError{line_, (at == std::string::npos ? pos_ : at) + 1, message}.ToString());
  }

  // Reads up to an unescaped character of `stops`; a backslash escapes any stop (and '=' in
  // keys). Other backslashes are kept as written.
  Result<std::string> Token(std::string_view stops, bool equals_escapable, const char* what) {
    std::string out;
    while (!AtEnd()) {
      const char c = s_[pos_];
      if (c == '\\' && pos_ + 1 < s_.size()) {
        const char n = s_[pos_ + 1];
        if (n == ',' || n == ' ' || n == '\\' || (equals_escapable && n == '=')) {
          out.push_back(n);
          pos_ += 2;
          continue;
        }
      }
      if (stops.find(c) != std::string_view::npos) break;
      if (c == '\n' || c == '\r') return Error(std::string("control character in ") + what);
      out.push_back(c);
      ++pos_;
    }
    return out;
  }

  Result<FieldValue> Value(const std::string& key) {
    FieldValue v;
    const size_t start = pos_;
    if (Peek() == '"') {
      ++pos_;
      v.type = FieldValue::Type::kString;
      while (true) {
        if (AtEnd()) return Error("field '" + key + "': unterminated string", start);
        char c = s_[pos_++];
        if (c == '"') break;
        if (c == '\\' && !AtEnd() && (Peek() == '"' || Peek() == '\\')) c = s_[pos_++];
        v.text.push_back(c);
      }
      return v;
    }
    while (!AtEnd() && Peek() != ',' && Peek() != ' ') ++pos_;
    const std::string_view t = s_.substr(start, pos_ - start);
    if (t.empty()) return Error("field '" + key + "' has no value", start);
    auto bad = [&](const std::string& why) {
      return Error("field '" + key + "': '" + std::string(t) + "' " + why, start);
    };
    if (t == "t" || t == "T" || t == "true" || t == "True" || t == "TRUE") {
      v.type = FieldValue::Type::kBoolean;
      v.number = 1;
      return v;
    }
    if (t == "f" || t == "F" || t == "false" || t == "False" || t == "FALSE") {
      v.type = FieldValue::Type::kBoolean;
      return v;
    }
    const char* b = t.data();
    const char* e = t.data() + t.size();
    if (t.back() == 'i') {
      v.type = FieldValue::Type::kInteger;
      auto [p, ec] = std::from_chars(b, e - 1, v.integer);
      if (ec != std::errc() || p != e - 1) return bad("is not an integer (nnni)");
      v.number = static_cast<double>(v.integer);
      return v;
    }
    if (t.back() == 'u') {
      v.type = FieldValue::Type::kUnsigned;
      auto [p, ec] = std::from_chars(b, e - 1, v.unsigned_integer);
      if (ec != std::errc() || p != e - 1) return bad("is not an unsigned integer (nnnu)");
      v.number = static_cast<double>(v.unsigned_integer);
      return v;
    }
    const char first = t.front() == '-' && t.size() > 1 ? t[1] : t.front();
    if (!((first >= '0' && first <= '9') || first == '.')) {
      return bad("is not a number, boolean or quoted string");
    }
    auto [p, ec] = std::from_chars(b, e, v.number);
    if (ec != std::errc() || p != e || !std::isfinite(v.number)) return bad("is not a number");
    return v;
  }

  Result<int64_t> Timestamp(std::string_view t, size_t at) const {
    int64_t value = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
    if (ec != std::errc() || p != t.data() + t.size()) {
      return Error("timestamp '" + std::string(t) + "' is not an integer", at);
    }
    int64_t scale = 1;
    switch (precision_) {
      case Precision::kNanoseconds:
        scale = 1;
        break;
      case Precision::kMicroseconds:
        scale = 1000;
        break;
      case Precision::kMilliseconds:
        scale = 1000000;
        break;
      case Precision::kSeconds:
        scale = 1000000000;
        break;
      case Precision::kMinutes:
        scale = 60LL * 1000000000;
        break;
      case Precision::kHours:
        scale = 3600LL * 1000000000;
        break;
    }
    int64_t ns = 0;
    if (__builtin_mul_overflow(value, scale, &ns)) {
      return Error("timestamp '" + std::string(t) + "' is out of range", at);
    }
    return ns;
  }

  std::string_view s_;
  Precision precision_;
  size_t line_;
  size_t pos_ = 0;
};

}  // namespace

std::string LineError::ToString() const {
  return "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + message;
}

Result<Precision> ParsePrecision(std::string_view t) {
  if (t.empty() || t == "n" || t == "ns") return Precision::kNanoseconds;
  if (t == "u" || t == "us" || t == "µ") return Precision::kMicroseconds;
  if (t == "ms") return Precision::kMilliseconds;
  if (t == "s") return Precision::kSeconds;
  if (t == "m") return Precision::kMinutes;
  if (t == "h") return Precision::kHours;
  return Status::InvalidArgument("precision '" + std::string(t) +
                                 "' is not one of n, u, ms, s, m, h");
}

Result<MetricPoint> ParseLine(std::string_view line, Precision precision, size_t line_number) {
  return LineParser(line, precision, line_number).Parse();
}

LineProtocolBatch ParseLineProtocol(std::string_view text, Precision precision) {
  LineProtocolBatch batch;
  size_t pos = 0, line_number = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    auto point = ParseLine(line, precision, line_number);
    if (point.ok()) {
      batch.points.push_back(std::move(*point));
    } else {
      // The message already reads "line L, column C: ..."; keep the parts for callers.
      const std::string& m = point.status().message();
      LineError e{line_number, 0, m};
      const size_t c = m.find(", column ");
      const size_t colon = m.find(": ");
      if (c != std::string::npos && colon != std::string::npos && colon > c) {
        e.column = std::strtoul(m.c_str() + c + 9, nullptr, 10);
        e.message = m.substr(colon + 2);
      }
      batch.errors.push_back(std::move(e));
    }
  }
  return batch;
}

std::string EscapeMeasurement(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == ',' || c == ' ') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string EscapeKey(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == ',' || c == ' ' || c == '=') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string SeriesKey(const MetricPoint& point, const std::string& field) {
  std::vector<std::pair<std::string, std::string>> tags = point.tags;
  std::sort(tags.begin(), tags.end());
  std::string key = EscapeMeasurement(point.measurement);
  for (const auto& [k, v] : tags) key += "," + EscapeKey(k) + "=" + EscapeKey(v);
  key += " " + EscapeKey(field);
  return key;
}

}  // namespace vigil::metrics
