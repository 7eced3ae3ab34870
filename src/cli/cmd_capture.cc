// vigil capture: packets (a capture file or a live interface) to UNSW-NB15 flow features, and
// the per-field check against Argus on a capture file.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "flow/argus_compare.h"
#include "flow/flow_writer.h"
#include "flow/meter.h"
#include "flow/pcap_source.h"

namespace vigil {
namespace {

struct CaptureFlags {
  std::string pcap, interface, bpf, output, format, compare_argus;
  double tcp_timeout = 60, udp_timeout = 30, icmp_timeout = 5, other_timeout = 30;
  double active_timeout = 60, duration = 0;
  size_t max_flows = 1'000'000;
  int snaplen = 262144;
  bool quiet = false;
};

std::atomic<bool> g_stop{false};
PcapSource* g_live_source = nullptr;

extern "C" void OnStopSignal(int) {
  g_stop.store(true);
  if (g_live_source != nullptr) g_live_source->Stop();  // pcap_breakloop is signal-safe
}

int64_t Micros(double seconds) { return static_cast<int64_t>(seconds * 1e6); }

FlowTableOptions TableOptions(const CaptureFlags& f) {
  FlowTableOptions o;
  o.tcp_timeout_us = Micros(f.tcp_timeout);
  o.udp_timeout_us = Micros(f.udp_timeout);
  o.icmp_timeout_us = Micros(f.icmp_timeout);
  o.other_timeout_us = Micros(f.other_timeout);
  o.active_timeout_us = Micros(f.active_timeout);
  o.max_flows = f.max_flows;
  return o;
}

int RunCompare(const CaptureFlags& f) {
  if (!ArgusAvailable()) {
    return ReportError(
        Status::NotFound("--compare-argus needs argus and ra on PATH (Debian packages "
                         "argus-server and argus-client)"));
  }
  auto report = CompareCaptureWithArgus(f.compare_argus);
  if (!report.ok()) return ReportError(report.status());
  std::fputs(report->ToText().c_str(), stdout);
  return 0;
}

int RunCaptureCommand(const CaptureFlags& f) {
  if (!f.compare_argus.empty()) return RunCompare(f);
  if (f.output.empty()) {
    std::fprintf(stderr, "vigil capture: --output is required (FILE.csv, FILE.jsonl or -)\n");
    return 2;
  }
  FlowOutputFormat format;
  if (!f.format.empty()) {
    if (f.format != "csv" && f.format != "jsonl") {
      std::fprintf(stderr, "vigil capture: --format must be csv or jsonl\n");
      return 2;
    }
    format = f.format == "csv" ? FlowOutputFormat::kCsv : FlowOutputFormat::kJsonLines;
  } else if (f.output == "-") {
    format = FlowOutputFormat::kCsv;
  } else {
    auto from_path = FlowOutputFormatFromPath(f.output);
    if (!from_path.ok()) {
      std::fprintf(stderr, "vigil capture: %s (or give --format)\n",
                   from_path.status().message().c_str());
      return 2;
    }
    format = *from_path;
  }

  Result<std::unique_ptr<PcapSource>> source =
      f.pcap.empty() ? PcapSource::OpenLive(f.interface, f.bpf, f.snaplen)
                     : PcapSource::OpenFile(f.pcap, f.bpf);
  if (!source.ok()) return ReportError(source.status());
  auto writer = FlowWriter::Open(f.output, format, /*background=*/true);
  if (!writer.ok()) return ReportError(writer.status());

  Status write_status;
  // Decoding and the flow table on this thread, features on the meter's worker, formatting and
  // writing on the writer's: a capture file keeps two cores busy.
  FlowMeter meter(
      TableOptions(f),
      [&](const FlowRecord&, const UnswFeatures& row) {
        if (write_status.ok()) write_status = (*writer)->Write(row);
      },
      /*threaded=*/true);

  const bool live = f.pcap.empty();
  if (live) {
    g_live_source = source->get();
    std::signal(SIGINT, OnStopSignal);
    std::signal(SIGTERM, OnStopSignal);
  }
  const auto start = std::chrono::steady_clock::now();
  Status run = RunCapture(source->get(), &meter, live ? &g_stop : nullptr, live ? f.duration : 0);
  g_live_source = nullptr;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Status closed = (*writer)->Close();
  if (!run.ok()) return ReportError(run);
  if (!write_status.ok()) return ReportError(write_status);
  if (!closed.ok()) return ReportError(closed);

  if (!f.quiet) {
    const MeterStats& st = meter.stats();
    std::fprintf(stderr, "%s", meter.Summary().c_str());
    if (live) {
      std::fprintf(stderr, "kernel drops %llu\n",
                   static_cast<unsigned long long>((*source)->KernelDrops()));
    }
    std::fprintf(stderr, "wrote %llu flows to %s in %.2f s (%.0f packets/s)\n",
                 static_cast<unsigned long long>(st.rows), f.output.c_str(), seconds,
                 seconds > 0 ? static_cast<double>(st.frames) / seconds : 0.0);
  }
  return 0;
}

}  // namespace

void AddCaptureCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<CaptureFlags>();
  CLI::App* cmd = app.add_subcommand(
      "capture",
      "Packets to UNSW-NB15 flow features (CSV or JSON lines), from a capture file or an "
      "interface; or compare with Argus (--compare-argus)");
  CLI::Option_group* input = cmd->add_option_group("input", "Where packets come from");
  input->add_option("--pcap", f->pcap, "Capture file (pcap or pcapng)")->check(CLI::ExistingFile);
  input->add_option("--interface,-i", f->interface, "Live interface (needs CAP_NET_RAW)");
  input
      ->add_option("--compare-argus", f->compare_argus,
                   "Run Argus and vigil on this capture file and print per-field agreement")
      ->check(CLI::ExistingFile);
  input->require_option(1);
  cmd->add_option("--bpf", f->bpf, "BPF filter expression (tcpdump syntax)");
  cmd->add_option("--output,-o", f->output, "FILE.csv, FILE.jsonl, or - for stdout");
  cmd->add_option("--format", f->format, "csv or jsonl (default: from the --output name)");
  cmd->add_option("--tcp-timeout", f->tcp_timeout, "Idle timeout of TCP flows, seconds")
      ->capture_default_str();
  cmd->add_option("--udp-timeout", f->udp_timeout, "Idle timeout of UDP flows, seconds")
      ->capture_default_str();
  cmd->add_option("--icmp-timeout", f->icmp_timeout, "Idle timeout of ICMP flows, seconds")
      ->capture_default_str();
  cmd->add_option("--other-timeout", f->other_timeout, "Idle timeout of other protocols, seconds")
      ->capture_default_str();
  cmd->add_option("--active-timeout", f->active_timeout,
                  "Report flows longer than this in pieces, seconds (0: never)")
      ->capture_default_str();
  cmd->add_option("--max-flows", f->max_flows,
                  "Concurrent flows kept before the least recently active is evicted")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--snaplen", f->snaplen, "Live capture snapshot length")->capture_default_str();
  cmd->add_option("--duration", f->duration, "Live capture: stop after this many seconds");
  cmd->add_flag("--quiet,-q", f->quiet, "No summary on stderr");
  cmd->callback([f, exit_code]() { *exit_code = RunCaptureCommand(*f); });
}

}  // namespace vigil
