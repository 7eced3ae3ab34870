#include "stream/capture_source.h"

#include <chrono>
#include <thread>

#include "flow/flow_writer.h"
#include "flow/meter.h"
#include "flow/pcap_source.h"

namespace vigil {

uint32_t AddCaptureInput(Agent* agent, const CaptureOptions& o) {
  const std::string name = o.pcap.empty() ? "if:" + o.interface : o.pcap;
  return agent->AddInput({name, RecordKind::kCsv, /*csv_header=*/true});
}

Status RunCaptureSource(Agent* agent, uint32_t input, const CaptureOptions& o,
                        const std::atomic<bool>* stop) {
  Result<std::unique_ptr<PcapSource>> source = o.pcap.empty()
                                                   ? PcapSource::OpenLive(o.interface, o.bpf)
                                                   : PcapSource::OpenFile(o.pcap, o.bpf);
  if (!source.ok()) return source.status();
  Metrics& m = agent->metrics();
  Counter* frames = m.AddCounter("vigil_agent_capture_frames_total", "Frames captured.");
  Counter* flows = m.AddCounter("vigil_agent_capture_flows_total", "Flows turned into records.");
  Counter* bad = m.AddCounter("vigil_agent_capture_bad_frames_total",
                              "Truncated or malformed frames (counted, skipped).");
  Item header;
  header.input = input;
  header.kind = RecordKind::kCsv;
  AppendCsvHeader(&header.text);
  while (!header.text.empty() && header.text.back() == '\n') header.text.pop_back();
  if (!agent->Submit(std::move(header))) return Status::Ok();
  uint64_t n = 0;
  bool taking = true;
  FlowMeter meter(FlowTableOptions{}, [&](const FlowRecord&, const UnswFeatures& f) {
    if (!taking) return;
    Item item;
    item.input = input;
    item.kind = RecordKind::kCsv;
    item.position = ++n;
    AppendCsvRow(f, &item.text);
    while (!item.text.empty() && item.text.back() == '\n') item.text.pop_back();
    flows->Add();
    taking = agent->Submit(std::move(item));
  });
  std::atomic<bool> halt{false};
  // Stop the capture when asked or when the agent no longer takes records.
  std::thread watcher([&] {
    while (!halt.load()) {
      if (stop->load() || agent->stopping()) {
        (*source)->Stop();
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  Status s = RunCapture(source->get(), &meter, stop);
  halt = true;
  watcher.join();
  frames->Add(meter.stats().frames);
  bad->Add(meter.stats().truncated + meter.stats().malformed);
  if (!s.ok()) return s;
  return Status::Ok();
}

}  // namespace vigil
