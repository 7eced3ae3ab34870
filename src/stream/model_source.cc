#include "stream/model_source.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "bundle/bundle.h"
#include "core/file.h"
#include "registry/client.h"
#include "registry/types.h"

namespace vigil {

namespace fs = std::filesystem;
using nlohmann::json;

// One followed registry channel: its client and what it last served.
struct ModelSource::Follow {
  std::string channel;
  std::unique_ptr<RegistryClient> client;
  int64_t revision = 0;  // the channel revision last acted on
  std::string sha256;    // the version being served from it ("" none)
  int64_t number = 0;
};

namespace {

// Parses and verifies a bundle's bytes and builds its scorer. On failure *reason is the metric
// label: corrupt (checksum, structure), unsigned, unknown_key, invalid (signature policy),
// unsupported (the scorer cannot serve it).
Result<Scorer> Verify(std::string_view bytes, const std::string& name, const TrustPolicy& policy,
                      std::string* reason) {
  auto b = ParseBundle(bytes, name);
  if (!b.ok()) {
    *reason = "corrupt";
    return b.status();
  }
  Status trust = VerifyBundleTrust(*b, policy, name);
  if (!trust.ok()) {
    *reason = SignatureStateName(CheckBundleSignature(*b, policy.keys).state);
    return trust;
  }
  auto scorer = Scorer::FromBundle(std::move(*b));
  if (!scorer.ok()) {
    *reason = "unsupported";
    return scorer.status();
  }
  return scorer;
}

std::string DefaultAgentId() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "host");
  std::string id = std::string(host) + ":" + std::to_string(getpid()) + ":" +
                   std::to_string(static_cast<long long>(std::time(nullptr)));
  for (char& c : id) {
    const bool ok =
        std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == ':' || c == '-' || c == '_';
    if (!ok) c = '-';
  }
  return id;
}

std::string DefaultCacheDir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != '\0') {
    return std::string(x) + "/vigil-agent";
  }
  if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
    return std::string(h) + "/.cache/vigil-agent";
  }
  return "vigil-agent-cache";
}

}  // namespace

ModelSource::ModelSource(ModelSourceOptions o) : o_(std::move(o)) {}

ModelSource::~ModelSource() { Stop(); }

void ModelSource::Log(const std::string& line) const {
  if (!o_.quiet) std::fprintf(stderr, "vigil-agent: %s\n", line.c_str());
}

std::string ModelSource::CachePath(const std::string& channel, const char* ext) const {
  return o_.cache_dir + "/" + o_.name + "." + channel + ext;
}

Status ModelSource::LoadTrust() {
  for (const std::string& k : o_.trusted_keys) VIGIL_RETURN_IF_ERROR(policy_.keys.AddPath(k));
  policy_.require_signature = o_.require_signature;
  if (o_.require_signature && policy_.keys.empty()) {
    return Status::InvalidArgument("--require-signature needs --trusted-key");
  }
  return Status::Ok();
}

void ModelSource::Refused(const std::string& reason, const std::string& what) {
  Log("refused " + what + " [" + reason + "]; still serving the current model");
  std::lock_guard<std::mutex> lock(refused_mu_);
  if (metrics_ == nullptr) {  // before Start: counted when the metrics exist
    for (auto& [r, n] : refused_early_) {
      if (r == reason) {
        ++n;
        return;
      }
    }
    refused_early_.emplace_back(reason, 1);
    return;
  }
  RefusedCounter(reason)->Add();
}

Counter* ModelSource::RefusedCounter(const std::string& reason) {
  Counter*& c = refused_counters_[reason];
  if (c == nullptr) {
    c = metrics_->AddCounter("vigil_agent_model_refused_total",
                             "Model bundles refused (verification or schema), by reason.",
                             "reason=\"" + LabelValue(reason) + "\"");
  }
  return c;
}

Result<std::unique_ptr<ModelSource>> ModelSource::Open(ModelSourceOptions options) {
  std::unique_ptr<ModelSource> m(new ModelSource(std::move(options)));
  ModelSourceOptions& o = m->o_;
  if (o.registry.empty() == o.model_dir.empty()) {
    return Status::InvalidArgument("give either --registry (with --name) or --model-dir");
  }
  if (!o.registry.empty() && o.name.empty()) {
    return Status::InvalidArgument("--registry needs --name (the model's name in the registry)");
  }
  if (o.agent_id.empty()) o.agent_id = DefaultAgentId();
  if (o.cache_dir.empty()) o.cache_dir = DefaultCacheDir();
  VIGIL_RETURN_IF_ERROR(m->LoadTrust());

  if (!o.model_dir.empty()) {
    std::error_code ec;
    if (!fs::is_directory(o.model_dir, ec)) {
      return Status::NotFound(o.model_dir + ": --model-dir is not a directory");
    }
    // The newest bundle that passes verification.
    std::vector<std::pair<fs::file_time_type, std::string>> files;
    for (const auto& e : fs::directory_iterator(o.model_dir, ec)) {
      if (e.is_regular_file(ec) && e.path().extension() == ".vigil") {
        files.emplace_back(e.last_write_time(ec), e.path().string());
      }
    }
    std::sort(files.rbegin(), files.rend());
    for (const auto& [t, path] : files) {
      auto served = m->FromFile(path);
      if (served.ok()) {
        m->initial_ = std::move(*served);
        m->dir_current_ = path;
        return m;
      }
    }
    return Status::NotFound(o.model_dir + ": no bundle (*.vigil) that passes verification" +
                            (files.empty() ? "" : " among " + std::to_string(files.size())));
  }

  auto make_follow = [&](const std::string& channel) -> Result<std::unique_ptr<Follow>> {
    VIGIL_RETURN_IF_ERROR(CheckName(channel, "channel"));
    auto f = std::make_unique<Follow>();
    f->channel = channel;
    RegistryClientOptions co;
    co.url = o.registry;
    co.token = o.token;
    co.ca_file = o.ca_file;
    co.timeout_s = 30;
    VIGIL_ASSIGN_OR_RETURN(f->client, RegistryClient::Create(co));
    return f;
  };
  VIGIL_ASSIGN_OR_RETURN(m->primary_, make_follow(o.channel));
  if (!o.canary_channel.empty()) {
    if (o.canary_channel == o.channel) {
      return Status::InvalidArgument("the canary channel must differ from --channel");
    }
    VIGIL_ASSIGN_OR_RETURN(m->canary_, make_follow(o.canary_channel));
  }
  auto first = m->FromRegistry(m->primary_.get(), /*initial=*/true);
  if (first.ok()) {
    m->initial_ = std::move(*first);
    return m;
  }
  // Unreachable registry (or nothing promoted yet): the last good bundle.
  auto cached = m->FromCache(o.channel);
  if (cached.ok()) {
    m->Log("registry: " + first.status().message() + "; serving the cached bundle " +
           m->CachePath(o.channel, ".vigil") + " (version " + (*cached)->scorer.version() +
           ") until it answers");
    m->initial_ = std::move(*cached);
    return m;
  }
  return Status::IOError(first.status().message() + "; and no usable cached bundle (" +
                         cached.status().message() + ")");
}

Result<std::unique_ptr<ServedModel>> ModelSource::FromFile(const std::string& path) {
  auto bytes = ReadFile(path);
  if (!bytes.ok()) return bytes.status();
  std::string reason;
  auto scorer = Verify(*bytes, path, policy_, &reason);
  if (!scorer.ok()) {
    Refused(reason, path + ": " + scorer.status().message());
    return scorer.status();
  }
  auto m = MakeServedModel(std::move(*scorer), o_.threads, o_.max_sources);
  m->origin = path;
  return m;
}

Result<std::unique_ptr<ServedModel>> ModelSource::FromCache(const std::string& channel) {
  const std::string path = CachePath(channel, ".vigil");
  if (!FileExists(path)) return Status::NotFound(path + " does not exist");
  VIGIL_ASSIGN_OR_RETURN(auto m, FromFile(path));
  auto meta = ReadFile(CachePath(channel, ".json"));
  if (meta.ok()) {
    json j = json::parse(*meta, nullptr, false);
    if (j.is_object()) {
      m->registry_version = j.value("number", int64_t{0});
      Follow* f = channel == o_.channel ? primary_.get() : canary_.get();
      if (f != nullptr) {
        f->sha256 = m->scorer.bundle().sha256;
        f->number = m->registry_version;
        // revision stays 0: the first watch returns the channel's state at once.
      }
    }
  }
  m->channel = channel;
  m->origin = "cache " + path;
  return m;
}

Result<std::unique_ptr<ServedModel>> ModelSource::FromRegistry(Follow* f, bool initial) {
  bool changed = false;
  VIGIL_ASSIGN_OR_RETURN(ChannelState st,
                         f->client->Watch(o_.name, f->channel, f->revision, 0, &changed));
  if (!st.set()) {
    return Status::NotFound("registry " + o_.registry + ": channel " + o_.name + "/" + f->channel +
                            " points at no version yet");
  }
  VersionInfo info;
  auto bytes = f->client->Download(o_.name, st.sha256, &info);
  const std::string what =
      o_.name + " version " + std::to_string(st.number) + " (" + st.sha256.substr(0, 12) + ")";
  if (!bytes.ok()) {
    if (bytes.status().code() == StatusCode::kCorruption) {  // bytes that do not hash right
      f->revision = st.revision;
      Refused("corrupt", bytes.status().message());
    }
    return bytes.status();  // else a transport failure: retried
  }
  std::string reason;
  auto scorer = Verify(*bytes, "registry " + what, policy_, &reason);
  if (!scorer.ok()) {
    f->revision = st.revision;  // not again until the channel changes
    Refused(reason, scorer.status().message());
    return Status::InvalidArgument(scorer.status().message());
  }
  auto m = MakeServedModel(std::move(*scorer), o_.threads, o_.max_sources);
  m->origin = "registry " + o_.registry + " " + o_.name + "/" + f->channel;
  m->registry_version = st.number;
  m->channel = f->channel;
  f->revision = st.revision;
  f->sha256 = st.sha256;
  f->number = st.number;
  // The last good bundle, for a restart without the registry.
  std::error_code ec;
  fs::create_directories(o_.cache_dir, ec);
  Status c = WriteFileAtomic(CachePath(f->channel, ".vigil"), *bytes);
  if (c.ok()) {
    json meta = {{"model", o_.name},    {"channel", f->channel},   {"number", st.number},
                 {"sha256", st.sha256}, {"revision", st.revision}, {"registry", o_.registry}};
    c = WriteFileAtomic(CachePath(f->channel, ".json"), meta.dump(2) + "\n");
  }
  if (!c.ok()) Log("cannot cache the bundle: " + c.message());
  (void)initial;
  return m;
}

bool ModelSource::Sleep(double seconds) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::duration<double>(seconds), [&] { return stop_.load(); });
  return !stop_.load();
}

void ModelSource::Start(Agent* agent) {
  agent_ = agent;
  metrics_ = &agent->metrics();
  fetch_failures_ = metrics_->AddCounter("vigil_agent_model_fetch_failures_total",
                                         "Registry requests that failed (retried with backoff).");
  updates_ = metrics_->AddCounter("vigil_agent_model_updates_total",
                                  "New model versions verified and staged.");
  report_failures_ = metrics_->AddCounter("vigil_agent_model_report_failures_total",
                                          "Canary reports the registry did not take.");
  {
    std::vector<std::pair<std::string, uint64_t>> early;
    {
      std::lock_guard<std::mutex> lock(refused_mu_);
      early.swap(refused_early_);
    }
    std::lock_guard<std::mutex> lock(refused_mu_);
    for (const auto& [reason, n] : early) RefusedCounter(reason)->Add(n);
  }
  if (primary_)
    threads_.emplace_back([this] { RegistryLoop(primary_.get(), ModelRole::kPrimary); });
  if (canary_) threads_.emplace_back([this] { RegistryLoop(canary_.get(), ModelRole::kCanary); });
  if (!o_.model_dir.empty()) threads_.emplace_back([this] { DirectoryLoop(); });
  if (!o_.registry.empty() && o_.report_s > 0) threads_.emplace_back([this] { ReportLoop(); });
}

void ModelSource::Stop() {
  if (stop_.exchange(true)) {
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  }
  for (Follow* f : {primary_.get(), canary_.get()}) {
    if (f != nullptr && f->client) f->client->Cancel();
  }
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void ModelSource::RegistryLoop(Follow* f, ModelRole role) {
  double backoff = 1;
  const char* role_name = role == ModelRole::kPrimary ? "model" : "canary";
  while (!stop_.load()) {
    bool changed = false;
    auto st = f->client->Watch(o_.name, f->channel, f->revision, o_.watch_timeout_s, &changed);
    if (stop_.load()) break;
    if (!st.ok()) {
      fetch_failures_->Add();
      Log("registry: " + st.status().message() + "; retrying in " +
          std::to_string(static_cast<int>(backoff)) + " s (still serving the current model)");
      if (!Sleep(backoff)) break;
      backoff = std::min(backoff * 2, 30.0);
      continue;
    }
    backoff = 1;
    if (!changed) continue;
    if (!st->set()) {  // the channel was never set (or the canary was withdrawn)
      f->revision = st->revision;
      if (role == ModelRole::kCanary && !f->sha256.empty()) {
        (void)agent_->StageModel(nullptr, ModelRole::kCanary);
        f->sha256.clear();
        Log("canary channel " + f->channel + " is unset: the canary stops");
      }
      continue;
    }
    if (st->sha256 == f->sha256) {  // e.g. a promotion of another channel
      f->revision = st->revision;
      continue;
    }
    // FromRegistry reads the channel again (at once: revision is behind) and fetches it.
    const int64_t before = f->revision;
    auto m = FromRegistry(f, /*initial=*/false);
    if (!m.ok()) {
      if (f->revision == before) {  // transport failure: retry the same change
        fetch_failures_->Add();
        Log("registry: " + m.status().message() + "; retrying in " +
            std::to_string(static_cast<int>(backoff)) + " s");
        if (!Sleep(backoff)) break;
        backoff = std::min(backoff * 2, 30.0);
      }
      continue;
    }
    const std::string label = o_.name + " version " + std::to_string((*m)->registry_version) +
                              " (" + (*m)->scorer.version() + ") from " + f->channel;
    Status s = agent_->StageModel(std::move(*m), role);
    if (!s.ok()) {
      Refused("schema", s.message());
      continue;
    }
    updates_->Add();
    Log(std::string(role_name) + " update: " + label + " staged");
  }
}

void ModelSource::DirectoryLoop() {
  std::string pending_sig;  // path|mtime|size of a file seen changing on the last poll
  std::string served_sig, refused_sig;
  auto sig_of = [](const fs::directory_entry& e) {
    struct stat sb {};
    if (::stat(e.path().c_str(), &sb) != 0) return std::string();
    return e.path().string() + "|" + std::to_string(sb.st_mtim.tv_sec) + "." +
           std::to_string(sb.st_mtim.tv_nsec) + "|" + std::to_string(sb.st_size);
  };
  {
    struct stat sb {};
    if (::stat(dir_current_.c_str(), &sb) == 0) {
      served_sig = dir_current_ + "|" + std::to_string(sb.st_mtim.tv_sec) + "." +
                   std::to_string(sb.st_mtim.tv_nsec) + "|" + std::to_string(sb.st_size);
    }
  }
  while (Sleep(o_.poll_s)) {
    std::error_code ec;
    std::string newest_sig, newest_path;
    fs::file_time_type newest_time{};
    for (const auto& e : fs::directory_iterator(o_.model_dir, ec)) {
      if (!e.is_regular_file(ec) || e.path().extension() != ".vigil") continue;
      const auto t = e.last_write_time(ec);
      if (newest_path.empty() || t > newest_time ||
          (t == newest_time && e.path().string() > newest_path)) {
        newest_time = t;
        newest_path = e.path().string();
        newest_sig = sig_of(e);
      }
    }
    if (ec) {
      fetch_failures_->Add();
      Log(o_.model_dir + ": " + ec.message() + " (still serving the current model)");
      continue;
    }
    if (newest_sig.empty() || newest_sig == served_sig || newest_sig == refused_sig) continue;
    if (newest_sig != pending_sig) {  // wait until it holds still for one poll
      pending_sig = newest_sig;
      continue;
    }
    auto m = FromFile(newest_path);
    if (!m.ok()) {
      refused_sig = newest_sig;
      continue;
    }
    (*m)->origin = newest_path;
    const std::string label = newest_path + " (" + (*m)->scorer.version() + ")";
    Status s = agent_->StageModel(std::move(*m), ModelRole::kPrimary);
    if (!s.ok()) {
      refused_sig = newest_sig;
      Refused("schema", s.message());
      continue;
    }
    served_sig = newest_sig;
    updates_->Add();
    Log("model update: " + label + " staged");
  }
}

void ModelSource::ReportLoop() {
  RegistryClientOptions co;
  co.url = o_.registry;
  co.token = o_.token;
  co.ca_file = o_.ca_file;
  co.timeout_s = 10;
  auto client = RegistryClient::Create(co);
  if (!client.ok()) return;
  bool warned = false;
  while (Sleep(o_.report_s)) {
    json versions = json::array();
    for (const ModelStats& st : agent_->Stats()) {
      versions.push_back({{"sha256", st.sha256},
                          {"role", st.role},
                          {"channel", st.channel},
                          {"records", st.records},
                          {"alerts", st.alerts},
                          {"histogram", st.histogram}});
    }
    Status s = (*client)->PostReport(o_.name, {{"agent", o_.agent_id}, {"versions", versions}});
    if (!s.ok()) {
      report_failures_->Add();
      if (!warned) Log("report to the registry failed: " + s.message());
      warned = true;
    } else {
      warned = false;
    }
  }
}

}  // namespace vigil
