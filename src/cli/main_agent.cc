// vigil-agent: the detection plane's executable. It links the detection-plane libraries only
// (stream/, infer/, net/ and below), never LibTorch. This file turns flags and the TOML config into
// an AgentConfig, starts the inputs (files/stdin, HTTP, NATS JetStream), runs the agent's scoring
// loop on the main thread and shuts down gracefully on SIGINT/SIGTERM: inputs stop, queued records
// are scored and written, then the process exits 0. Exit codes: 0 ok, 1 failure, 2 usage error.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "bundle/signature.h"
#include "core/file.h"
#include "core/signals.h"
#include "stream/agent.h"
#include "stream/capture_source.h"
#include "stream/config.h"
#include "stream/file_source.h"
#include "stream/http_api.h"
#include "stream/log_ingest.h"
#include "stream/metrics_ingest.h"
#include "stream/model_source.h"
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
  app.add_option("--format", a.format,
                 "Record format: nsl-kdd, unsw-nb15 or csv (default: the bundle's)");
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
  app.add_option("--ack-wait", c.nats.ack_wait_s,
                 "Seconds before an unacknowledged record is redelivered");
  ModelSourceOptions& ms = c.models;
  app.add_option("--registry", ms.registry, "Follow a model registry channel (URL; with --name)");
  app.add_option("--name", ms.name, "The model's name in the registry");
  app.add_option("--channel", ms.channel, "Registry channel to follow (default stable)");
  app.add_option("--canary-share", a.canary_share,
                 "Share of records scored by the canary channel's model (0: no canary)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--canary-channel", ms.canary_channel, "Canary channel (default canary)");
  app.add_option("--token-file", c.token_file,
                 "File holding the registry reader token (default $VIGIL_REGISTRY_TOKEN)");
  app.add_option("--ca-file", ms.ca_file, "CA certificate(s) for an https registry");
  app.add_option("--model-dir", ms.model_dir, "Watch a directory for new bundles (*.vigil)");
  app.add_option("--cache-dir", ms.cache_dir, "Where the last good registry bundle is kept");
  app.add_option("--trusted-key", ms.trusted_keys, "Public key (.pub) or directory of keys");
  app.add_flag("--require-signature", ms.require_signature,
               "Refuse bundles not signed by a --trusted-key");
  app.add_option("--report-interval", ms.report_s,
                 "Seconds between per-version reports to the registry (0: none)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--agent-id", ms.agent_id, "This agent's name in registry reports");
  // Metrics (InfluxDB line protocol on --listen's POST /write and UDP, Prometheus scrapes).
  MetricsIngestOptions mi;
  std::string metrics_alerts;
  app.add_option("--metrics-udp", mi.udp, "Line protocol over UDP on HOST:PORT");
  app.add_option("--scrape", mi.scrape, "Prometheus endpoint to scrape (repeatable)");
  app.add_option("--scrape-interval", mi.scrape_interval_s, "Seconds between scrapes")
      ->check(CLI::PositiveNumber);
  app.add_option("--metrics-threshold", mi.alert_score, "Metric score that raises an alert")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--metrics-max-series", mi.max_series, "Live metric series, at most")
      ->check(CLI::PositiveNumber);
  app.add_option("--metrics-alerts", metrics_alerts,
                 "Metric alerts as JSON lines (default: --alerts; with a model and an --alerts "
                 "file, that file + .metrics)");
  // Logs: DeepLog over log lines from files, syslog and Fluent Forward (stream/log_ingest.h).
  LogIngestOptions lo;
  app.add_option("--log-model", lo.pipeline.model, "DeepLog bundle: score log sessions");
  app.add_option("--log-state", lo.pipeline.state, "vigil logs parse --state file (or its dir)");
  app.add_option("--log-format", lo.pipeline.format, "Log header format (default: the state's)");
  app.add_option("--log-input", lo.inputs, "Log file to tail (repeatable)");
  app.add_option("--syslog-udp", lo.syslog_udp, "Syslog over UDP on HOST:PORT");
  app.add_option("--syslog-tcp", lo.syslog_tcp, "Syslog over TCP on HOST:PORT");
  app.add_option("--forward", lo.forward, "Fluent Forward (msgpack over TCP) on HOST:PORT");
  app.add_option("--session-pattern", lo.pipeline.session_pattern, "Session id regex or hdfs");
  app.add_option("--session-window", lo.pipeline.session_window_s, "Time-window sessions (s)");
  app.add_option("--session-idle", lo.pipeline.session_idle_s, "Seconds until a session ends");
  app.add_option("--max-sessions", lo.pipeline.max_sessions, "Open sessions, at most");
  app.add_option("--session-lines", lo.pipeline.session_lines, "Raw lines kept per session");
  app.add_option("--log-alerts", lo.alerts, "Log alerts as JSON lines (default stdout)");
  app.add_option("--log-dead-letter", lo.dead_letter, "Malformed lines and frames, JSON lines");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (!lo.pipeline.model.empty()) {
    lo.follow = lo.follow && (c.follow || !lo.syslog_udp.empty() || !lo.syslog_tcp.empty() ||
                              !lo.forward.empty());
    lo.quiet = a.quiet;
    return RunLogAgent(lo);  // a log agent: its own inputs and outputs
  }
  const bool subscribed = !ms.registry.empty() || !ms.model_dir.empty();
  mi.quiet = a.quiet;
  mi.alerts_path =
      !metrics_alerts.empty() ? metrics_alerts
      : a.alerts_path.empty() || a.alerts_path == "-" || (a.model.empty() && !subscribed)
          ? a.alerts_path
          : a.alerts_path + ".metrics";
  if (a.model.empty() && !subscribed && c.inputs.empty() && c.nats.url.empty() &&
      cap.pcap.empty() && cap.interface.empty() && (mi.any_source() || !c.listen.empty())) {
    return RunMetricsOnlyAgent(mi, c.listen, c.http_max_body);  // no model: metrics only
  }
  if (a.model.empty() == !subscribed) {
    std::fprintf(stderr, "vigil-agent: error: give one of --model, --registry or --model-dir\n");
    return 2;
  }
  if (!ms.registry.empty() && !ms.model_dir.empty()) {
    std::fprintf(stderr, "vigil-agent: error: give --registry or --model-dir, not both\n");
    return 2;
  }
  if (a.canary_share > 0) {
    if (ms.registry.empty()) {
      std::fprintf(stderr, "vigil-agent: error: --canary-share needs --registry\n");
      return 2;
    }
    if (ms.canary_channel.empty()) ms.canary_channel = "canary";
  }
  const bool have_nats = !c.nats.url.empty();
  const bool have_capture = !cap.pcap.empty() || !cap.interface.empty();
  if (!cap.pcap.empty() && !cap.interface.empty()) {
    std::fprintf(stderr, "vigil-agent: error: give --pcap or --interface, not both\n");
    return 2;
  }
  if (c.inputs.empty() && c.listen.empty() && !have_nats && !have_capture && !mi.any_source()) {
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
  const sigset_t signals = BlockStopSignals();

  // A registry or directory subscription resolves the first model (verified, or the cache).
  std::unique_ptr<ModelSource> models;
  std::unique_ptr<ServedModel> initial;
  if (subscribed) {
    if (!ms.registry.empty()) {
      if (!c.token_file.empty()) {
        auto t = ReadFile(c.token_file);
        if (!t.ok()) return Fail(t.status());
        ms.token = *t;
        while (!ms.token.empty() && std::isspace(static_cast<unsigned char>(ms.token.back())))
          ms.token.pop_back();
      } else if (const char* env = std::getenv("VIGIL_REGISTRY_TOKEN")) {
        ms.token = env;
      }
    }
    ms.threads = a.threads;
    ms.max_sources = a.max_sources;
    ms.quiet = a.quiet;
    auto opened = ModelSource::Open(ms);
    if (!opened.ok()) return Fail(opened.status());
    models = std::move(*opened);
    initial = models->TakeInitial();
  } else if (!ms.trusted_keys.empty() || ms.require_signature) {
    // A local --model under a signature policy is verified like a downloaded one.
    TrustPolicy policy;
    for (const std::string& k : ms.trusted_keys) {
      if (Status s = policy.keys.AddPath(k); !s.ok()) return Fail(s);
    }
    policy.require_signature = ms.require_signature;
    auto b = ReadTrustedBundle(a.model, policy);
    if (!b.ok()) return Fail(b.status());
  }
  auto agent_or = Agent::Create(a, std::move(initial));
  if (!agent_or.ok()) return Fail(agent_or.status());
  Agent& agent = **agent_or;
  if (models) models->Start(&agent);
  std::atomic<bool> stop{false};

  std::vector<std::thread> finite;  // inputs that end on their own
  // An early return (a listener that cannot bind, ...) stops the inputs and waits for them: a
  // joinable std::thread must not be destroyed.
  struct JoinOnExit {
    std::vector<std::thread>* threads;
    Agent* agent;
    std::atomic<bool>* stop;
    ModelSource* models;  // its threads use the agent: stopped before the agent goes
    ~JoinOnExit() {
      stop->store(true);
      if (models != nullptr) models->Stop();
      agent->Stop();
      for (auto& t : *threads) {
        if (t.joinable()) t.join();
      }
    }
  } join_on_exit{&finite, &agent, &stop, models.get()};
  std::vector<Status> input_status(c.inputs.size());
  for (size_t k = 0; k < c.inputs.size(); ++k) {
    FileSourceOptions fo;
    fo.path = c.inputs[k];
    fo.follow = c.follow;
    fo.rate = c.rate;
    fo.max_record_bytes = a.max_record_bytes;
    fo.kind = KindOf(fo.path, c.input_format);
    const uint32_t id =
        agent.AddInput({fo.path == "-" ? "stdin" : fo.path, fo.kind, agent.schema().header});
    finite.emplace_back([&, fo, id, k] { input_status[k] = RunFileSource(&agent, id, fo, &stop); });
  }
  Status capture_status;
  if (have_capture) {
    const uint32_t id = AddCaptureInput(&agent, cap);
    finite.emplace_back([&, id] { capture_status = RunCaptureSource(&agent, id, cap, &stop); });
  }
  std::unique_ptr<MetricsIngest> ingest;
  if (mi.any_source() || !c.listen.empty()) {
    auto m = MetricsIngest::Create(mi, &agent.metrics());
    if (!m.ok()) return Fail(m.status());
    ingest = std::move(*m);
    ingest->SetAlertFeed(&agent.alert_feed());
  }
  std::unique_ptr<HttpApi> api;
  if (!c.listen.empty()) {
    auto addr = ParseListen(c.listen);
    if (!addr.ok()) return Fail(addr.status());
    api = std::make_unique<HttpApi>(&agent, agent.AddInput({"http", RecordKind::kJson, false}),
                                    agent.AddInput({"http-csv", RecordKind::kCsv, false}));
    ServerLimits limits;
    limits.max_body_bytes = c.http_max_body;
    if (ingest) api->AddMetricsIngest(ingest.get());
    auto port = api->Start(*addr, limits);
    if (!port.ok()) {
      agent.Stop();
      stop = true;
      for (auto& t : finite) t.join();
      return Fail(port.status());
    }
    if (!a.quiet)
      std::fprintf(stderr, "vigil-agent: listening on %s:%d\n", addr->host.c_str(), *port);
  }
  if (ingest) {
    auto udp = ingest->Start();
    if (!udp.ok()) return Fail(udp.status());
    if (*udp > 0 && !a.quiet) std::fprintf(stderr, "vigil-agent: metrics udp on port %d\n", *udp);
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
  if (!api && !have_nats && !c.follow && cap.interface.empty() && !mi.any_source()) {
    closer = std::thread([&] {
      for (auto& t : finite) t.join();
      agent.Stop();
    });
  }
  if (api) api->SetReady(true);
  if (!a.quiet) {
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const auto m = agent.model();
    std::fprintf(stderr, "vigil-agent: ready in %.1f ms: model %s %s (%s) from %s\n", ms,
                 m->scorer.name().c_str(), m->scorer.version().c_str(),
                 m->scorer.model_type().c_str(), m->origin.c_str());
  }
  const auto run_start = std::chrono::steady_clock::now();
  Status run = agent.Run();
  stop = true;
  if (models) models->Stop();
  if (closer.joinable()) {
    closer.join();
  } else {
    for (auto& t : finite) t.join();
  }
  if (nats_thread.joinable()) nats_thread.join();
  if (api) api->Stop();
  if (ingest) ingest->Stop();
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
