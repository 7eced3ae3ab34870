// One bidirectional flow: its key, the per-direction counters the UNSW-NB15 features are computed
// from, and the TCP connection state.
//
// The source ("s") side is the side that sent the flow's first packet, with Argus's exceptions
// for TCP flows seen mid-stream: a first packet without SYN from the lower port to the higher
// one, sent by the higher address, makes its receiver the source; a flow that starts with a SYN-ACK
// is turned around (the SYN-ACK's receiver becomes the source, state CLO) as soon as another
// packet other than a SYN or RST follows, if the SYN-ACK came from the higher address.
// FlowRecord::Update applies one decoded packet; it is a plain value with no locking (the flow
// table owns each record and calls it from one thread). Times are microseconds since the epoch.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>

#include "flow/app.h"
#include "flow/packet.h"

namespace vigil {

// The unordered endpoint pair of a flow, so both directions of a conversation share one key.
// ICMP has no ports: both "ports" hold the echo identifier (echo) or type<<8|code (others), and
// `extra` what Argus also keys ICMP errors by (the quoted destination address for network and host
// unreachable, protocol for protocol unreachable, port for port unreachable). For UDP to or from
// port 53 `extra` is the DNS transaction id: like Argus, each DNS transaction is its own flow.
struct FlowKey {
  std::array<uint8_t, 16> lo_addr{};
  std::array<uint8_t, 16> hi_addr{};
  uint16_t lo_port = 0;
  uint16_t hi_port = 0;
  uint8_t proto = 0;
  Network network = Network::kIpv4;
  uint16_t extra = 0;  // also keeps the struct free of padding (it is compared bytewise)

  // Inline: both run for every packet. The key is 40 bytes without padding (asserted below), so
  // five 64-bit words compare and hash it.
  bool operator==(const FlowKey& o) const {
    uint64_t a[5], b[5];
    std::memcpy(a, this, sizeof(a));
    std::memcpy(b, &o, sizeof(b));
    return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4])) == 0;
  }
  uint64_t Hash() const {
    // Five 64-bit words, mixed with multiply-xorshift (fast, good enough against random keys; the
    // table also caps probe lengths).
    uint64_t w[5];
    std::memcpy(w, this, sizeof(w));
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (uint64_t x : w) {
      h ^= x;
      h *= 0xBF58476D1CE4E5B9ull;
      h ^= h >> 31;
    }
    h *= 0x94D049BB133111EBull;
    h ^= h >> 29;
    return h;
  }
};
static_assert(sizeof(FlowKey) == 40, "FlowKey must be 40 bytes without padding");

// Builds the key of a decoded packet; `*from_lo` is true if the packet travels lo -> hi.
FlowKey MakeFlowKey(const Packet& p, bool* from_lo);

// The key of the TCP/UDP flow an ICMP error quotes (p.has_inner), for Argus's habit of extending
// that flow's last time. False if the quote has no ports.
bool QuotedFlowKey(const Packet& p, FlowKey* key);

// Counters of one direction.
struct DirectionStats {
  uint64_t pkts = 0;
  uint64_t bytes = 0;          // Packet::counted_bytes summed
  uint64_t payload_bytes = 0;  // transport payload bytes (per IP header)
  int64_t first_us = 0;
  int64_t last_us = 0;
  // Inter-arrival times (milliseconds) between packets with a transport header: later IP
  // fragments count as packets but not here, as in Argus. Welford mean and M2.
  uint64_t timed_pkts = 0;
  int64_t last_timed_us = 0;
  double interval_mean_ms = 0;
  double interval_m2 = 0;
  uint8_t ttl = 0;     // TTL of the last packet
  int8_t wscale = -1;  // window scale from this side's SYN, -1 if none
  bool window_set = false;
  uint16_t window = 0;  // last window advertised without FIN/RST
  bool seq_set = false;
  uint32_t base_seq = 0;     // first sequence number (stcpb/dtcpb)
  uint32_t next_seq = 0;     // highest sequence number + length seen
  uint32_t retransmits = 0;  // sloss/dloss
  uint8_t flags = 0;         // TCP flags seen (OR)

  uint64_t Intervals() const { return timed_pkts > 1 ? timed_pkts - 1 : 0; }
  // Argus-style window: the last window shifted by this side's scale option.
  uint64_t ScaledWindow() const;
};

// TCP progress bits.
enum TcpStatus : uint16_t {
  kSawSyn = 1 << 0,
  kSawSynAck = 1 << 1,
  kEstablished = 1 << 2,
  kSawFin = 1 << 3,
  kSawRst = 1 << 4,
  kFinAcked = 1 << 5,
};

struct FlowRecord {
  Network network = Network::kIpv4;
  uint8_t proto = 0;
  std::array<uint8_t, 16> src{};
  std::array<uint8_t, 16> dst{};
  uint16_t sport = 0;  // TCP/UDP port; ICMP type
  uint16_t dport = 0;  // TCP/UDP port; ICMP code
  uint16_t vlan = 0;
  int64_t start_us = 0;
  int64_t last_us = 0;
  DirectionStats s;  // source -> destination
  DirectionStats d;  // destination -> source

  uint16_t tcp_status = 0;
  int64_t syn_us = 0;     // time of the (last) SYN from the source
  int64_t synack_us = 0;  // time of the SYN-ACK answering it
  int64_t ackdat_us = 0;  // time of the ACK completing the handshake
  uint8_t icmp_type = 0;  // first ICMP message's type and code
  uint8_t icmp_code = 0;
  bool icmp_request = false;  // an echo request was seen
  bool icmp_reply = false;    // an echo reply was seen
  uint16_t arp_ops = 0;       // ARP: bit 0 request seen, bit 1 reply seen
  bool reversed = false;      // the source is not the first packet's sender
  bool synack_first = false;  // the first packet was a SYN-ACK
  bool reoriented = false;    // turned around after a first SYN-ACK (state CLO)

  AppState app;
  Service port_service = Service::kNone;
  bool ftp_data = false;   // announced by an FTP control session
  uint32_t fragments = 0;  // non-first fragments joined to this flow

  // Starts a record from its first packet and sets the orientation; returns true if the packet's
  // receiver became the source.
  bool Start(const Packet& p);
  // Turns a SYN-ACK-first flow around when `p` (sent by the current source if `from_src`) shows
  // it is a mid-stream connection; returns true if it did (the caller flips its orientation).
  bool ReorientIfNeeded(const Packet& p);
  // Applies one packet; `from_src` says which side sent it. Returns the FTP data endpoint the
  // packet announces, if any (valid == false otherwise).
  FtpEndpoint Update(const Packet& p, bool from_src);
  // Applies a later IP fragment (no transport header): counts packets, bytes and times only.
  void AddFragment(const Packet& p, bool from_src);

  bool IsTcp() const { return proto == kProtoTcp && network != Network::kArp; }
  double DurationSeconds() const { return static_cast<double>(last_us - start_us) * 1e-6; }
  // Argus state name: RST FIN CON ACC REQ (TCP), INT CON (UDP and others), ECO ECR URP TXD ...
  // (ICMP).
  const char* State() const;
  Service FlowService() const;
  // synack / ackdat in seconds (0 when not observed).
  double SynAckSeconds() const;
  double AckDatSeconds() const;
};

// Protocol name as Argus and UNSW-NB15 print it ("tcp", "udp", "ipv6-icmp", "unas", ...).
const char* ProtoName(Network network, uint8_t proto);

}  // namespace vigil
