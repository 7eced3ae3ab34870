#include "data/synth.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <random>
#include <utility>
#include <vector>

#include "core/file.h"

namespace vigil {
namespace {

constexpr std::string_view kPorts[4] = {"web", "dns", "ssh", "mail"};
constexpr double kAttackerFraction = 0.3;
constexpr double kSweepStart = 0.5;   // per step of an attacker host: chance a sweep starts
constexpr double kBytesJitter = 0.1;  // within-host spread of log(bytes)
constexpr double kLogScaleLow = 5.5;  // host scales: log(bytes) uniform over [5.5, 8.5]
constexpr double kLogScaleWidth = 3.0;
constexpr int64_t kEpochSeconds = 1700000000;

// Portable random draws: the distributions of <random> differ between standard libraries.
class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  uint64_t Below(uint64_t n) { return gen_() % n; }
  double Uniform() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }
  double Normal() {
    double u = 1.0 - Uniform();  // (0, 1]
    return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * std::numbers::pi * Uniform());
  }
  double Exponential(double mean) { return -mean * std::log(1.0 - Uniform()); }

 private:
  std::mt19937_64 gen_;
};

struct Flow {
  int64_t time_ms;
  size_t host;
  int dport;
  int64_t bytes;
  double duration;
  int64_t pkts;
  bool label;
};

int Next(int dport) { return (dport + 1) % 4; }

bool Increasing(const std::vector<Flow>& f, size_t end) {
  return f[end - 3].bytes < f[end - 2].bytes && f[end - 2].bytes < f[end - 1].bytes &&
         f[end - 1].bytes < f[end].bytes;
}
bool Cycles(const std::vector<Flow>& f, size_t end) {
  return Next(f[end - 3].dport) == f[end - 2].dport && Next(f[end - 2].dport) == f[end - 1].dport &&
         Next(f[end - 1].dport) == f[end].dport;
}

int64_t Bytes(double log_scale, double z) {
  return std::max<int64_t>(40, std::llround(std::exp(log_scale + kBytesJitter * z)));
}

// One host's flows in time order, labelled by CompletesSweep's rule.
std::vector<Flow> HostFlows(size_t host, bool attacker, double log_scale, size_t count, Rng& rng) {
  std::vector<Flow> f;
  f.reserve(count);
  int64_t time_ms = static_cast<int64_t>(rng.Below(600000));
  auto add = [&](int dport, int64_t bytes) {
    time_ms += 1 + static_cast<int64_t>(rng.Exponential(20000));
    double duration = std::exp(-1.0 + 1.2 * rng.Normal());
    int64_t pkts = 1 + static_cast<int64_t>(std::exp(1.5 + 0.8 * rng.Normal()));
    f.push_back({time_ms, host, dport, bytes, duration, pkts, false});
  };
  while (f.size() < count) {
    const size_t left = count - f.size();
    if (attacker && left >= 4 && rng.Uniform() < kSweepStart) {
      const size_t length = std::min<size_t>(left, 4 + rng.Below(5));
      // Never continue the cycle of the previous flow: the sweep's own first 3 flows must not
      // complete a pattern begun before it.
      int start = static_cast<int>(rng.Below(4));
      if (!f.empty()) {
        int banned = Next(f.back().dport);
        start = static_cast<int>(rng.Below(3));
        if (start >= banned) ++start;
      }
      std::vector<double> z(length);
      for (double& v : z) v = rng.Normal();
      std::sort(z.begin(), z.end());
      int64_t previous = 0;
      for (size_t k = 0; k < length; ++k) {
        int64_t b = std::max(Bytes(log_scale, z[k]), previous + 1);
        add((start + static_cast<int>(k)) % 4, b);
        previous = b;
        f.back().label = k >= 3;
      }
    } else {
      add(static_cast<int>(rng.Below(4)), Bytes(log_scale, rng.Normal()));
      const size_t i = f.size() - 1;
      if (i >= 3 && Cycles(f, i) && Increasing(f, i)) {
        // A chance cycle: keep this flow's bytes from exceeding the previous flow's.
        int64_t b = f[i - 1].bytes;
        for (int tries = 0; tries < 64; ++tries) {
          int64_t candidate = Bytes(log_scale, rng.Normal());
          if (candidate <= f[i - 1].bytes) {
            b = candidate;
            break;
          }
        }
        f[i].bytes = b;
      }
    }
  }
  return f;
}

}  // namespace

bool CompletesSweep(const std::array<std::string_view, 4>& dport_class,
                    const std::array<double, 4>& bytes) {
  auto index = [](std::string_view d) {
    for (int i = 0; i < 4; ++i) {
      if (kPorts[i] == d) return i;
    }
    return -1;
  };
  for (int k = 1; k < 4; ++k) {
    int prev = index(dport_class[k - 1]);
    if (prev < 0 || index(dport_class[k]) != Next(prev) || !(bytes[k - 1] < bytes[k])) return false;
  }
  return true;
}

std::string SequenceSchemaToml() {
  return "# Schema of vigil's synthetic sequence data set (WriteSequenceDataset).\n"
         "header = true\n"
         "delimiter = \",\"\n"
         "normal_classes = [\"normal\"]\n"
         "\n"
         "[[columns]]\nname = \"time\"\nrole = \"time\"\n\n"
         "[[columns]]\nname = \"host\"\nrole = \"source\"\n\n"
         "[[columns]]\nname = \"dport_class\"\nrole = \"categorical\"\n\n"
         "[[columns]]\nname = \"bytes\"\nrole = \"numeric\"\n\n"
         "[[columns]]\nname = \"duration\"\nrole = \"numeric\"\n\n"
         "[[columns]]\nname = \"pkts\"\nrole = \"numeric\"\n\n"
         "[[columns]]\nname = \"label\"\nrole = \"label\"\n";
}

Status WriteSequenceDataset(const std::string& csv_path, const std::string& schema_path,
                            const SynthOptions& o) {
  if (o.hosts == 0 || o.flows_per_host < 4) {
    return Status::InvalidArgument("synthetic data set needs at least 1 host and 4 flows per host");
  }
  Rng rng(o.seed);
  std::vector<size_t> order(o.hosts);
  for (size_t i = 0; i < o.hosts; ++i) order[i] = i;
  for (size_t i = o.hosts; i > 1; --i) std::swap(order[i - 1], order[rng.Below(i)]);
  const size_t attackers = static_cast<size_t>(std::llround(kAttackerFraction * o.hosts));
  std::vector<bool> is_attacker(o.hosts, false);
  for (size_t i = 0; i < attackers; ++i) is_attacker[order[i]] = true;
  // Stratified host scales within each group (`order` is already random), so attackers' bytes are
  // not larger or smaller than normal hosts' by the luck of the draw.
  std::vector<double> log_scale(o.hosts);
  for (auto [begin, end] : {std::pair<size_t, size_t>{0, attackers}, {attackers, o.hosts}}) {
    for (size_t i = begin; i < end; ++i) {
      double stratum =
          (static_cast<double>(i - begin) + rng.Uniform()) / static_cast<double>(end - begin);
      log_scale[order[i]] = kLogScaleLow + kLogScaleWidth * stratum;
    }
  }

  std::vector<Flow> all;
  all.reserve(o.hosts * o.flows_per_host);
  for (size_t h = 0; h < o.hosts; ++h) {
    std::vector<Flow> f = HostFlows(h, is_attacker[h], log_scale[h], o.flows_per_host, rng);
    for (size_t i = 0; i < f.size(); ++i) {
      bool rule = i >= 3 && CompletesSweep({kPorts[f[i - 3].dport], kPorts[f[i - 2].dport],
                                            kPorts[f[i - 1].dport], kPorts[f[i].dport]},
                                           {double(f[i - 3].bytes), double(f[i - 2].bytes),
                                            double(f[i - 1].bytes), double(f[i].bytes)});
      if (rule != f[i].label)
        return Status::Internal("synth: label rule broken for host " + std::to_string(h));
    }
    all.insert(all.end(), f.begin(), f.end());
  }
  std::sort(all.begin(), all.end(), [](const Flow& a, const Flow& b) {
    return a.time_ms != b.time_ms ? a.time_ms < b.time_ms : a.host < b.host;
  });

  std::string csv = "time,host,dport_class,bytes,duration,pkts,label\n";
  csv.reserve(all.size() * 56);
  char line[160];
  for (const Flow& r : all) {
    int64_t ms = r.time_ms % 1000;
    int n =
        std::snprintf(line, sizeof(line),
                      "%" PRId64 ".%03" PRId64 ",10.0.%zu.%zu,%s,%" PRId64 ",%.6f,%" PRId64 ",%d\n",
                      kEpochSeconds + r.time_ms / 1000, ms, r.host / 250, r.host % 250 + 1,
                      kPorts[r.dport].data(), r.bytes, r.duration, r.pkts, r.label ? 1 : 0);
    csv.append(line, static_cast<size_t>(n));
  }
  VIGIL_RETURN_IF_ERROR(WriteFileAtomic(csv_path, csv));
  return WriteFileAtomic(schema_path, SequenceSchemaToml());
}

}  // namespace vigil
