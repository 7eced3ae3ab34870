// End-to-end tests of `vigil capture`: usage errors, damaged captures, and the flow CSV scored by
// `vigil predict` with a model trained on UNSW-NB15.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cli/test_util.h"
#include "flow/flow_test_util.h"

namespace {

using namespace vigil::testutil;  // NOLINT(google-build-using-namespace)

namespace fs = std::filesystem;

class CaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        (fs::temp_directory_path() / ("vigil_capture_test_" + std::to_string(::getpid()))).string();
    fs::create_directories(dir_);
    // A small capture: a TCP handshake and a UDP exchange.
    using vigil::testing::Frame;
    vigil::testing::TcpSpec syn;
    syn.flags = vigil::kTcpSyn;
    vigil::testing::Ipv4Spec back;
    back.src = {10, 0, 0, 2};
    back.dst = {10, 0, 0, 1};
    vigil::testing::TcpSpec synack;
    synack.sport = 80;
    synack.dport = 40000;
    synack.flags = vigil::kTcpSyn | vigil::kTcpAck;
    vigil::testing::Ipv4Spec udp;
    udp.proto = vigil::kProtoUdp;
    const int64_t t0 = 1'600'000'000'000'000;
    std::vector<Frame> frames = {
        {t0, vigil::testing::EthIpv4Tcp({}, syn)},
        {t0 + 900, vigil::testing::EthIpv4Tcp(back, synack)},
        {t0 + 2000, vigil::testing::Ethernet(
                        0x0800, vigil::testing::Ipv4(udp, vigil::testing::Udp(5353, 53, {1, 2})))},
    };
    pcap_ = dir_ + "/small.pcap";
    std::ofstream(pcap_, std::ios::binary)
        << vigil::testing::PcapFile(vigil::kLinkEthernet, frames);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string dir_, pcap_;
};

TEST_F(CaptureTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Vigil("capture").code, 2);
  EXPECT_EQ(Vigil("capture --pcap " + pcap_).code, 2);  // no --output
  CmdResult r = Vigil("capture --pcap " + pcap_ + " --output " + dir_ + "/flows.txt");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find(".csv or .jsonl"), std::string::npos) << r.out;
  EXPECT_EQ(Vigil("capture --pcap " + pcap_ + " --interface lo --output x.csv").code, 2);
  EXPECT_EQ(Vigil("capture --pcap " + dir_ + "/missing.pcap --output x.csv").code, 2);
}

TEST_F(CaptureTest, CsvAndJsonLines) {
  CmdResult r = Vigil("capture --pcap " + pcap_ + " --output " + dir_ + "/flows.csv");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("wrote 2 flows"), std::string::npos) << r.out;
  std::string csv = Slurp(dir_ + "/flows.csv");
  EXPECT_EQ(csv.rfind("id,dur,proto,service,state,spkts,dpkts,sbytes,dbytes,rate,", 0), 0u);
  EXPECT_NE(csv.find(",tcp,http,ACC,1,1,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",udp,dns,INT,1,0,"), std::string::npos) << csv;
  r = Vigil("capture -q --pcap " + pcap_ + " --bpf udp --output " + dir_ + "/flows.jsonl");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(r.out.empty()) << r.out;
  std::string jsonl = Slurp(dir_ + "/flows.jsonl");
  EXPECT_EQ(jsonl.rfind("{\"id\":1,", 0), 0u) << jsonl;
  EXPECT_EQ(std::count(jsonl.begin(), jsonl.end(), '\n'), 1);
}

TEST_F(CaptureTest, DamagedCaptureNamesFileAndPacket) {
  std::string whole = Slurp(pcap_);
  std::string cut = dir_ + "/cut.pcap";
  std::ofstream(cut, std::ios::binary) << whole.substr(0, whole.size() - 10);
  CmdResult r = Vigil("capture --pcap " + cut + " --output " + dir_ + "/c.csv");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find(cut + ": packet 3: record truncated"), std::string::npos) << r.out;
  std::string junk = dir_ + "/junk.pcap";
  std::ofstream(junk) << "not a capture, just some text that is long enough";
  r = Vigil("capture --pcap " + junk + " --output " + dir_ + "/j.csv");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("not a pcap file"), std::string::npos) << r.out;
}

// The flows of a shared attack capture, scored by a model trained on UNSW-NB15 (one epoch).
TEST_F(CaptureTest, PredictScoresCapturedFlowsWithAUnswModel) {
  const std::string unsw = kData + "/unsw-nb15/UNSW_NB15_dev.csv";
  const std::string scan =
      kData + "/pcap/esnet-curated-pcaps/attacks/scanners/nmap/nmap_80_all.pcap";
  if (!fs::exists(unsw) || !fs::exists(scan)) GTEST_SKIP() << "no shared data in " << kData;
  CmdResult r = Vigil("train -q --format unsw-nb15 --train " + unsw +
                      " --model mlp --epochs 1 --threads 1 --out " + dir_ + "/u.vigil");
  ASSERT_EQ(r.code, 0) << r.out;
  r = Vigil("capture -q --pcap " + scan + " --output " + dir_ + "/scan.csv");
  ASSERT_EQ(r.code, 0) << r.out;
  r = Vigil("predict --model " + dir_ + "/u.vigil --format unsw-nb15 --input " + dir_ +
            "/scan.csv --output " + dir_ + "/scan.jsonl");
  ASSERT_EQ(r.code, 0) << r.out;
  std::string scores = Slurp(dir_ + "/scan.jsonl");
  EXPECT_EQ(std::count(scores.begin(), scores.end(), '\n'), 36);  // one line per flow
  EXPECT_NE(scores.find("\"score\":"), std::string::npos);
}

}  // namespace
