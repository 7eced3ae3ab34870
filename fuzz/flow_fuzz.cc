// libFuzzer target for the packet decoder, the flow table and the UNSW-NB15 feature rows.
//
// The input is a little packet trace: byte 0 picks the link type, byte 1 the table's limits (a
// tiny max_flows forces evictions, short timeouts force expiry); then records of
// [2-byte length][1-byte time step][frame bytes]. Every frame is decoded (any bytes must give a
// status, never a crash or an out-of-bounds read), decoded packets go through the flow table, and
// every finished flow becomes a feature row formatted as CSV and JSON. Invariants checked: a
// record has packets, its counters are consistent, rows come out with increasing ids. The same
// bytes are also read as a classic pcap file (PcapFileReader), whose frames are decoded too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "flow/flow_table.h"
#include "flow/flow_writer.h"
#include "flow/packet.h"
#include "flow/pcap_file.h"
#include "flow/unsw_features.h"

namespace {

constexpr int kLinks[] = {
    vigil::kLinkEthernet, vigil::kLinkLinuxSll, vigil::kLinkLinuxSll2, vigil::kLinkRaw,
    vigil::kLinkNull,     vigil::kLinkIpv4,     vigil::kLinkIpv6,      147};

void CheckRecord(const vigil::FlowRecord& r) {
  if (r.s.pkts + r.d.pkts == 0) std::abort();
  if (r.last_us < r.start_us) std::abort();
  if (r.s.Intervals() > r.s.pkts || r.d.Intervals() > r.d.pkts) std::abort();
  if (r.fragments > r.s.pkts + r.d.pkts) std::abort();
  (void)r.State();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The input as a capture file: every record must be read or rejected with a message.
  auto file = vigil::PcapFileReader::Open("fuzz.pcap", data, size);
  if (file.ok()) {
    vigil::RawFrame frame;
    vigil::Packet packet;
    for (;;) {
      auto next = file->Next(&frame);
      if (!next.ok()) {
        if (next.status().message().rfind("fuzz.pcap: packet ", 0) != 0) std::abort();
        break;
      }
      if (*next != vigil::ReadOutcome::kFrame) break;
      if (frame.data < data || frame.data + frame.caplen > data + size) std::abort();
      (void)vigil::DecodePacket(file->link_type(), frame.data, frame.caplen, frame.wire_len,
                                frame.ts_us, &packet);
    }
  }
  if (size < 2) return 0;
  const int link = kLinks[data[0] % (sizeof(kLinks) / sizeof(kLinks[0]))];
  vigil::FlowTableOptions options;
  const uint8_t limits = data[1];
  options.max_flows = (limits & 0x0F) + 1;
  if (limits & 0x10) {
    options.tcp_timeout_us = options.udp_timeout_us = options.icmp_timeout_us = 3000;
    options.other_timeout_us = options.tcp_closed_timeout_us = 1000;
    options.fragment_timeout_us = 2000;
  }
  options.active_timeout_us = (limits & 0x20) ? 5000 : 0;
  options.max_fragments = (limits & 0x40) ? 2 : 64;

  uint64_t last_id = 0;
  std::string out;
  vigil::UnswFeatureBuilder builder((limits & 0x80) ? 4000 : 0,
                                    [&](const vigil::FlowRecord& r, const vigil::UnswFeatures& f) {
                                      CheckRecord(r);
                                      if (f.id != last_id + 1) std::abort();
                                      last_id = f.id;
                                      out.clear();
                                      vigil::AppendCsvRow(f, &out);
                                      vigil::AppendJsonRow(f, &out);
                                    });
  vigil::FlowTable table(options, [&](const vigil::FlowRecord& r) {
    CheckRecord(r);
    builder.Add(r);
  });

  size_t pos = 2;
  int64_t ts = 1'000'000'000;
  vigil::Packet p;
  while (pos + 3 <= size) {
    size_t len = (static_cast<size_t>(data[pos]) << 8) | data[pos + 1];
    ts += data[pos + 2] * 100;  // steps of 0.1 ms up to 25.5 ms
    pos += 3;
    if (len > size - pos) len = size - pos;
    // Copy the frame so reads past its end hit ASan's redzone.
    std::string frame(reinterpret_cast<const char*>(data + pos), len);
    pos += len;
    const uint32_t wire = static_cast<uint32_t>(len + (data[0] >> 4));
    vigil::DecodeStatus st = vigil::DecodePacket(
        link, reinterpret_cast<const uint8_t*>(frame.data()), frame.size(), wire, ts, &p);
    if (st == vigil::DecodeStatus::kOk) {
      table.Add(p);
    } else {
      table.Advance(ts);
    }
    builder.Release(ts);
  }
  table.Flush();
  builder.Flush();
  if (table.active_flows() != 0) std::abort();
  return 0;
}
