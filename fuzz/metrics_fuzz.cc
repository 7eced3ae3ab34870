// libFuzzer target: InfluxDB line protocol and Prometheus text parsing, series keys, and the
// detectors fed with whatever values and times the parsers accept. The first byte picks the
// parser and the line-protocol precision; the rest is the payload.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "metrics/line_protocol.h"
#include "metrics/prometheus.h"
#include "metrics/series_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::metrics;  // NOLINT(google-build-using-namespace)
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  LineProtocolBatch batch;
  if (mode & 1) {
    batch = ParsePrometheusText(text);
  } else {
    static const Precision kPrecisions[] = {Precision::kNanoseconds,  Precision::kMicroseconds,
                                            Precision::kMilliseconds, Precision::kSeconds,
                                            Precision::kMinutes,      Precision::kHours};
    batch = ParseLineProtocol(text, kPrecisions[(mode >> 1) % 6]);
  }
  for (const auto& e : batch.errors) {
    if (e.line == 0 || e.ToString().empty()) __builtin_trap();
  }
  DetectorConfig config;
  config.learning_period = 2;
  SeriesTable table(config, 8);
  for (const auto& p : batch.points) {
    if (p.measurement.empty() || p.fields.empty()) __builtin_trap();
    for (const auto& [field, value] : p.fields) {
      const std::string key = SeriesKey(p, field);
      if (key.empty()) __builtin_trap();
      auto s = table.Observe(key, p.time_ns.value_or(0), value.number);
      if (s && !(s->output.score >= 0.0 && s->output.score <= 1.0)) __builtin_trap();
    }
  }
  return 0;
}
