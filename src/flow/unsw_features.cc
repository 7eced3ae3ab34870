#include "flow/unsw_features.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <utility>

namespace vigil {
namespace {

uint64_t Mix(uint64_t h, uint64_t x) {
  h ^= x + 0x9E3779B97F4A7C15ull;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 31;
  h *= 0x94D049BB133111EBull;
  h ^= h >> 29;
  return h;
}

uint64_t AddressHash(Network n, const std::array<uint8_t, 16>& a) {
  uint64_t lo, hi;
  std::memcpy(&lo, a.data(), 8);
  std::memcpy(&hi, a.data() + 8, 8);
  return Mix(Mix(static_cast<uint64_t>(n) + 1, lo), hi);
}

// The data set's swin/dwin are 0 or 255 for nearly every flow: the advertised window, saturated
// at 255 (see docs/flow-features.md).
uint32_t UnswWindow(const DirectionStats& d) {
  if (!d.window_set) return 0;
  return std::min<uint32_t>(d.window, 255);
}

bool In(uint32_t v, std::initializer_list<uint32_t> set) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

}  // namespace

double LoadBitsPerSecond(const DirectionStats& d, double dur) {
  if (dur <= 0 || d.pkts == 0) return 0;
  const uint64_t counted = d.bytes - d.bytes / d.pkts;  // integer division, as Argus
  return static_cast<double>(counted) * 8.0 / dur;
}

double JitterMs(const DirectionStats& d) {
  const uint64_t n = d.Intervals();
  if (n == 0) return 0;
  const double var = d.interval_m2 / static_cast<double>(n);
  return var > 0 ? std::sqrt(var) : 0;
}

uint32_t CtStateTtl(const char* state, uint32_t sttl, uint32_t dttl) {
  std::string_view st(state);
  // The majority value of each (state, sttl, dttl) combination in the published data.
  if (st == "FIN" && In(sttl, {62, 254, 255}) && In(dttl, {252, 253})) return 1;
  if (st == "INT" && In(sttl, {0, 62, 254}) && dttl == 0) return 2;
  if (st == "CON" && sttl == 62 && In(dttl, {252, 253})) return 3;
  if (st == "CON" && sttl == 254 && dttl == 60) return 3;
  if (st == "CON" && sttl == 254 && dttl == 252) return 4;
  if (st == "ACC" && sttl == 254 && dttl == 252) return 4;
  if (st == "CLO" && sttl == 254 && dttl == 252) return 5;
  if (st == "REQ" && sttl == 254 && dttl == 0) return 6;
  return 0;
}

void ComputeFlowColumns(const FlowRecord& r, UnswFeatures* f) {
  const double dur = r.DurationSeconds();
  f->dur = dur;
  f->proto = ProtoName(r.network, r.proto);
  const Service service = r.FlowService();
  f->service = ServiceName(service);
  const char* state = r.State();
  const size_t n = std::min(std::strlen(state), sizeof(f->state) - 1);
  std::memcpy(f->state, state, n);
  f->state[n] = '\0';
  f->spkts = r.s.pkts;
  f->dpkts = r.d.pkts;
  f->sbytes = r.s.bytes;
  f->dbytes = r.d.bytes;
  const uint64_t pkts = r.s.pkts + r.d.pkts;
  f->rate = dur > 0 && pkts > 0 ? static_cast<double>(pkts - 1) / dur : 0;
  f->sttl = r.s.pkts > 0 ? r.s.ttl : 0;
  f->dttl = r.d.pkts > 0 ? r.d.ttl : 0;
  f->sload = LoadBitsPerSecond(r.s, dur);
  f->dload = LoadBitsPerSecond(r.d, dur);
  f->sloss = r.s.retransmits;
  f->dloss = r.d.retransmits;
  f->sinpkt = r.s.Intervals() > 0 ? r.s.interval_mean_ms : 0;
  f->dinpkt = r.d.Intervals() > 0 ? r.d.interval_mean_ms : 0;
  f->sjit = JitterMs(r.s);
  f->djit = JitterMs(r.d);
  const bool tcp = r.IsTcp();
  f->swin = tcp ? UnswWindow(r.s) : 0;
  f->dwin = tcp ? UnswWindow(r.d) : 0;
  f->stcpb = tcp && r.s.seq_set ? r.s.base_seq : 0;
  f->dtcpb = tcp && r.d.seq_set ? r.d.base_seq : 0;
  f->synack = tcp ? r.SynAckSeconds() : 0;
  f->ackdat = tcp ? r.AckDatSeconds() : 0;
  f->tcprtt = f->synack + f->ackdat;
  f->smean = r.s.pkts > 0 ? r.s.bytes / r.s.pkts : 0;
  f->dmean = r.d.pkts > 0 ? r.d.bytes / r.d.pkts : 0;
  const bool http = service == Service::kHttp;
  f->trans_depth = http ? r.app.http_requests : 0;
  f->response_body_len = http ? r.app.response_body_len : 0;
  f->ct_flw_http_mthd = http ? r.app.http_methods : 0;
  const bool ftp = service == Service::kFtp;
  f->is_ftp_login = ftp && r.app.ftp_user > 0 && r.app.ftp_pass > 0 ? 1 : 0;
  f->ct_ftp_cmd = ftp ? r.app.ftp_pass : 0;
  f->ct_state_ttl = CtStateTtl(f->state, f->sttl, f->dttl);
  f->is_sm_ips_ports = r.src == r.dst && r.sport == r.dport ? 1 : 0;
  f->srcip = AddressToString(r.network, r.src);
  f->dstip = AddressToString(r.network, r.dst);
  f->sport = r.sport;
  f->dsport = r.dport;
  f->stime = static_cast<double>(r.start_us) * 1e-6;
  f->ltime = static_cast<double>(r.last_us) * 1e-6;
}

void ConnectionWindow::Add(const FlowRecord& r, UnswFeatures* f) {
  const uint64_t src = AddressHash(r.network, r.src);
  const uint64_t dst = AddressHash(r.network, r.dst);
  const uint64_t service = static_cast<uint64_t>(r.FlowService()) + 1;
  // 32-bit hashes: a false match needs a collision within 99 connections (~2e-8), and 32-bit
  // compares vectorise on any x86-64.
  uint32_t key[kKeys];
  key[kSrvSrc] = static_cast<uint32_t>(Mix(service, src));
  key[kSrvDst] = static_cast<uint32_t>(Mix(service, dst));
  key[kDst] = static_cast<uint32_t>(dst);
  key[kSrc] = static_cast<uint32_t>(src);
  key[kSrcDport] = static_cast<uint32_t>(Mix(src, r.dport));
  key[kDstSport] = static_cast<uint32_t>(Mix(dst, r.sport));
  key[kDstSrc] = static_cast<uint32_t>(Mix(src, dst));
  uint32_t counts[kKeys];
  for (int k = 0; k < kKeys; ++k) {
    uint32_t c = 1;  // the connection itself
    const uint32_t* ring = keys_[k];
    for (int i = 0; i < count_; ++i) c += ring[i] == key[k];
    counts[k] = c;
    keys_[k][next_] = key[k];
  }
  next_ = (next_ + 1) % kPrevious;
  count_ = std::min(count_ + 1, kPrevious);
  f->ct_srv_src = counts[kSrvSrc];
  f->ct_srv_dst = counts[kSrvDst];
  f->ct_dst_ltm = counts[kDst];
  f->ct_src_ltm = counts[kSrc];
  f->ct_src_dport_ltm = counts[kSrcDport];
  f->ct_dst_sport_ltm = counts[kDstSport];
  f->ct_dst_src_ltm = counts[kDstSrc];
}

UnswFeatureBuilder::UnswFeatureBuilder(int64_t reorder_us, Callback callback)
    : reorder_us_(reorder_us), callback_(std::move(callback)) {}

void UnswFeatureBuilder::Emit(const FlowRecord& r) {
  row_.id = next_id_++;
  ComputeFlowColumns(r, &row_);
  window_.Add(r, &row_);
  callback_(r, row_);
}

void UnswFeatureBuilder::Add(const FlowRecord& r) {
  if (reorder_us_ <= 0) {
    Emit(r);
    return;
  }
  // Records wait in a pool; the heap orders small (time, sequence, slot) entries.
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
    pool_[slot] = r;
  } else {
    slot = static_cast<uint32_t>(pool_.size());
    pool_.push_back(r);
  }
  heap_.push(Pending{r.last_us, arrivals_++, slot});
}

void UnswFeatureBuilder::PopAndEmit() {
  const uint32_t slot = heap_.top().slot;
  heap_.pop();
  if (!heap_.empty()) {
    // The record that comes out next has waited a while (a cache miss): fetch it while this
    // one is computed.
    const char* next = reinterpret_cast<const char*>(&pool_[heap_.top().slot]);
    for (size_t off = 0; off < sizeof(FlowRecord); off += 64) __builtin_prefetch(next + off);
    __builtin_prefetch(next + sizeof(FlowRecord) - 1);
  }
  Emit(pool_[slot]);
  free_.push_back(slot);
}

void UnswFeatureBuilder::Release(int64_t now_us) {
  while (!heap_.empty() && heap_.top().last_us < now_us - reorder_us_) PopAndEmit();
}

void UnswFeatureBuilder::Flush() {
  while (!heap_.empty()) PopAndEmit();
}

}  // namespace vigil
