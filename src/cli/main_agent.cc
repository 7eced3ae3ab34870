// vigil-agent: the detection plane's executable. It links the detection-plane libraries only
// (stream/, infer/, net/ and below), never LibTorch. This file turns flags and the TOML config into
// an AgentConfig, starts the inputs (files/stdin, HTTP, NATS JetStream), runs the agent's scoring
// loop on the main thread and shuts down gracefully on SIGINT/SIGTERM: inputs stop, queued records
// are scored and written, then the process exits 0. Exit codes: 0 ok, 1 failure, 2 usage error.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "stream/agent.h"
#include "stream/capture_source.h"
#include "stream/config.h"
#include "stream/file_source.h"
#include "stream/http_api.h"
#include "stream/nats_source.h"

namespace vigil {
namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "vigil-agent: error: %s\n", s.message().c_str());
  return 1;
}

RecordKind KindOf(const std::string& path, const std::string& input_format) {
  if (input_format == "jsonl") return RecordKind::kJson;
  if (input_format == "csv") return RecordKind::kCsv;
  const std::string ext = std::filesystem::path(path).extension().string();
  return ext == ".jsonl" || ext == ".json" || ext == ".ndjson" ? RecordKind::kJson
                                                                : RecordKind::kCsv;
}

int Run(int argc, char** argv) {
  const auto t0 = std::chrono::steady_clock::now();
  AgentConfig c;
  // The config file first, so that flags given with it override its values.
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--config") {
      Status s = ApplyAgentToml(argv[i + 1], &c);
      if (!s.ok()) {
        std::fprintf(stderr, "vigil-agent: error: %s\n", s.message().c_str());
        return 2;
      }
    }
  }
  AgentOptions& a = c.agent;
  CLI::App app{"vigil-agent: score records as they stream in, raise explained alerts"};
  app.set_version_flag("--version", std::string("vigil-agent ") + VIGIL_VERSION);
  std::string config_file;
  app.add_option("--config", config_file, "TOML config (keys = long flag names)");
  app.add_option("--model,-m", a.model, "Model bundle (.vigil)");
  app.add_option("--format", a.format, "Record format: nsl-kdd, unsw-nb15 or csv (default: the bundle's)");
  app.add_option("--schema", a.schema, "TOML schema for --format csv");
  app.add_option("--input,-i", c.inputs, "Record file(s); - for stdin");
  app.add_option("--input-format", c.input_format, "csv, jsonl or auto (by extension)")
      ->check(CLI::IsMember({"csv", "jsonl", "auto"}));
  app.add_flag("--follow,-f", c.follow, "Keep reading as the file grows (tail -F)");
  app.add_option("--rate", c.rate, "Replay at N records/s (0: as fast as possible)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--batch-max", a.batch_max, "Records per micro-batch, at most")
      ->check(CLI::PositiveNumber);
  app.add_option("--batch-wait-us", a.batch_wait_us,
                 "Longest wait for a micro-batch to fill, in microseconds")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--queue-records", a.queue_records, "Queue capacity (backpressure beyond)")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-record-bytes", a.max_record_bytes, "Longer records are malformed")
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", a.threads, "Scoring threads (batches of 64+ records are split)")
      ->check(CLI::Range(1, 64));
  app.add_option("--http-max-body", c.http_max_body, "Largest HTTP request body, in bytes")
      ->check(CLI::PositiveNumber);
  app.add_option("--threshold", a.threshold, "Override the bundle's score threshold");
  app.add_option("--explain-top", a.explain_top, "Reasons per alert");
  app.add_option("--max-sources", a.max_sources, "Hosts remembered (lstm windows)")
      ->check(CLI::PositiveNumber);
  app.add_option("--scores", a.scores_path, "Every verdict as JSON lines (- for stdout)");
  app.add_option("--alerts", a.alerts_path, "Alerts as JSON lines (default stdout; '' for none)");
  app.add_option("--dead-letter", a.dead_letter_path, "Malformed records as JSON lines");
  app.add_flag("--dry-run", a.dry_run, "Log actions instead of running them");
  app.add_flag("--quiet,-q", a.quiet, "No progress or summary on stderr");
  CaptureOptions cap;
  app.add_option("--pcap", cap.pcap, "Score the flows of a capture file")->check(CLI::ExistingFile);
  app.add_option("--interface", cap.interface, "Score the flows of a live interface");
  app.add_option("--bpf", cap.bpf, "BPF filter for --pcap/--interface");
  app.add_option("--listen", c.listen, "Serve the HTTP API on HOST:PORT");
  app.add_option("--nats", c.nats.url, "NATS server URL (nats://127.0.0.1:4222)");
  app.add_option("--stream", c.nats.stream, "JetStream stream holding the records");
  app.add_option("--consumer", c.nats.consumer, "Durable pull consumer (shared by agents)");
  app.add_option("--subject", c.nats.subject, "Filter subject within the stream");
  app.add_option("--nats-results", c.nats.results, "Subject for verdicts ('' for none)");
  app.add_option("--nats-alerts", c.nats.alerts, "Subject for alerts and threat events");
  app.add_option("--nats-dead-letter", c.nats.dead_letter, "Subject for malformed records");
  app.add_option("--ack-wait", c.nats.ack_wait_s, "Seconds before an unacknowledged record is redelivered");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (a.model.empty()) {
    std::fprintf(stderr, "vigil-agent: error: --model is required\n");
    return 2;
  }
  const bool have_nats = !c.nats.url.empty();
  const bool have_capture = !cap.pcap.empty() || !cap.interface.empty();
  if (!cap.pcap.empty() && !cap.interface.empty()) {
    std::fprintf(stderr, "vigil-agent: error: give --pcap or --interface, not both\n");
    return 2;
  }
  if (c.inputs.empty() && c.listen.empty() && !have_nats && !have_capture) {
    std::fprintf(stderr,
                 "vigil-agent: error: nothing to score: give --input, --pcap, --interface, "
                 "--listen or --nats\n");
    return 2;
  }
  if (have_nats && c.nats.stream.empty()) {
    std::fprintf(stderr, "vigil-agent: error: --nats needs --stream\n");
    return 2;
  }

  // Signals are taken by one thread (sigwait), so no other thread is interrupted.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto agent_or = Agent::Create(a);
  if (!agent_or.ok()) return Fail(agent_or.status());
  Agent& agent = **agent_or;
  std::atomic<bool> stop{false};

  std::vector<std::thread> finite;  // inputs that end on their own
  std::vector<Status> input_status(c.inputs.size());
  for (size_t k = 0; k < c.inputs.size(); ++k) {
    FileSourceOptions fo;
    fo.path = c.inputs[k];
    fo.follow = c.follow;
    fo.rate = c.rate;
    fo.max_record_bytes = a.max_record_bytes;
    fo.kind = KindOf(fo.path, c.input_format);
    const uint32_t id = agent.AddInput(
        {fo.path == "-" ? "stdin" : fo.path, fo.kind, agent.scorer().schema().header});
    finite.emplace_back([&, fo, id, k] { input_status[k] = RunFileSource(&agent, id, fo, &stop); });
  }
  Status capture_status;
  if (have_capture) {
    const uint32_t id = AddCaptureInput(&agent, cap);
    finite.emplace_back([&, id] { capture_status = RunCaptureSource(&agent, id, cap, &stop); });
  }
  std::unique_ptr<HttpApi> api;
  if (!c.listen.empty()) {
    auto addr = ParseListen(c.listen);
    if (!addr.ok()) return Fail(addr.status());
    api = std::make_unique<HttpApi>(&agent,
                                    agent.AddInput({"http", RecordKind::kJson, false}),
                                    agent.AddInput({"http-csv", RecordKind::kCsv, false}));
    ServerLimits limits;
    limits.max_body_bytes = c.http_max_body;
    auto port = api->Start(*addr, limits);
    if (!port.ok()) {
      agent.Stop();
      stop = true;
      for (auto& t : finite) t.join();
      return Fail(port.status());
    }
    if (!a.quiet) std::fprintf(stderr, "vigil-agent: listening on %s:%d\n", addr->host.c_str(), *port);
  }
  std::unique_ptr<NatsSource> nats;
  std::thread nats_thread;
  Status nats_status;
  if (have_nats) {
    auto src = NatsSource::Connect(&agent, c.nats);
    if (!src.ok()) {
      agent.Stop();
      stop = true;
      for (auto& t : finite) t.join();
      return Fail(src.status());
    }
    nats = std::move(*src);
    agent.SetPublisher(nats->publisher());
    nats_thread = std::thread([&] { nats_status = nats->Run(&stop); });
  }
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (!stop.exchange(true)) {
      if (!a.quiet) std::fprintf(stderr, "vigil-agent: signal %d: draining and stopping\n", sig);
      if (api) api->SetReady(false);
      agent.Stop();
    }
  });
  // Without a long-running input, the agent stops when the files are read.
  std::thread closer;
  if (!api && !have_nats && !c.follow && cap.interface.empty()) {
    closer = std::thread([&] {
      for (auto& t : finite) t.join();
      agent.Stop();
    });
  }
  if (api) api->SetReady(true);
  if (!a.quiet) {
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "vigil-agent: ready in %.1f ms: model %s %s (%s)\n", ms,
                 agent.scorer().name().c_str(), agent.scorer().version().c_str(),
                 agent.scorer().model_type().c_str());
  }
  const auto run_start = std::chrono::steady_clock::now();
  Status run = agent.Run();
  stop = true;
  if (closer.joinable()) {
    closer.join();
  } else {
    for (auto& t : finite) t.join();
  }
  if (nats_thread.joinable()) nats_thread.join();
  if (api) api->Stop();
  // Wake the signal thread if no signal came.
  kill(getpid(), SIGTERM);
  signal_thread.join();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
  if (!a.quiet) {
    std::fprintf(stderr,
                 "vigil-agent: scored %llu records in %.2f s (%.0f records/s), %llu alerts, %llu "
                 "malformed\n",
                 static_cast<unsigned long long>(agent.scored()), secs,
                 static_cast<double>(agent.scored()) / std::max(secs, 1e-9),
                 static_cast<unsigned long long>(agent.alerts()),
                 static_cast<unsigned long long>(agent.malformed()));
  }
  for (const Status& s : input_status) {
    if (!s.ok()) return Fail(s);
  }
  if (!nats_status.ok()) return Fail(nats_status);
  if (!capture_status.ok()) return Fail(capture_status);
  if (!run.ok()) return Fail(run);
  return 0;
}

}  // namespace
}  // namespace vigil

int main(int argc, char** argv) {
  try {
    return vigil::Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vigil-agent: error: %s\n", e.what());
    return 1;
  }
}
