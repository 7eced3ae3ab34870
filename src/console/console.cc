#include "console/console.h"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/file.h"
#include "registry/client.h"

namespace vigil {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kCookie = "vigil_session";

int HttpCode(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kUnsupported:
      return 409;
    case StatusCode::kIOError:
      return 502;
    default:
      return 500;
  }
}

std::string CookieValue(const httplib::Request& req, const std::string& name) {
  const std::string header = req.get_header_value("Cookie");
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string part = header.substr(pos, end - pos);
    const size_t b = part.find_first_not_of(' ');
    part = b == std::string::npos ? "" : part.substr(b);
    if (part.rfind(name + "=", 0) == 0) return part.substr(name.size() + 1);
    pos = end + 1;
  }
  return "";
}

// The request body as a JSON object, or a 400.
bool BodyObject(const httplib::Request& req, httplib::Response& res, json* out) {
  *out = json::parse(req.body, nullptr, false);
  if (out->is_discarded() || !out->is_object()) {
    JsonError(res, 400, "the body must be a JSON object");
    return false;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<Console>> Console::Create(ConsoleOptions options) {
  std::unique_ptr<Console> c(new Console(std::move(options)));
  VIGIL_RETURN_IF_ERROR(c->jobs_->Load());
  return c;
}

Console::Console(ConsoleOptions options)
    : o_(std::move(options)), auth_(o_.password, o_.registry_url), agents_(o_.agents, &events_) {
  JobsOptions jo = o_.jobs;
  if (!o_.registry_url.empty()) {
    jo.fetch_bundle = [this](const std::string& name, const std::string& version,
                             const std::string& token, const std::string& dest) {
      return FetchBundle(name, version, token, dest);
    };
  }
  jobs_ = std::make_unique<Jobs>(std::move(jo), &events_);
  Routes();
}

Console::~Console() { Stop(); }

Result<int> Console::Start() {
  ServerLimits limits = o_.limits;
  limits.threads = std::max<size_t>(limits.threads, 32);  // event streams hold a thread each
  HardenServer(&server_, limits);
  VIGIL_ASSIGN_OR_RETURN(int port, Bind(&server_, o_.listen));
  agents_.Start();
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  return port;
}

void Console::Stop() {
  events_.Close();
  agents_.Stop();
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

Status Console::FetchBundle(const std::string& name, const std::string& version,
                            const std::string& token, const std::string& dest) {
  RegistryClientOptions ro;
  ro.url = o_.registry_url;
  ro.token = token.empty() ? o_.registry_token : token;
  VIGIL_ASSIGN_OR_RETURN(auto client, RegistryClient::Create(ro));
  VIGIL_ASSIGN_OR_RETURN(std::string bytes, client->Download(name, version));
  return WriteFileAtomic(dest, bytes);
}

void Console::ToRegistry(const std::string& method, const std::string& path,
                         const std::string& body, const Principal& who, httplib::Response& res) {
  if (o_.registry_url.empty())
    return JsonError(res, 404, "the console was started without --registry");
  httplib::Client c(o_.registry_url);
  c.set_connection_timeout(3);
  c.set_read_timeout(30);
  const std::string token = who.registry_token.empty() ? o_.registry_token : who.registry_token;
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  httplib::Result r = method == "GET"   ? c.Get(path, headers)
                      : method == "PUT" ? c.Put(path, headers, body, "application/json")
                                        : c.Post(path, headers, body, "application/json");
  if (!r) {
    return JsonError(res, 502,
                     o_.registry_url + ": the registry cannot be reached (" +
                         httplib::to_string(r.error()) + ")");
  }
  res.status = r->status;
  res.set_content(r->body, "application/json");
}

void Console::Routes() {
  httplib::Server& s = server_;
  s.set_default_headers({
      {"Content-Security-Policy",
       "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' "
       "data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"X-Frame-Options", "DENY"},
  });

  // Who is asking, and may they? Answers the error itself and returns nullopt when not.
  auto authorize = [this](const httplib::Request& req, httplib::Response& res,
                          bool write) -> std::optional<Principal> {
    Principal who;
    const std::string authz = req.get_header_value("Authorization");
    if (authz.rfind("Bearer ", 0) == 0) {
      auto p = auth_.Check(authz.substr(7));
      if (!p.ok()) {
        JsonError(res, p.status().code() == StatusCode::kIOError ? 502 : 401, p.status().message());
        return std::nullopt;
      }
      who = *p;
    } else {
      auto session = auth_.Find(CookieValue(req, kCookie));
      if (!session) {
        JsonError(res, 401, "log in first (POST /api/login)");
        return std::nullopt;
      }
      if (write) {
        if (!SecretEquals(req.get_header_value("X-CSRF-Token"), session->csrf)) {
          JsonError(res, 403, "missing or wrong X-CSRF-Token header");
          return std::nullopt;
        }
        const std::string origin = req.get_header_value("Origin");
        if (!origin.empty() && origin != "http://" + req.get_header_value("Host") &&
            origin != "https://" + req.get_header_value("Host")) {
          JsonError(res, 403, "cross-origin request refused");
          return std::nullopt;
        }
      }
      who = session->who;
    }
    if (write && !who.can_write()) {
      JsonError(res, 403, "the role '" + who.role + "' may only read");
      return std::nullopt;
    }
    return who;
  };

  s.Post("/api/login", [this](const httplib::Request& req, httplib::Response& res) {
    json body;
    if (!BodyObject(req, res, &body)) return;
    std::string secret;
    for (const char* key : {"password", "token"}) {
      if (body.contains(key) && body[key].is_string()) secret = body[key].get<std::string>();
    }
    auto who = auth_.Check(secret);
    if (!who.ok()) {
      if (who.status().code() == StatusCode::kIOError)
        return JsonError(res, 502, who.status().message());
      std::this_thread::sleep_for(std::chrono::milliseconds(250));  // slows guessing
      return JsonError(res, 401, "wrong password or token");
    }
    const std::string id = auth_.Open(*who);
    const auto session = auth_.Find(id);
    res.set_header("Set-Cookie", std::string(kCookie) + "=" + id +
                                     "; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200");
    JsonReply(res, 200, json{{"user", who->user}, {"role", who->role}, {"csrf", session->csrf}});
  });
  s.Post("/api/logout", [this, authorize](const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res, false)) return;
    auth_.Close(CookieValue(req, kCookie));
    res.set_header("Set-Cookie", std::string(kCookie) +
                                     "=; HttpOnly; SameSite=Strict; Path=/; "
                                     "Max-Age=0");
    JsonReply(res, 200, json{{"ok", true}});
  });
  s.Get("/api/session", [this](const httplib::Request& req, httplib::Response& res) {
    auto session = auth_.Find(CookieValue(req, kCookie));
    if (!session) return JsonError(res, 401, "not logged in");
    JsonReply(
        res, 200,
        json{{"user", session->who.user}, {"role", session->who.role}, {"csrf", session->csrf}});
  });
  s.Get("/api/overview", [this, authorize](const httplib::Request& req, httplib::Response& res) {
    auto who = authorize(req, res, false);
    if (!who) return;
    JsonReply(res, 200,
              json{{"version", VIGIL_VERSION},
                   {"registry", o_.registry_url.empty() ? json(nullptr) : json(o_.registry_url)},
                   {"agents", o_.agents},
                   {"runs_dir", o_.jobs.dir},
                   {"user", who->user},
                   {"role", who->role}});
  });
  s.Get("/api/datasets", [this, authorize](const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res, false)) return;
    JsonReply(res, 200, jobs_->Datasets());
  });

  // Runs and evaluations.
  s.Get("/api/runs", [this, authorize](const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res, false)) return;
    JsonReply(res, 200, jobs_->ListRuns());
  });
  s.Post("/api/runs", [this, authorize](const httplib::Request& req, httplib::Response& res) {
    auto who = authorize(req, res, true);
    if (!who) return;
    json body;
    if (!BodyObject(req, res, &body)) return;
    auto id = jobs_->StartRun(body, who->user);
    if (!id.ok()) return JsonError(res, HttpCode(id.status()), id.status().message());
    JsonReply(res, 201, json{{"id", *id}});
  });
  s.Get(R"(/api/runs/([a-z0-9]{1,16}))",
        [this, authorize](const httplib::Request& req, httplib::Response& res) {
          if (!authorize(req, res, false)) return;
          auto run = jobs_->GetRun(req.matches[1]);
          if (!run.ok()) return JsonError(res, HttpCode(run.status()), run.status().message());
          JsonReply(res, 200, *run);
        });
  s.Post(R"(/api/runs/([a-z0-9]{1,16})/stop)",
         [this, authorize](const httplib::Request& req, httplib::Response& res) {
           if (!authorize(req, res, true)) return;
           Status st = jobs_->StopRun(req.matches[1]);
           if (!st.ok()) return JsonError(res, HttpCode(st), st.message());
           JsonReply(res, 200, json{{"ok", true}});
         });
  s.Get("/api/evaluations", [this, authorize](const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res, false)) return;
    JsonReply(res, 200, jobs_->ListEvaluations());
  });
  s.Post("/api/evaluations", [this, authorize](const httplib::Request& req,
                                               httplib::Response& res) {
    auto who = authorize(req, res, true);
    if (!who) return;
    json body;
    if (!BodyObject(req, res, &body)) return;
    const std::string token = who->registry_token.empty() ? o_.registry_token : who->registry_token;
    auto id = jobs_->StartEvaluation(body, who->user, token);
    if (!id.ok()) return JsonError(res, HttpCode(id.status()), id.status().message());
    JsonReply(res, 202, json{{"id", *id}});
  });
  s.Get(R"(/api/evaluations/([a-z0-9]{1,16}))",
        [this, authorize](const httplib::Request& req, httplib::Response& res) {
          if (!authorize(req, res, false)) return;
          auto e = jobs_->GetEvaluation(req.matches[1]);
          if (!e.ok()) return JsonError(res, HttpCode(e.status()), e.status().message());
          JsonReply(res, 200, *e);
        });

  // Models: the registry, as the user.
  const std::string name = R"(([A-Za-z0-9][A-Za-z0-9._-]{0,127}))";
  s.Get("/api/models", [this, authorize](const httplib::Request& req, httplib::Response& res) {
    auto who = authorize(req, res, false);
    if (!who) return;
    ToRegistry("GET", "/v1/models", "", *who, res);
  });
  s.Get("/api/models/" + name,
        [this, authorize](const httplib::Request& req, httplib::Response& res) {
          auto who = authorize(req, res, false);
          if (!who) return;
          const std::string model = req.matches[1];
          httplib::Response detail, stats;
          ToRegistry("GET", "/v1/models/" + model, "", *who, detail);
          if (detail.status != 200) {
            res.status = detail.status;
            res.set_content(detail.body, "application/json");
            return;
          }
          ToRegistry("GET", "/v1/models/" + model + "/stats", "", *who, stats);
          json d = json::parse(detail.body, nullptr, false);
          json st = json::parse(stats.body, nullptr, false);
          if (!d.is_object()) return JsonError(res, 502, "the registry answered with invalid JSON");
          JsonReply(res, 200,
                    json{{"model", model},
                         {"versions", d.value("versions", json::array())},
                         {"channels", d.value("channels", json::object())},
                         {"stats", stats.status == 200 && st.is_object() ? st : json(nullptr)}});
        });
  s.Post("/api/models/" + name + "/channels/" + name,
         [this, authorize](const httplib::Request& req, httplib::Response& res) {
           auto who = authorize(req, res, true);
           if (!who) return;
           json body;
           if (!BodyObject(req, res, &body)) return;
           if (!body.contains("version") ||
               !(body["version"].is_number_unsigned() || body["version"].is_string())) {
             return JsonError(res, 400, "version: required, a version number");
           }
           ToRegistry("PUT",
                      "/v1/models/" + std::string(req.matches[1]) + "/channels/" +
                          std::string(req.matches[2]),
                      json{{"version", body["version"]}}.dump(), *who, res);
         });
  s.Post("/api/models/" + name + "/channels/" + name + "/rollback",
         [this, authorize](const httplib::Request& req, httplib::Response& res) {
           auto who = authorize(req, res, true);
           if (!who) return;
           ToRegistry("POST",
                      "/v1/models/" + std::string(req.matches[1]) + "/channels/" +
                          std::string(req.matches[2]) + "/rollback",
                      "", *who, res);
         });

  // Live detection.
  s.Get("/api/agents", [this, authorize](const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res, false)) return;
    JsonReply(res, 200, agents_.Agents());
  });
  s.Get("/api/alerts", [this, authorize](const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res, false)) return;
    int64_t n = 100;
    if (!IntParam(req, res, "n", 0, INT64_MAX, &n)) return;
    JsonReply(res, 200, agents_.Alerts(static_cast<size_t>(std::clamp<int64_t>(n, 1, 1000))));
  });
  // A metric series an agent watches (it alerted): forwarded to the agent's /v1/metrics/series.
  s.Get("/api/series", [this, authorize](const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res, false)) return;
    const std::string agent = req.get_param_value("agent");
    if (!agents_.Knows(agent)) {
      return JsonError(res, 400, "agent must be one of the console's --agent URLs");
    }
    std::string path = "/v1/metrics/series";
    httplib::Params params;
    for (const char* p : {"key", "n"}) {
      if (req.has_param(p)) params.emplace(p, req.get_param_value(p));
    }
    if (!params.empty()) path += "?" + httplib::detail::params_to_query_str(params);
    httplib::Client c(agent);
    c.set_connection_timeout(2);
    c.set_read_timeout(5);
    httplib::Result r = c.Get(path);
    if (!r) {
      return JsonError(
          res, 502,
          agent + ": the agent cannot be reached (" + httplib::to_string(r.error()) + ")");
    }
    res.status = r->status;
    res.set_content(r->body, "application/json");
  });
  s.Get("/api/events", [this, authorize](const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res, false)) return;
    auto sub = events_.Subscribe();
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    auto first = std::make_shared<bool>(true);
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, sub, first](size_t, httplib::DataSink& sink) {
          std::string chunk;
          if (*first) {
            *first = false;
            chunk = "retry: 1000\n: connected\n\n";
            return sink.write(chunk.data(), chunk.size());
          }
          if (!events_.Next(sub, std::chrono::seconds(15), &chunk)) {
            sink.done();
            return true;
          }
          if (chunk.empty()) chunk = ": keep-alive\n\n";
          return sink.write(chunk.data(), chunk.size());
        },
        [this, sub](bool) { events_.Unsubscribe(sub); });
  });

  // Anything else under /api/ is a JSON 404; the rest is the front-end.
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.path.rfind("/api/", 0) == 0 && res.body.empty()) {
      JsonError(res, res.status,
                res.status == 404 ? "no such endpoint: " + req.method + " " + req.path
                                  : "request refused");
    }
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                             const std::exception_ptr&) { JsonError(res, 500, "internal error"); });
  if (!o_.assets_dir.empty() && fs::exists(fs::path(o_.assets_dir) / "index.html")) {
    Status loaded = assets_.Load(o_.assets_dir);
    if (!loaded.ok()) std::fprintf(stderr, "vigil console: %s\n", loaded.message().c_str());
  }
  if (!assets_.empty()) {
    s.Get(R"(/|/index\.html|/[A-Za-z0-9._-]+|/assets/[A-Za-z0-9._-]+)",
          [this](const httplib::Request& req, httplib::Response& res) {
            if (!assets_.Serve(req, res)) res.status = 404;
          });
  } else {
    const std::string dir = o_.assets_dir;
    s.Get("/", [dir](const httplib::Request&, httplib::Response& res) {
      res.status = 503;
      res.set_content(
          "<!doctype html><title>vigil console</title><p>The console's front-end is not built "
          "(looked in " +
              (dir.empty() ? std::string("web/dist") : dir) +
              "). Run <code>scripts/setup</code>, or <code>cd web &amp;&amp; npm ci &amp;&amp; "
              "npm run build</code>; the JSON API under /api/ works without it.</p>",
          "text/html");
    });
  }
}

}  // namespace vigil
