// Checks vigil's flow meter against Argus (QoSient's argus + ra) on the same capture.
//
// RunArgus runs `argus -r FILE -w OUT -S 60 -J` and `ra -r OUT -n -u -c , -s <fields>` in a
// temporary directory and parses the flows. CompareFlows matches each Argus flow to a vigil flow
// with the same protocol and endpoint pair (ports too, except ICMP) and the nearest start time,
// turns vigil's record around where Argus chose the other side as source, and counts per field
// how many matched flows agree within the field's tolerance (ComparedFields lists fields,
// tolerances and the definitional adjustments; docs/flow-features.md explains them).
//
// Errors are values: a missing argus/ra binary is NotFound (ArgusAvailable() checks first), a
// failed run names the command and its exit status. Functions are thread-compatible (no shared
// state besides the temporary files they create and remove).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "flow/flow_record.h"
#include "flow/flow_table.h"

namespace vigil {

// The fields compared, in report order.
const std::vector<std::string>& ComparedFields();

// One flow as Argus or vigil reports it, in Argus's units (seconds, milliseconds for intpkt and
// jitter, bits per second for load).
struct ComparableFlow {
  std::string proto;  // "tcp", "udp", "icmp", ...
  std::string saddr, daddr;
  uint32_t sport = 0, dport = 0;  // 0 for ICMP
  double stime = 0;
  std::string state;
  std::vector<double> values;  // ComparedFields() order, state excluded (compared as text)
};

// The Argus-unit view of a vigil flow record.
ComparableFlow ToComparable(const FlowRecord& r);

bool ArgusAvailable();

// Runs argus and ra on `pcap_path`; `active_timeout_s` is argus's -S status interval.
Result<std::vector<ComparableFlow>> RunArgus(const std::string& pcap_path,
                                             int active_timeout_s = 60);

// Runs vigil's meter on `pcap_path` with `options`.
Result<std::vector<ComparableFlow>> RunVigilForComparison(const std::string& pcap_path,
                                                          const FlowTableOptions& options);

struct FieldAgreement {
  std::string field;
  std::string tolerance;
  uint64_t compared = 0;
  uint64_t agreed = 0;
  std::string example;  // one disagreement, "argus X vs vigil Y (flow ...)"
  double Rate() const { return compared ? static_cast<double>(agreed) / compared : 1.0; }
};

struct ComparisonReport {
  std::string capture;
  uint64_t argus_flows = 0;
  uint64_t vigil_flows = 0;
  uint64_t matched = 0;
  uint64_t same_direction = 0;  // matched flows where both chose the same source
  std::vector<FieldAgreement> fields;
  double MatchRate() const { return argus_flows ? static_cast<double>(matched) / argus_flows : 1; }
  const FieldAgreement* Field(const std::string& name) const;
  std::string ToText() const;
};

ComparisonReport CompareFlows(const std::vector<ComparableFlow>& argus,
                              const std::vector<ComparableFlow>& vigil);

// RunArgus + RunVigilForComparison (with the Argus-equivalent options) + CompareFlows.
Result<ComparisonReport> CompareCaptureWithArgus(const std::string& pcap_path);

// Flow table options equivalent to Argus's defaults with -S 60.
FlowTableOptions ArgusEquivalentOptions();

}  // namespace vigil
