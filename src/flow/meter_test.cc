#include "flow/meter.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "flow/flow_test_util.h"
#include "flow/flow_writer.h"
#include "flow/pcap_file.h"
#include "flow/pcap_source.h"

namespace vigil {
namespace {

using testing::Bytes;
using testing::Frame;
using testing::Ipv4Spec;
using testing::TcpSpec;

constexpr int64_t kT0 = 1'600'000'000'000'000;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/vigil-flow-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name, const std::string& contents) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << contents;
    return p;
  }
  std::string Path(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::vector<Frame> Conversation() {
  std::vector<Frame> frames;
  TcpSpec syn;
  syn.flags = kTcpSyn;
  frames.push_back({kT0, testing::EthIpv4Tcp({}, syn)});
  Ipv4Spec back;
  back.src = {10, 0, 0, 2};
  back.dst = {10, 0, 0, 1};
  TcpSpec synack;
  synack.sport = 80;
  synack.dport = 40000;
  synack.flags = kTcpSyn | kTcpAck;
  frames.push_back({kT0 + 1000, testing::EthIpv4Tcp(back, synack)});
  Ipv4Spec udp;
  udp.proto = kProtoUdp;
  frames.push_back(
      {kT0 + 2000, testing::Ethernet(0x0800, testing::Ipv4(udp, testing::Udp(1, 2, {})))});
  frames.push_back({kT0 + 3000, testing::Ethernet(0x88CC, Bytes(40, 0))});  // LLDP: not IP
  Bytes cut = testing::EthIpv4Tcp({}, syn);
  cut.resize(30);  // IP header cut by the capture length
  frames.push_back({kT0 + 4000, cut, 60});
  return frames;
}

TEST(MeterTest, CaptureFileToRows) {
  TempDir dir;
  std::string pcap = dir.File("c.pcap", testing::PcapFile(kLinkEthernet, Conversation()));
  auto source = PcapSource::OpenFile(pcap);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  EXPECT_EQ((*source)->link_type(), kLinkEthernet);
  std::vector<UnswFeatures> rows;
  FlowMeter meter(FlowTableOptions(),
                  [&](const FlowRecord&, const UnswFeatures& f) { rows.push_back(f); });
  ASSERT_TRUE(RunCapture(source->get(), &meter, nullptr).ok());
  const MeterStats& st = meter.stats();
  EXPECT_EQ(st.frames, 5u);
  EXPECT_EQ(st.decoded, 3u);
  EXPECT_EQ(st.not_ip, 1u);
  EXPECT_EQ(st.truncated, 1u);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_STREQ(rows[0].state, "ACC");
  EXPECT_EQ(rows[0].spkts, 1u);
  EXPECT_EQ(rows[0].dpkts, 1u);
  EXPECT_STREQ(rows[1].proto, "udp");
  EXPECT_NE(meter.Summary().find("1 truncated"), std::string::npos);
}

// The worker-thread meter gives the same rows, in the same order, as the single-threaded one.
TEST(MeterTest, ThreadedMeterMatchesSingleThreaded) {
  std::vector<Frame> frames;
  for (int i = 0; i < 5000; ++i) {
    Ipv4Spec ip;
    ip.proto = kProtoUdp;
    ip.src = {10, 0, static_cast<uint8_t>(i % 7), 1};
    uint16_t port = static_cast<uint16_t>(1000 + (i * 37) % 1500);
    frames.push_back({kT0 + i * 20'000,
                      testing::Ethernet(0x0800, testing::Ipv4(ip, testing::Udp(port, 53, {})))});
  }
  std::string rows[2];
  for (bool threaded : {false, true}) {
    std::string& out = rows[threaded ? 1 : 0];
    FlowMeter meter(
        FlowTableOptions(),
        [&](const FlowRecord&, const UnswFeatures& f) { AppendCsvRow(f, &out); }, threaded);
    for (const Frame& f : frames) {
      meter.AddFrame(kLinkEthernet, f.bytes.data(), f.bytes.size(),
                     static_cast<uint32_t>(f.bytes.size()), f.ts_us);
    }
    meter.Finish();
    EXPECT_EQ(meter.stats().frames, 5000u);
  }
  EXPECT_FALSE(rows[0].empty());
  EXPECT_EQ(rows[0], rows[1]);
}

TEST(MeterTest, CookedCaptureAndBpf) {
  TempDir dir;
  Ipv4Spec udp;
  udp.proto = kProtoUdp;
  std::vector<Frame> frames = {
      {kT0, testing::LinuxSll2(0x0800, testing::Ipv4(udp, testing::Udp(5000, 53, {1, 2})))},
      {kT0 + 1, testing::LinuxSll2(0x0800, testing::Ipv4(udp, testing::Udp(5000, 123, {})))},
  };
  std::string pcap = dir.File("sll2.pcap", testing::PcapFile(kLinkLinuxSll2, frames));
  auto source = PcapSource::OpenFile(pcap, "udp port 53");
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  std::vector<UnswFeatures> rows;
  FlowMeter meter(FlowTableOptions(),
                  [&](const FlowRecord&, const UnswFeatures& f) { rows.push_back(f); });
  ASSERT_TRUE(RunCapture(source->get(), &meter, nullptr).ok());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_STREQ(rows[0].service, "dns");
  EXPECT_EQ(rows[0].sbytes, frames[0].bytes.size() - 20 + 14);  // counted as Ethernet

  auto bad = PcapSource::OpenFile(pcap, "udp port");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--bpf"), std::string::npos);
}

TEST(MeterTest, DamagedFilesGiveClearErrors) {
  TempDir dir;
  auto missing = PcapSource::OpenFile(dir.Path("nope.pcap"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);

  std::string junk = dir.File("junk.pcap", "this is not a capture file at all");
  auto not_pcap = PcapSource::OpenFile(junk);
  ASSERT_FALSE(not_pcap.ok());
  EXPECT_NE(not_pcap.status().message().find(junk), std::string::npos);

  // A file cut in the middle of its third packet.
  std::string whole = testing::PcapFile(kLinkEthernet, Conversation());
  std::string cut = dir.File("cut.pcap", whole.substr(0, 24 + 2 * 16 + 54 + 54 + 20));
  auto source = PcapSource::OpenFile(cut);
  ASSERT_TRUE(source.ok());
  std::vector<UnswFeatures> rows;
  FlowMeter meter(FlowTableOptions(),
                  [&](const FlowRecord&, const UnswFeatures& f) { rows.push_back(f); });
  Status s = RunCapture(source->get(), &meter, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(cut), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("packet 3"), std::string::npos) << s.message();
  EXPECT_EQ(rows.size(), 1u);  // what was read is still reported

  std::string other_link = dir.File("usb.pcap", testing::PcapFile(189, {}));
  auto unsupported = PcapSource::OpenFile(other_link);
  ASSERT_FALSE(unsupported.ok());
  EXPECT_EQ(unsupported.status().code(), StatusCode::kUnsupported);
}

// A minimal pcapng file: section header, one Ethernet interface, enhanced packet blocks.
std::string Pcapng(const std::vector<Frame>& frames) {
  std::string out;
  auto put32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
  };
  put32(0x0A0D0D0A);
  put32(28);
  put32(0x1A2B3C4D);
  put32(1);  // version 1.0
  put32(0xFFFFFFFF);
  put32(0xFFFFFFFF);  // section length unknown
  put32(28);
  put32(1);  // interface description
  put32(20);
  put32(1);  // link type Ethernet, reserved 0
  put32(65535);
  put32(20);
  for (const Frame& f : frames) {
    const uint32_t padded = (static_cast<uint32_t>(f.bytes.size()) + 3) & ~3u;
    put32(6);
    put32(32 + padded);
    put32(0);
    put32(static_cast<uint32_t>(static_cast<uint64_t>(f.ts_us) >> 32));
    put32(static_cast<uint32_t>(f.ts_us));
    put32(static_cast<uint32_t>(f.bytes.size()));
    put32(static_cast<uint32_t>(f.bytes.size()));
    out.append(f.bytes.begin(), f.bytes.end());
    out.append(padded - f.bytes.size(), '\0');
    put32(32 + padded);
  }
  return out;
}

TEST(MeterTest, PcapngThroughLibpcap) {
  TempDir dir;
  std::string pcap = dir.File("c.pcapng", Pcapng(Conversation()));
  auto source = PcapSource::OpenFile(pcap);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  std::vector<UnswFeatures> rows;
  FlowMeter meter(FlowTableOptions(),
                  [&](const FlowRecord&, const UnswFeatures& f) { rows.push_back(f); });
  ASSERT_TRUE(RunCapture(source->get(), &meter, nullptr).ok());
  EXPECT_EQ(meter.stats().frames, 5u);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_DOUBLE_EQ(rows[0].stime, kT0 * 1e-6);
}

TEST(MeterTest, PcapFileByteOrdersAndNanoseconds) {
  Bytes frame = testing::EthIpv4Tcp({}, {});
  std::string le = testing::PcapFile(kLinkEthernet, {{kT0 + 7, frame}});
  // The same file big-endian with nanosecond timestamps.
  std::string be(24, '\0');
  auto put = [](std::string* s, size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) (*s)[at + i] = static_cast<char>(v >> (24 - 8 * i));
  };
  put(&be, 0, 0xA1B23C4D);
  be[4] = 0;
  be[5] = 2;
  be[7] = 4;
  put(&be, 16, 65535);
  put(&be, 20, 1);
  std::string rec(16, '\0');
  put(&rec, 0, static_cast<uint32_t>(kT0 / 1'000'000));
  put(&rec, 4, 7000);  // nanoseconds
  put(&rec, 8, static_cast<uint32_t>(frame.size()));
  put(&rec, 12, static_cast<uint32_t>(frame.size()));
  be += rec + std::string(frame.begin(), frame.end());
  for (const std::string& file : {le, be}) {
    auto r =
        PcapFileReader::Open("x.pcap", reinterpret_cast<const uint8_t*>(file.data()), file.size());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->link_type(), kLinkEthernet);
    RawFrame f;
    auto out = r->Next(&f);
    ASSERT_TRUE(out.ok());
    ASSERT_EQ(*out, ReadOutcome::kFrame);
    EXPECT_EQ(f.ts_us, kT0 + 7);
    EXPECT_EQ(f.caplen, frame.size());
    out = r->Next(&f);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(*out, ReadOutcome::kEnd);
  }
  std::string huge = le.substr(0, 24) + std::string(16, '\xff');
  auto r =
      PcapFileReader::Open("h.pcap", reinterpret_cast<const uint8_t*>(huge.data()), huge.size());
  ASSERT_TRUE(r.ok());
  RawFrame f;
  auto out = r->Next(&f);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("h.pcap: packet 1: captured length"), std::string::npos);
}

TEST(MeterTest, WriterWritesCsvAndJsonLines) {
  TempDir dir;
  for (bool background : {false, true}) {
    for (const char* name : {"f.csv", "f.jsonl"}) {
      auto format = FlowOutputFormatFromPath(name);
      ASSERT_TRUE(format.ok());
      auto w = FlowWriter::Open(dir.Path(name), *format, background);
      ASSERT_TRUE(w.ok());
      UnswFeatures f;
      f.proto = "tcp";
      f.dur = 0.25;
      const int rows = 5000;  // several batches in background mode
      for (int i = 1; i <= rows; ++i) {
        f.id = static_cast<uint64_t>(i);
        ASSERT_TRUE((*w)->Write(f).ok());
      }
      ASSERT_TRUE((*w)->Close().ok());
      std::ifstream in(dir.Path(name));
      std::string first, line, last;
      std::getline(in, first);
      int lines = 1;
      while (std::getline(in, line)) {
        last = line;
        ++lines;
      }
      if (*format == FlowOutputFormat::kCsv) {
        EXPECT_EQ(first.rfind("id,dur,proto,service,state,spkts", 0), 0u) << first;
        EXPECT_EQ(lines, rows + 1);
        EXPECT_EQ(last.rfind("5000,0.25,tcp,-,", 0), 0u) << last;
      } else {
        EXPECT_EQ(first.rfind("{\"id\":1,\"dur\":0.25,\"proto\":\"tcp\"", 0), 0u) << first;
        EXPECT_EQ(lines, rows);
      }
    }
  }
  EXPECT_FALSE(FlowOutputFormatFromPath("flows.txt").ok());
  EXPECT_FALSE(FlowWriter::Open("/nonexistent-dir/x.csv", FlowOutputFormat::kCsv).ok());
}

}  // namespace
}  // namespace vigil
