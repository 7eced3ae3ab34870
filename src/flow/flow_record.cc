#include "flow/flow_record.h"

#include <cstring>
#include <string_view>
#include <utility>

namespace vigil {
namespace {

// Sequence-number comparison modulo 2^32 (RFC 1982).
bool SeqLessOrEqual(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) <= 0; }

// Argus's names for IP protocol numbers (what `ra` prints and UNSW-NB15 uses). Numbers without a
// name here print as "unas"; 61, 63 and 68 ("any ... protocol") as "any".
constexpr const char* kProtoNames[] = {
    "ip",         "icmp",       "igmp",        "ggp",      "ipnip",       "st2",        // 0-5
    "tcp",        "cbt",        "egp",         "igp",      "bbn-rcc",     "nvp",        // 6-11
    "pup",        "argus",      "emcon",       "xnet",     "chaos",       "udp",        // 12-17
    "mux",        "dcn",        "hmp",         "prm",      "xns-idp",     "trunk-1",    // 18-23
    "trunk-2",    "leaf-1",     "leaf-2",      "rdp",      "irtp",        "iso-tp4",    // 24-29
    "netblt",     "mfe-nsp",    "merit-inp",   "sep",      "3pc",         "idpr",       // 30-35
    "xtp",        "ddp",        "idpr-cmtp",   "tp++",     "il",          "ipv6",       // 36-41
    "sdrp",       "ipv6-route", "ipv6-frag",   "idrp",     "rsvp",        "gre",        // 42-47
    "mhrp",       "bna",        "esp",         "ah",       "i-nlsp",      "swipe",      // 48-53
    "narp",       "mobile",     "tlsp",        "skip",     "ipv6-icmp",   "ipv6-no",    // 54-59
    "ipv6-opts",  "any",        "cftp",        "any",      "sat-expak",   "kryptolan",  // 60-65
    "rvd",        "ippc",       "any",         "sat-mon",  "visa",        "ipcv",       // 66-71
    "cpnx",       "cphb",       "wsn",         "pvp",      "br-sat-mon",  "sun-nd",     // 72-77
    "wb-mon",     "wb-expak",   "iso-ip",      "vmtp",     "secure-vmtp", "vines",      // 78-83
    "ttp",        "nsfnet-igp", "dgp",         "tcf",      "eigrp",       "ospf",       // 84-89
    "sprite-rpc", "larp",       "mtp",         "ax.25",    "ipip",        "micp",       // 90-95
    "aes-sp3-d",  "etherip",    "encap",       "pri-enc",  "gmtp",        "ifmp",       // 96-101
    "pnni",       "pim",        "aris",        "scps",     "qnx",         "a/n",        // 102-107
    "ipcomp",     "snp",        "compaq-peer", "ipx-n-ip", "vrrp",        "pgm",        // 108-113
    "zero",       "l2tp",       "ddx",         "iatp",     "stp",         "srp",        // 114-119
    "uti",        "smp",        "sm",          "ptp",      "isis",        "fire",       // 120-125
    "crtp",       "crudp",      "sccopmce",    "iplt",     "sps",         "pipe",       // 126-131
    "sctp",       "fc",         "rsvp",                                                 // 132-134
};

const char* UnreachableName(uint8_t code) {
  static constexpr const char* kNames[] = {"URN",    "URH",   "URO",   "URP",    "URF",    "URS",
                                           "URNU",   "URHU",  "URISO", "URNPRO", "URHPRO", "URNTOS",
                                           "URHTOS", "URFIL", "URPRE", "URCUT"};
  return code < 16 ? kNames[code] : "UR";
}

const char* IcmpStateName(uint8_t type, uint8_t code, bool request, bool reply) {
  switch (type) {
    case 0:
    case 14:
    case 16:
    case 18:
      // A reply without its request: Argus prints PAR for these.
      return request && type == 0 ? "ECR" : "PAR";
    case 8:
      return reply ? "ECR" : "ECO";
    case 3:
      return UnreachableName(code);
    case 4:
      return "SRC";
    case 5:
      return "RED";
    case 9:
      return "RTA";
    case 10:
      return "RTS";
    case 11:
      return "TXD";
    case 12:
      return "PAR";
    case 13:
      return "TST";
    case 15:
      return "IRQ";
    case 17:
      return "MAS";
    default:
      return "INT";
  }
}

const char* Icmpv6StateName(uint8_t type, uint8_t code, bool request, bool reply) {
  // Argus's names; a reply alone is named after its request.
  static constexpr const char* kUnreachable[] = {"URNR", "URAD", "URBS", "URAR",
                                                 "URP",  "URSF", "URRR", "URES"};
  static constexpr const char* kParameter[] = {"PPH", "PPNH", "PPO"};
  switch (type) {
    case 1:
      return code < 8 ? kUnreachable[code] : "UR";
    case 2:
      return "PTB";
    case 3:
      return code == 0 ? "TXT" : "TXR";
    case 4:
      return code < 3 ? kParameter[code] : "PP";
    case 128:
      return reply ? "ECR" : "ECO";
    case 129:
      return request ? "ECR" : "ECO";
    case 130:
    case 131:
    case 132:
      return "MRQ";
    case 133:
    case 134:
      return "NRS";
    case 135:
    case 136:
      return "NNS";
    case 137:
      return "RED";
    case 143:
      return "MHR";
    default:
      return "INT";
  }
}

bool IsEcho(const Packet& p) {
  if (p.proto == kProtoIcmp) return p.icmp_type == 8 || p.icmp_type == 0;
  return p.icmp_type == 128 || p.icmp_type == 129;
}

bool IsIcmp(Network n, uint8_t proto) {
  return (n == Network::kIpv4 && proto == kProtoIcmp) ||
         (n == Network::kIpv6 && proto == kProtoIcmpv6);
}

void AddInterval(DirectionStats* d, int64_t ts_us) {
  // Argus leaves out zero intervals (packets with the same timestamp).
  if (d->timed_pkts > 0 && ts_us == d->last_timed_us) return;
  ++d->timed_pkts;
  if (d->timed_pkts > 1) {
    // Welford's update over inter-arrival times in milliseconds.
    double x = static_cast<double>(ts_us - d->last_timed_us) * 1e-3;
    uint64_t n = d->timed_pkts - 1;  // intervals including this one
    double delta = x - d->interval_mean_ms;
    d->interval_mean_ms += delta / static_cast<double>(n);
    d->interval_m2 += delta * (x - d->interval_mean_ms);
  }
  d->last_timed_us = ts_us;
}

void CountPacket(DirectionStats* d, const Packet& p, bool timed) {
  ++d->pkts;
  d->bytes += p.counted_bytes;
  d->payload_bytes += p.payload_len;
  if (d->pkts == 1) d->first_us = p.ts_us;
  if (timed) AddInterval(d, p.ts_us);
  d->last_us = p.ts_us;
  d->ttl = p.ttl;
}

}  // namespace

namespace {

// memcmp order of two 16-byte addresses (<0, 0, >0) with two byte-swapped 64-bit compares.
int CompareAddresses(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b) {
  uint64_t a0, a1, b0, b1;
  std::memcpy(&a0, a.data(), 8);
  std::memcpy(&a1, a.data() + 8, 8);
  std::memcpy(&b0, b.data(), 8);
  std::memcpy(&b1, b.data() + 8, 8);
  if (a0 != b0) return __builtin_bswap64(a0) < __builtin_bswap64(b0) ? -1 : 1;
  if (a1 != b1) return __builtin_bswap64(a1) < __builtin_bswap64(b1) ? -1 : 1;
  return 0;
}

uint16_t Fold16(const std::array<uint8_t, 16>& a) {
  uint32_t h = 0;
  for (uint8_t b : a) h = h * 31 + b;
  return static_cast<uint16_t>(h ^ (h >> 16));
}

// What Argus keys an ICMP error by besides type and code.
uint16_t IcmpErrorExtra(const Packet& p) {
  if (!p.has_inner) return 0;
  const bool v4 = p.network == Network::kIpv4;
  if ((v4 && p.icmp_type == 3) || (!v4 && p.icmp_type == 1)) {
    switch (p.icmp_code) {
      case 0:
      case 1:
        return Fold16(p.inner_dst);
      case 2:
        return v4 ? p.inner_proto : Fold16(p.inner_dst);
      case 3:
        return v4 ? p.inner_dport : Fold16(p.inner_dst);
      case 4:
        return v4 ? 0 : p.inner_dport;
      default:
        return 0;
    }
  }
  return 0;
}

FlowKey KeyFromEndpoints(Network network, uint8_t proto, const std::array<uint8_t, 16>& src,
                         const std::array<uint8_t, 16>& dst, uint16_t sport, uint16_t dport,
                         uint16_t extra, bool* from_lo) {
  FlowKey k;
  k.proto = proto;
  k.network = network;
  k.extra = extra;
  const int c = CompareAddresses(src, dst);
  bool lo = c < 0 || (c == 0 && sport <= dport);
  *from_lo = lo;
  k.lo_addr = lo ? src : dst;
  k.hi_addr = lo ? dst : src;
  k.lo_port = lo ? sport : dport;
  k.hi_port = lo ? dport : sport;
  return k;
}

}  // namespace

bool QuotedFlowKey(const Packet& p, FlowKey* key) {
  if (!p.has_inner || (p.inner_proto != kProtoTcp && p.inner_proto != kProtoUdp)) return false;
  bool from_lo;
  *key = KeyFromEndpoints(p.network, p.inner_proto, p.inner_src, p.inner_dst, p.inner_sport,
                          p.inner_dport, 0, &from_lo);
  return true;
}

FlowKey MakeFlowKey(const Packet& p, bool* from_lo) {
  uint16_t sport = p.sport;
  uint16_t dport = p.dport;
  uint16_t extra = 0;
  if (p.network != Network::kArp && IsIcmp(p.network, p.proto)) {
    uint16_t x = IsEcho(p) ? p.icmp_id : static_cast<uint16_t>((p.icmp_type << 8) | p.icmp_code);
    sport = dport = x;
    extra = IsEcho(p) ? 0 : IcmpErrorExtra(p);
  } else if (p.proto == kProtoUdp && (sport == 53 || dport == 53) && p.captured_payload_len >= 2) {
    extra = static_cast<uint16_t>((p.payload[0] << 8) | p.payload[1]);
  }
  return KeyFromEndpoints(p.network, p.proto, p.src, p.dst, sport, dport, extra, from_lo);
}

uint64_t DirectionStats::ScaledWindow() const {
  if (!window_set) return 0;
  return uint64_t{window} << (wscale > 0 ? wscale : 0);
}

bool FlowRecord::Start(const Packet& p) {
  network = p.network;
  proto = p.proto;
  vlan = p.vlan;
  start_us = last_us = p.ts_us;
  bool reverse = false;
  if (IsTcp() && p.has_transport) {
    if (!(p.tcp_flags & kTcpSyn)) {
      // Mid-stream: Argus takes the receiver as the source when the packet goes from the lower
      // port to the higher one and from the higher address to the lower one.
      reverse = p.sport < p.dport && CompareAddresses(p.src, p.dst) > 0;
    } else if (p.tcp_flags & kTcpAck) {
      // Argus turns such a flow around later only if the SYN-ACK came from the higher address.
      synack_first = CompareAddresses(p.src, p.dst) > 0;
    }
  }
  reversed = reverse;
  src = reverse ? p.dst : p.src;
  dst = reverse ? p.src : p.dst;
  if (IsIcmp(network, proto)) {
    sport = p.icmp_type;
    dport = p.icmp_code;
    icmp_type = p.icmp_type;
    icmp_code = p.icmp_code;
  } else {
    sport = reverse ? p.dport : p.sport;
    dport = reverse ? p.sport : p.dport;
  }
  if (network != Network::kArp && (proto == kProtoTcp || proto == kProtoUdp)) {
    port_service = ServiceFromPort(proto, dport);
    if (port_service == Service::kNone) port_service = ServiceFromPort(proto, sport);
  }
  return reverse;
}

bool FlowRecord::ReorientIfNeeded(const Packet& p) {
  if (!synack_first || reoriented || !p.has_transport) return false;
  if (p.tcp_flags & (kTcpSyn | kTcpRst)) return false;
  reoriented = true;
  reversed = !reversed;
  std::swap(src, dst);
  std::swap(sport, dport);
  std::swap(s, d);
  return true;
}

void FlowRecord::AddFragment(const Packet& p, bool from_src) {
  CountPacket(from_src ? &s : &d, p, /*timed=*/false);
  if (p.ts_us > last_us) last_us = p.ts_us;
  if (p.ts_us < start_us) start_us = p.ts_us;
  ++fragments;
}

FtpEndpoint FlowRecord::Update(const Packet& p, bool from_src) {
  FtpEndpoint announced;
  DirectionStats& me = from_src ? s : d;
  DirectionStats& peer = from_src ? d : s;
  CountPacket(&me, p, /*timed=*/true);
  if (p.ts_us > last_us) last_us = p.ts_us;

  if (network == Network::kArp) {
    arp_ops |= p.arp_op == 2 ? 2 : 1;
    return announced;
  }
  if (IsIcmp(network, proto)) {
    if (p.icmp_type == 0 || p.icmp_type == 129) icmp_reply = true;
    if (p.icmp_type == 8 || p.icmp_type == 128) icmp_request = true;
    return announced;
  }
  if (proto == kProtoTcp && p.has_transport) {
    const uint8_t f = p.tcp_flags;
    me.flags |= f;
    const bool syn = f & kTcpSyn, ack = f & kTcpAck, fin = f & kTcpFin, rst = f & kTcpRst;
    if (syn) {
      if (me.wscale < 0) me.wscale = p.wscale;
      if (!ack) {
        if (tcp_status & kSawSyn) ++me.retransmits;  // a repeated SYN
        tcp_status |= kSawSyn;
        if (from_src) syn_us = p.ts_us;
      } else {
        if (tcp_status & kSawSynAck) ++me.retransmits;  // a repeated SYN-ACK
        tcp_status |= kSawSynAck;
        if (!from_src && syn_us != 0 && synack_us == 0) synack_us = p.ts_us;
      }
      me.base_seq = p.seq;
      me.next_seq = p.seq + 1 + p.payload_len;
      me.seq_set = true;
    } else {
      if (rst) tcp_status |= kSawRst;
      if (fin) tcp_status |= kSawFin;
      if (ack && !fin && !rst) {
        tcp_status |= kEstablished;
        if (from_src && synack_us != 0 && ackdat_us == 0) ackdat_us = p.ts_us;
        if ((peer.flags & kTcpFin) && p.payload_len == 0) tcp_status |= kFinAcked;
      } else if (!ack && !fin && !rst && (f & (kTcpPsh | kTcpUrg))) {
        tcp_status |= kEstablished;
      }
      if (!me.seq_set) {
        me.base_seq = p.seq;
        me.next_seq = p.seq;
        me.seq_set = true;
      }
      uint32_t end = p.seq + p.payload_len + (fin ? 1 : 0);
      if (p.payload_len > 0) {
        // Data already sent is a retransmission. As in Argus, only once the other side has
        // advertised a window (a one-way capture shows no loss) and not before the first
        // sequence number seen.
        if (SeqLessOrEqual(end, me.next_seq)) {
          if (peer.window_set && SeqLessOrEqual(me.base_seq, p.seq)) ++me.retransmits;
        } else {
          me.next_seq = end;
        }
      } else if (!SeqLessOrEqual(end, me.next_seq)) {
        me.next_seq = end;
      }
    }
    if (p.window != 0 && !fin && !rst) {
      me.window = p.window;
      me.window_set = true;
    }
  }
  if (p.captured_payload_len > 0 && (proto == kProtoTcp || proto == kProtoUdp)) {
    std::string_view payload(reinterpret_cast<const char*>(p.payload), p.captured_payload_len);
    InspectPayload(payload, p.payload_len, from_src, &app, &announced);
  }
  return announced;
}

const char* FlowRecord::State() const {
  if (network == Network::kArp) return (arp_ops & 2) && (arp_ops & 1) ? "CON" : "INT";
  if (IsIcmp(network, proto)) {
    return network == Network::kIpv6
               ? Icmpv6StateName(icmp_type, icmp_code, icmp_request, icmp_reply)
               : IcmpStateName(icmp_type, icmp_code, icmp_request, icmp_reply);
  }
  if (proto == kProtoTcp) {
    if (tcp_status & kSawRst) return "RST";
    if (tcp_status & kSawFin) return "FIN";
    if (reoriented) return "CLO";
    if (tcp_status & kEstablished) return "CON";
    if (tcp_status & kSawSynAck) return "ACC";
    if (tcp_status & kSawSyn) return "REQ";
    return "CON";
  }
  return s.pkts > 0 && d.pkts > 0 ? "CON" : "INT";
}

Service FlowRecord::FlowService() const {
  if (ftp_data) return Service::kFtpData;
  if (app.payload_service != Service::kNone) return app.payload_service;
  return port_service;
}

double FlowRecord::SynAckSeconds() const {
  if (syn_us == 0 || synack_us < syn_us) return 0;
  return static_cast<double>(synack_us - syn_us) * 1e-6;
}

double FlowRecord::AckDatSeconds() const {
  if (synack_us == 0 || ackdat_us < synack_us) return 0;
  return static_cast<double>(ackdat_us - synack_us) * 1e-6;
}

const char* ProtoName(Network network, uint8_t proto) {
  if (network == Network::kArp) return "arp";
  constexpr size_t kNamed = sizeof(kProtoNames) / sizeof(kProtoNames[0]);
  if (proto < kNamed) return kProtoNames[proto];
  if (proto == 253) return "ib";  // Argus's table names 253 (experimental) "ib"
  return "unas";
}

}  // namespace vigil
