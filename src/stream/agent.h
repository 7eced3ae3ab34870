// Agent: the detection plane's pipeline. Inputs submit raw records (CSV lines or JSON objects);
// one scoring thread takes them from a bounded queue in micro-batches, parses them with the
// bundle's schema, encodes and scores them (infer/), and writes the results:
//   scores      one JSON line per record, in input order per input, with the fields of
//               `vigil predict` (row, id, class, attack, score, probabilities) plus input/position
//   alerts      records predicted as an attack (score over the threshold, or an attack class),
//               with time, record id, 5-tuple where the record has one, class, score, threshold,
//               model name and version, and the reasons (Scorer::Explain); threat-level changes
//               of source hosts go to the same stream
//   dead letters malformed records, with the input, position, error and the raw text (the first
//               64 KiB); also counted and logged (the first few, then every 1000th), never fatal
// A record's Reply (HTTP request, NATS message) is told its verdict after the outputs have it, and
// BatchDone() after each batch, when the batch's outputs are flushed: the NATS input acknowledges
// there, so a crash never loses an acknowledged record.
//
// Models: the agent serves a primary model and, optionally, a canary that scores a fixed share of
// the records (every record is scored by exactly one of them). StageModel hands it a new model
// (from a registry subscription or a watched directory: stream/model_source.h); the scoring
// thread adopts it between micro-batches, so no record is dropped or scored twice around a swap,
// and every score line and alert names the version that scored it ("version"). A staged model
// must fit the agent's input: its preprocessing must find every column it needs in the records as
// the agent parses them (the schema fixed at start), or StageModel refuses it. Sequence (lstm)
// state starts afresh with a new model. Per-version counts and score histograms (ModelStats) feed
// the canary reports a registry collects.
//
// Inputs are registered first (AddInput) and each gets its own parsing state: CSV inputs with a
// header take their first record as the header; JSON and headerless CSV inputs follow the schema.
// Submit blocks while the queue is full (backpressure). Run() scores until Stop() and the queue is
// drained; Stop() may be called from any thread or a signal-handling thread. Submit, Stop and the
// accessors are thread-safe; Run runs on one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/format.h"
#include "infer/encode.h"
#include "infer/parallel.h"
#include "infer/scorer.h"
#include "net/metrics.h"
#include "stream/alert_feed.h"
#include "stream/queue.h"
#include "stream/threat.h"

namespace vigil {

enum class RecordKind { kCsv, kJson };

struct Verdict {
  bool ok = false;     // false: malformed (error says why)
  bool alert = false;  // the record raised an alert
  std::string error;
  std::string json;        // the score line (ok) or {"error":..., "position":...}
  std::string alert_json;  // the alert (alert)
};

// Who waits for a record's verdict (an HTTP request, a NATS message). Called on the scoring thread.
class Reply {
 public:
  virtual ~Reply() = default;
  virtual void Deliver(uint64_t tag, const Verdict& v) = 0;
  // After each batch that delivered to this reply: `outputs` is ok when every output of the batch
  // (files flushed, NATS publications stored) succeeded.
  virtual void BatchDone(const Status& outputs) {}
};

// Publishes alerts, threat events and dead letters beyond the local files (NATS). Called on the
// scoring thread; Flush() returns once everything published so far is stored (or failed).
class Publisher {
 public:
  virtual ~Publisher() = default;
  virtual void PublishAlert(const std::string& json) = 0;
  virtual void PublishDeadLetter(const std::string& json) = 0;
  virtual Status Flush() = 0;
};

struct Item {
  std::string text;  // the record (for oversized records: its first bytes)
  RecordKind kind = RecordKind::kCsv;
  uint32_t input = 0;
  uint64_t position = 0;  // line number, NATS stream sequence, or index in an HTTP request
  std::shared_ptr<Reply> reply;
  uint64_t tag = 0;
  uint64_t oversized = 0;  // >0: the record was this many bytes, over the limit
  std::chrono::steady_clock::time_point enqueued;
};

// A model as the agent serves it: the scorer and the state scoring with it keeps. Build it off the
// scoring thread with MakeServedModel (which also warms it up) and hand it to StageModel.
struct ServedModel {
  Scorer scorer;
  std::string origin;            // where it came from: a path, "registry URL model/channel", a dir
  int64_t registry_version = 0;  // the registry's version number (0: not from a registry)
  std::string channel;           // the registry channel followed ("" otherwise)
  std::unique_ptr<ParallelScorer> parallel;
  std::unique_ptr<SequenceState> sequences;
  std::vector<std::vector<int>> column_index;  // per input: scorer column -> table column

  explicit ServedModel(Scorer s) : scorer(std::move(s)) {}
};

enum class ModelRole { kPrimary, kCanary };

// What one model version has scored since the agent started (cumulative). The histogram counts
// score / threshold in kScoreBins bins of width 0.1 (the last one open-ended: >= 2.0), so agents'
// reports add up and compare across versions whatever the model family.
struct ModelStats {
  static constexpr size_t kScoreBins = 21;
  std::string name, version, role;  // role: "primary" or "canary"
  std::string sha256;               // the bundle file's
  int64_t registry_version = 0;
  std::string channel;
  double threshold = 0;
  uint64_t records = 0, alerts = 0;
  std::vector<uint64_t> histogram = std::vector<uint64_t>(kScoreBins, 0);
};

struct AgentOptions {
  std::string model;
  std::string format;      // empty: the bundle's schema
  std::string schema;      // TOML schema for format csv
  double threshold = NAN;  // NaN: the bundle's
  size_t batch_max = 256;
  int64_t batch_wait_us = 1000;
  size_t queue_records = 16384;
  size_t queue_bytes = 256u << 20;
  size_t max_record_bytes = 1u << 20;
  int threads = 1;  // scoring threads: a batch of 64+ records is split between them
  size_t explain_top = 5;
  size_t max_sources = 100000;  // lstm windows and threat hosts kept
  std::string scores_path;      // empty: none; "-": stdout
  std::string alerts_path = "-";
  std::string dead_letter_path;  // empty: none
  bool quiet = false;
  ThreatOptions threat;
  std::vector<ActionConfig> actions;
  bool dry_run = false;
  double canary_share = 0;  // share of records the canary model scores, once one is staged
};

// Loads nothing: wraps a scorer for serving with `threads` scoring threads and `max_sources`
// sequence histories, and runs it once on zeros so its first real batch is not the slow one.
std::unique_ptr<ServedModel> MakeServedModel(Scorer scorer, int threads, size_t max_sources);

struct InputSpec {
  std::string name;  // for messages and outputs ("file.csv", "http", "nats:S")
  RecordKind kind = RecordKind::kCsv;
  bool csv_header = false;  // CSV: the first record is a header
};

class Agent {
 public:
  // Loads options.model, or serves `initial` when given (a registry or directory subscription's
  // first model; options.model is then ignored).
  static Result<std::unique_ptr<Agent>> Create(const AgentOptions& options,
                                               std::unique_ptr<ServedModel> initial = nullptr);
  ~Agent();

  // Registers an input; returns its id for Item::input. Call before Run.
  uint32_t AddInput(const InputSpec& spec);
  // Queues a record (blocks while the queue is full). False once stopping: the record was not
  // taken.
  bool Submit(Item item);
  // Scores until Stop() and drained. Returns an error only for output failures (disk full).
  Status Run();
  void Stop();
  bool stopping() const;

  void SetPublisher(Publisher* p) { publisher_ = p; }
  // The model serving `role` (null: no canary). Thread-safe; the snapshot stays valid while held.
  std::shared_ptr<const ServedModel> model(ModelRole role = ModelRole::kPrimary) const;
  // The schema records are parsed with (fixed for the agent's life).
  const Schema& schema() const { return schema_; }
  // Checks that `m` fits the agent's input (see above), then queues it to replace the model of
  // `role` before the next micro-batch. A null canary removes the canary. Thread-safe.
  Status StageModel(std::unique_ptr<ServedModel> m, ModelRole role);
  // Per-version statistics (thread-safe snapshot), primary's versions first.
  std::vector<ModelStats> Stats() const;
  const AgentOptions& options() const { return o_; }
  Metrics& metrics() { return metrics_; }
  // Snapshot of the threat tracker's top hosts (thread-safe).
  std::vector<std::pair<std::string, double>> TopHosts(size_t n);

  // The latest alerts, numbered, for pollers (GET /v1/alerts).
  AlertFeed& alert_feed() { return alert_feed_; }
  // Records scored per protocol and per service (the schema's proto/protocol_type and service
  // columns; empty maps when it has none). Thread-safe snapshot.
  struct Mix {
    std::map<std::string, uint64_t> proto, service;
  };
  Mix TrafficMix() const;
  std::chrono::steady_clock::time_point started() const { return started_; }

  uint64_t scored() const { return scored_->value(); }
  uint64_t malformed() const { return malformed_->value(); }
  uint64_t alerts() const { return alerts_->value(); }

 private:
  struct InputState;
  Agent(const AgentOptions& o, std::unique_ptr<ServedModel> model);
  Status OpenOutputs();
  void AdoptStaged();
  void UpdateModelInfo();
  void Process(std::vector<Item>* batch);
  // Steps 2-4 of Process for the parsed records `items` of the batch, with model m.
  struct BatchState;
  void ScoreWith(ServedModel& m, ModelStats* stats, const std::vector<size_t>& items,
                 BatchState* b);
  void Malformed(const Item& item, const std::string& error, std::vector<Verdict>* verdicts,
                 size_t slot);
  Status Write(FILE* f, const std::string& line);
  Status FlushOutputs();
  void Emit(const std::vector<ThreatEvent>& events);
  void CountMix(const std::vector<Item>& batch, const std::vector<size_t>& items,
                const std::vector<int64_t>& row_of);

  AgentOptions o_;
  // The models: owned by the scoring thread; readers elsewhere take snapshots under model_mu_.
  std::shared_ptr<ServedModel> primary_, canary_;
  mutable std::mutex model_mu_;
  std::shared_ptr<ServedModel> staged_primary_, staged_canary_;
  bool canary_staged_ = false;  // staged_canary_ (possibly null) is waiting
  std::atomic<bool> any_staged_{false};
  uint64_t routed_ = 0;  // records routed since the canary came (the share is kept exactly)
  std::vector<ModelStats> stats_;  // guarded by model_mu_
  Counter* model_swaps_ = nullptr;
  std::map<std::string, Gauge*> model_info_;  // by version
  Schema schema_;  // how records are parsed: the bundle's schema, or --format/--schema
  Metrics metrics_;
  RecordQueue<Item> queue_;
  std::vector<std::unique_ptr<InputState>> inputs_;
  std::mutex threat_mu_;
  ThreatTracker threat_;
  std::unique_ptr<ActionRunner> actions_;
  Publisher* publisher_ = nullptr;
  FILE *scores_ = nullptr, *alerts_out_ = nullptr, *dead_ = nullptr;
  bool own_scores_ = false, own_alerts_ = false;
  Status output_status_;
  std::atomic<bool> stop_{false};

  // Scratch, reused across batches.
  Workspace ws_;
  ScoreBatch scores_batch_;
  std::vector<float> x_, dense_;
  Table table_;

  Counter *scored_, *alerts_, *malformed_, *dead_letters_, *threat_changes_, *publish_failures_;
  Histogram *batch_latency_, *record_latency_, *batch_size_;
  Gauge *queue_depth_, *sources_;
  uint64_t logged_malformed_ = 0;
  AlertFeed alert_feed_;
  mutable std::mutex mix_mu_;
  Mix mix_;  // guarded by mix_mu_; at most kMaxMixKeys names each (the rest count as "other")
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace vigil
