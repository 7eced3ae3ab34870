// The registry's HTTP API (docs/registry.md): a thin cpp-httplib layer over Registry, with
// bearer-token roles, optional TLS and Prometheus metrics.
//
// Access control runs before a request's body is read (cpp-httplib's pre-routing and
// Expect: 100-continue hooks): GET on /v1/... needs a reader (or publisher) token, every other
// method on /v1/... a publisher token; /healthz and /metrics are open. Missing or unknown tokens
// get 401, a reader's write 403. Bodies over `max_bundle_bytes` get 413 before they are read. A
// refused request's unread body leaves its connection unusable, so RegistryClient opens one
// connection per request. Names in paths are checked by the Registry (400 for anything but
// [A-Za-z0-9._-]); no name ever becomes a file path.
//
// With tls_cert and tls_key the server speaks HTTPS only (httplib::SSLServer: Debian's
// libcpp-httplib is built with CPPHTTPLIB_OPENSSL_SUPPORT).
//
// Lifecycle: Create (opens the store, loads nothing else from disk), Bind, then Serve blocks until
// Stop (from any thread, e.g. a signal watcher), which first wakes every watch request.
// Thread safety: handlers run on a pool of `threads` workers; long-polling watches hold one each.
#pragma once

#include <httplib.h>

#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "net/http.h"
#include "net/metrics.h"
#include "registry/auth.h"
#include "registry/registry.h"

namespace vigil {

struct RegistryServerOptions {
  std::string store_dir;
  ListenAddress listen{"127.0.0.1", 8700};
  TokenSet tokens;  // TokenSet::AllowEveryone() for --insecure-no-auth
  RegistryOptions registry;
  std::string tls_cert;  // PEM files; both or neither
  std::string tls_key;
  size_t max_bundle_bytes = 256u << 20;
  size_t threads = 32;
  int max_watch_s = 60;  // a watch request waits at most this long
  // One line per change and per refusal (publish, promote, rollback, 401/403/413/422). Default:
  // stderr, prefixed with "vigil registry: ".
  std::function<void(const std::string&)> log;
};

class RegistryServer {
 public:
  static Result<std::unique_ptr<RegistryServer>> Create(RegistryServerOptions options);
  ~RegistryServer();

  // Binds the listen address; returns the port (useful with port 0).
  Result<int> Bind();
  // Serves until Stop(). Returns an error if the server stopped for another reason.
  Status Serve();
  void Stop();

  Registry& registry() { return *registry_; }
  Metrics& metrics() { return metrics_; }
  bool tls() const { return !options_.tls_cert.empty(); }

 private:
  explicit RegistryServer(RegistryServerOptions options);
  void Routes();
  // Access and size checks before the body is read: true to go on, false with `res` filled.
  bool Admit(const httplib::Request& req, httplib::Response& res);
  // The token's name for a request that passed the pre-routing check.
  std::string Actor(const httplib::Request& req) const;
  void Log(const std::string& line) const;

  RegistryServerOptions options_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<httplib::Server> server_;
  Metrics metrics_;
  struct Counters;
  std::unique_ptr<Counters> counters_;
};

}  // namespace vigil
