// The model registry's core, without HTTP: publish bundles (checked and signature-verified before
// they are stored), list and fetch versions, point channels at versions, roll them back, and wait
// for a channel to change (the watch behind long-polling clients).
//
// A Registry owns its Store. Publish parses the bundle (checksum, structure: ParseBundle) and
// applies the TrustPolicy (bundle/signature.h) before anything is written, so a refused upload
// leaves no trace. Channel changes wake every WatchChannel waiting on that channel.
//
// Thread safety: every method may be called from any thread. WatchChannel blocks the calling
// thread (up to its timeout); Shutdown wakes all watchers, which then return at once.
// Failure: errors as values. Publish also says why it refused (PublishRefusal) so the server can
// pick the HTTP status and the metric label.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "bundle/signature.h"
#include "core/status.h"
#include "registry/store.h"
#include "registry/types.h"

namespace vigil {

struct RegistryOptions {
  // Uploads are refused unless they pass this policy. With require_signature (the default of
  // `vigil registry serve --require-signature`) only bundles signed by one of `keys` are taken.
  TrustPolicy trust{TrustedKeys{}, /*require_signature=*/false};
  StoreOptions store;
};

enum class PublishRefusal {
  kNone,
  kBadRequest,  // invalid model name
  kCorrupt,     // not a readable bundle: checksum, structure, format version
  kUntrusted,   // the signature policy refused it: unsigned, unknown key, invalid signature
  kFailed,      // storage failure (not the bundle's fault)
};
const char* PublishRefusalName(PublishRefusal r);  // ok, bad_request, corrupt, untrusted, error

struct PublishResult {
  VersionInfo version;
  bool created = false;  // false: the same bytes were already a version of this model
};

class Registry {
 public:
  static Result<std::unique_ptr<Registry>> Open(const std::string& dir, RegistryOptions options);

  Store& store() { return *store_; }
  const RegistryOptions& options() const { return options_; }

  // `actor` names who published (a token's name) for the version's `publisher`.
  Result<PublishResult> Publish(const std::string& model, std::string_view bytes,
                                const std::string& actor, PublishRefusal* refusal = nullptr);

  Result<std::vector<ModelSummary>> ListModels();
  Result<std::vector<VersionInfo>> ListVersions(const std::string& model);
  Result<VersionInfo> GetVersion(const std::string& model, const std::string& ref);
  // The version's info and bytes (checked against its SHA-256 on the way out).
  Result<std::string> ReadVersion(const std::string& model, const std::string& ref,
                                  VersionInfo* info);

  // kNotFound when the model does not exist or the channel was never set.
  Result<ChannelState> GetChannel(const std::string& model, const std::string& channel);
  Result<std::vector<ChannelState>> ListChannels(const std::string& model);
  Result<ChannelState> Promote(const std::string& model, const std::string& channel,
                               const std::string& ref, const std::string& actor);
  Result<ChannelState> Rollback(const std::string& model, const std::string& channel,
                                const std::string& actor);
  Result<std::vector<HistoryEntry>> History(const std::string& model, const std::string& channel,
                                            int limit);

  // Returns once the channel's revision is greater than `after_revision` (at once if it already
  // is), or when `timeout` passes, or on Shutdown; *changed says which. The state returned is the
  // channel's current one (revision 0 and no version when it was never set). The channel need
  // not exist yet: an agent may wait for a model's first promotion.
  Result<ChannelState> WatchChannel(const std::string& model, const std::string& channel,
                                    int64_t after_revision, std::chrono::milliseconds timeout,
                                    bool* changed);
  void Shutdown();
  size_t watchers() const;

  // Canary reports. Report takes an agent's report body:
  //   {"agent": ID, "versions": [{"sha256", "role", "channel", "records", "alerts",
  //                                "histogram": [ModelStats::kScoreBins counts]}]}
  // (kInvalidArgument naming the field when it is malformed; versions of other models are
  // refused). Stats sums the latest reports per version: records, alerts, alert rate, the score
  // histogram, and which agents serve it; plus each agent's last report.
  Status Report(const std::string& model, const nlohmann::json& body);
  Result<nlohmann::json> Stats(const std::string& model);

 private:
  Registry(RegistryOptions options, std::unique_ptr<Store> store);
  void NotifyChange();

  const RegistryOptions options_;
  std::unique_ptr<Store> store_;
  mutable std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  uint64_t change_epoch_ = 0;  // guarded by watch_mu_; bumped on every channel change
  size_t watchers_ = 0;        // guarded by watch_mu_
  bool shutdown_ = false;      // guarded by watch_mu_
};

}  // namespace vigil
