// Packet decoding: one captured frame in, the fields the flow meter needs out.
//
// DecodePacket is a pure function over bytes (no allocation, no global state, thread-safe), so it
// can be fuzzed directly. It understands the link types Ethernet (with any number of 802.1Q /
// 802.1ad tags), Linux cooked capture v1 and v2, raw IP (IPv4 or IPv6) and BSD loopback; then
// IPv4 (options skipped), IPv6 (extension headers walked), ARP; then TCP, UDP, ICMP, ICMPv6 and
// any other IP protocol (no ports). IP fragments are marked: only the first fragment carries
// ports; the flow table joins the others to its flow through the fragment id.
//
// Malformed input never crashes: a frame whose headers are cut short by the capture length is
// kTruncated, one with impossible header fields is kMalformed, one that is not IP or ARP is kNotIp,
// an unknown link type is kUnsupportedLink. The returned Packet is only meaningful for kOk.
// Payload cut by the snapshot length is normal (payload_len is the length the IP header states,
// payload/captured_payload_len what was captured).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace vigil {

// pcap LINKTYPE_* values this decoder accepts.
enum LinkType : int {
  kLinkNull = 0,         // BSD loopback: 4-byte address family in host order
  kLinkEthernet = 1,     // Ethernet II (802.1Q/802.1ad tags allowed)
  kLinkRaw = 101,        // raw IPv4/IPv6 (also DLT_RAW 12 and 14 on some systems)
  kLinkLinuxSll = 113,   // Linux cooked capture v1 (16-byte header)
  kLinkIpv4 = 228,       // raw IPv4
  kLinkIpv6 = 229,       // raw IPv6
  kLinkLinuxSll2 = 276,  // Linux cooked capture v2 (20-byte header)
};

// True if DecodePacket understands `link_type`.
bool LinkTypeSupported(int link_type);

enum class DecodeStatus : uint8_t {
  kOk,
  kTruncated,        // a header is cut short by the captured length
  kMalformed,        // impossible header field (IHL < 5, total length < header, ...)
  kNotIp,            // a frame that is neither IP nor ARP (LLDP, STP, IPX, ...)
  kUnsupportedLink,  // link type DecodePacket does not know
};

const char* DecodeStatusName(DecodeStatus s);

enum class Network : uint8_t { kIpv4, kIpv6, kArp };

// TCP flag bits as on the wire.
enum TcpFlag : uint8_t {
  kTcpFin = 0x01,
  kTcpSyn = 0x02,
  kTcpRst = 0x04,
  kTcpPsh = 0x08,
  kTcpAck = 0x10,
  kTcpUrg = 0x20,
  kTcpEce = 0x40,
  kTcpCwr = 0x80,
};

constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoIcmpv6 = 58;

struct Packet {
  int64_t ts_us = 0;           // capture time, microseconds since the epoch
  uint32_t wire_len = 0;       // frame length on the wire (pcap `len`)
  uint32_t counted_bytes = 0;  // bytes counted for the flow: see docs/flow-features.md (sbytes)
  Network network = Network::kIpv4;
  uint8_t proto = 0;              // IP protocol after IPv6 extension headers (0 for ARP)
  uint8_t ttl = 0;                // IPv4 TTL or IPv6 hop limit
  uint16_t vlan = 0;              // outermost 802.1Q VLAN id, 0 if untagged
  std::array<uint8_t, 16> src{};  // IPv4 addresses use the first 4 bytes
  std::array<uint8_t, 16> dst{};
  uint16_t sport = 0;  // TCP/UDP ports (host order); 0 for other protocols
  uint16_t dport = 0;

  // Fragments. is_fragment is set for every piece of a fragmented datagram; only the piece with
  // offset 0 (first_fragment) carries the transport header and ports.
  bool is_fragment = false;
  bool first_fragment = false;
  bool last_fragment = false;
  uint32_t frag_id = 0;  // IPv4 identification or IPv6 fragment header id
  uint16_t ip_id = 0;    // IPv4 identification (0 for IPv6)

  // TCP (valid when proto == kProtoTcp and the transport header was decoded).
  bool has_transport = false;  // the transport header was present and decoded
  uint8_t tcp_flags = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint16_t window = 0;  // raw window field
  int8_t wscale = -1;   // window scale option (SYN / SYN-ACK), -1 if absent

  // ICMP / ICMPv6.
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  uint16_t icmp_id = 0;  // echo identifier (echo request/reply only)
  // ICMP errors (unreachable, source quench, redirect, time exceeded, parameter problem) quote
  // the header of the packet they answer: its protocol, addresses and ports, when captured.
  bool has_inner = false;
  uint8_t inner_proto = 0;
  std::array<uint8_t, 16> inner_src{};
  std::array<uint8_t, 16> inner_dst{};
  uint16_t inner_sport = 0;
  uint16_t inner_dport = 0;

  // ARP (network == kArp): 1 request, 2 reply.
  uint16_t arp_op = 0;

  // Transport payload: length per the IP header and the captured part of it.
  uint32_t payload_len = 0;
  uint32_t captured_payload_len = 0;
  const uint8_t* payload = nullptr;  // points into the frame given to DecodePacket
};

// Decodes one frame. `data` holds `caplen` captured bytes of a frame whose wire length is
// `wire_len`; `out` is overwritten (its payload pointer points into `data`).
DecodeStatus DecodePacket(int link_type, const uint8_t* data, size_t caplen, uint32_t wire_len,
                          int64_t ts_us, Packet* out);

// Dotted-quad or RFC 5952 text of an address of the given network.
std::string AddressToString(Network network, const std::array<uint8_t, 16>& addr);

}  // namespace vigil
