// The Prometheus text exposition format (version 0.0.4), as a scrape returns it:
//   # HELP name text / # TYPE name kind / other comments (skipped)
//   name{label="value",...} value [timestamp_ms]
// Label values escape \\, \" and \n. Values are floats, NaN, +Inf or -Inf. Each sample becomes a
// MetricPoint with the metric name as its measurement, the labels as tags and one field, "value".
//
// A malformed line costs only itself: the batch holds every good sample and one error per bad
// line ("line 4, column 9: ..."). Stateless and thread-safe.
#pragma once

#include <string_view>

#include "metrics/line_protocol.h"

namespace vigil::metrics {

// Same shape as a line-protocol batch.
LineProtocolBatch ParsePrometheusText(std::string_view text);

}  // namespace vigil::metrics
