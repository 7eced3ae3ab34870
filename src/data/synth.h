// A generated sequence data set whose attacks only show across a host's consecutive flows.
//
// Each row is one flow of one host: time, host, dport_class (web, dns, ssh, mail), bytes, duration,
// pkts and a 0/1 label. About 30% of hosts are attackers. An attacker runs "sweeps": 4 to 8
// consecutive flows whose dport_class steps through the cycle web -> dns -> ssh -> mail -> web ...
// (starting anywhere in it) with strictly increasing bytes. The label is a pure function of a
// host's last 4 flows (CompletesSweep): 1 exactly when they step through the cycle and their bytes
// strictly increase. Normal hosts also hit the cycle by chance; the generator then keeps their
// bytes from increasing, so the rule holds for every row. Per-record marginals are (nearly) the
// same in both classes: dport_class is uniform in each, duration and pkts are independent of
// everything, and bytes differ between hosts far more than within a sweep. So a model that sees one
// record at a time learns almost nothing, while one that reads the host's sequence can be exact.
// The attack rate is about 10-15%.
//
// Rows of all hosts are interleaved in time order (ties by host), times strictly increase per host:
// a reader must group rows by host (role source) and order them by time. Output depends only on the
// options (own Fisher-Yates, Box-Muller and 53-bit uniforms over std::mt19937_64). Thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vigil {

struct SynthOptions {
  size_t hosts = 200;
  size_t flows_per_host = 60;  // at least 4
  uint64_t seed = 1;
};

// Writes the CSV (header time,host,dport_class,bytes,duration,pkts,label) to `csv_path` and its
// TOML schema (SequenceSchemaToml) to `schema_path`, each atomically.
Status WriteSequenceDataset(const std::string& csv_path, const std::string& schema_path,
                            const SynthOptions& o);

// The schema of that CSV for MakeSchema("csv", path): time=time, host=source,
// dport_class=categorical, bytes/duration/pkts numeric, label=label.
std::string SequenceSchemaToml();

// The labelling rule over a host's last 4 flows, oldest first.
bool CompletesSweep(const std::array<std::string_view, 4>& dport_class,
                    const std::array<double, 4>& bytes);

}  // namespace vigil
