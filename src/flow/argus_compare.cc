#include "flow/argus_compare.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string_view>
#include <utility>

#include "data/csv.h"
#include "flow/meter.h"
#include "flow/unsw_features.h"

namespace vigil {
namespace {

// Field order of ComparableFlow::values; "state" is last and compared as text.
enum Field {
  kDur,
  kSpkts,
  kDpkts,
  kSbytes,
  kDbytes,
  kSttl,
  kDttl,
  kSload,
  kDload,
  kSloss,
  kDloss,
  kSintpkt,
  kDintpkt,
  kSjit,
  kDjit,
  kSwin,
  kDwin,
  kTcprtt,
  kSynack,
  kAckdat,
  kSmeansz,
  kDmeansz,
  kNumeric
};

enum class Tolerance { kExact, kSeconds, kRelative, kMilliseconds, kMean };

struct FieldSpec {
  const char* name;
  Tolerance tolerance;
};

constexpr FieldSpec kSpecs[kNumeric] = {
    {"dur", Tolerance::kSeconds},          {"spkts", Tolerance::kExact},
    {"dpkts", Tolerance::kExact},          {"sbytes", Tolerance::kExact},
    {"dbytes", Tolerance::kExact},         {"sttl", Tolerance::kExact},
    {"dttl", Tolerance::kExact},           {"sload", Tolerance::kRelative},
    {"dload", Tolerance::kRelative},       {"sloss", Tolerance::kExact},
    {"dloss", Tolerance::kExact},          {"sintpkt", Tolerance::kMilliseconds},
    {"dintpkt", Tolerance::kMilliseconds}, {"sjit", Tolerance::kMilliseconds},
    {"djit", Tolerance::kMilliseconds},    {"swin", Tolerance::kExact},
    {"dwin", Tolerance::kExact},           {"tcprtt", Tolerance::kSeconds},
    {"synack", Tolerance::kSeconds},       {"ackdat", Tolerance::kSeconds},
    {"smeansz", Tolerance::kMean},         {"dmeansz", Tolerance::kMean},
};

// Source/destination pairs swapped when the two tools chose different sources.
constexpr std::pair<Field, Field> kPairs[] = {
    {kSpkts, kDpkts}, {kSbytes, kDbytes}, {kSttl, kDttl},
    {kSload, kDload}, {kSloss, kDloss},   {kSintpkt, kDintpkt},
    {kSjit, kDjit},   {kSwin, kDwin},     {kSmeansz, kDmeansz},
};

const char* ToleranceText(Tolerance t) {
  switch (t) {
    case Tolerance::kExact:
      return "exact";
    case Tolerance::kSeconds:
      return "+-2 us";
    case Tolerance::kRelative:
      return "rel 1e-3";
    case Tolerance::kMilliseconds:
      return "+-0.002 ms or rel 1e-3";
    case Tolerance::kMean:
      return "+-0.01";
  }
  return "";
}

bool Agrees(Tolerance t, double a, double b) {
  const double diff = std::fabs(a - b);
  const double scale = std::max(std::fabs(a), std::fabs(b));
  switch (t) {
    case Tolerance::kExact:
      return diff < 0.5;
    case Tolerance::kSeconds:
      return diff <= 2e-6 + 1e-9 * scale;
    case Tolerance::kRelative:
      return diff <= 1e-3 * scale || diff <= 1.0;
    case Tolerance::kMilliseconds:
      return diff <= 2e-3 || diff <= 1e-3 * scale;
    case Tolerance::kMean:
      return diff <= 0.01;
  }
  return false;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// ra's field names for ComparedFields plus the flow identity.
constexpr const char* kRaFields =
    "stime saddr sport daddr dport proto state dur spkts dpkts sbytes dbytes sttl dttl sload "
    "dload sloss dloss sintpkt dintpkt sjit djit swin dwin tcprtt synack ackdat smeansz dmeansz";

std::string NormalizeProto(std::string_view p) {
  // Argus names some UDP flows by the application it recognises.
  if (p == "rtp" || p == "rtcp" || p == "udt") return "udp";
  return std::string(p);
}

double Number(std::string_view s) {
  double v = 0;
  if (s.empty()) return 0;
  if (!ParseNumber(s, &v).ok()) return 0;
  return v;
}

Status ParseRaOutput(const std::string& text, std::vector<ComparableFlow>* out) {
  return ParseCsv(text, "ra output", {}, [&](size_t line, const std::vector<std::string_view>& f) {
    if (line == 1) return Status::Ok();  // header
    if (f.size() != 7 + kNumeric) {
      return Status::Internal("ra output line " + std::to_string(line) + ": expected " +
                              std::to_string(7 + kNumeric) + " fields, found " +
                              std::to_string(f.size()));
    }
    if (f[5] == "man") return Status::Ok();  // Argus's own management records
    ComparableFlow c;
    c.stime = Number(f[0]);
    c.saddr = std::string(f[1]);
    c.daddr = std::string(f[3]);
    c.proto = NormalizeProto(f[5]);
    bool icmp = c.proto == "icmp" || c.proto == "ipv6-icmp";
    if (!icmp) {
      c.sport = static_cast<uint32_t>(Number(f[2]));
      c.dport = static_cast<uint32_t>(Number(f[4]));
    }
    c.state = std::string(f[6]);
    c.values.resize(kNumeric);
    for (int i = 0; i < kNumeric; ++i) c.values[i] = Number(f[7 + i]);
    out->push_back(std::move(c));
    return Status::Ok();
  });
}

Result<std::string> RunAndRead(const std::string& command) {
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return Status::IOError("cannot run: " + command);
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) text.append(buf, n);
  int rc = pclose(p);
  if (rc != 0) {
    return Status::IOError("'" + command + "' failed (exit status " +
                           std::to_string(WIFEXITED(rc) ? WEXITSTATUS(rc) : rc) + ")");
  }
  return text;
}

std::string EndpointKey(const std::string& proto, const std::string& saddr, uint32_t sport,
                        const std::string& daddr, uint32_t dport) {
  std::string a = saddr + "#" + std::to_string(sport);
  std::string b = daddr + "#" + std::to_string(dport);
  if (b < a) std::swap(a, b);
  return proto + "|" + a + "|" + b;
}

std::string FormatValue(double v) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

}  // namespace

const std::vector<std::string>& ComparedFields() {
  static const std::vector<std::string> fields = [] {
    std::vector<std::string> f;
    for (const FieldSpec& s : kSpecs) f.emplace_back(s.name);
    f.emplace_back("state");
    return f;
  }();
  return fields;
}

ComparableFlow ToComparable(const FlowRecord& r) {
  ComparableFlow c;
  c.proto = ProtoName(r.network, r.proto);
  c.saddr = AddressToString(r.network, r.src);
  c.daddr = AddressToString(r.network, r.dst);
  const bool icmp = c.proto == "icmp" || c.proto == "ipv6-icmp";
  c.sport = icmp ? 0 : r.sport;
  c.dport = icmp ? 0 : r.dport;
  c.stime = static_cast<double>(r.start_us) * 1e-6;
  c.state = r.State();
  c.values.assign(kNumeric, 0.0);
  auto& v = c.values;
  const double dur = r.DurationSeconds();
  v[kDur] = dur;
  v[kSpkts] = static_cast<double>(r.s.pkts);
  v[kDpkts] = static_cast<double>(r.d.pkts);
  v[kSbytes] = static_cast<double>(r.s.bytes);
  v[kDbytes] = static_cast<double>(r.d.bytes);
  v[kSttl] = r.s.pkts ? r.s.ttl : 0;
  v[kDttl] = r.d.pkts ? r.d.ttl : 0;
  // Argus computes the loads of a turned-around flow on its internal (first packet's) sides.
  v[kSload] = LoadBitsPerSecond(r.reversed ? r.d : r.s, dur);
  v[kDload] = LoadBitsPerSecond(r.reversed ? r.s : r.d, dur);
  v[kSloss] = r.s.retransmits;
  v[kDloss] = r.d.retransmits;
  v[kSintpkt] = r.s.Intervals() ? r.s.interval_mean_ms : 0;
  v[kDintpkt] = r.d.Intervals() ? r.d.interval_mean_ms : 0;
  v[kSjit] = JitterMs(r.s);
  v[kDjit] = JitterMs(r.d);
  if (r.IsTcp()) {
    // Argus's window fields hold no window for some flows, which are not compared: a
    // single-packet TCP record has none (its first record type lacks the field; ra prints 0 or an
    // unrelated number), nor a side that sent only RST/FIN/zero-window segments, and a flow whose
    // source sent nothing prints none at all.
    const bool none = r.s.pkts + r.d.pkts == 1 || r.s.pkts == 0;
    v[kSwin] = none || !r.s.window_set ? std::nan("") : static_cast<double>(r.s.ScaledWindow());
    v[kDwin] = none || !r.d.window_set ? std::nan("") : static_cast<double>(r.d.ScaledWindow());
  }
  if (r.IsTcp()) {
    v[kSynack] = r.SynAckSeconds();
    v[kAckdat] = r.AckDatSeconds();
    v[kTcprtt] = v[kSynack] + v[kAckdat];
  }
  v[kSmeansz] = r.s.pkts ? static_cast<double>(r.s.bytes) / r.s.pkts : 0;
  v[kDmeansz] = r.d.pkts ? static_cast<double>(r.d.bytes) / r.d.pkts : 0;
  return c;
}

bool ArgusAvailable() {
  return std::system("command -v argus >/dev/null 2>&1 && command -v ra >/dev/null 2>&1") == 0;
}

Result<std::vector<ComparableFlow>> RunArgus(const std::string& pcap_path, int active_timeout_s) {
  if (!ArgusAvailable()) {
    return Status::NotFound("argus and ra not found on PATH (Debian: argus-server argus-client)");
  }
  if (access(pcap_path.c_str(), R_OK) != 0) return Status::NotFound(pcap_path + ": cannot read");
  char dir_template[] = "/tmp/vigil-argus-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) return Status::IOError("cannot create a temporary dir");
  const std::string dir = dir_template;
  const std::string out = dir + "/flows.argus";
  const std::string argus = "argus -r " + ShellQuote(pcap_path) + " -w " + ShellQuote(out) +
                            " -S " + std::to_string(active_timeout_s) + " -J 2>&1";
  auto ran = RunAndRead(argus);
  Result<std::string> text = Status::Internal("not run");
  if (ran.ok()) {
    text = RunAndRead("ra -r " + ShellQuote(out) + " -n -u -p 6 -c , -s " + kRaFields +
                      " 2>/dev/null");
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!ran.ok()) return ran.status();
  if (!text.ok()) return text.status();
  std::vector<ComparableFlow> flows;
  VIGIL_RETURN_IF_ERROR(ParseRaOutput(*text, &flows));
  return flows;
}

Result<std::vector<ComparableFlow>> RunVigilForComparison(const std::string& pcap_path,
                                                          const FlowTableOptions& options) {
  VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<PcapSource> source, PcapSource::OpenFile(pcap_path));
  std::vector<ComparableFlow> flows;
  FlowMeter meter(
      options, [&](const FlowRecord& r, const UnswFeatures&) { flows.push_back(ToComparable(r)); });
  VIGIL_RETURN_IF_ERROR(RunCapture(source.get(), &meter, nullptr));
  return flows;
}

const FieldAgreement* ComparisonReport::Field(const std::string& name) const {
  for (const FieldAgreement& f : fields) {
    if (f.field == name) return &f;
  }
  return nullptr;
}

ComparisonReport CompareFlows(const std::vector<ComparableFlow>& argus,
                              const std::vector<ComparableFlow>& vigil) {
  ComparisonReport report;
  report.argus_flows = argus.size();
  report.vigil_flows = vigil.size();
  for (const FieldSpec& s : kSpecs) {
    FieldAgreement f;
    f.field = s.name;
    f.tolerance = ToleranceText(s.tolerance);
    report.fields.push_back(f);
  }
  FieldAgreement state;
  state.field = "state";
  state.tolerance = "exact";
  report.fields.push_back(state);

  // vigil flows by endpoint pair, each list in start-time order.
  std::map<std::string, std::vector<size_t>> by_key;
  for (size_t i = 0; i < vigil.size(); ++i) {
    const ComparableFlow& v = vigil[i];
    by_key[EndpointKey(v.proto, v.saddr, v.sport, v.daddr, v.dport)].push_back(i);
  }
  for (auto& [key, list] : by_key) {
    std::sort(list.begin(), list.end(),
              [&](size_t a, size_t b) { return vigil[a].stime < vigil[b].stime; });
  }
  std::vector<bool> used(vigil.size(), false);
  constexpr double kMaxStartGap = 2.0;  // seconds between the two tools' start times
  for (const ComparableFlow& a : argus) {
    auto it = by_key.find(EndpointKey(a.proto, a.saddr, a.sport, a.daddr, a.dport));
    if (it == by_key.end()) continue;
    // Nearest start time; ties (same microsecond) go to the flow with the closest counts.
    size_t best = SIZE_MAX;
    double best_gap = kMaxStartGap, best_diff = 0;
    for (size_t i : it->second) {
      if (used[i]) continue;
      double gap = std::fabs(vigil[i].stime - a.stime);
      double diff = std::fabs(vigil[i].values[kSbytes] - a.values[kSbytes]) +
                    std::fabs(vigil[i].values[kDbytes] - a.values[kDbytes]);
      if (gap < best_gap || (gap == best_gap && best != SIZE_MAX && diff < best_diff)) {
        best = i;
        best_gap = gap;
        best_diff = diff;
      }
    }
    if (best == SIZE_MAX) continue;
    used[best] = true;
    ++report.matched;
    ComparableFlow v = vigil[best];
    const bool same = v.saddr == a.saddr && v.sport == a.sport;
    if (same) {
      ++report.same_direction;
    } else {
      for (auto [s, d] : kPairs) std::swap(v.values[s], v.values[d]);
    }
    const std::string where = a.proto + " " + a.saddr + ":" + std::to_string(a.sport) + " > " +
                              a.daddr + ":" + std::to_string(a.dport) + " at " +
                              FormatValue(a.stime);
    for (int i = 0; i < kNumeric; ++i) {
      // Not comparable for this flow (see ToComparable), or Argus printed nan.
      if (std::isnan(v.values[i]) || std::isnan(a.values[i])) continue;
      FieldAgreement& fa = report.fields[i];
      ++fa.compared;
      if (Agrees(kSpecs[i].tolerance, a.values[i], v.values[i])) {
        ++fa.agreed;
      } else if (fa.example.empty()) {
        fa.example = "argus " + FormatValue(a.values[i]) + " vs vigil " + FormatValue(v.values[i]) +
                     " (" + where + ")";
      }
    }
    FieldAgreement& st = report.fields.back();
    ++st.compared;
    if (a.state == v.state) {
      ++st.agreed;
    } else if (st.example.empty()) {
      st.example = "argus " + a.state + " vs vigil " + v.state + " (" + where + ")";
    }
  }
  return report;
}

std::string ComparisonReport::ToText() const {
  std::string s;
  char line[512];
  std::snprintf(line, sizeof(line),
                "%s: argus %llu flows, vigil %llu flows, matched %llu (%.1f%%), same source "
                "%llu\n",
                capture.c_str(), static_cast<unsigned long long>(argus_flows),
                static_cast<unsigned long long>(vigil_flows),
                static_cast<unsigned long long>(matched), 100.0 * MatchRate(),
                static_cast<unsigned long long>(same_direction));
  s += line;
  for (const FieldAgreement& f : fields) {
    std::snprintf(line, sizeof(line), "  %-8s %7.2f%%  %llu/%llu  (%s)%s%s\n", f.field.c_str(),
                  100.0 * f.Rate(), static_cast<unsigned long long>(f.agreed),
                  static_cast<unsigned long long>(f.compared), f.tolerance.c_str(),
                  f.example.empty() ? "" : "  e.g. ", f.example.c_str());
    s += line;
  }
  return s;
}

FlowTableOptions ArgusEquivalentOptions() {
  FlowTableOptions o;  // the defaults are Argus's timeouts
  o.active_timeout_us = 60'000'000;
  return o;
}

Result<ComparisonReport> CompareCaptureWithArgus(const std::string& pcap_path) {
  VIGIL_ASSIGN_OR_RETURN(std::vector<ComparableFlow> argus, RunArgus(pcap_path, 60));
  VIGIL_ASSIGN_OR_RETURN(std::vector<ComparableFlow> vigil,
                         RunVigilForComparison(pcap_path, ArgusEquivalentOptions()));
  ComparisonReport report = CompareFlows(argus, vigil);
  report.capture = pcap_path;
  return report;
}

}  // namespace vigil
