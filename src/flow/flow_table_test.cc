#include "flow/flow_table.h"

#include <gtest/gtest.h>

#include <cmath>

#include "flow/flow_test_util.h"

namespace vigil {
namespace {

using testing::Bytes;
using testing::Ipv4Spec;
using testing::TcpSpec;

constexpr int64_t kT0 = 1'600'000'000'000'000;  // microseconds
constexpr int64_t kMs = 1000;
constexpr int64_t kSec = 1'000'000;

const std::array<uint8_t, 4> kClient = {10, 0, 0, 1};
const std::array<uint8_t, 4> kServer = {10, 0, 0, 2};

struct Harness {
  std::vector<FlowRecord> records;
  FlowTable table;
  explicit Harness(const FlowTableOptions& o = FlowTableOptions())
      : table(o, [this](const FlowRecord& r) { records.push_back(r); }) {}
  void Add(const Bytes& frame, int64_t ts) { table.Add(testing::Decode(frame, ts)); }
  // A TCP segment between kClient:40000 and kServer:80.
  void Tcp(bool from_client, uint8_t flags, int64_t ts, uint32_t seq, uint32_t ack,
           const Bytes& payload = {}, uint16_t window = 1000, int wscale = -1) {
    Ipv4Spec ip;
    ip.src = from_client ? kClient : kServer;
    ip.dst = from_client ? kServer : kClient;
    ip.ttl = from_client ? 64 : 50;
    TcpSpec t;
    t.sport = from_client ? 40000 : 80;
    t.dport = from_client ? 80 : 40000;
    t.flags = flags;
    t.seq = seq;
    t.ack = ack;
    t.window = window;
    t.wscale = wscale;
    t.payload = payload;
    Add(testing::EthIpv4Tcp(ip, t), ts);
  }
  void Udp(const std::array<uint8_t, 4>& src, const std::array<uint8_t, 4>& dst, uint16_t sport,
           uint16_t dport, int64_t ts, const Bytes& payload = Bytes(4, 'u')) {
    Ipv4Spec ip;
    ip.src = src;
    ip.dst = dst;
    ip.proto = kProtoUdp;
    Add(testing::Ethernet(0x0800, testing::Ipv4(ip, testing::Udp(sport, dport, payload))), ts);
  }
  const FlowRecord& Only() {
    table.Flush();
    EXPECT_EQ(records.size(), 1u);
    return records.at(0);
  }
};

TEST(FlowTableTest, TcpHandshakeDataAndTeardown) {
  Harness h;
  const uint32_t c = 1000, s = 5000;
  h.Tcp(true, kTcpSyn, kT0, c, 0, {}, 29200, 7);
  h.Tcp(false, kTcpSyn | kTcpAck, kT0 + 20 * kMs, s, c + 1, {}, 42600, 9);
  h.Tcp(true, kTcpAck, kT0 + 21 * kMs, c + 1, s + 1, {}, 229);
  h.Tcp(true, kTcpAck | kTcpPsh, kT0 + 22 * kMs, c + 1, s + 1, testing::Text("GET / HTTP/1.1\r\n"),
        229);
  h.Tcp(false, kTcpAck | kTcpPsh, kT0 + 40 * kMs, s + 1, c + 17,
        testing::Text("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"), 84);
  h.Tcp(true, kTcpFin | kTcpAck, kT0 + 50 * kMs, c + 17, s + 100, {}, 229);
  h.Tcp(false, kTcpFin | kTcpAck, kT0 + 60 * kMs, s + 100, c + 18, {}, 84);
  h.Tcp(true, kTcpAck, kT0 + 61 * kMs, c + 18, s + 101, {}, 229);
  const FlowRecord& r = h.Only();
  EXPECT_EQ(AddressToString(r.network, r.src), "10.0.0.1");
  EXPECT_EQ(r.sport, 40000);
  EXPECT_EQ(r.dport, 80);
  EXPECT_EQ(r.s.pkts, 5u);
  EXPECT_EQ(r.d.pkts, 3u);
  EXPECT_STREQ(r.State(), "FIN");
  EXPECT_DOUBLE_EQ(r.SynAckSeconds(), 0.020);
  EXPECT_DOUBLE_EQ(r.AckDatSeconds(), 0.001);
  EXPECT_EQ(r.s.base_seq, c);
  EXPECT_EQ(r.d.base_seq, s);
  EXPECT_EQ(r.s.ScaledWindow(), 229u << 7);  // last window, shifted by the SYN's scale
  EXPECT_EQ(r.d.ScaledWindow(), 84u << 9);
  EXPECT_EQ(r.s.ttl, 64);
  EXPECT_EQ(r.d.ttl, 50);
  EXPECT_EQ(r.start_us, kT0);
  EXPECT_EQ(r.last_us, kT0 + 61 * kMs);
  EXPECT_EQ(r.s.retransmits + r.d.retransmits, 0u);
  EXPECT_EQ(r.FlowService(), Service::kHttp);
  EXPECT_EQ(r.app.http_requests, 1);
  EXPECT_EQ(r.app.response_body_len, 1234u);
}

TEST(FlowTableTest, TcpStates) {
  struct Case {
    const char* want;
    std::vector<std::pair<bool, uint8_t>> packets;  // (from client, flags)
  };
  const Case cases[] = {
      {"REQ", {{true, kTcpSyn}}},
      {"REQ", {{true, kTcpSyn}, {true, kTcpSyn}}},
      {"ACC", {{true, kTcpSyn}, {false, kTcpSyn | kTcpAck}}},
      {"CON", {{true, kTcpSyn}, {false, kTcpSyn | kTcpAck}, {true, kTcpAck}}},
      {"RST", {{true, kTcpSyn}, {false, kTcpRst | kTcpAck}}},
      {"FIN", {{true, kTcpSyn}, {false, kTcpSyn | kTcpAck}, {true, kTcpFin | kTcpAck}}},
      {"RST", {{true, kTcpFin | kTcpAck}, {true, kTcpRst}}},
      {"CON", {{true, kTcpAck}}},
  };
  for (const Case& c : cases) {
    Harness h;
    int64_t t = kT0;
    for (auto [from_client, flags] : c.packets) h.Tcp(from_client, flags, t += kMs, 1, 1);
    EXPECT_STREQ(h.Only().State(), c.want) << c.want << " with " << c.packets.size() << " packets";
  }
}

TEST(FlowTableTest, RepeatedSynsAreLoss) {
  Harness h;
  h.Tcp(true, kTcpSyn, kT0, 1, 0);
  h.Tcp(true, kTcpSyn, kT0 + kSec, 1, 0);
  h.Tcp(true, kTcpSyn, kT0 + 3 * kSec, 1, 0);
  const FlowRecord& r = h.Only();
  EXPECT_EQ(r.s.retransmits, 2u);
  EXPECT_STREQ(r.State(), "REQ");
}

TEST(FlowTableTest, RetransmittedDataCountsOnceTheWindowIsKnown) {
  Harness h;
  h.Tcp(true, kTcpSyn, kT0, 100, 0);
  h.Tcp(false, kTcpSyn | kTcpAck, kT0 + kMs, 900, 101);
  h.Tcp(true, kTcpAck, kT0 + 2 * kMs, 101, 901);
  h.Tcp(true, kTcpAck | kTcpPsh, kT0 + 3 * kMs, 101, 901, Bytes(50, 'a'));
  h.Tcp(true, kTcpAck | kTcpPsh, kT0 + 4 * kMs, 101, 901, Bytes(50, 'a'));  // again
  h.Tcp(true, kTcpAck | kTcpPsh, kT0 + 5 * kMs, 151, 901, Bytes(50, 'b'));
  EXPECT_EQ(h.Only().s.retransmits, 1u);
}

TEST(FlowTableTest, OneWayCaptureShowsNoLoss) {
  Harness h;
  h.Tcp(false, kTcpAck | kTcpPsh, kT0, 500, 1, Bytes(10, 'x'));
  h.Tcp(false, kTcpAck | kTcpPsh, kT0 + kMs, 500, 1, Bytes(10, 'x'));
  const FlowRecord& r = h.Only();
  EXPECT_EQ(r.s.retransmits + r.d.retransmits, 0u);
}

TEST(FlowTableTest, MidStreamOrientationFollowsArgus) {
  // From the server's lower port, sent by the higher address: the receiver is the source.
  Harness h;
  h.Tcp(false, kTcpAck, kT0, 1, 1);
  const FlowRecord& r = h.Only();
  EXPECT_EQ(AddressToString(r.network, r.src), "10.0.0.1");
  EXPECT_EQ(r.sport, 40000);
  EXPECT_EQ(r.s.pkts, 0u);
  EXPECT_EQ(r.d.pkts, 1u);
  EXPECT_TRUE(r.reversed);
  // From the higher port: the sender stays the source.
  Harness h2;
  h2.Tcp(true, kTcpAck, kT0, 1, 1);
  EXPECT_EQ(h2.Only().s.pkts, 1u);
}

TEST(FlowTableTest, SynAckFirstIsTurnedAroundToClo) {
  Harness h;
  h.Tcp(false, kTcpSyn | kTcpAck, kT0, 1, 1);
  h.Tcp(false, kTcpAck, kT0 + kMs, 2, 1);
  const FlowRecord& r = h.Only();
  EXPECT_STREQ(r.State(), "CLO");
  EXPECT_EQ(r.sport, 40000);
  EXPECT_EQ(r.s.pkts, 0u);
  EXPECT_EQ(r.d.pkts, 2u);
  // Only SYN-ACKs: kept as it came, state ACC.
  Harness h2;
  h2.Tcp(false, kTcpSyn | kTcpAck, kT0, 1, 1);
  h2.Tcp(false, kTcpSyn | kTcpAck, kT0 + kSec, 1, 1);
  const FlowRecord& r2 = h2.Only();
  EXPECT_STREQ(r2.State(), "ACC");
  EXPECT_EQ(r2.sport, 80);
  EXPECT_EQ(r2.s.pkts, 2u);
}

TEST(FlowTableTest, IdleTimeoutsPerProtocol) {
  FlowTableOptions o;
  Harness h(o);
  h.Udp(kClient, kServer, 1000, 2000, kT0);
  h.Tcp(true, kTcpSyn, kT0, 1, 0);
  // 29 s later: nothing has ended.
  h.Udp({10, 9, 9, 9}, kServer, 1, 2, kT0 + 29 * kSec);
  EXPECT_TRUE(h.records.empty());
  // 31 s: the first UDP flow (30 s) ended, the TCP one (60 s) not.
  h.table.Advance(kT0 + 31 * kSec);
  ASSERT_EQ(h.records.size(), 1u);
  EXPECT_EQ(h.records[0].proto, kProtoUdp);
  h.table.Advance(kT0 + 61 * kSec);
  ASSERT_EQ(h.records.size(), 3u);
  EXPECT_EQ(h.table.active_flows(), 0u);
  // A packet after the timeout starts a new flow.
  h.Udp(kClient, kServer, 1000, 2000, kT0 + 100 * kSec);
  h.table.Flush();
  EXPECT_EQ(h.records.size(), 4u);
}

TEST(FlowTableTest, ClosedTcpEndsSooner) {
  Harness h;
  h.Tcp(true, kTcpSyn, kT0, 1, 0);
  h.Tcp(false, kTcpRst | kTcpAck, kT0 + kMs, 0, 2);
  h.table.Advance(kT0 + 11 * kSec);
  EXPECT_EQ(h.records.size(), 1u);
}

TEST(FlowTableTest, ActiveTimeoutReportsLongFlowsInPieces) {
  FlowTableOptions o;
  o.active_timeout_us = 60 * kSec;
  Harness h(o);
  for (int i = 0; i < 150; ++i) h.Udp(kClient, kServer, 5000, 6000, kT0 + i * kSec);
  h.table.Flush();
  ASSERT_EQ(h.records.size(), 3u);
  EXPECT_EQ(h.records[0].s.pkts, 60u);
  EXPECT_EQ(h.records[1].s.pkts, 60u);
  EXPECT_EQ(h.records[2].s.pkts, 30u);
  EXPECT_EQ(h.records[1].start_us, kT0 + 60 * kSec);
  EXPECT_EQ(h.table.stats().active_splits, 2u);
}

TEST(FlowTableTest, EvictsLeastRecentlyActiveWhenFull) {
  FlowTableOptions o;
  o.max_flows = 3;
  Harness h(o);
  for (int i = 0; i < 5; ++i)
    h.Udp(kClient, kServer, static_cast<uint16_t>(1000 + i), 53, kT0 + i * kMs, {});
  EXPECT_EQ(h.table.active_flows(), 3u);
  EXPECT_EQ(h.table.stats().evicted, 2u);
  ASSERT_EQ(h.records.size(), 2u);
  EXPECT_EQ(h.records[0].sport, 1000);
  EXPECT_EQ(h.records[1].sport, 1001);
}

TEST(FlowTableTest, ManyFlowsSurviveGrowthAndDeletion) {
  FlowTableOptions o;
  o.udp_timeout_us = 10 * kSec;
  Harness h(o);
  // 20000 flows, then half of them again, then all expire: every packet lands in its own flow.
  for (int i = 0; i < 20000; ++i) {
    h.Udp(kClient, {10, 1, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)},
          static_cast<uint16_t>(i), 53, kT0 + i, {});
  }
  for (int i = 0; i < 20000; i += 2) {
    h.Udp(kClient, {10, 1, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)},
          static_cast<uint16_t>(i), 53, kT0 + 5 * kSec + i, {});
  }
  EXPECT_EQ(h.table.active_flows(), 20000u);
  h.table.Advance(kT0 + 12 * kSec);  // the odd ones (last seen at ~0 s) end
  EXPECT_EQ(h.records.size(), 10000u);
  for (const FlowRecord& r : h.records) EXPECT_EQ(r.sport % 2, 1);
  h.table.Flush();
  ASSERT_EQ(h.records.size(), 20000u);
  uint64_t pkts = 0;
  for (const FlowRecord& r : h.records) pkts += r.s.pkts;
  EXPECT_EQ(pkts, 30000u);
}

Bytes Fragment(uint16_t id, uint16_t offset, bool more, const Bytes& payload) {
  Ipv4Spec ip;
  ip.src = {192, 0, 2, 1};
  ip.dst = kServer;
  ip.proto = kProtoUdp;
  ip.id = id;
  ip.frag_offset = offset;
  ip.more_fragments = more;
  return testing::Ethernet(0x0800, testing::Ipv4(ip, payload));
}

TEST(FlowTableTest, FragmentsJoinTheirFlowInAnyOrder) {
  Harness h;
  Bytes first = Fragment(7, 0, true, testing::Udp(53, 2222, Bytes(1472 - 8, 'a')));
  Bytes middle = Fragment(7, 1472, true, Bytes(1472, 'b'));
  Bytes last = Fragment(7, 2944, false, Bytes(100, 'c'));
  h.Add(last, kT0);  // the last piece first
  h.Add(first, kT0 + 1);
  h.Add(middle, kT0 + 2);
  const FlowRecord& r = h.Only();
  EXPECT_EQ(r.s.pkts, 3u);
  EXPECT_EQ(r.s.bytes, first.size() + middle.size() + last.size());
  EXPECT_EQ(r.sport, 53);
  EXPECT_EQ(r.start_us, kT0);
  EXPECT_EQ(r.fragments, 2u);
  EXPECT_EQ(r.s.Intervals(), 0u);  // fragments do not enter the inter-arrival times
  EXPECT_EQ(h.table.stats().fragments_joined, 2u);
}

TEST(FlowTableTest, OrphanFragmentsBecomeTheirOwnFlow) {
  Harness h;
  h.Add(Fragment(9, 1480, false, Bytes(200, 'x')), kT0);
  h.table.Advance(kT0 + 6 * kSec);  // the fragment timeout (5 s) passes
  ASSERT_EQ(h.records.size(), 1u);
  EXPECT_EQ(h.records[0].sport, 0);
  EXPECT_EQ(h.records[0].dport, 0);
  EXPECT_EQ(h.records[0].s.pkts, 1u);
  EXPECT_EQ(h.table.stats().fragments_orphaned, 1u);
}

TEST(FlowTableTest, DnsTransactionsAreSeparateFlows) {
  Harness h;
  h.Udp(kClient, kServer, 3333, 53, kT0, {0x12, 0x34, 1, 0});
  h.Udp(kServer, kClient, 53, 3333, kT0 + kMs, {0x12, 0x34, 0x81, 0x80});
  h.Udp(kClient, kServer, 3333, 53, kT0 + 2 * kMs, {0x56, 0x78, 1, 0});
  h.table.Flush();
  ASSERT_EQ(h.records.size(), 2u);
  EXPECT_STREQ(h.records[0].State(), "CON");
  EXPECT_STREQ(h.records[1].State(), "INT");
  EXPECT_EQ(h.records[0].FlowService(), Service::kDns);
}

TEST(FlowTableTest, IcmpErrorMovesTheQuotedFlowsLastTime) {
  Harness h;
  h.Udp(kClient, kServer, 4000, 161, kT0);
  Ipv4Spec inner;
  inner.src = kClient;
  inner.dst = kServer;
  inner.proto = kProtoUdp;
  Ipv4Spec outer;
  outer.src = kServer;
  outer.dst = kClient;
  outer.proto = kProtoIcmp;
  Bytes icmp = testing::Icmp(3, 3, 0, 0, testing::Ipv4(inner, testing::Udp(4000, 161, {})));
  h.Add(testing::Ethernet(0x0800, testing::Ipv4(outer, icmp)), kT0 + 7 * kMs);
  h.table.Flush();
  ASSERT_EQ(h.records.size(), 2u);
  const FlowRecord& udp = h.records[0].proto == kProtoUdp ? h.records[0] : h.records[1];
  const FlowRecord& err = h.records[0].proto == kProtoUdp ? h.records[1] : h.records[0];
  EXPECT_EQ(udp.last_us, kT0 + 7 * kMs);
  EXPECT_EQ(udp.s.pkts, 1u);
  EXPECT_STREQ(err.State(), "URP");
  EXPECT_EQ(err.sport, 3);  // ICMP type
}

TEST(FlowTableTest, EchoRequestAndReplyShareAFlow) {
  Harness h;
  Ipv4Spec a;
  a.proto = kProtoIcmp;
  a.src = kClient;
  a.dst = kServer;
  Ipv4Spec b = a;
  b.src = kServer;
  b.dst = kClient;
  h.Add(testing::Ethernet(0x0800, testing::Ipv4(a, testing::Icmp(8, 0, 77, 1, Bytes(8)))), kT0);
  h.Add(testing::Ethernet(0x0800, testing::Ipv4(b, testing::Icmp(0, 0, 77, 1, Bytes(8)))),
        kT0 + kMs);
  h.Add(testing::Ethernet(0x0800, testing::Ipv4(a, testing::Icmp(8, 0, 78, 1, Bytes(8)))),
        kT0 + 2 * kMs);
  h.table.Flush();
  ASSERT_EQ(h.records.size(), 2u);
  EXPECT_STREQ(h.records[0].State(), "ECR");
  EXPECT_EQ(h.records[0].d.pkts, 1u);
  EXPECT_STREQ(h.records[1].State(), "ECO");
}

TEST(FlowTableTest, InterArrivalMeanAndJitter) {
  Harness h;
  h.Udp(kClient, kServer, 1, 2, kT0);
  h.Udp(kClient, kServer, 1, 2, kT0 + 10 * kMs);
  h.Udp(kClient, kServer, 1, 2, kT0 + 30 * kMs);
  h.Udp(kClient, kServer, 1, 2, kT0 + 30 * kMs);  // same time: left out, as Argus does
  const FlowRecord& r = h.Only();
  EXPECT_EQ(r.s.pkts, 4u);
  EXPECT_EQ(r.s.Intervals(), 2u);
  EXPECT_DOUBLE_EQ(r.s.interval_mean_ms, 15.0);
  EXPECT_NEAR(std::sqrt(r.s.interval_m2 / 2), 5.0, 1e-9);
}

TEST(FlowTableTest, FtpPassiveModeNamesTheDataConnection) {
  Harness h;
  auto ftp = [&](bool from_client, const std::string& text, int64_t ts) {
    Ipv4Spec ip;
    ip.src = from_client ? kClient : kServer;
    ip.dst = from_client ? kServer : kClient;
    TcpSpec t;
    t.sport = from_client ? 41000 : 21;
    t.dport = from_client ? 21 : 41000;
    t.flags = kTcpAck | kTcpPsh;
    t.payload = testing::Text(text);
    h.Add(testing::EthIpv4Tcp(ip, t), ts);
  };
  ftp(false, "220 (vsFTPd 3.0.3)\r\n", kT0);
  ftp(true, "USER anonymous\r\n", kT0 + 1);
  ftp(false, "331 Please specify the password.\r\n", kT0 + 2);
  ftp(true, "PASS guest\r\n", kT0 + 3);
  ftp(false, "230 Login successful.\r\n", kT0 + 4);
  ftp(true, "PASV\r\n", kT0 + 5);
  ftp(false, "227 Entering Passive Mode (10,0,0,2,195,80).\r\n", kT0 + 6);
  // The client opens the announced port 195*256+80 = 50000.
  Ipv4Spec ip;
  ip.src = kClient;
  ip.dst = kServer;
  TcpSpec t;
  t.sport = 41001;
  t.dport = 50000;
  t.flags = kTcpSyn;
  h.Add(testing::EthIpv4Tcp(ip, t), kT0 + 7);
  h.table.Flush();
  ASSERT_EQ(h.records.size(), 2u);
  const FlowRecord& control = h.records[0].dport == 21 ? h.records[0] : h.records[1];
  const FlowRecord& data = h.records[0].dport == 21 ? h.records[1] : h.records[0];
  EXPECT_EQ(control.FlowService(), Service::kFtp);
  EXPECT_EQ(control.app.ftp_user, 1);
  EXPECT_EQ(control.app.ftp_pass, 1);
  EXPECT_EQ(control.app.ftp_logged_in, 1);
  EXPECT_EQ(data.FlowService(), Service::kFtpData);
}

}  // namespace
}  // namespace vigil
