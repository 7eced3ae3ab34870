// Console: `vigil console`, the web console's server. It serves the built front-end (web/dist)
// at /, and under /api/ the JSON API its pages use (docs/api.md): login and sessions
// (console/auth.h), training runs and evaluations run as vigil-train processes
// (console/jobs.h), the registry's models (forwarded with the user's token), and the agents'
// live state (console/agents.h), with server-sent events at /api/events.
//
// Security: binds 127.0.0.1 unless told otherwise; every /api/ route but login needs a session
// cookie (HttpOnly, SameSite=Strict) or a bearer password/token; requests other than GET made with
// the cookie must carry the session's CSRF token (X-CSRF-Token) and, when the browser sends one,
// an Origin matching the Host; readers may only GET. Responses carry a strict
// Content-Security-Policy (no third-party sources), nosniff and frame-ancestors 'none'.
// Bad requests get a JSON error naming the field; nothing a client sends crashes the process.
#pragma once

#include <httplib.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "console/agents.h"
#include "console/assets.h"
#include "console/auth.h"
#include "console/events.h"
#include "console/jobs.h"
#include "core/status.h"
#include "net/http.h"

namespace vigil {

struct ConsoleOptions {
  ListenAddress listen{"127.0.0.1", 8800};
  std::string assets_dir;  // the built front-end (index.html and assets/)
  std::string registry_url;
  std::string registry_token;  // the console's own token, for admin sessions
  std::vector<std::string> agents;
  std::string password;  // empty: a one-time token (and registry tokens)
  JobsOptions jobs;
  ServerLimits limits;
};

class Console {
 public:
  static Result<std::unique_ptr<Console>> Create(ConsoleOptions options);
  ~Console();
  // Binds and serves on a background thread; returns the port.
  Result<int> Start();
  void Stop();
  const std::string& one_time_token() const { return auth_.one_time_token(); }

 private:
  explicit Console(ConsoleOptions options);
  void Routes();
  // Forwards a request to the registry as `who`; copies status and body.
  void ToRegistry(const std::string& method, const std::string& path, const std::string& body,
                  const Principal& who, httplib::Response& res);
  Status FetchBundle(const std::string& name, const std::string& version, const std::string& token,
                     const std::string& dest);

  ConsoleOptions o_;
  ConsoleAuth auth_;
  EventHub events_;
  std::unique_ptr<Jobs> jobs_;
  AgentWatch agents_;
  StaticAssets assets_;
  httplib::Server server_;
  std::thread thread_;
};

}  // namespace vigil
