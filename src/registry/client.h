// A client of the registry's HTTP API, for `vigil publish`, `vigil registry ...` and the agent.
//
// The agent's entry points: FetchChannel (the version a channel points to, downloaded and
// verified: the bytes must hash to the version's SHA-256, pass ParseBundle's checksum and
// structure checks, and pass the caller's TrustPolicy) and Watch (long-poll until the channel's
// revision passes a given one). A typical subscriber loop:
//
//   int64_t seen = 0;
//   for (;;) {
//     bool changed = false;
//     auto s = client->Watch(model, channel, seen, 30, &changed);   // kIOError: retry, back off
//     if (!s.ok() || !changed) continue;
//     SignatureCheck check;
//     auto f = client->FetchVersion(model, s->sha256, policy, &check);  // refuse on error
//     seen = s->revision;
//     ...swap in f->bundle...
//   }
//
// Errors: transport failures (connection refused, timeouts, TLS) are kIOError and worth retrying;
// HTTP 404 is kNotFound; other 4xx (bad token 401, wrong role 403, bad request 400, refused
// bundle 422, too large 413) are kInvalidArgument, 5xx kIOError; a downloaded bundle that fails
// verification keeps ParseBundle's / VerifyBundleTrust's Status. Messages start with the URL.
//
// Thread safety: one request at a time per client (cpp-httplib's Client is not re-entrant); use
// one client per thread. Cancel() may be called from another thread to abort a waiting request.
// Processes using https should ignore SIGPIPE (OpenSSL writes to a connection the server closed,
// e.g. after refusing an upload, raise it); the vigil CLI and vigil-agent do.
#pragma once

#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "bundle/bundle.h"
#include "bundle/signature.h"
#include "core/status.h"
#include "registry/types.h"

namespace vigil {

struct RegistryClientOptions {
  std::string url;      // http://HOST:PORT or https://HOST:PORT, optionally with a path prefix
  std::string token;    // sent as "Authorization: Bearer TOKEN" when not empty
  std::string ca_file;  // https: PEM CA certificate(s) to trust instead of the system's store
  int connect_timeout_s = 5;
  int timeout_s = 60;  // reading or writing one request (a watch adds its own wait to it)
};

// A downloaded, verified bundle.
struct FetchedBundle {
  VersionInfo version;   // model, number, sha256 (checked against the bytes) and size
  ChannelState channel;  // FetchChannel only
  std::string bytes;     // the file, as stored
  Bundle bundle;         // parsed
  SignatureCheck signature;
};

class RegistryClient {
 public:
  static Result<std::unique_ptr<RegistryClient>> Create(RegistryClientOptions options);
  ~RegistryClient();

  const std::string& url() const { return options_.url; }

  // {"name": token name, "role": "publisher" | "reader", "max_bundle_bytes": N}.
  Result<nlohmann::json> WhoAmI();
  // Uploads a bundle (checked locally first: ParseBundle must accept it, the token must be a
  // publisher's and the size within the registry's limit) and, with `channel`, points the
  // channel at it. *created: false when the registry already had these bytes.
  Result<VersionInfo> Publish(const std::string& model, std::string_view bytes,
                              const std::string& channel = "", bool* created = nullptr,
                              ChannelState* channel_state = nullptr);
  Result<nlohmann::json> ListModels();  // {"models": [...]} as served
  Result<std::vector<VersionInfo>> ListVersions(const std::string& model);
  Result<VersionInfo> GetVersion(const std::string& model, const std::string& ref);
  // The bytes of a version; they must hash to the SHA-256 the server names (and to `ref` when
  // it is a full SHA-256).
  Result<std::string> Download(const std::string& model, const std::string& ref,
                               VersionInfo* info = nullptr);
  Result<ChannelState> GetChannel(const std::string& model, const std::string& channel);
  Result<std::vector<ChannelState>> ListChannels(const std::string& model);
  Result<ChannelState> Promote(const std::string& model, const std::string& channel,
                               const std::string& ref);
  Result<ChannelState> Rollback(const std::string& model, const std::string& channel);
  Result<nlohmann::json> History(const std::string& model, const std::string& channel,
                                 int limit = 100);  // {"history": [...]}, newest first
  // Waits up to timeout_s (at most the server's limit, 60 by default) for the channel's revision
  // to pass `after_revision`; returns its state and whether it changed.
  Result<ChannelState> Watch(const std::string& model, const std::string& channel,
                             int64_t after_revision, int timeout_s, bool* changed);

  // Download + ParseTrustedBundle. *check (optional) gets the signature classification even
  // when the policy refuses the bundle.
  Result<FetchedBundle> FetchVersion(const std::string& model, const std::string& ref,
                                     const TrustPolicy& policy, SignatureCheck* check = nullptr);
  // The channel's current version, fetched and verified as above.
  Result<FetchedBundle> FetchChannel(const std::string& model, const std::string& channel,
                                     const TrustPolicy& policy, SignatureCheck* check = nullptr);

  // Canary reports: an agent's per-version counts (Registry::Report's body), and their sums.
  Status PostReport(const std::string& model, const nlohmann::json& report);
  Result<nlohmann::json> Stats(const std::string& model);

  // Aborts the request in progress (from another thread); it fails with kIOError.
  void Cancel();

 private:
  explicit RegistryClient(RegistryClientOptions options);
  Result<std::string> Call(const std::string& method, const std::string& path,
                           std::string_view body, int extra_wait_s,
                           httplib::Headers* response_headers = nullptr);
  Result<nlohmann::json> CallJson(const std::string& method, const std::string& path,
                                  std::string_view body = {}, int extra_wait_s = 0);

  RegistryClientOptions options_;
  std::string prefix_;  // path prefix from the URL, without a trailing slash
  std::unique_ptr<httplib::Client> http_;
};

}  // namespace vigil
