#include "registry/registry.h"

#include <algorithm>
#include <map>

#include "bundle/bundle.h"

namespace vigil {
namespace {

using nlohmann::json;

// What a listing shows of a bundle without downloading it.
json Summarize(const Bundle& b) {
  const json& md = b.metadata;
  json s = json::object();
  for (const char* key :
       {"kind", "task", "classes", "normal_class", "score", "metrics", "provenance", "features"}) {
    auto it = md.find(key);
    if (it != md.end()) s[key] = *it;
  }
  if (s.contains("features") && s["features"].is_array()) {
    s["input_dim"] = s["features"].size();
    s.erase("features");
  }
  auto model = md.find("model");
  if (model != md.end() && model->is_object()) {
    json m = json::object();
    for (const char* key : {"type", "input_dim", "num_classes", "hidden", "activation"}) {
      auto it = model->find(key);
      if (it != model->end()) m[key] = *it;
    }
    s["model"] = m;
  }
  auto schema = md.find("schema");
  if (schema != md.end() && schema->is_object() && schema->contains("format")) {
    s["schema_format"] = (*schema)["format"];
  }
  return s;
}

Status NeedModel(Store& store, const std::string& model) {
  VIGIL_RETURN_IF_ERROR(CheckName(model, "model"));
  if (!store.HasModel(model)) return Status::NotFound("no model named '" + model + "'");
  return Status::Ok();
}

}  // namespace

const char* PublishRefusalName(PublishRefusal r) {
  switch (r) {
    case PublishRefusal::kNone:
      return "ok";
    case PublishRefusal::kBadRequest:
      return "bad_request";
    case PublishRefusal::kCorrupt:
      return "corrupt";
    case PublishRefusal::kUntrusted:
      return "untrusted";
    case PublishRefusal::kFailed:
      return "error";
  }
  return "error";
}

Registry::Registry(RegistryOptions options, std::unique_ptr<Store> store)
    : options_(std::move(options)), store_(std::move(store)) {}

Result<std::unique_ptr<Registry>> Registry::Open(const std::string& dir, RegistryOptions options) {
  VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(dir, options.store));
  return std::unique_ptr<Registry>(new Registry(std::move(options), std::move(store)));
}

Result<PublishResult> Registry::Publish(const std::string& model, std::string_view bytes,
                                        const std::string& actor, PublishRefusal* refusal) {
  PublishRefusal dummy;
  PublishRefusal& why = refusal != nullptr ? *refusal : dummy;
  why = PublishRefusal::kBadRequest;
  VIGIL_RETURN_IF_ERROR(CheckName(model, "model"));
  const std::string name = "upload to '" + model + "'";
  why = PublishRefusal::kCorrupt;
  VIGIL_ASSIGN_OR_RETURN(Bundle b, ParseBundle(bytes, name));
  why = PublishRefusal::kUntrusted;
  SignatureCheck check = CheckBundleSignature(b, options_.trust.keys);
  VIGIL_RETURN_IF_ERROR(VerifyBundleTrust(b, options_.trust, name));
  why = PublishRefusal::kFailed;
  VersionInfo info;
  info.publisher = actor;
  info.signature = SignatureStateName(check.state);
  info.key_id = check.key_id;
  info.summary = Summarize(b);
  PublishResult r;
  VIGIL_ASSIGN_OR_RETURN(r.version, store_->AddVersion(model, bytes, info, &r.created));
  why = PublishRefusal::kNone;
  return r;
}

Result<std::vector<ModelSummary>> Registry::ListModels() { return store_->Models(); }

Result<std::vector<VersionInfo>> Registry::ListVersions(const std::string& model) {
  VIGIL_RETURN_IF_ERROR(NeedModel(*store_, model));
  return store_->Versions(model);
}

Result<VersionInfo> Registry::GetVersion(const std::string& model, const std::string& ref) {
  VIGIL_RETURN_IF_ERROR(NeedModel(*store_, model));
  return store_->FindVersion(model, ref);
}

Result<std::string> Registry::ReadVersion(const std::string& model, const std::string& ref,
                                          VersionInfo* info) {
  VIGIL_ASSIGN_OR_RETURN(VersionInfo v, GetVersion(model, ref));
  VIGIL_ASSIGN_OR_RETURN(std::string bytes, store_->ReadBlob(v.sha256));
  if (info != nullptr) *info = std::move(v);
  return bytes;
}

Result<ChannelState> Registry::GetChannel(const std::string& model, const std::string& channel) {
  VIGIL_RETURN_IF_ERROR(NeedModel(*store_, model));
  VIGIL_RETURN_IF_ERROR(CheckName(channel, "channel"));
  VIGIL_ASSIGN_OR_RETURN(ChannelState c, store_->Channel(model, channel));
  if (!c.set()) {
    return Status::NotFound("channel '" + channel + "' of model '" + model + "' is not set");
  }
  return c;
}

Result<std::vector<ChannelState>> Registry::ListChannels(const std::string& model) {
  VIGIL_RETURN_IF_ERROR(NeedModel(*store_, model));
  return store_->Channels(model);
}

Result<ChannelState> Registry::Promote(const std::string& model, const std::string& channel,
                                       const std::string& ref, const std::string& actor) {
  VIGIL_RETURN_IF_ERROR(NeedModel(*store_, model));
  VIGIL_RETURN_IF_ERROR(CheckName(channel, "channel"));
  VIGIL_ASSIGN_OR_RETURN(VersionInfo v, store_->FindVersion(model, ref));
  VIGIL_ASSIGN_OR_RETURN(ChannelState c, store_->Promote(model, channel, v.sha256, actor));
  NotifyChange();
  return c;
}

Result<ChannelState> Registry::Rollback(const std::string& model, const std::string& channel,
                                        const std::string& actor) {
  VIGIL_RETURN_IF_ERROR(NeedModel(*store_, model));
  VIGIL_RETURN_IF_ERROR(CheckName(channel, "channel"));
  VIGIL_ASSIGN_OR_RETURN(ChannelState c, store_->Rollback(model, channel, actor));
  NotifyChange();
  return c;
}

Result<std::vector<HistoryEntry>> Registry::History(const std::string& model,
                                                    const std::string& channel, int limit) {
  VIGIL_RETURN_IF_ERROR(NeedModel(*store_, model));
  VIGIL_RETURN_IF_ERROR(CheckName(channel, "channel"));
  return store_->History(model, channel, limit);
}

void Registry::NotifyChange() {
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    ++change_epoch_;
  }
  watch_cv_.notify_all();
}

Result<ChannelState> Registry::WatchChannel(const std::string& model, const std::string& channel,
                                            int64_t after_revision,
                                            std::chrono::milliseconds timeout, bool* changed) {
  VIGIL_RETURN_IF_ERROR(CheckName(model, "model"));
  VIGIL_RETURN_IF_ERROR(CheckName(channel, "channel"));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(watch_mu_);
  ++watchers_;
  Result<ChannelState> state = Status::Internal("watch did not run");
  for (;;) {
    // Read the epoch before the store: a change committed after this read bumps it, so the wait
    // below cannot miss it.
    const uint64_t epoch = change_epoch_;
    lock.unlock();
    state = store_->Channel(model, channel);
    lock.lock();
    if (!state.ok() || state->revision > after_revision) {
      *changed = state.ok();
      break;
    }
    *changed = false;
    if (shutdown_ || !watch_cv_.wait_until(lock, deadline,
                                           [&] { return shutdown_ || change_epoch_ != epoch; })) {
      break;
    }
    if (shutdown_) break;
  }
  --watchers_;
  return state;
}

void Registry::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    shutdown_ = true;
  }
  watch_cv_.notify_all();
}

size_t Registry::watchers() const {
  std::lock_guard<std::mutex> lock(watch_mu_);
  return watchers_;
}

namespace {

constexpr size_t kReportBins = 21;  // stream/agent.h ModelStats::kScoreBins
constexpr size_t kMaxReportVersions = 16;

bool IsHex64(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

Status ReportError(const std::string& what) { return Status::InvalidArgument("report: " + what); }

}  // namespace

Status Registry::Report(const std::string& model, const nlohmann::json& body) {
  VIGIL_RETURN_IF_ERROR(CheckName(model, "model"));
  if (!body.is_object()) return ReportError("the body must be a JSON object");
  auto agent_it = body.find("agent");
  if (agent_it == body.end() || !agent_it->is_string()) {
    return ReportError("'agent' must be a string");
  }
  const std::string agent = agent_it->get<std::string>();
  if (agent.empty() || agent.size() > 200 ||
      agent.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") !=
          std::string::npos) {
    return ReportError("'agent' must be 1-200 characters of [A-Za-z0-9._:-]");
  }
  auto versions = body.find("versions");
  if (versions == body.end() || !versions->is_array() || versions->size() > kMaxReportVersions) {
    return ReportError("'versions' must be an array of at most " +
                       std::to_string(kMaxReportVersions) + " objects");
  }
  std::vector<AgentReport> rows;
  for (size_t k = 0; k < versions->size(); ++k) {
    const nlohmann::json& v = (*versions)[k];
    const std::string where = "versions[" + std::to_string(k) + "]";
    if (!v.is_object()) return ReportError(where + " must be an object");
    AgentReport r;
    r.agent = agent;
    auto str = [&](const char* key, std::string* out) -> Status {
      auto it = v.find(key);
      if (it == v.end() || !it->is_string()) {
        return ReportError(where + "." + key + " must be a string");
      }
      *out = it->get<std::string>();
      return Status::Ok();
    };
    auto count = [&](const nlohmann::json& x) {
      return x.is_number_unsigned() || (x.is_number_integer() && x.get<int64_t>() >= 0);
    };
    VIGIL_RETURN_IF_ERROR(str("sha256", &r.sha256));
    VIGIL_RETURN_IF_ERROR(str("role", &r.role));
    VIGIL_RETURN_IF_ERROR(str("channel", &r.channel));
    if (!IsHex64(r.sha256)) return ReportError(where + ".sha256 must be 64 lowercase hex digits");
    if (r.role != "primary" && r.role != "canary") {
      return ReportError(where + ".role must be 'primary' or 'canary'");
    }
    if (!r.channel.empty()) VIGIL_RETURN_IF_ERROR(CheckName(r.channel, "channel"));
    for (const char* key : {"records", "alerts"}) {
      auto it = v.find(key);
      if (it == v.end() || !count(*it)) {
        return ReportError(where + "." + key + " must be a count (integer >= 0)");
      }
    }
    r.records = v["records"].get<int64_t>();
    r.alerts = v["alerts"].get<int64_t>();
    if (r.alerts > r.records) return ReportError(where + ": more alerts than records");
    auto h = v.find("histogram");
    if (h == v.end() || !h->is_array() || h->size() != kReportBins) {
      return ReportError(where + ".histogram must be an array of " + std::to_string(kReportBins) +
                         " counts");
    }
    for (const nlohmann::json& c : *h) {
      if (!count(c)) return ReportError(where + ".histogram must hold counts (integers >= 0)");
      r.histogram.push_back(c.get<int64_t>());
    }
    auto known = store_->FindVersion(model, r.sha256);
    if (!known.ok()) {
      return known.status().code() == StatusCode::kNotFound
                 ? ReportError(where + ": " + model + " has no version " + r.sha256)
                 : known.status();
    }
    rows.push_back(std::move(r));
  }
  return store_->PutReports(model, rows);
}

Result<nlohmann::json> Registry::Stats(const std::string& model) {
  VIGIL_ASSIGN_OR_RETURN(std::vector<VersionInfo> versions, store_->Versions(model));
  VIGIL_ASSIGN_OR_RETURN(std::vector<AgentReport> reports, store_->Reports(model));
  VIGIL_ASSIGN_OR_RETURN(std::vector<ChannelState> channels, store_->Channels(model));
  struct Sum {
    int64_t records = 0, alerts = 0;
    std::vector<int64_t> histogram = std::vector<int64_t>(kReportBins, 0);
    std::vector<std::string> agents, roles;
    std::string last;
  };
  std::map<std::string, Sum> by_sha;
  std::map<std::string, nlohmann::json> agents;
  for (const AgentReport& r : reports) {
    Sum& s = by_sha[r.sha256];
    s.records += r.records;
    s.alerts += r.alerts;
    for (size_t b = 0; b < r.histogram.size() && b < kReportBins; ++b)
      s.histogram[b] += r.histogram[b];
    if (std::find(s.agents.begin(), s.agents.end(), r.agent) == s.agents.end())
      s.agents.push_back(r.agent);
    if (std::find(s.roles.begin(), s.roles.end(), r.role) == s.roles.end())
      s.roles.push_back(r.role);
    s.last = std::max(s.last, r.updated_at);
    nlohmann::json& a = agents[r.agent];
    if (a.is_null())
      a = {{"agent", r.agent}, {"last_report", r.updated_at}, {"serving", nlohmann::json::array()}};
    a["last_report"] = std::max(a["last_report"].get<std::string>(), r.updated_at);
    a["serving"].push_back(
        {{"sha256", r.sha256}, {"role", r.role}, {"channel", r.channel}, {"records", r.records}});
  }
  nlohmann::json out = {{"model", model},
                        {"bins", "score / threshold in steps of 0.1; the last bin is >= 2.0"}};
  nlohmann::json list = nlohmann::json::array();
  for (const VersionInfo& v : versions) {
    nlohmann::json j = {{"number", v.number}, {"sha256", v.sha256}};
    nlohmann::json on = nlohmann::json::array();
    for (const ChannelState& c : channels) {
      if (c.sha256 == v.sha256) on.push_back(c.channel);
    }
    j["channels"] = on;
    auto it = by_sha.find(v.sha256);
    const Sum s = it == by_sha.end() ? Sum{} : it->second;
    j["records"] = s.records;
    j["alerts"] = s.alerts;
    j["alert_rate"] =
        s.records > 0 ? static_cast<double>(s.alerts) / static_cast<double>(s.records) : 0.0;
    j["histogram"] = s.histogram;
    j["agents"] = s.agents;
    j["roles"] = s.roles;
    j["last_report"] = s.last;
    for (const auto& a : s.agents) {
      for (auto& serving : agents[a]["serving"]) {
        if (serving["sha256"] == v.sha256) serving["number"] = v.number;
      }
    }
    list.push_back(std::move(j));
  }
  out["versions"] = list;
  nlohmann::json alist = nlohmann::json::array();
  for (auto& [id, a] : agents) alist.push_back(a);
  out["agents"] = alist;
  return out;
}

}  // namespace vigil
