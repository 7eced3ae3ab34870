#include "stream/agent.h"

#include <charconv>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "core/json_text.h"
#include "data/csv.h"

namespace vigil {
namespace {

using Clock = std::chrono::steady_clock;

// Field names under which records carry their 5-tuple and time, first match wins.
const std::vector<std::string> kSrcNames = {"srcip", "src_ip", "saddr", "src", "source_ip"};
const std::vector<std::string> kSportNames = {"sport", "src_port", "srcport"};
const std::vector<std::string> kDstNames = {"dstip", "dst_ip", "daddr", "dst", "destination_ip"};
const std::vector<std::string> kDportNames = {"dsport", "dport", "dst_port", "dstport"};
const std::vector<std::string> kProtoNames = {"proto", "protocol", "protocol_type"};
const std::vector<std::string> kTimeNames = {"stime", "ts", "timestamp", "time"};

std::string IsoNow() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::time_t t = system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

double WallSeconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

// A JSON value as record field text: strings as they are, numbers and booleans as written.
std::string FieldText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "1" : "0";
  if (v.is_null()) return "";
  return v.dump();
}

ModelStats NewStats(const ServedModel& m, ModelRole role) {
  ModelStats st;
  st.name = m.scorer.name();
  st.version = m.scorer.version();
  st.sha256 = m.scorer.bundle().sha256;
  st.role = role == ModelRole::kPrimary ? "primary" : "canary";
  st.registry_version = m.registry_version;
  st.channel = m.channel;
  st.threshold = m.scorer.threshold();
  return st;
}

}  // namespace

struct Agent::InputState {
  InputSpec spec;
  RowReader reader;
  uint64_t rows = 0;  // data records seen (the "row" of the score line)
  // Field positions (CSV inputs) of the 5-tuple and time; -1 when absent.
  int src = -1, sport = -1, dst = -1, dport = -1, proto = -1, time = -1;
  Table table;               // this batch's rows from this input
  std::vector<float> dense;  // their preprocessed features

  InputState(const InputSpec& s, const Schema& schema)
      : spec(s), reader(schema, s.name, /*require_target=*/false) {}

  void AfterPlan() {
    auto find = [&](const std::vector<std::string>& names) {
      for (const std::string& n : names) {
        int i = reader.FieldIndex(n);
        if (i >= 0) return i;
      }
      return -1;
    };
    src = find(kSrcNames);
    sport = find(kSportNames);
    dst = find(kDstNames);
    dport = find(kDportNames);
    proto = find(kProtoNames);
    time = find(kTimeNames);
  }
};

std::unique_ptr<ServedModel> MakeServedModel(Scorer scorer, int threads, size_t max_sources) {
  auto m = std::make_unique<ServedModel>(std::move(scorer));
  const Scorer& sc = m->scorer;
  m->parallel = std::make_unique<ParallelScorer>(sc, std::max(1, threads));
  if (sc.sequence()) {
    m->sequences = std::make_unique<SequenceState>(sc.window(), sc.input_dim(), max_sources);
  }
  // Warm-up: touch the weights and size the scratch buffers once.
  std::vector<float> zeros(sc.row_width() * 4, 0.0f);
  Workspace ws;
  ScoreBatch out;
  sc.Score(zeros.data(), 4, &ws, &out);
  return m;
}

Result<std::unique_ptr<Agent>> Agent::Create(const AgentOptions& options,
                                             std::unique_ptr<ServedModel> initial) {
  AgentOptions o = options;
  if (o.batch_max == 0) return Status::InvalidArgument("--batch-max must be at least 1");
  if (o.batch_wait_us < 0) return Status::InvalidArgument("--batch-wait-us must be >= 0");
  if (o.queue_records == 0) return Status::InvalidArgument("the queue needs room for a record");
  if (!(o.canary_share >= 0 && o.canary_share <= 1))
    return Status::InvalidArgument("--canary-share must be in [0, 1]");
  if (initial == nullptr) {
    VIGIL_ASSIGN_OR_RETURN(Scorer loaded, Scorer::Load(o.model));
    initial = MakeServedModel(std::move(loaded), o.threads, o.max_sources);
    initial->origin = o.model;
  }
  Scorer& scorer = initial->scorer;
  if (!std::isnan(o.threshold)) scorer.set_threshold(o.threshold);
  Schema schema;
  if (!o.format.empty() && o.format != scorer.schema().format) {
    VIGIL_ASSIGN_OR_RETURN(schema, MakeSchema(o.format, o.schema));
  } else if (!o.schema.empty()) {
    VIGIL_ASSIGN_OR_RETURN(schema, MakeSchema("csv", o.schema));
  } else {
    schema = scorer.schema();
  }
  // The agent parses with this schema; the scorer's preprocessing matches columns by name.
  o.format = schema.format;
  std::unique_ptr<Agent> a(new Agent(o, std::move(initial)));
  a->schema_ = std::move(schema);
  VIGIL_RETURN_IF_ERROR(a->OpenOutputs());
  return a;
}

Agent::Agent(const AgentOptions& o, std::unique_ptr<ServedModel> model)
    : o_(o), primary_(std::move(model)), queue_(o.queue_records, o.queue_bytes), threat_(o.threat) {
  scored_ = metrics_.AddCounter("vigil_agent_records_scored_total", "Records scored.");
  alerts_ = metrics_.AddCounter("vigil_agent_alerts_total", "Alerts raised.");
  malformed_ = metrics_.AddCounter("vigil_agent_malformed_records_total",
                                   "Records that could not be parsed.");
  dead_letters_ = metrics_.AddCounter("vigil_agent_dead_letters_total",
                                      "Malformed records written to the dead-letter output.");
  threat_changes_ =
      metrics_.AddCounter("vigil_agent_threat_level_changes_total", "Host threat level changes.");
  publish_failures_ = metrics_.AddCounter("vigil_agent_publish_failures_total",
                                          "Batches whose outputs could not be published.");
  batch_latency_ = metrics_.AddHistogram("vigil_agent_batch_latency_seconds",
                                         "Time to parse, score and write one micro-batch.",
                                         ExponentialBuckets(1e-6, 2, 26));
  record_latency_ = metrics_.AddHistogram("vigil_agent_record_latency_seconds",
                                          "Time from a record's arrival to its verdict.",
                                          ExponentialBuckets(1e-6, 2, 26));
  batch_size_ = metrics_.AddHistogram("vigil_agent_batch_records", "Records per micro-batch.",
                                      ExponentialBuckets(1, 2, 14));
  queue_depth_ = metrics_.AddGauge("vigil_agent_queue_depth", "Records waiting to be scored.");
  sources_ = metrics_.AddGauge("vigil_agent_tracked_hosts", "Source hosts with threat state.");
  model_swaps_ = metrics_.AddCounter("vigil_agent_model_swaps_total",
                                     "Models adopted after the first (hot swaps).");
  stats_.push_back(NewStats(*primary_, ModelRole::kPrimary));
  UpdateModelInfo();
  metrics_.AddGauge("vigil_agent_queue_capacity", "Records the queue holds before backpressure.")
      ->Set(static_cast<double>(o_.queue_records));
  actions_ = std::make_unique<ActionRunner>(o_.actions, o_.dry_run, &metrics_);
}

Agent::~Agent() {
  actions_.reset();
  if (own_scores_ && scores_ != nullptr) std::fclose(scores_);
  if (own_alerts_ && alerts_out_ != nullptr) std::fclose(alerts_out_);
  if (dead_ != nullptr) std::fclose(dead_);
}

Status Agent::OpenOutputs() {
  auto open = [](const std::string& path, FILE** f, bool* own) -> Status {
    if (path.empty()) return Status::Ok();
    if (path == "-") {
      *f = stdout;
      return Status::Ok();
    }
    *f = std::fopen(path.c_str(), "wb");
    if (*f == nullptr) return Status::IOError(path + ": cannot open for writing");
    std::setvbuf(*f, nullptr, _IOFBF, 1 << 16);
    *own = true;
    return Status::Ok();
  };
  VIGIL_RETURN_IF_ERROR(open(o_.scores_path, &scores_, &own_scores_));
  VIGIL_RETURN_IF_ERROR(open(o_.alerts_path, &alerts_out_, &own_alerts_));
  bool unused = false;
  VIGIL_RETURN_IF_ERROR(open(o_.dead_letter_path, &dead_, &unused));
  if (dead_ == stdout) dead_ = nullptr;
  return Status::Ok();
}

uint32_t Agent::AddInput(const InputSpec& spec) {
  auto in = std::make_unique<InputState>(spec, schema_);
  const bool headerless_csv = spec.kind == RecordKind::kCsv && !spec.csv_header;
  if (spec.kind == RecordKind::kJson || (headerless_csv && schema_.header)) {
    // JSON records and header-less streams of a header format: fields by the schema's names.
    // JSON records need not carry the target columns.
    Status s = in->reader.PlanFromSchema(/*include_targets=*/spec.kind == RecordKind::kCsv);
    if (s.ok()) in->AfterPlan();
  }
  inputs_.push_back(std::move(in));
  return static_cast<uint32_t>(inputs_.size() - 1);
}

bool Agent::Submit(Item item) {
  if (stop_.load()) return false;
  item.enqueued = Clock::now();
  const size_t bytes = item.text.size() + 64;
  bool ok = queue_.Push(std::move(item), bytes);
  queue_depth_->Set(static_cast<double>(queue_.size()));
  return ok;
}

void Agent::Stop() {
  stop_.store(true);
  queue_.Close();
  alert_feed_.Close();
}

void Agent::CountMix(const std::vector<Item>& batch, const std::vector<size_t>& items,
                     const std::vector<int64_t>& row_of) {
  constexpr size_t kMaxMixKeys = 64;  // distinct names kept per map; the rest count as "other"
  auto bump = [](std::map<std::string, uint64_t>* m, const std::string& key) {
    auto it = m->find(key);
    if (it != m->end()) {
      ++it->second;
    } else if (m->size() < kMaxMixKeys) {
      (*m)[key] = 1;
    } else {
      ++(*m)["other"];
    }
  };
  auto column = [](const Table& t, const std::vector<std::string>& names) -> int {
    for (const std::string& n : names) {
      for (size_t c = 0; c < t.categorical_names.size(); ++c) {
        if (t.categorical_names[c] == n) return static_cast<int>(c);
      }
    }
    return -1;
  };
  static const std::vector<std::string> kService = {"service"};
  std::vector<std::pair<int, int>> cols(inputs_.size(), {-2, -2});  // per input, found lazily
  std::lock_guard<std::mutex> lock(mix_mu_);
  for (size_t i : items) {
    const Table& t = inputs_[batch[i].input]->table;
    const auto r = static_cast<size_t>(row_of[i]);
    auto& [p, sv] = cols[batch[i].input];
    if (p == -2) {
      p = column(t, kProtoNames);
      sv = column(t, kService);
    }
    if (p >= 0 && r < t.categorical[static_cast<size_t>(p)].size()) {
      bump(&mix_.proto, t.categorical[static_cast<size_t>(p)][r]);
    }
    if (sv >= 0 && r < t.categorical[static_cast<size_t>(sv)].size()) {
      bump(&mix_.service, t.categorical[static_cast<size_t>(sv)][r]);
    }
  }
}

Agent::Mix Agent::TrafficMix() const {
  std::lock_guard<std::mutex> lock(mix_mu_);
  return mix_;
}

bool Agent::stopping() const { return stop_.load(); }

std::vector<std::pair<std::string, double>> Agent::TopHosts(size_t n) {
  std::lock_guard<std::mutex> lock(threat_mu_);
  return threat_.Top(n);
}

Status Agent::Write(FILE* f, const std::string& line) {
  if (f == nullptr) return Status::Ok();
  if (std::fwrite(line.data(), 1, line.size(), f) != line.size() || std::fputc('\n', f) == EOF) {
    return Status::IOError("write failed (disk full?)");
  }
  return Status::Ok();
}

Status Agent::FlushOutputs() {
  for (FILE* f : {scores_, alerts_out_, dead_}) {
    if (f != nullptr && std::fflush(f) != 0) return Status::IOError("flushing outputs failed");
  }
  return Status::Ok();
}

void Agent::Emit(const std::vector<ThreatEvent>& events) {
  for (const ThreatEvent& e : events) {
    threat_changes_->Add();
    const std::string json = e.ToJson();
    if (Status s = Write(alerts_out_, json); !s.ok() && output_status_.ok()) output_status_ = s;
    if (publisher_ != nullptr) publisher_->PublishAlert(json);
    actions_->OnEvent(e);
  }
}

void Agent::Malformed(const Item& item, const std::string& error, std::vector<Verdict>* verdicts,
                      size_t slot) {
  malformed_->Add();
  const std::string& name = inputs_[item.input]->spec.name;
  if (++logged_malformed_ <= 10 || logged_malformed_ % 1000 == 0) {
    std::fprintf(stderr, "vigil-agent: malformed record (%llu so far): %s\n",
                 static_cast<unsigned long long>(logged_malformed_), error.c_str());
  }
  Verdict& v = (*verdicts)[slot];
  v.ok = false;
  v.error = error;
  v.json = "{\"error\":";
  AppendJsonString(&v.json, error);
  v.json += ",\"position\":" + std::to_string(item.position) + "}";
  if (dead_ != nullptr || publisher_ != nullptr) {
    constexpr size_t kKeep = 64 << 10;
    std::string d = "{\"time\":\"" + IsoNow() + "\",\"input\":";
    AppendJsonString(&d, name);
    d += ",\"position\":" + std::to_string(item.position) + ",\"error\":";
    AppendJsonString(&d, error);
    d += ",\"record\":";
    AppendJsonString(&d, std::string_view(item.text).substr(0, kKeep));
    const uint64_t size = item.oversized ? item.oversized : item.text.size();
    d += ",\"bytes\":" + std::to_string(size) + ",\"truncated\":" +
         (size > std::min<uint64_t>(kKeep, item.text.size()) ? "true" : "false") + "}";
    if (dead_ != nullptr) {
      if (Status s = Write(dead_, d); !s.ok() && output_status_.ok()) output_status_ = s;
    }
    if (publisher_ != nullptr) publisher_->PublishDeadLetter(d);
    dead_letters_->Add();
  }
}

std::shared_ptr<const ServedModel> Agent::model(ModelRole role) const {
  std::lock_guard<std::mutex> lock(model_mu_);
  return role == ModelRole::kPrimary ? primary_ : canary_;
}

std::vector<ModelStats> Agent::Stats() const {
  std::lock_guard<std::mutex> lock(model_mu_);
  return stats_;
}

void Agent::UpdateModelInfo() {
  std::set<std::string> serving;
  for (const auto* m : {primary_.get(), canary_.get()}) {
    if (m == nullptr) continue;
    const Scorer& sc = m->scorer;
    serving.insert(sc.version());
    if (!model_info_.count(sc.version())) {
      model_info_[sc.version()] = metrics_.AddGauge(
          "vigil_agent_model_info", "The models being served (1) and served before (0).",
          "name=\"" + LabelValue(sc.name()) + "\",version=\"" + LabelValue(sc.version()) +
              "\",type=\"" + LabelValue(sc.model_type()) + "\",role=\"" +
              (m == primary_.get() ? "primary" : "canary") + "\"");
    }
  }
  for (auto& [version, gauge] : model_info_) gauge->Set(serving.count(version) ? 1 : 0);
}

Status Agent::StageModel(std::unique_ptr<ServedModel> m, ModelRole role) {
  if (m == nullptr && role == ModelRole::kPrimary) {
    return Status::InvalidArgument("the primary model cannot be removed");
  }
  if (m != nullptr) {
    // The records as this agent parses them must carry every column the model needs.
    RowReader reader(schema_, "the agent's input", /*require_target=*/false);
    Status s = reader.PlanFromSchema(/*include_targets=*/false);
    Table probe;
    if (s.ok()) {
      reader.StartTable(&probe);
      std::vector<float> dense;
      s = m->scorer.preprocessor().Transform(probe, &dense);
    }
    if (!s.ok()) {
      return Status::InvalidArgument("model " + m->scorer.name() + " " + m->scorer.version() +
                                     " does not fit this agent's input (" + schema_.format +
                                     " records): " + s.message());
    }
    if (!std::isnan(o_.threshold)) m->scorer.set_threshold(o_.threshold);
  }
  std::lock_guard<std::mutex> lock(model_mu_);
  if (role == ModelRole::kPrimary) {
    staged_primary_ = std::move(m);
  } else {
    staged_canary_ = std::move(m);
    canary_staged_ = true;
  }
  any_staged_ = true;
  return Status::Ok();
}

void Agent::AdoptStaged() {
  if (!any_staged_.load()) return;
  std::lock_guard<std::mutex> lock(model_mu_);
  auto note = [&](const std::shared_ptr<ServedModel>& m, ModelRole role) {
    for (const ModelStats& st : stats_) {
      if (st.version == m->scorer.version() &&
          st.role == (role == ModelRole::kPrimary ? "primary" : "canary")) {
        return;
      }
    }
    stats_.push_back(NewStats(*m, role));
  };
  if (staged_primary_) {
    primary_ = std::move(staged_primary_);
    note(primary_, ModelRole::kPrimary);
    model_swaps_->Add();
  }
  if (canary_staged_) {
    canary_ = std::move(staged_canary_);
    canary_staged_ = false;
    routed_ = 0;
    if (canary_) note(canary_, ModelRole::kCanary);
    model_swaps_->Add();
  }
  any_staged_ = false;
  UpdateModelInfo();
}

// What the steps of Process share for one micro-batch.
struct Agent::BatchState {
  std::vector<Item>* batch = nullptr;
  std::vector<Verdict> verdicts;
  std::vector<int64_t> row_of;       // input table row, or -1 (malformed or a header)
  std::vector<uint64_t> row_number;  // the input's record count at this record
  std::vector<ThreatEvent> events;
  std::string now_iso;
};

void Agent::ScoreWith(ServedModel& m, ModelStats* stats, const std::vector<size_t>& items,
                      BatchState* b) {
  if (items.empty()) return;
  std::vector<Item>* batch = b->batch;
  std::vector<Verdict>& verdicts = b->verdicts;
  std::vector<int64_t>& row_of = b->row_of;
  const std::vector<uint64_t>& row_number = b->row_number;
  std::vector<ThreatEvent>& events = b->events;
  const std::string& now_iso = b->now_iso;
  const Scorer& scorer = m.scorer;
  if (m.column_index.size() < inputs_.size()) m.column_index.resize(inputs_.size());
  std::set<uint32_t> used;
  for (size_t i : items) used.insert((*batch)[i].input);

  // 2. Preprocess each input's rows, then lay the model inputs out in record order.
  for (uint32_t id : used) {
    InputState& in = *inputs_[id];
    Status s = scorer.preprocessor().Transform(in.table, &in.dense);
    if (!s.ok()) {  // a column the model needs is missing from this input: every row fails
      for (size_t i : items) {
        if ((*batch)[i].input == id && row_of[i] >= 0) {
          row_of[i] = -1;
          Malformed((*batch)[i], s.message(), &verdicts, i);
        }
      }
      continue;
    }
    std::vector<int>& column_index = m.column_index[id];
    if (column_index.empty()) {
      for (const std::string& c : scorer.column_names()) {
        int k = -1;
        for (size_t t = 0; t < in.table.numeric_names.size() && k < 0; ++t)
          if (in.table.numeric_names[t] == c) k = static_cast<int>(t);
        for (size_t t = 0; t < in.table.categorical_names.size() && k < 0; ++t)
          if (in.table.categorical_names[t] == c)
            k = static_cast<int>(in.table.numeric_names.size() + t);
        column_index.push_back(k);
      }
    }
  }
  const size_t d = scorer.input_dim(), w = scorer.row_width();
  std::vector<size_t> scored_items;
  x_.resize(items.size() * w);
  for (size_t i : items) {
    if (row_of[i] < 0) continue;
    const InputState& in = *inputs_[(*batch)[i].input];
    const float* f = in.dense.data() + static_cast<size_t>(row_of[i]) * d;
    float* dst = x_.data() + scored_items.size() * w;
    if (m.sequences) {
      const std::string source = in.table.sources.empty()
                                     ? in.spec.name
                                     : in.table.sources[static_cast<size_t>(row_of[i])];
      m.sequences->Push(source, f, dst);
    } else {
      std::copy_n(f, d, dst);
    }
    scored_items.push_back(i);
  }

  // 3. Score.
  m.parallel->Score(x_.data(), scored_items.size(), &ws_, &scores_batch_);
  scored_->Add(scored_items.size());

  CountMix(*batch, scored_items, row_of);

  // 4. Verdicts, alerts, threat levels.
  const auto& classes = scorer.classes();
  const size_t nc = classes.size();
  for (size_t k = 0; k < scored_items.size(); ++k) {
    const size_t i = scored_items[k];
    const Item& item = (*batch)[i];
    const InputState& in = *inputs_[item.input];
    const auto r = static_cast<size_t>(row_of[i]);
    const Table& t = in.table;
    const int pred = scores_batch_.pred[k];
    const float score = scores_batch_.score[k];
    Verdict& v = verdicts[i];
    v.ok = true;
    v.alert = pred != scorer.normal_class();
    ++stats->records;
    if (v.alert) ++stats->alerts;
    const double rel = scorer.threshold() > 0 ? score / scorer.threshold() : score;
    const size_t last = ModelStats::kScoreBins - 1;
    ++stats->histogram[!(rel > 0) ? 0 : rel >= 0.1 * last ? last : static_cast<size_t>(rel * 10)];
    std::string& s = v.json;
    s = "{\"row\":" + std::to_string(row_number[i]);
    if (!t.ids.empty()) {
      s += ",\"id\":";
      AppendJsonString(&s, t.ids[r]);
    }
    s += ",\"class\":";
    AppendJsonString(&s, classes[static_cast<size_t>(pred)]);
    s += v.alert ? ",\"attack\":true,\"score\":" : ",\"attack\":false,\"score\":";
    AppendJsonFloat(&s, score);
    if (!scores_batch_.probs.empty()) {
      s += ",\"probabilities\":{";
      for (size_t c = 0; c < nc; ++c) {
        if (c > 0) s += ',';
        AppendJsonString(&s, classes[c]);
        s += ':';
        AppendJsonFloat(&s, scores_batch_.probs[k * nc + c]);
      }
      s += '}';
    }
    s += ",\"version\":";
    AppendJsonString(&s, scorer.version());
    s += ",\"input\":";
    AppendJsonString(&s, in.spec.name);
    s += ",\"position\":" + std::to_string(item.position) + "}";
    if (Status ws = Write(scores_, s); !ws.ok() && output_status_.ok()) output_status_ = ws;
    record_latency_->Observe(std::chrono::duration<double>(Clock::now() - item.enqueued).count());
    if (!v.alert) continue;

    // The alert: where the record came from, what it is, and why.
    alerts_->Add();
    std::string src, fields_text[5];
    double record_time = NAN;
    if (item.kind == RecordKind::kCsv) {
      // Re-split the line for the raw 5-tuple (alerts only).
      std::vector<std::string> raw;
      (void)ParseCsv(item.text, in.spec.name, CsvOptions{in.reader.schema().delimiter},
                     [&](size_t, const std::vector<std::string_view>& f) -> Status {
                       for (auto sv : f) raw.emplace_back(sv);
                       return Status::Ok();
                     });
      const int pos[5] = {in.src, in.sport, in.dst, in.dport, in.proto};
      for (int q = 0; q < 5; ++q) {
        if (pos[q] >= 0 && static_cast<size_t>(pos[q]) < raw.size()) fields_text[q] = raw[pos[q]];
      }
      if (in.time >= 0 && static_cast<size_t>(in.time) < raw.size()) {
        double tv;
        if (ParseNumber(raw[in.time], &tv).ok()) record_time = tv;
      }
    } else {
      nlohmann::json j = nlohmann::json::parse(item.text, nullptr, false);
      const std::vector<std::string>* names[5] = {&kSrcNames, &kSportNames, &kDstNames,
                                                  &kDportNames, &kProtoNames};
      for (int q = 0; q < 5; ++q) {
        for (const std::string& key : *names[q]) {
          auto it = j.find(key);
          if (it != j.end()) {
            fields_text[q] = FieldText(*it);
            break;
          }
        }
      }
      for (const std::string& key : kTimeNames) {
        auto it = j.find(key);
        if (it != j.end() && it->is_number()) {
          record_time = it->get<double>();
          break;
        }
      }
    }
    if (!t.times.empty()) record_time = t.times[r];
    src = !t.sources.empty() ? t.sources[r] : fields_text[0];
    std::string& a = v.alert_json;
    a = "{\"time\":\"" + now_iso + "\"";
    if (!std::isnan(record_time)) {
      a += ",\"record_time\":";
      AppendJsonNumber(&a, record_time);
    }
    a += ",\"input\":";
    AppendJsonString(&a, in.spec.name);
    a += ",\"position\":" + std::to_string(item.position);
    if (!t.ids.empty()) {
      a += ",\"id\":";
      AppendJsonString(&a, t.ids[r]);
    }
    const char* tuple_keys[5] = {"src", "sport", "dst", "dport", "proto"};
    for (int q = 0; q < 5; ++q) {
      if (fields_text[q].empty() && !(q == 0 && !src.empty())) continue;
      a += ",\"";
      a += tuple_keys[q];
      a += "\":";
      AppendJsonString(&a, q == 0 && fields_text[0].empty() ? src : fields_text[q]);
    }
    a += ",\"class\":";
    AppendJsonString(&a, classes[static_cast<size_t>(pred)]);
    a += ",\"score\":";
    AppendJsonFloat(&a, score);
    a += ",\"threshold\":";
    AppendJsonNumber(&a, scorer.threshold());
    a += ",\"model\":";
    AppendJsonString(&a, scorer.name());
    a += ",\"version\":";
    AppendJsonString(&a, scorer.version());
    if (!scores_batch_.probs.empty()) {
      a += ",\"probabilities\":{";
      for (size_t c = 0; c < nc; ++c) {
        if (c > 0) a += ',';
        AppendJsonString(&a, classes[c]);
        a += ':';
        AppendJsonFloat(&a, scores_batch_.probs[k * nc + c]);
      }
      a += '}';
    }
    a += ",\"reasons\":[";
    const std::vector<int>& column_index = m.column_index[item.input];
    std::vector<Reason> reasons = scorer.Explain(x_.data() + k * w, o_.explain_top, &ws_);
    for (size_t q = 0; q < reasons.size(); ++q) {
      const Reason& rs = reasons[q];
      if (q > 0) a += ',';
      a += "{\"feature\":";
      AppendJsonString(&a, scorer.column_names()[rs.column]);
      const int col = column_index.empty() ? -1 : column_index[rs.column];
      if (col >= 0) {
        a += ",\"value\":";
        const auto nn = static_cast<int>(t.numeric_names.size());
        if (col < nn) {
          AppendJsonNumber(&a, t.numeric[static_cast<size_t>(col)][r]);
        } else {
          AppendJsonString(&a, t.categorical[static_cast<size_t>(col - nn)][r]);
        }
      }
      a += ",\"contribution\":";
      AppendJsonFloat(&a, rs.contribution);
      a += '}';
    }
    a += "]}";
    if (Status ws = Write(alerts_out_, a); !ws.ok() && output_status_.ok()) output_status_ = ws;
    if (publisher_ != nullptr) publisher_->PublishAlert(a);
    alert_feed_.Append(a);
    if (!src.empty()) {
      std::lock_guard<std::mutex> lock(threat_mu_);
      threat_.Alert(src, std::isnan(record_time) ? WallSeconds() : record_time, 1.0, &events);
      sources_->Set(static_cast<double>(threat_.hosts()));
    }
  }
}

void Agent::Process(std::vector<Item>* batch) {
  const auto start = Clock::now();
  const size_t n = batch->size();
  BatchState b;
  b.batch = batch;
  b.verdicts.resize(n);
  b.row_of.assign(n, -1);
  b.row_number.assign(n, 0);
  b.now_iso = IsoNow();
  std::vector<Verdict>& verdicts = b.verdicts;
  std::vector<int64_t>& row_of = b.row_of;
  std::vector<uint64_t>& row_number = b.row_number;
  std::vector<bool> header(n, false), touched(inputs_.size(), false);
  std::vector<std::string> json_fields;
  std::vector<std::string_view> fields;
  (void)fields;

  // 1. Parse each record into its input's table.
  for (size_t i = 0; i < n; ++i) {
    Item& item = (*batch)[i];
    InputState& in = *inputs_[item.input];
    if (!touched[item.input]) {
      touched[item.input] = true;
      if (in.reader.planned()) in.reader.StartTable(&in.table);
    }
    const std::string where = in.spec.name + ":" + std::to_string(item.position);
    if (item.oversized) {
      ++in.rows;
      Malformed(item,
                where + ": record of " + std::to_string(item.oversized) + " bytes is over the " +
                    std::to_string(o_.max_record_bytes) + "-byte limit",
                &verdicts, i);
      continue;
    }
    Status s;
    if (item.kind == RecordKind::kJson) {
      ++in.rows;
      nlohmann::json j = nlohmann::json::parse(item.text, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.is_object()) {
        Malformed(item, where + ": not a JSON object", &verdicts, i);
        continue;
      }
      const auto& names = in.reader.field_names();
      json_fields.assign(names.size(), std::string());
      fields.clear();
      for (size_t k = 0; k < names.size(); ++k) {
        auto it = j.find(names[k]);
        if (it != j.end()) json_fields[k] = FieldText(*it);
        fields.emplace_back(json_fields[k]);
      }
      s = in.reader.AddRow(item.position, fields, &in.table);
    } else {
      if (item.text.find_first_of("\r\n") != std::string::npos) {
        ++in.rows;
        Malformed(item, where + ": a record must not contain a line break", &verdicts, i);
        continue;
      }
      bool was_header = false;
      s = ParseCsv(item.text, in.spec.name, CsvOptions{in.reader.schema().delimiter},
                   [&](size_t, const std::vector<std::string_view>& f) -> Status {
                     if (!in.reader.planned()) {
                       if (in.spec.csv_header) {
                         VIGIL_RETURN_IF_ERROR(in.reader.PlanFromHeader(f));
                         in.AfterPlan();
                         in.reader.StartTable(&in.table);
                         was_header = true;
                         return Status::Ok();
                       }
                       VIGIL_RETURN_IF_ERROR(in.reader.PlanFromCount(item.position, f.size()));
                       in.AfterPlan();
                       in.reader.StartTable(&in.table);
                     }
                     return in.reader.AddRow(item.position, f, &in.table);
                   });
      if (was_header) {
        header[i] = true;
        continue;
      }
      ++in.rows;
    }
    if (!s.ok()) {
      Malformed(item, s.message(), &verdicts, i);
      continue;
    }
    row_of[i] = static_cast<int64_t>(in.table.rows - 1);
    row_number[i] = in.rows;
  }

  // 2-4. Score each parsed record with the primary model, or the canary for its share.
  std::vector<size_t> for_primary, for_canary;
  for (size_t i = 0; i < n; ++i) {
    if (row_of[i] < 0) continue;
    if (canary_ && o_.canary_share > 0) {
      // Bresenham: after k records, floor(k * share) went to the canary.
      const auto before = static_cast<uint64_t>(static_cast<double>(routed_) * o_.canary_share);
      ++routed_;
      const auto after = static_cast<uint64_t>(static_cast<double>(routed_) * o_.canary_share);
      if (after > before) {
        for_canary.push_back(i);
        continue;
      }
    }
    for_primary.push_back(i);
  }
  ModelStats delta_primary, delta_canary;
  ScoreWith(*primary_, &delta_primary, for_primary, &b);
  if (!for_canary.empty()) ScoreWith(*canary_, &delta_canary, for_canary, &b);
  {
    std::lock_guard<std::mutex> lock(model_mu_);
    for (ModelStats& st : stats_) {
      const ModelStats* d = nullptr;
      if (st.role == "primary" && st.version == primary_->scorer.version()) d = &delta_primary;
      if (canary_ && st.role == "canary" && st.version == canary_->scorer.version())
        d = &delta_canary;
      if (d == nullptr) continue;
      st.records += d->records;
      st.alerts += d->alerts;
      for (size_t q = 0; q < ModelStats::kScoreBins; ++q) st.histogram[q] += d->histogram[q];
    }
  }

  Emit(b.events);

  // 5. Flush, then tell the waiting replies (a NATS reply acknowledges here).
  Status outputs = output_status_;
  if (Status f = FlushOutputs(); outputs.ok() && !f.ok()) outputs = f;
  if (publisher_ != nullptr) {
    Status p = publisher_->Flush();
    if (!p.ok()) {
      publish_failures_->Add();
      if (outputs.ok()) outputs = p;
    }
  }
  std::vector<Reply*> replies;
  for (size_t i = 0; i < n; ++i) {
    Item& item = (*batch)[i];
    if (!item.reply || header[i]) continue;
    item.reply->Deliver(item.tag, verdicts[i]);
    if (std::find(replies.begin(), replies.end(), item.reply.get()) == replies.end())
      replies.push_back(item.reply.get());
  }
  for (Reply* r : replies) r->BatchDone(outputs);
  batch_size_->Observe(static_cast<double>(n));
  batch_latency_->Observe(std::chrono::duration<double>(Clock::now() - start).count());
  queue_depth_->Set(static_cast<double>(queue_.size()));
}

Status Agent::Run() {
  auto last_sweep = Clock::now();
  while (true) {
    AdoptStaged();
    std::vector<Item> batch = queue_.PopBatch(
        o_.batch_max, std::chrono::microseconds(o_.batch_wait_us), std::chrono::milliseconds(500));
    if (!batch.empty()) Process(&batch);
    const auto now = Clock::now();
    if (now - last_sweep >= std::chrono::seconds(1)) {
      std::vector<ThreatEvent> events;
      {
        std::lock_guard<std::mutex> lock(threat_mu_);
        threat_.Sweep(std::chrono::duration<double>(now - last_sweep).count(), &events);
      }
      last_sweep = now;
      Emit(events);
      if (!events.empty()) (void)FlushOutputs();
      queue_depth_->Set(static_cast<double>(queue_.size()));
    }
    if (batch.empty() && queue_.closed() && queue_.size() == 0) break;
  }
  Status f = FlushOutputs();
  if (!output_status_.ok()) return output_status_;
  return f;
}

}  // namespace vigil
