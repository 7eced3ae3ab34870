#include "flow/unsw_features.h"

#include <gtest/gtest.h>

#include <cmath>

#include "data/format.h"
#include "flow/app.h"
#include "flow/flow_writer.h"

namespace vigil {
namespace {

constexpr int64_t kT0 = 1'600'000'000'000'000;

FlowRecord Flow(uint8_t src_last, uint8_t dst_last, uint16_t sport, uint16_t dport, int64_t last_us,
                uint8_t proto = kProtoTcp) {
  FlowRecord r;
  r.network = Network::kIpv4;
  r.proto = proto;
  r.src = {10, 0, 0, src_last};
  r.dst = {10, 0, 1, dst_last};
  r.sport = sport;
  r.dport = dport;
  r.port_service = ServiceFromPort(proto, dport);
  r.start_us = last_us - 1000;
  r.last_us = last_us;
  r.s.pkts = 1;
  r.s.bytes = 60;
  r.s.ttl = 254;
  return r;
}

TEST(UnswFeaturesTest, PerFlowColumns) {
  FlowRecord r = Flow(1, 2, 40000, 80, kT0 + 2'000'000);
  r.start_us = kT0;
  r.s.pkts = 4;
  r.s.bytes = 1000;
  r.d.pkts = 2;
  r.d.bytes = 3000;
  r.d.ttl = 252;
  r.s.timed_pkts = 4;
  r.s.interval_mean_ms = 666.0;
  r.s.interval_m2 = 3 * 25.0;  // variance 25 over 3 intervals
  r.s.window_set = true;
  r.s.window = 29200;
  r.s.seq_set = true;
  r.s.base_seq = 123;
  r.tcp_status = kSawSyn | kSawSynAck | kEstablished | kSawFin;
  r.syn_us = kT0;
  r.synack_us = kT0 + 20'000;
  r.ackdat_us = kT0 + 21'000;
  r.app.payload_service = Service::kHttp;
  r.app.http_requests = 2;
  r.app.http_methods = 2;
  r.app.response_body_len = 512;
  UnswFeatures f;
  ComputeFlowColumns(r, &f);
  EXPECT_DOUBLE_EQ(f.dur, 2.0);
  EXPECT_STREQ(f.proto, "tcp");
  EXPECT_STREQ(f.service, "http");
  EXPECT_STREQ(f.state, "FIN");
  EXPECT_DOUBLE_EQ(f.rate, 5 / 2.0);                  // (packets - 1) / dur
  EXPECT_DOUBLE_EQ(f.sload, (1000 - 250) * 8 / 2.0);  // Argus: one packet's bytes left out
  EXPECT_DOUBLE_EQ(f.dload, (3000 - 1500) * 8 / 2.0);
  EXPECT_EQ(f.smean, 250u);
  EXPECT_EQ(f.dmean, 1500u);
  EXPECT_DOUBLE_EQ(f.sinpkt, 666.0);
  EXPECT_DOUBLE_EQ(f.sjit, 5.0);
  EXPECT_EQ(f.sttl, 254u);
  EXPECT_EQ(f.dttl, 252u);
  EXPECT_EQ(f.swin, 255u);  // saturated at 255, as in the data set
  EXPECT_EQ(f.dwin, 0u);
  EXPECT_EQ(f.stcpb, 123u);
  EXPECT_NEAR(f.synack, 0.020, 1e-12);
  EXPECT_NEAR(f.ackdat, 0.001, 1e-12);
  EXPECT_NEAR(f.tcprtt, 0.021, 1e-12);
  EXPECT_EQ(f.trans_depth, 2u);
  EXPECT_EQ(f.ct_flw_http_mthd, 2u);
  EXPECT_EQ(f.response_body_len, 512u);
  EXPECT_EQ(f.ct_state_ttl, 1u);  // FIN with 254/252
  EXPECT_EQ(f.srcip, "10.0.0.1");
  EXPECT_EQ(f.dsport, 80u);
}

TEST(UnswFeaturesTest, CtStateTtlFollowsTheDataSet) {
  EXPECT_EQ(CtStateTtl("FIN", 254, 252), 1u);
  EXPECT_EQ(CtStateTtl("FIN", 62, 252), 1u);
  EXPECT_EQ(CtStateTtl("INT", 254, 0), 2u);
  EXPECT_EQ(CtStateTtl("INT", 0, 0), 2u);
  EXPECT_EQ(CtStateTtl("CON", 62, 252), 3u);
  EXPECT_EQ(CtStateTtl("ACC", 254, 252), 4u);
  EXPECT_EQ(CtStateTtl("CLO", 254, 252), 5u);
  EXPECT_EQ(CtStateTtl("REQ", 254, 0), 6u);
  EXPECT_EQ(CtStateTtl("FIN", 31, 29), 0u);
  EXPECT_EQ(CtStateTtl("RST", 254, 252), 0u);
}

TEST(UnswFeaturesTest, IsSmIpsPorts) {
  FlowRecord r = Flow(1, 1, 99, 99, kT0);
  r.dst = r.src;
  UnswFeatures f;
  ComputeFlowColumns(r, &f);
  EXPECT_EQ(f.is_sm_ips_ports, 1u);
}

TEST(UnswFeaturesTest, FtpColumnsOnlyForFtp) {
  FlowRecord r = Flow(1, 2, 40000, 21, kT0);
  r.app.ftp_user = 1;
  r.app.ftp_pass = 1;
  UnswFeatures f;
  ComputeFlowColumns(r, &f);
  EXPECT_STREQ(f.service, "ftp");
  EXPECT_EQ(f.is_ftp_login, 1u);
  EXPECT_EQ(f.ct_ftp_cmd, 1u);
  r.dport = 25;
  r.port_service = Service::kSmtp;
  ComputeFlowColumns(r, &f);
  EXPECT_EQ(f.is_ftp_login, 0u);
}

TEST(UnswFeaturesTest, CountersOverTheLastHundredConnections) {
  std::vector<UnswFeatures> rows;
  UnswFeatureBuilder b(0, [&](const FlowRecord&, const UnswFeatures& f) { rows.push_back(f); });
  // 150 connections from 10.0.0.1 to 10.0.1.2:80, then one from 10.0.0.1 to another host.
  for (int i = 0; i < 150; ++i) b.Add(Flow(1, 2, static_cast<uint16_t>(1000 + i), 80, kT0 + i));
  b.Add(Flow(1, 3, 5000, 22, kT0 + 200));
  b.Flush();
  ASSERT_EQ(rows.size(), 151u);
  EXPECT_EQ(rows[0].id, 1u);
  EXPECT_EQ(rows[0].ct_src_ltm, 1u);  // itself
  EXPECT_EQ(rows[9].ct_src_ltm, 10u);
  EXPECT_EQ(rows[99].ct_dst_ltm, 100u);
  EXPECT_EQ(rows[149].ct_dst_ltm, 100u);  // capped at the window
  EXPECT_EQ(rows[149].ct_srv_src, 100u);
  EXPECT_EQ(rows[149].ct_src_dport_ltm, 100u);
  EXPECT_EQ(rows[149].ct_dst_sport_ltm, 1u);  // every source port differs
  const UnswFeatures& last = rows[150];
  EXPECT_EQ(last.ct_src_ltm, 100u);
  EXPECT_EQ(last.ct_dst_ltm, 1u);
  EXPECT_EQ(last.ct_dst_src_ltm, 1u);
  EXPECT_EQ(last.ct_srv_src, 1u);  // ssh from this source: only itself
  EXPECT_EQ(last.ct_srv_dst, 1u);
}

TEST(UnswFeaturesTest, RowsComeInLastTimeOrder) {
  std::vector<uint64_t> last;
  UnswFeatureBuilder b(30'000'000, [&](const FlowRecord& r, const UnswFeatures&) {
    last.push_back(static_cast<uint64_t>(r.last_us));
  });
  b.Add(Flow(1, 2, 1, 80, kT0 + 500));
  b.Add(Flow(1, 2, 2, 80, kT0 + 100));
  b.Add(Flow(1, 2, 3, 80, kT0 + 300));
  b.Release(kT0 + 10'000'000);  // too early: a record 30 s older may still come
  EXPECT_TRUE(last.empty());
  b.Release(kT0 + 30'000'400);
  EXPECT_EQ(last.size(), 2u);
  b.Flush();
  EXPECT_EQ(last, (std::vector<uint64_t>{kT0 + 100, kT0 + 300, kT0 + 500}));
}

TEST(UnswFeaturesTest, ServiceFromPayloadBeatsPorts) {
  AppState st;
  FtpEndpoint ep;
  InspectPayload("POST /login HTTP/1.1\r\nHost: x\r\n", 64, true, &st, &ep);
  EXPECT_EQ(st.payload_service, Service::kHttp);
  EXPECT_EQ(st.http_requests, 1);
  EXPECT_EQ(st.http_methods, 1);
  InspectPayload("HTTP/1.1 200 OK\r\nServer: y\r\n\r\nhello", 35, false, &st, &ep);
  EXPECT_EQ(st.response_body_len, 5u);  // no Content-Length: the body bytes seen
  InspectPayload("more body", 9, false, &st, &ep);
  EXPECT_EQ(st.response_body_len, 14u);
  EXPECT_FALSE(ep.valid);
  EXPECT_EQ(ServiceFromPort(kProtoUdp, 53), Service::kDns);
  EXPECT_EQ(ServiceFromPort(kProtoTcp, 22), Service::kSsh);
  EXPECT_EQ(ServiceFromPort(kProtoTcp, 12345), Service::kNone);
  EXPECT_STREQ(ServiceName(Service::kNone), "-");
}

TEST(UnswFeaturesTest, CsvIsReadableAsUnswNb15) {
  std::string csv;
  AppendCsvHeader(&csv);
  UnswFeatureBuilder b(0, [&](const FlowRecord&, const UnswFeatures& f) { AppendCsvRow(f, &csv); });
  b.Add(Flow(1, 2, 40000, 80, kT0));
  FlowRecord udp = Flow(3, 4, 5353, 53, kT0 + 5, kProtoUdp);
  udp.d.pkts = 1;
  udp.d.bytes = 90;
  b.Add(udp);
  b.Flush();
  auto schema = MakeSchema("unsw-nb15");
  ASSERT_TRUE(schema.ok());
  auto table = ParseTable(csv, "flows.csv", *schema, /*require_target=*/false);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_EQ(table->rows, 2u);
  // Every training column but attack_cat and label is present, in the training order.
  const auto& cols = FlowOutputColumns();
  for (const ColumnSpec& c : schema->columns) {
    if (c.name == "attack_cat" || c.name == "label") continue;
    EXPECT_NE(std::find(cols.begin(), cols.end(), c.name), cols.end()) << c.name;
  }
  EXPECT_EQ(cols.front(), "id");
  EXPECT_EQ(cols.back(), "ltime");
  std::string json;
  UnswFeatures f;
  f.srcip = "a\"b";
  AppendJsonRow(f, &json);
  EXPECT_NE(json.find("\"srcip\":\"a\\\"b\""), std::string::npos);
  EXPECT_EQ(json.back(), '\n');
}

}  // namespace
}  // namespace vigil
