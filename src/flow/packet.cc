#include "flow/packet.h"

#include <arpa/inet.h>

#include <cstring>

namespace vigil {
namespace {

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherArp = 0x0806;
constexpr uint16_t kEtherIpv6 = 0x86DD;
constexpr uint16_t kEtherVlan = 0x8100;
constexpr uint16_t kEtherQinQ = 0x88A8;
constexpr uint16_t kEtherQinQOld = 0x9100;
constexpr uint32_t kEthernetHeader = 14;

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t Be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// A bounded view of the frame; every read checks the remaining length.
struct Cursor {
  const uint8_t* p;
  size_t n;
  bool Has(size_t k) const { return n >= k; }
  void Skip(size_t k) {
    p += k;
    n -= k;
  }
};

// Parses TCP options for the window scale.
int8_t WindowScale(const uint8_t* opt, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint8_t kind = opt[i];
    if (kind == 0) break;  // end of options
    if (kind == 1) {       // no-op
      ++i;
      continue;
    }
    if (i + 1 >= len) break;
    uint8_t olen = opt[i + 1];
    if (olen < 2 || i + olen > len) break;
    if (kind == 3 && olen == 3) return static_cast<int8_t>(opt[i + 2] > 14 ? 14 : opt[i + 2]);
    i += olen;
  }
  return -1;
}

bool IsIcmpError(uint8_t proto, uint8_t type) {
  if (proto == kProtoIcmp) return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
  return type >= 1 && type <= 4;  // ICMPv6 errors
}

// The quoted header inside an ICMP error: an IPv4 or IPv6 header and the first 4 bytes of its
// transport header (the ports) when TCP or UDP. Leaves has_inner false if it is cut short.
void DecodeQuotedHeader(Cursor c, Packet* out) {
  if (!c.Has(1)) return;
  uint8_t version = c.p[0] >> 4;
  uint8_t proto;
  size_t hlen;
  if (version == 4 && out->network == Network::kIpv4) {
    if (!c.Has(20)) return;
    hlen = (c.p[0] & 0x0F) * 4u;
    if (hlen < 20 || !c.Has(hlen)) return;
    proto = c.p[9];
    std::memcpy(out->inner_src.data(), c.p + 12, 4);
    std::memcpy(out->inner_dst.data(), c.p + 16, 4);
  } else if (version == 6 && out->network == Network::kIpv6) {
    if (!c.Has(40)) return;
    hlen = 40;
    proto = c.p[6];
    std::memcpy(out->inner_src.data(), c.p + 8, 16);
    std::memcpy(out->inner_dst.data(), c.p + 24, 16);
  } else {
    return;
  }
  out->inner_proto = proto;
  c.Skip(hlen);
  if ((proto == kProtoTcp || proto == kProtoUdp) && c.Has(4)) {
    out->inner_sport = Be16(c.p);
    out->inner_dport = Be16(c.p + 2);
  }
  out->has_inner = true;
}

// Transport header of the first (or only) fragment. `ip_payload_len` is the length the IP
// header states for the transport segment.
DecodeStatus DecodeTransport(Cursor c, uint32_t ip_payload_len, Packet* out) {
  switch (out->proto) {
    case kProtoTcp: {
      if (!c.Has(20)) return DecodeStatus::kTruncated;
      uint32_t doff = (c.p[12] >> 4) * 4u;
      if (doff < 20) return DecodeStatus::kMalformed;
      if (!c.Has(doff)) return DecodeStatus::kTruncated;
      out->sport = Be16(c.p);
      out->dport = Be16(c.p + 2);
      out->seq = Be32(c.p + 4);
      out->ack = Be32(c.p + 8);
      out->tcp_flags = c.p[13];
      out->window = Be16(c.p + 14);
      if (doff > 20 && (out->tcp_flags & kTcpSyn)) out->wscale = WindowScale(c.p + 20, doff - 20);
      out->payload_len = ip_payload_len > doff ? ip_payload_len - doff : 0;
      c.Skip(doff);
      break;
    }
    case kProtoUdp: {
      if (!c.Has(8)) return DecodeStatus::kTruncated;
      out->sport = Be16(c.p);
      out->dport = Be16(c.p + 2);
      out->payload_len = ip_payload_len > 8 ? ip_payload_len - 8 : 0;
      c.Skip(8);
      break;
    }
    case kProtoIcmp:
    case kProtoIcmpv6: {
      if (!c.Has(4)) return DecodeStatus::kTruncated;
      out->icmp_type = c.p[0];
      out->icmp_code = c.p[1];
      bool echo = out->proto == kProtoIcmp ? (out->icmp_type == 8 || out->icmp_type == 0)
                                           : (out->icmp_type == 128 || out->icmp_type == 129);
      if (echo && c.Has(6)) out->icmp_id = Be16(c.p + 4);
      uint32_t hdr = c.Has(8) ? 8 : static_cast<uint32_t>(c.n);
      out->payload_len = ip_payload_len > 8 ? ip_payload_len - 8 : 0;
      c.Skip(hdr);
      if (hdr == 8 && IsIcmpError(out->proto, out->icmp_type)) DecodeQuotedHeader(c, out);
      break;
    }
    default:
      out->payload_len = ip_payload_len;
      break;
  }
  out->has_transport = true;
  out->payload = c.p;
  out->captured_payload_len =
      static_cast<uint32_t>(c.n < out->payload_len ? c.n : out->payload_len);
  return DecodeStatus::kOk;
}

DecodeStatus DecodeIpv4(Cursor c, Packet* out) {
  if (!c.Has(20)) return DecodeStatus::kTruncated;
  if ((c.p[0] >> 4) != 4) return DecodeStatus::kMalformed;
  uint32_t ihl = (c.p[0] & 0x0F) * 4u;
  if (ihl < 20) return DecodeStatus::kMalformed;
  if (!c.Has(ihl)) return DecodeStatus::kTruncated;
  uint32_t total = Be16(c.p + 2);
  // TSO/GRO captures can carry total length 0; fall back to what was captured.
  if (total == 0) total = static_cast<uint32_t>(c.n);
  if (total < ihl) return DecodeStatus::kMalformed;
  out->network = Network::kIpv4;
  out->ip_id = Be16(c.p + 4);
  uint16_t frag = Be16(c.p + 6);
  uint32_t offset = (frag & 0x1FFF) * 8u;
  bool more = (frag & 0x2000) != 0;
  out->ttl = c.p[8];
  out->proto = c.p[9];
  std::memcpy(out->src.data(), c.p + 12, 4);
  std::memcpy(out->dst.data(), c.p + 16, 4);
  if (offset != 0 || more) {
    out->is_fragment = true;
    out->first_fragment = offset == 0;
    out->last_fragment = !more;
    out->frag_id = out->ip_id;
  }
  uint32_t payload_len = total - ihl;
  c.Skip(ihl);
  if (offset != 0) {  // a later fragment: no transport header
    out->payload_len = payload_len;
    out->payload = c.p;
    out->captured_payload_len = static_cast<uint32_t>(c.n < payload_len ? c.n : payload_len);
    return DecodeStatus::kOk;
  }
  return DecodeTransport(c, payload_len, out);
}

bool IsIpv6ExtensionHeader(uint8_t next) {
  return next == 0 || next == 43 || next == 44 || next == 51 || next == 60 || next == 135 ||
         next == 139 || next == 140;
}

DecodeStatus DecodeIpv6(Cursor c, Packet* out) {
  if (!c.Has(40)) return DecodeStatus::kTruncated;
  if ((c.p[0] >> 4) != 6) return DecodeStatus::kMalformed;
  out->network = Network::kIpv6;
  uint32_t payload_len = Be16(c.p + 4);
  if (payload_len == 0) payload_len = static_cast<uint32_t>(c.n - 40);  // jumbogram or TSO
  uint8_t next = c.p[6];
  out->ttl = c.p[7];
  std::memcpy(out->src.data(), c.p + 8, 16);
  std::memcpy(out->dst.data(), c.p + 24, 16);
  c.Skip(40);
  bool later_fragment = false;
  // Walk extension headers; each is bounded by the captured length and by payload_len.
  for (int hops = 0; IsIpv6ExtensionHeader(next) && hops < 16; ++hops) {
    if (!c.Has(8)) return DecodeStatus::kTruncated;
    uint32_t len;
    if (next == 44) {  // fragment header: fixed 8 bytes
      uint16_t frag = Be16(c.p + 2);
      uint32_t offset = (frag & 0xFFF8u);
      bool more = (frag & 1) != 0;
      out->is_fragment = true;
      out->first_fragment = offset == 0;
      out->last_fragment = !more;
      out->frag_id = Be32(c.p + 4);
      later_fragment = offset != 0;
      len = 8;
    } else if (next == 51) {  // AH: length in 4-byte units, minus 2
      len = (c.p[1] + 2u) * 4u;
    } else {
      len = (c.p[1] + 1u) * 8u;
    }
    if (len > payload_len) return DecodeStatus::kMalformed;
    if (!c.Has(len)) return DecodeStatus::kTruncated;
    next = c.p[0];
    payload_len -= len;
    c.Skip(len);
    if (later_fragment) break;
  }
  out->proto = next;
  if (later_fragment) {
    out->payload_len = payload_len;
    out->payload = c.p;
    out->captured_payload_len = static_cast<uint32_t>(c.n < payload_len ? c.n : payload_len);
    return DecodeStatus::kOk;
  }
  return DecodeTransport(c, payload_len, out);
}

DecodeStatus DecodeArp(Cursor c, Packet* out) {
  if (!c.Has(8)) return DecodeStatus::kTruncated;
  uint16_t ptype = Be16(c.p + 2);
  uint8_t hlen = c.p[4];
  uint8_t plen = c.p[5];
  if (ptype != kEtherIpv4 || plen != 4) return DecodeStatus::kNotIp;
  size_t need = 8 + 2u * hlen + 2u * plen;
  if (!c.Has(need)) return DecodeStatus::kTruncated;
  out->network = Network::kArp;
  out->arp_op = Be16(c.p + 6);
  std::memcpy(out->src.data(), c.p + 8 + hlen, 4);
  std::memcpy(out->dst.data(), c.p + 8 + 2 * hlen + 4, 4);
  out->has_transport = true;
  return DecodeStatus::kOk;
}

DecodeStatus DecodeEthertype(uint16_t type, Cursor c, Packet* out) {
  switch (type) {
    case kEtherIpv4:
      return DecodeIpv4(c, out);
    case kEtherIpv6:
      return DecodeIpv6(c, out);
    case kEtherArp:
      return DecodeArp(c, out);
    default:
      return DecodeStatus::kNotIp;
  }
}

// Raw IP: the version nibble says which.
DecodeStatus DecodeRawIp(Cursor c, Packet* out) {
  if (!c.Has(1)) return DecodeStatus::kTruncated;
  switch (c.p[0] >> 4) {
    case 4:
      return DecodeIpv4(c, out);
    case 6:
      return DecodeIpv6(c, out);
    default:
      return DecodeStatus::kNotIp;
  }
}

}  // namespace

bool LinkTypeSupported(int link_type) {
  switch (link_type) {
    case kLinkNull:
    case kLinkEthernet:
    case kLinkRaw:
    case 12:  // DLT_RAW
    case 14:  // DLT_RAW on OpenBSD
    case kLinkLinuxSll:
    case kLinkIpv4:
    case kLinkIpv6:
    case kLinkLinuxSll2:
      return true;
    default:
      return false;
  }
}

const char* DecodeStatusName(DecodeStatus s) {
  switch (s) {
    case DecodeStatus::kOk:
      return "ok";
    case DecodeStatus::kTruncated:
      return "truncated";
    case DecodeStatus::kMalformed:
      return "malformed";
    case DecodeStatus::kNotIp:
      return "not IP";
    case DecodeStatus::kUnsupportedLink:
      return "unsupported link type";
  }
  return "?";
}

DecodeStatus DecodePacket(int link_type, const uint8_t* data, size_t caplen, uint32_t wire_len,
                          int64_t ts_us, Packet* out) {
  *out = Packet();
  out->ts_us = ts_us;
  out->wire_len = wire_len;
  if (data == nullptr) caplen = 0;
  Cursor c{data, caplen};
  uint32_t link_header = 0;  // bytes before the network header (for counted_bytes)
  DecodeStatus st;
  switch (link_type) {
    case kLinkEthernet: {
      if (!c.Has(kEthernetHeader)) return DecodeStatus::kTruncated;
      uint16_t type = Be16(c.p + 12);
      c.Skip(kEthernetHeader);
      // Any depth of 802.1Q / 802.1ad tags; Argus counts the whole frame, and so do we.
      for (int tags = 0; type == kEtherVlan || type == kEtherQinQ || type == kEtherQinQOld;
           ++tags) {
        if (tags >= 8) return DecodeStatus::kMalformed;
        if (!c.Has(4)) return DecodeStatus::kTruncated;
        if (tags == 0) out->vlan = Be16(c.p) & 0x0FFF;
        type = Be16(c.p + 2);
        c.Skip(4);
      }
      st = DecodeEthertype(type, c, out);
      // Ethernet frames count as on the wire, tags included (as Argus does).
      out->counted_bytes = wire_len;
      return st;
    }
    case kLinkLinuxSll: {
      link_header = 16;
      if (!c.Has(link_header)) return DecodeStatus::kTruncated;
      uint16_t type = Be16(c.p + 14);
      c.Skip(link_header);
      st = DecodeEthertype(type, c, out);
      break;
    }
    case kLinkLinuxSll2: {
      link_header = 20;
      if (!c.Has(link_header)) return DecodeStatus::kTruncated;
      uint16_t type = Be16(c.p);
      c.Skip(link_header);
      st = DecodeEthertype(type, c, out);
      break;
    }
    case kLinkNull: {
      link_header = 4;
      if (!c.Has(link_header)) return DecodeStatus::kTruncated;
      c.Skip(link_header);
      st = DecodeRawIp(c, out);
      break;
    }
    case kLinkRaw:
    case 12:
    case 14:
      st = DecodeRawIp(c, out);
      break;
    case kLinkIpv4:
      st = DecodeIpv4(c, out);
      break;
    case kLinkIpv6:
      st = DecodeIpv6(c, out);
      break;
    default:
      return DecodeStatus::kUnsupportedLink;
  }
  // Other link types count as if the packet had an untagged Ethernet header, so a live capture
  // on "any" (cooked) gives the same byte counts as an Ethernet capture of the same traffic.
  uint32_t network_len = wire_len > link_header ? wire_len - link_header : 0;
  out->counted_bytes = network_len + kEthernetHeader;
  return st;
}

std::string AddressToString(Network network, const std::array<uint8_t, 16>& addr) {
  if (network == Network::kIpv6) {
    char buf[INET6_ADDRSTRLEN] = {0};
    inet_ntop(AF_INET6, addr.data(), buf, sizeof(buf));
    return buf;
  }
  // Dotted quad by hand: inet_ntop goes through printf, which shows in profiles.
  char buf[16];
  char* p = buf;
  for (int i = 0; i < 4; ++i) {
    unsigned v = addr[i];
    if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
    if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
    *p++ = static_cast<char>('0' + v % 10);
    if (i < 3) *p++ = '.';
  }
  return std::string(buf, p);
}

}  // namespace vigil
