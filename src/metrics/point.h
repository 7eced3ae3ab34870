// A metric point as the parsers produce it: a measurement, tags and typed fields at an optional
// time, and the series keys the detectors are indexed by.
//
// Series key: measurement, then the tags sorted by key, then the field, in line-protocol form with
// line-protocol escaping: "cpu,host=a,region=eu usage_idle". Two points of one series always give
// the same key, whatever order their tags came in.
//
// Plain values; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vigil::metrics {

struct FieldValue {
  enum class Type { kFloat, kInteger, kUnsigned, kBoolean, kString };
  Type type = Type::kFloat;
  double number = 0;              // float, integer, unsigned (as double) and boolean (0 or 1)
  int64_t integer = 0;            // kInteger
  uint64_t unsigned_integer = 0;  // kUnsigned
  std::string text;               // kString
  bool numeric() const { return type != Type::kString && type != Type::kBoolean; }
};

struct MetricPoint {
  std::string measurement;
  std::vector<std::pair<std::string, std::string>> tags;  // as written
  std::vector<std::pair<std::string, FieldValue>> fields;
  std::optional<int64_t> time_ns;  // nanoseconds since the epoch; none: the receiver's clock
};

// The key of the series of `point`'s field `field`.
std::string SeriesKey(const MetricPoint& point, const std::string& field);

}  // namespace vigil::metrics
