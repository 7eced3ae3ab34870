#include "registry/registry.h"

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

}  // namespace vigil
