#include "flow/packet.h"

#include <gtest/gtest.h>

#include "flow/flow_test_util.h"

namespace vigil {
namespace {

using testing::Bytes;
using testing::Decode;
using testing::Ipv4Spec;
using testing::TcpSpec;

TEST(PacketTest, EthernetIpv4Tcp) {
  TcpSpec t;
  t.sport = 51000;
  t.dport = 443;
  t.flags = kTcpSyn;
  t.seq = 123456;
  t.window = 29200;
  t.wscale = 7;
  Ipv4Spec ip;
  ip.ttl = 61;
  ip.id = 77;
  Bytes frame = testing::EthIpv4Tcp(ip, t);
  Packet p;
  ASSERT_EQ(DecodePacket(kLinkEthernet, frame.data(), frame.size(), 1500, 42, &p),
            DecodeStatus::kOk);
  EXPECT_EQ(p.network, Network::kIpv4);
  EXPECT_EQ(p.proto, kProtoTcp);
  EXPECT_EQ(p.ts_us, 42);
  EXPECT_EQ(p.ttl, 61);
  EXPECT_EQ(p.ip_id, 77);
  EXPECT_EQ(p.sport, 51000);
  EXPECT_EQ(p.dport, 443);
  EXPECT_EQ(p.tcp_flags, kTcpSyn);
  EXPECT_EQ(p.seq, 123456u);
  EXPECT_EQ(p.window, 29200);
  EXPECT_EQ(p.wscale, 7);
  EXPECT_EQ(p.payload_len, 0u);
  EXPECT_EQ(p.counted_bytes, 1500u);  // Ethernet counts the wire length, as Argus does
  EXPECT_EQ(AddressToString(p.network, p.src), "10.0.0.1");
  EXPECT_EQ(AddressToString(p.network, p.dst), "10.0.0.2");
  EXPECT_FALSE(p.is_fragment);
}

TEST(PacketTest, PayloadLengthFromIpHeaderNotPadding) {
  TcpSpec t;
  t.payload = testing::Text("GET / HTTP/1.0\r\n");
  Bytes frame = testing::EthIpv4Tcp({}, t);
  frame.resize(frame.size() + 6, 0);  // Ethernet padding after the IP datagram
  Packet p = Decode(frame, 1);
  EXPECT_EQ(p.payload_len, t.payload.size());
  EXPECT_EQ(p.captured_payload_len, t.payload.size());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(p.payload), p.captured_payload_len),
            "GET / HTTP/1.0\r\n");
}

TEST(PacketTest, VlanAndQinQ) {
  Ipv4Spec ip;
  ip.proto = kProtoUdp;
  Bytes udp = testing::Udp(5353, 53, testing::Text("abcd"));
  Bytes one = testing::Ethernet(0x0800, testing::Ipv4(ip, udp), {943});
  Packet p = Decode(one, 1);
  EXPECT_EQ(p.vlan, 943);
  EXPECT_EQ(p.sport, 5353);
  EXPECT_EQ(p.counted_bytes, one.size());
  Bytes two = testing::Ethernet(0x0800, testing::Ipv4(ip, udp), {100, 200});
  p = Decode(two, 1);
  EXPECT_EQ(p.vlan, 100);
  EXPECT_EQ(p.dport, 53);
}

TEST(PacketTest, LinuxCookedV1AndV2CountAsEthernet) {
  Ipv4Spec ip;
  ip.proto = kProtoUdp;
  Bytes datagram = testing::Ipv4(ip, testing::Udp(1000, 2000, Bytes(10, 'x')));
  Bytes sll = testing::LinuxSll(0x0800, datagram);
  Packet p;
  ASSERT_EQ(DecodePacket(kLinkLinuxSll, sll.data(), sll.size(), sll.size(), 1, &p),
            DecodeStatus::kOk);
  EXPECT_EQ(p.sport, 1000);
  EXPECT_EQ(p.counted_bytes, datagram.size() + 14);
  Bytes sll2 = testing::LinuxSll2(0x0800, datagram);
  ASSERT_EQ(DecodePacket(kLinkLinuxSll2, sll2.data(), sll2.size(), sll2.size(), 1, &p),
            DecodeStatus::kOk);
  EXPECT_EQ(p.dport, 2000);
  EXPECT_EQ(p.counted_bytes, datagram.size() + 14);
}

TEST(PacketTest, RawIpAndLoopback) {
  Ipv4Spec ip;
  ip.proto = kProtoUdp;
  Bytes datagram = testing::Ipv4(ip, testing::Udp(1, 2, {}));
  Packet p;
  for (int link : {static_cast<int>(kLinkRaw), 12, static_cast<int>(kLinkIpv4)}) {
    ASSERT_EQ(DecodePacket(link, datagram.data(), datagram.size(), datagram.size(), 1, &p),
              DecodeStatus::kOk)
        << link;
    EXPECT_EQ(p.sport, 1);
    EXPECT_EQ(p.counted_bytes, datagram.size() + 14);
  }
  Bytes loop = testing::Cat({2, 0, 0, 0}, datagram);  // AF_INET, host order
  ASSERT_EQ(DecodePacket(kLinkNull, loop.data(), loop.size(), loop.size(), 1, &p),
            DecodeStatus::kOk);
  EXPECT_EQ(p.dport, 2);
  EXPECT_EQ(DecodePacket(147, loop.data(), loop.size(), loop.size(), 1, &p),
            DecodeStatus::kUnsupportedLink);
  EXPECT_FALSE(LinkTypeSupported(147));
}

TEST(PacketTest, Ipv4OptionsAreSkipped) {
  Ipv4Spec ip;
  ip.options_words = 2;
  TcpSpec t;
  t.sport = 7;
  Packet p = Decode(testing::EthIpv4Tcp(ip, t), 1);
  EXPECT_EQ(p.sport, 7);
}

TEST(PacketTest, Ipv6WithExtensionHeaders) {
  TcpSpec t;
  t.sport = 33000;
  t.dport = 22;
  t.flags = kTcpSyn | kTcpAck;
  Bytes v6 = testing::Ipv6(testing::V6(1), testing::V6(2), kProtoTcp, testing::Tcp(t),
                           {{0, Bytes(4, 0)}, {60, Bytes(12, 0)}}, 55);
  Packet p = Decode(testing::Ethernet(0x86DD, v6), 1);
  EXPECT_EQ(p.network, Network::kIpv6);
  EXPECT_EQ(p.proto, kProtoTcp);
  EXPECT_EQ(p.ttl, 55);
  EXPECT_EQ(p.sport, 33000);
  EXPECT_EQ(p.tcp_flags, kTcpSyn | kTcpAck);
  EXPECT_EQ(AddressToString(p.network, p.src), "2001:db8::1");
}

TEST(PacketTest, Ipv4Fragments) {
  Ipv4Spec ip;
  ip.proto = kProtoUdp;
  ip.id = 4242;
  ip.more_fragments = true;
  Bytes first = testing::Ethernet(0x0800, testing::Ipv4(ip, testing::Udp(53, 9999, Bytes(16))));
  Packet p = Decode(first, 1);
  EXPECT_TRUE(p.is_fragment);
  EXPECT_TRUE(p.first_fragment);
  EXPECT_FALSE(p.last_fragment);
  EXPECT_EQ(p.frag_id, 4242u);
  EXPECT_EQ(p.sport, 53);

  ip.frag_offset = 24;
  ip.more_fragments = false;
  Bytes later = testing::Ethernet(0x0800, testing::Ipv4(ip, Bytes(100, 'z')));
  p = Decode(later, 2);
  EXPECT_TRUE(p.is_fragment);
  EXPECT_FALSE(p.first_fragment);
  EXPECT_TRUE(p.last_fragment);
  EXPECT_EQ(p.sport, 0);  // no transport header in a later fragment
  EXPECT_EQ(p.payload_len, 100u);
}

TEST(PacketTest, Ipv6Fragments) {
  Bytes first =
      testing::Ipv6(testing::V6(1), testing::V6(2), kProtoUdp, testing::Udp(53, 1234, Bytes(8)),
                    {{44, testing::Ipv6Fragment(0, true, 99)}});
  Packet p = Decode(testing::Ethernet(0x86DD, first), 1);
  EXPECT_TRUE(p.first_fragment);
  EXPECT_EQ(p.frag_id, 99u);
  EXPECT_EQ(p.proto, kProtoUdp);
  EXPECT_EQ(p.dport, 1234);
  Bytes later = testing::Ipv6(testing::V6(1), testing::V6(2), kProtoUdp, Bytes(40),
                              {{44, testing::Ipv6Fragment(16, false, 99)}});
  p = Decode(testing::Ethernet(0x86DD, later), 2);
  EXPECT_TRUE(p.is_fragment);
  EXPECT_FALSE(p.first_fragment);
  EXPECT_EQ(p.proto, kProtoUdp);
  EXPECT_EQ(p.payload_len, 40u);
}

TEST(PacketTest, IcmpErrorQuotesTheOriginalHeader) {
  Ipv4Spec inner;
  inner.src = {10, 0, 0, 2};
  inner.dst = {10, 0, 0, 9};
  inner.proto = kProtoUdp;
  Bytes quoted = testing::Ipv4(inner, testing::Udp(4000, 161, {}));
  Ipv4Spec outer;
  outer.proto = kProtoIcmp;
  outer.src = {10, 0, 0, 9};
  outer.dst = {10, 0, 0, 2};
  Packet p =
      Decode(testing::Ethernet(0x0800, testing::Ipv4(outer, testing::Icmp(3, 3, 0, 0, quoted))), 1);
  EXPECT_EQ(p.icmp_type, 3);
  EXPECT_EQ(p.icmp_code, 3);
  ASSERT_TRUE(p.has_inner);
  EXPECT_EQ(p.inner_proto, kProtoUdp);
  EXPECT_EQ(p.inner_sport, 4000);
  EXPECT_EQ(p.inner_dport, 161);

  Packet echo = Decode(
      testing::Ethernet(0x0800, testing::Ipv4(outer, testing::Icmp(8, 0, 0x1234, 1, Bytes(8)))), 1);
  EXPECT_EQ(echo.icmp_id, 0x1234);
  EXPECT_FALSE(echo.has_inner);
}

TEST(PacketTest, Arp) {
  Bytes arp = {0, 1, 8, 0, 6, 4, 0, 1};
  Bytes mac = {1, 2, 3, 4, 5, 6};
  arp = testing::Cat(arp, mac);
  arp = testing::Cat(arp, {192, 168, 1, 1});
  arp = testing::Cat(arp, Bytes(6, 0));
  arp = testing::Cat(arp, {192, 168, 1, 2});
  Packet p = Decode(testing::Ethernet(0x0806, arp), 1);
  EXPECT_EQ(p.network, Network::kArp);
  EXPECT_EQ(p.arp_op, 1);
  EXPECT_EQ(AddressToString(Network::kIpv4, p.dst), "192.168.1.2");
}

TEST(PacketTest, NotIp) {
  Packet p;
  Bytes lldp = testing::Ethernet(0x88CC, Bytes(30, 0));
  EXPECT_EQ(DecodePacket(kLinkEthernet, lldp.data(), lldp.size(), lldp.size(), 1, &p),
            DecodeStatus::kNotIp);
}

TEST(PacketTest, MalformedHeaders) {
  Ipv4Spec ip;
  Bytes frame = testing::EthIpv4Tcp(ip, {});
  frame[14] = 0x43;  // IHL 3
  Packet p;
  EXPECT_EQ(DecodePacket(kLinkEthernet, frame.data(), frame.size(), frame.size(), 1, &p),
            DecodeStatus::kMalformed);
  ip.total_length = 10;  // shorter than the header
  frame = testing::EthIpv4Tcp(ip, {});
  EXPECT_EQ(DecodePacket(kLinkEthernet, frame.data(), frame.size(), frame.size(), 1, &p),
            DecodeStatus::kMalformed);
  frame = testing::EthIpv4Tcp({}, {});
  frame[14 + 20 + 12] = 0x20;  // TCP data offset 2 words
  EXPECT_EQ(DecodePacket(kLinkEthernet, frame.data(), frame.size(), frame.size(), 1, &p),
            DecodeStatus::kMalformed);
  Bytes deep = testing::Ethernet(0x0800, {}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  EXPECT_EQ(DecodePacket(kLinkEthernet, deep.data(), deep.size(), deep.size(), 1, &p),
            DecodeStatus::kMalformed);
}

// Every prefix of valid frames decodes to a status without reading past the prefix (ASan and the
// fuzz target check the reads; here the statuses).
TEST(PacketTest, TruncatedAtEveryLength) {
  TcpSpec t;
  t.wscale = 2;
  t.flags = kTcpSyn;
  std::vector<std::pair<int, Bytes>> frames = {
      {kLinkEthernet, testing::EthIpv4Tcp({}, t)},
      {kLinkEthernet,
       testing::Ethernet(0x86DD, testing::Ipv6(testing::V6(1), testing::V6(2), kProtoTcp,
                                               testing::Tcp(t), {{0, Bytes(4, 0)}}))},
      {kLinkLinuxSll2, testing::LinuxSll2(0x0800, testing::Ipv4({}, testing::Tcp(t)))},
  };
  for (const auto& [link, frame] : frames) {
    for (size_t n = 0; n < frame.size(); ++n) {
      Bytes prefix(frame.begin(), frame.begin() + static_cast<long>(n));
      Packet p;
      DecodeStatus st = DecodePacket(link, prefix.empty() ? nullptr : prefix.data(), n,
                                     static_cast<uint32_t>(frame.size()), 1, &p);
      EXPECT_EQ(st, DecodeStatus::kTruncated) << "link " << link << " length " << n;
    }
    Packet p;
    EXPECT_EQ(DecodePacket(link, frame.data(), frame.size(), frame.size(), 1, &p),
              DecodeStatus::kOk);
  }
}

TEST(PacketTest, SnaplenCutsPayloadOnly) {
  TcpSpec t;
  t.payload = Bytes(1000, 'a');
  Bytes frame = testing::EthIpv4Tcp({}, t);
  Packet p;
  ASSERT_EQ(DecodePacket(kLinkEthernet, frame.data(), 96, frame.size(), 1, &p), DecodeStatus::kOk);
  EXPECT_EQ(p.payload_len, 1000u);
  EXPECT_EQ(p.captured_payload_len, 96u - 54u);
  EXPECT_EQ(p.counted_bytes, frame.size());
}

}  // namespace
}  // namespace vigil
