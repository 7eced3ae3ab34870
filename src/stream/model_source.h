// Keeping an agent's model current, like an antivirus keeps its signatures: a subscription to a
// registry channel (and optionally its canary channel), or a watched directory of bundles.
//
// Open resolves the model to start with: the version the registry channel points to (downloaded,
// verified, and cached on disk as the last good bundle), or the cached bundle when the registry
// cannot be reached, or the newest bundle of the watched directory that passes verification.
// Start then runs background threads until Stop:
//   registry  long-polls the channel (registry/client.h Watch); on a change it downloads the
//             version, verifies it (SHA-256, checksum, signature policy), checks that it fits the
//             agent's input, warms it up and stages it (Agent::StageModel), then caches it.
//             Transport failures are retried with exponential backoff (1 s doubling to 30 s)
//             while the agent keeps scoring with its current model.
//   canary    the same for the canary channel, staged as the agent's canary (a share of records,
//             AgentOptions::canary_share); an unset canary channel removes the canary.
//   directory polls DIR for *.vigil files; a new or changed file whose size and mtime held still
//             for one poll is verified and staged (NFS and mounted volumes deliver no inotify).
//   reports   posts the agent's per-version statistics to the registry every report interval.
// A refused bundle (tampered, unsigned or unknown-key signature when keys are required, schema
// that does not fit) is logged with the reason and counted in
// vigil_agent_model_refused_total{reason}; the agent keeps serving the previous version, and the
// refused version is not fetched again until the channel changes.
//
// Thread safety: Open, Start and Stop from one thread; the background threads only call the
// agent's thread-safe methods.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bundle/signature.h"
#include "core/status.h"
#include "net/metrics.h"
#include "stream/agent.h"

namespace vigil {

struct ModelSourceOptions {
  std::string registry;  // URL; empty: no registry
  std::string token;     // reader token
  std::string ca_file;   // https: CA certificate(s)
  std::string name;      // the model's name in the registry
  std::string channel = "stable";
  std::string canary_channel;  // followed as the canary when not empty
  std::string model_dir;       // watched directory; empty: none
  std::string cache_dir;       // last good bundles; empty: $XDG_CACHE_HOME or ~/.cache/vigil-agent
  std::vector<std::string> trusted_keys;  // public key files (vigil keygen's .pub)
  bool require_signature = false;         // refuse bundles not signed by one of trusted_keys
  double poll_s = 1.0;                    // directory poll interval
  double report_s = 10.0;                 // seconds between reports to the registry; 0: none
  int watch_timeout_s = 25;               // long-poll length
  std::string agent_id;                   // empty: HOST:PID:START
  int threads = 1;                        // the agent's scoring threads (for staged models)
  size_t max_sources = 100000;
  bool quiet = false;
};

class ModelSource {
 public:
  static Result<std::unique_ptr<ModelSource>> Open(ModelSourceOptions options);
  ~ModelSource();

  // The model to start with (once; null after).
  std::unique_ptr<ServedModel> TakeInitial() { return std::move(initial_); }
  // Starts the background threads (and registers metrics on agent->metrics()).
  void Start(Agent* agent);
  void Stop();

  const std::string& agent_id() const { return o_.agent_id; }

 private:
  struct Follow;  // one followed channel
  explicit ModelSource(ModelSourceOptions o);
  Status LoadTrust();
  Result<std::unique_ptr<ServedModel>> FromRegistry(Follow* f, bool initial);
  Result<std::unique_ptr<ServedModel>> FromCache(const std::string& channel);
  Result<std::unique_ptr<ServedModel>> FromFile(const std::string& path);
  void RegistryLoop(Follow* f, ModelRole role);
  void DirectoryLoop();
  void ReportLoop();
  void Refused(const std::string& reason, const std::string& what);
  void Log(const std::string& line) const;
  std::string CachePath(const std::string& channel, const char* ext) const;
  // Sleeps up to `seconds`; false when stopping.
  bool Sleep(double seconds);

  ModelSourceOptions o_;
  TrustPolicy policy_;
  std::unique_ptr<ServedModel> initial_;
  std::unique_ptr<Follow> primary_, canary_;
  Agent* agent_ = nullptr;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  std::string dir_current_;  // directory watching: the file served at start
  Metrics* metrics_ = nullptr;
  Counter *fetch_failures_ = nullptr, *updates_ = nullptr, *report_failures_ = nullptr;
  Counter* RefusedCounter(const std::string& reason);  // under refused_mu_, after Start
  std::mutex refused_mu_;
  std::map<std::string, Counter*> refused_counters_;
  std::vector<std::pair<std::string, uint64_t>> refused_early_;  // before Start: reason, count
};

}  // namespace vigil
