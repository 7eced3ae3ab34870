// Test helpers: hand-made frames and pcap files for the flow tests (header-only, tests only).
//
// Every builder returns bytes in network order exactly as they would be on the wire, so tests
// exercise the real decoder. Checksums are left zero (the decoder does not check them).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "flow/packet.h"

namespace vigil::testing {

using Bytes = std::vector<uint8_t>;

inline void Put16(Bytes* b, uint16_t v) {
  b->push_back(static_cast<uint8_t>(v >> 8));
  b->push_back(static_cast<uint8_t>(v));
}
inline void Put32(Bytes* b, uint32_t v) {
  Put16(b, static_cast<uint16_t>(v >> 16));
  Put16(b, static_cast<uint16_t>(v));
}
inline Bytes Cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
inline Bytes Text(const std::string& s) { return Bytes(s.begin(), s.end()); }

inline std::array<uint8_t, 4> V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return {a, b, c, d};
}

struct TcpSpec {
  uint16_t sport = 40000, dport = 80;
  uint8_t flags = kTcpAck;
  uint32_t seq = 1000, ack = 0;
  uint16_t window = 5000;
  int wscale = -1;  // add a window scale option if >= 0
  Bytes payload;
};

inline Bytes Tcp(const TcpSpec& t) {
  Bytes options;
  if (t.wscale >= 0) options = {1, 3, 3, static_cast<uint8_t>(t.wscale)};  // NOP + WS
  Bytes b;
  Put16(&b, t.sport);
  Put16(&b, t.dport);
  Put32(&b, t.seq);
  Put32(&b, t.ack);
  b.push_back(static_cast<uint8_t>(((20 + options.size()) / 4) << 4));
  b.push_back(t.flags);
  Put16(&b, t.window);
  Put16(&b, 0);  // checksum
  Put16(&b, 0);  // urgent
  b = Cat(b, options);
  return Cat(b, t.payload);
}

inline Bytes Udp(uint16_t sport, uint16_t dport, const Bytes& payload) {
  Bytes b;
  Put16(&b, sport);
  Put16(&b, dport);
  Put16(&b, static_cast<uint16_t>(8 + payload.size()));
  Put16(&b, 0);
  return Cat(b, payload);
}

inline Bytes Icmp(uint8_t type, uint8_t code, uint16_t id, uint16_t seq, const Bytes& payload) {
  Bytes b = {type, code, 0, 0};
  Put16(&b, id);
  Put16(&b, seq);
  return Cat(b, payload);
}

struct Ipv4Spec {
  std::array<uint8_t, 4> src = {10, 0, 0, 1};
  std::array<uint8_t, 4> dst = {10, 0, 0, 2};
  uint8_t proto = kProtoTcp;
  uint8_t ttl = 64;
  uint16_t id = 1;
  uint16_t frag_offset = 0;  // bytes, multiple of 8
  bool more_fragments = false;
  int options_words = 0;  // 4-byte NOP option words
  int total_length = -1;  // override the total length field
};

inline Bytes Ipv4(const Ipv4Spec& s, const Bytes& payload) {
  Bytes b;
  const int ihl = 5 + s.options_words;
  b.push_back(static_cast<uint8_t>(0x40 | ihl));
  b.push_back(0);
  Put16(&b, static_cast<uint16_t>(
                s.total_length >= 0 ? s.total_length : ihl * 4 + static_cast<int>(payload.size())));
  Put16(&b, s.id);
  Put16(&b, static_cast<uint16_t>((s.more_fragments ? 0x2000 : 0) | (s.frag_offset / 8)));
  b.push_back(s.ttl);
  b.push_back(s.proto);
  Put16(&b, 0);
  b.insert(b.end(), s.src.begin(), s.src.end());
  b.insert(b.end(), s.dst.begin(), s.dst.end());
  for (int i = 0; i < s.options_words * 4; ++i) b.push_back(1);
  return Cat(b, payload);
}

inline std::array<uint8_t, 16> V6(uint16_t last) {
  std::array<uint8_t, 16> a{};
  a[0] = 0x20;
  a[1] = 0x01;
  a[2] = 0x0d;
  a[3] = 0xb8;
  a[14] = static_cast<uint8_t>(last >> 8);
  a[15] = static_cast<uint8_t>(last);
  return a;
}

// IPv6 with optional extension headers: `ext` is a list of (type, body) where body excludes the
// next-header byte; hop-by-hop/destination bodies are padded to 8-byte units, a fragment header
// (type 44) takes its 7 body bytes as given.
inline Bytes Ipv6(const std::array<uint8_t, 16>& src, const std::array<uint8_t, 16>& dst,
                  uint8_t proto, const Bytes& payload,
                  const std::vector<std::pair<uint8_t, Bytes>>& ext = {}, uint8_t hops = 64) {
  Bytes chain;
  for (size_t i = 0; i < ext.size(); ++i) {
    uint8_t next = i + 1 < ext.size() ? ext[i + 1].first : proto;
    Bytes h = {next};
    if (ext[i].first == 44) {
      h = Cat(h, ext[i].second);
    } else {
      Bytes body = ext[i].second;
      while ((body.size() + 2) % 8 != 0) body.push_back(0);
      h.push_back(static_cast<uint8_t>((body.size() + 2) / 8 - 1));
      h = Cat(h, body);
    }
    chain = Cat(chain, h);
  }
  Bytes b = {0x60, 0, 0, 0};
  Put16(&b, static_cast<uint16_t>(chain.size() + payload.size()));
  b.push_back(ext.empty() ? proto : ext[0].first);
  b.push_back(hops);
  b.insert(b.end(), src.begin(), src.end());
  b.insert(b.end(), dst.begin(), dst.end());
  return Cat(Cat(b, chain), payload);
}

// 7 body bytes of an IPv6 fragment header.
inline Bytes Ipv6Fragment(uint16_t offset, bool more, uint32_t id) {
  Bytes b = {0};
  Put16(&b, static_cast<uint16_t>(offset | (more ? 1 : 0)));
  Put32(&b, id);
  return b;
}

inline Bytes Ethernet(uint16_t ethertype, const Bytes& payload,
                      std::initializer_list<uint16_t> vlans = {}) {
  Bytes b = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x66, 0x77, 0x88, 0x99, 0xaa};
  for (uint16_t v : vlans) {
    Put16(&b, 0x8100);
    Put16(&b, v);
  }
  Put16(&b, ethertype);
  return Cat(b, payload);
}

inline Bytes LinuxSll(uint16_t protocol, const Bytes& payload) {
  Bytes b = {0, 0, 0, 1, 0, 6, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0};
  Put16(&b, protocol);
  return Cat(b, payload);
}

inline Bytes LinuxSll2(uint16_t protocol, const Bytes& payload) {
  Bytes b;
  Put16(&b, protocol);
  Put16(&b, 0);
  Put32(&b, 2);  // interface index
  Put16(&b, 1);  // ARPHRD_ETHER
  b.push_back(0);
  b.push_back(6);
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(i));
  return Cat(b, payload);
}

inline Bytes EthIpv4Tcp(const Ipv4Spec& ip, const TcpSpec& tcp) {
  Ipv4Spec s = ip;
  s.proto = kProtoTcp;
  return Ethernet(0x0800, Ipv4(s, Tcp(tcp)));
}

// Decodes an Ethernet frame at `ts_us`; the frame must outlive the packet's payload pointer.
inline Packet Decode(const Bytes& frame, int64_t ts_us, int link = kLinkEthernet) {
  Packet p;
  DecodePacket(link, frame.data(), frame.size(), static_cast<uint32_t>(frame.size()), ts_us, &p);
  return p;
}

struct Frame {
  int64_t ts_us;
  Bytes bytes;
  uint32_t wire_len = 0;  // 0: bytes.size()
};

// A classic little-endian microsecond pcap file.
inline std::string PcapFile(int link_type, const std::vector<Frame>& frames,
                            uint32_t snaplen = 65535) {
  std::string out;
  auto put32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
  };
  auto put16 = [&](uint16_t v) {
    out.push_back(static_cast<char>(v));
    out.push_back(static_cast<char>(v >> 8));
  };
  put32(0xa1b2c3d4);
  put16(2);
  put16(4);
  put32(0);
  put32(0);
  put32(snaplen);
  put32(static_cast<uint32_t>(link_type));
  for (const Frame& f : frames) {
    put32(static_cast<uint32_t>(f.ts_us / 1'000'000));
    put32(static_cast<uint32_t>(f.ts_us % 1'000'000));
    put32(static_cast<uint32_t>(f.bytes.size()));
    put32(f.wire_len ? f.wire_len : static_cast<uint32_t>(f.bytes.size()));
    out.append(f.bytes.begin(), f.bytes.end());
  }
  return out;
}

}  // namespace vigil::testing
