// Packets in, verdicts out: the agent's capture input (`vigil-agent --pcap FILE | --interface IF`).
//
// Runs the flow meter (src/flow/) over a capture file or a live interface (optional BPF filter) and
// submits each finished flow to the agent as a UNSW-NB15 record (the columns `vigil capture`
// writes, header first), so a model trained on UNSW-NB15 scores live traffic and its alerts carry
// the flow's 5-tuple (srcip, sport, dstip, dsport, proto) and start time. Returns at the end of the
// file, when `stop` is set (a live capture), or when the agent stops taking records. The meter's
// counts (frames, truncated and malformed frames, flows) are exported as metrics.
#pragma once

#include <atomic>
#include <string>

#include "core/status.h"
#include "stream/agent.h"

namespace vigil {

struct CaptureOptions {
  std::string pcap;       // a capture file, or
  std::string interface;  // a live interface
  std::string bpf;        // optional filter
};

// Registers the input with the agent; call before Agent::Run.
uint32_t AddCaptureInput(Agent* agent, const CaptureOptions& o);
Status RunCaptureSource(Agent* agent, uint32_t input, const CaptureOptions& o,
                        const std::atomic<bool>* stop);

}  // namespace vigil
