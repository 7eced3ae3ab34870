// InfluxDB 1.x line protocol, as Telegraf's outputs.influxdb writes it:
//   measurement[,tag=value...] field=value[,field=value...] [timestamp]
// Escapes: a backslash escapes ',' and ' ' in measurements, ',', '=' and ' ' in tag keys, tag
// values and field keys; string field values are double-quoted with \" and \\ inside. Field values:
// float (1, 1.5, -2e3), integer (12i), unsigned (12u), boolean (t, T, true, True, TRUE, f, ...),
// string ("..."). The timestamp is an integer in the batch's precision (n, u, ms, s, m, h).
// Empty lines and lines starting with '#' are skipped.
//
// A malformed line never affects the others: ParseLineProtocol returns every good point and one
// error per bad line, "line 3, column 17: ...". Stateless and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "metrics/point.h"

namespace vigil::metrics {

enum class Precision { kNanoseconds, kMicroseconds, kMilliseconds, kSeconds, kMinutes, kHours };

// "n"/"ns", "u"/"us", "ms", "s", "m", "h" ("" is nanoseconds, as InfluxDB 1.x).
Result<Precision> ParsePrecision(std::string_view text);

struct LineError {
  size_t line = 0;    // 1-based
  size_t column = 0;  // 1-based byte column
  std::string message;
  std::string ToString() const;  // "line L, column C: message"
};

struct LineProtocolBatch {
  std::vector<MetricPoint> points;
  std::vector<LineError> errors;
};

// Parses one line (no newline); `line_number` is only used in the error.
Result<MetricPoint> ParseLine(std::string_view line, Precision precision, size_t line_number);
LineProtocolBatch ParseLineProtocol(std::string_view text, Precision precision);

// Escapes a measurement, tag or field key the way line protocol needs.
std::string EscapeMeasurement(std::string_view s);
std::string EscapeKey(std::string_view s);

}  // namespace vigil::metrics
