#include "registry/server.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace vigil {
namespace {

using nlohmann::json;

constexpr char kModel[] = "/v1/models/([^/]+)";
constexpr size_t kMaxReportBytes = 1 << 20;

int HttpCode(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    default:
      return 500;
  }
}

}  // namespace

struct RegistryServer::Counters {
  Counter* uploads_ok;
  Counter* uploads_duplicate;
  Counter* uploads_bad_request;
  Counter* uploads_corrupt;
  Counter* uploads_untrusted;
  Counter* uploads_too_large;
  Counter* uploads_error;
  Counter* downloads;
  Counter* unauthenticated;
  Counter* forbidden;
  Counter* promotions;
  Counter* rollbacks;
  Counter* responses_2xx;
  Counter* responses_4xx;
  Counter* responses_5xx;
  Gauge* watchers;
  Gauge* versions;
};

RegistryServer::RegistryServer(RegistryServerOptions options) : options_(std::move(options)) {
  if (!options_.log) {
    options_.log = [](const std::string& line) {
      std::fprintf(stderr, "vigil registry: %s\n", line.c_str());
    };
  }
  auto c = std::make_unique<Counters>();
  const char* up = "Bundle uploads, by outcome.";
  c->uploads_ok = metrics_.AddCounter("vigil_registry_uploads_total", up, "result=\"ok\"");
  c->uploads_duplicate =
      metrics_.AddCounter("vigil_registry_uploads_total", up, "result=\"duplicate\"");
  c->uploads_bad_request =
      metrics_.AddCounter("vigil_registry_uploads_total", up, "result=\"bad_request\"");
  c->uploads_corrupt =
      metrics_.AddCounter("vigil_registry_uploads_total", up, "result=\"corrupt\"");
  c->uploads_untrusted =
      metrics_.AddCounter("vigil_registry_uploads_total", up, "result=\"untrusted\"");
  c->uploads_too_large =
      metrics_.AddCounter("vigil_registry_uploads_total", up, "result=\"too_large\"");
  c->uploads_error = metrics_.AddCounter("vigil_registry_uploads_total", up, "result=\"error\"");
  c->downloads = metrics_.AddCounter("vigil_registry_downloads_total", "Bundles downloaded.");
  const char* auth = "Requests refused for their token.";
  c->unauthenticated =
      metrics_.AddCounter("vigil_registry_auth_failures_total", auth, "result=\"unauthenticated\"");
  c->forbidden =
      metrics_.AddCounter("vigil_registry_auth_failures_total", auth, "result=\"forbidden\"");
  const char* ch = "Channel changes, by action.";
  c->promotions =
      metrics_.AddCounter("vigil_registry_channel_changes_total", ch, "action=\"promote\"");
  c->rollbacks =
      metrics_.AddCounter("vigil_registry_channel_changes_total", ch, "action=\"rollback\"");
  const char* resp = "HTTP responses, by status class.";
  c->responses_2xx =
      metrics_.AddCounter("vigil_registry_http_responses_total", resp, "class=\"2xx\"");
  c->responses_4xx =
      metrics_.AddCounter("vigil_registry_http_responses_total", resp, "class=\"4xx\"");
  c->responses_5xx =
      metrics_.AddCounter("vigil_registry_http_responses_total", resp, "class=\"5xx\"");
  c->watchers = metrics_.AddGauge("vigil_registry_watchers", "Watch requests waiting now.");
  c->versions = metrics_.AddGauge("vigil_registry_versions", "Versions stored, all models.");
  counters_ = std::move(c);
}

RegistryServer::~RegistryServer() { Stop(); }

Result<std::unique_ptr<RegistryServer>> RegistryServer::Create(RegistryServerOptions options) {
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return Status::InvalidArgument("TLS needs both a certificate and a private key");
  }
  std::unique_ptr<RegistryServer> s(new RegistryServer(std::move(options)));
  VIGIL_ASSIGN_OR_RETURN(s->registry_, Registry::Open(s->options_.store_dir, s->options_.registry));
  if (s->tls()) {
    auto ssl = std::make_unique<httplib::SSLServer>(s->options_.tls_cert.c_str(),
                                                    s->options_.tls_key.c_str());
    if (!ssl->is_valid()) {
      return Status::InvalidArgument("cannot load the TLS certificate " + s->options_.tls_cert +
                                     " and key " + s->options_.tls_key +
                                     " (PEM files, key matching the certificate)");
    }
    s->server_ = std::move(ssl);
  } else {
    s->server_ = std::make_unique<httplib::Server>();
  }
  ServerLimits limits;
  limits.max_body_bytes = s->options_.max_bundle_bytes;
  limits.threads = s->options_.threads;
  limits.read_timeout_s = 30;
  limits.write_timeout_s = 30;
  HardenServer(s->server_.get(), limits);
  s->Routes();
  return s;
}

Result<int> RegistryServer::Bind() { return vigil::Bind(server_.get(), options_.listen); }

Status RegistryServer::Serve() {
  if (!server_->listen_after_bind()) {
    return Status::IOError("the registry server stopped unexpectedly");
  }
  return Status::Ok();
}

void RegistryServer::Stop() {
  if (registry_) registry_->Shutdown();
  if (server_) server_->stop();
}

void RegistryServer::Log(const std::string& line) const { options_.log(line); }

bool RegistryServer::Admit(const httplib::Request& req, httplib::Response& res) {
  if (req.path.rfind("/v1/", 0) != 0) return true;
  Counters& c = *counters_;
  // Agents hold reader tokens and may post their canary reports.
  const bool report = req.method == "POST" && req.path.size() > 8 &&
                      req.path.compare(req.path.size() - 8, 8, "/reports") == 0;
  const bool read = req.method == "GET" || req.method == "HEAD" || report;
  std::string actor;
  const AuthDecision d = options_.tokens.Authorize(req.get_header_value("Authorization"),
                                                   read ? Role::kReader : Role::kPublisher, &actor);
  if (d == AuthDecision::kUnauthenticated) {
    c.unauthenticated->Add();
    res.set_header("WWW-Authenticate", "Bearer realm=\"vigil-registry\"");
    JsonError(res, 401, "missing or unknown token: send 'Authorization: Bearer TOKEN'");
  } else if (d == AuthDecision::kForbidden) {
    c.forbidden->Add();
    JsonError(res, 403,
              "this token's role (reader) may not " + req.method + " " + req.path +
                  "; a publisher token is needed");
  } else {
    // cpp-httplib itself would read (and discard) an oversized body before answering 413.
    const uint64_t length = req.get_header_value<uint64_t>("Content-Length");
    if (length <= options_.max_bundle_bytes) return true;
    c.uploads_too_large->Add();
    JsonError(res, 413,
              "request body of " + std::to_string(length) +
                  " bytes is larger than the registry accepts (" +
                  std::to_string(options_.max_bundle_bytes) + " bytes)");
  }
  Log(std::to_string(res.status) + " " + req.method + " " + req.path + " from " + req.remote_addr +
      (actor.empty() ? "" : " (" + actor + ")"));
  return false;
}

std::string RegistryServer::Actor(const httplib::Request& req) const {
  std::string actor;
  (void)options_.tokens.Authorize(req.get_header_value("Authorization"), Role::kReader, &actor);
  return actor;
}

void RegistryServer::Routes() {
  httplib::Server& srv = *server_;
  Counters& c = *counters_;

  // Tokens and sizes are checked before the body is read: a refused upload costs its headers.
  // Clients that send "Expect: 100-continue" (curl, for large bodies) are refused before they
  // send the body at all.
  srv.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    return Admit(req, res) ? httplib::Server::HandlerResponse::Unhandled
                           : httplib::Server::HandlerResponse::Handled;
  });
  srv.set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
    return Admit(req, res) ? 100 : res.status;
  });
  srv.set_logger([&c](const httplib::Request&, const httplib::Response& res) {
    if (res.status >= 500) {
      c.responses_5xx->Add();
    } else if (res.status >= 400) {
      c.responses_4xx->Add();
    } else {
      c.responses_2xx->Add();
    }
  });
  srv.set_error_handler([this, &c](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // an answer of ours
    if (res.status == 413) {
      c.uploads_too_large->Add();
      // cpp-httplib caps form-encoded bodies at 8 KiB (curl --data-binary sends that type).
      const bool form = req.get_header_value("Content-Type") == "application/x-www-form-urlencoded";
      const std::string why =
          form ? "a form-encoded body over 8 KiB; send bundles as Content-Type: "
                 "application/octet-stream"
               : "a chunked body over " + std::to_string(options_.max_bundle_bytes) + " bytes";
      Log("413 " + req.method + " " + req.path + " from " + req.remote_addr + ": " + why);
      JsonError(res, 413, "request refused: " + why);
    } else {
      JsonError(res, res.status, res.status == 404 ? "no such endpoint" : "request failed");
    }
  });
  srv.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, const std::exception_ptr&) {
        JsonError(res, 500, "internal error");
      });

  srv.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  srv.Get("/metrics", [this, &c](const httplib::Request&, httplib::Response& res) {
    c.watchers->Set(static_cast<double>(registry_->watchers()));
    auto models = registry_->ListModels();
    if (models.ok()) {
      int64_t n = 0;
      for (const ModelSummary& m : *models) n += m.versions;
      c.versions->Set(static_cast<double>(n));
    }
    res.set_content(metrics_.Render(), "text/plain; version=0.0.4");
  });
  srv.Get("/v1/whoami", [this](const httplib::Request& req, httplib::Response& res) {
    std::string actor;
    const bool publisher =
        options_.tokens.Authorize(req.get_header_value("Authorization"), Role::kPublisher,
                                  &actor) == AuthDecision::kAllow;
    JsonReply(res, 200,
              json{{"name", Actor(req)},
                   {"role", publisher ? "publisher" : "reader"},
                   {"max_bundle_bytes", options_.max_bundle_bytes}});
  });
  srv.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    auto models = registry_->ListModels();
    if (!models.ok()) return JsonError(res, HttpCode(models.status()), models.status().message());
    json list = json::array();
    for (const ModelSummary& m : *models) list.push_back(m.ToJson());
    JsonReply(res, 200, json{{"models", list}});
  });
  srv.Get(std::string(kModel), [this](const httplib::Request& req, httplib::Response& res) {
    const std::string model = req.matches[1];
    auto versions = registry_->ListVersions(model);
    if (!versions.ok())
      return JsonError(res, HttpCode(versions.status()), versions.status().message());
    auto channels = registry_->ListChannels(model);
    if (!channels.ok())
      return JsonError(res, HttpCode(channels.status()), channels.status().message());
    json v = json::array(), ch = json::object();
    for (const VersionInfo& i : *versions) v.push_back(i.ToJson());
    for (const ChannelState& s : *channels) ch[s.channel] = s.ToJson();
    JsonReply(res, 200, json{{"name", model}, {"versions", v}, {"channels", ch}});
  });
  srv.Get(std::string(kModel) + "/versions",
          [this](const httplib::Request& req, httplib::Response& res) {
            const std::string model = req.matches[1];
            auto versions = registry_->ListVersions(model);
            if (!versions.ok()) {
              return JsonError(res, HttpCode(versions.status()), versions.status().message());
            }
            json v = json::array();
            for (const VersionInfo& i : *versions) v.push_back(i.ToJson());
            JsonReply(res, 200, json{{"model", model}, {"versions", v}});
          });
  srv.Put(std::string(kModel) + "/versions",
          [this, &c](const httplib::Request& req, httplib::Response& res) {
            const std::string model = req.matches[1];
            const std::string actor = Actor(req);
            std::string channel;
            if (req.has_param("channel")) {
              channel = req.get_param_value("channel");
              Status s = CheckName(channel, "channel");
              if (!s.ok()) return JsonError(res, 400, s.message());
            }
            PublishRefusal why = PublishRefusal::kNone;
            auto r = registry_->Publish(model, req.body, actor, &why);
            if (!r.ok()) {
              int code = 500;
              switch (why) {
                case PublishRefusal::kBadRequest:
                  c.uploads_bad_request->Add();
                  code = 400;
                  break;
                case PublishRefusal::kCorrupt:
                  c.uploads_corrupt->Add();
                  code = 422;
                  break;
                case PublishRefusal::kUntrusted:
                  c.uploads_untrusted->Add();
                  code = 422;
                  break;
                default:
                  c.uploads_error->Add();
              }
              Log(std::to_string(code) + " refused upload from " + req.remote_addr + " (" + actor +
                  "): " + r.status().message());
              return JsonError(res, code, r.status().message());
            }
            (r->created ? c.uploads_ok : c.uploads_duplicate)->Add();
            const VersionInfo& v = r->version;
            json body = v.ToJson();
            body["created"] = r->created;
            Log("published " + model + " version " + std::to_string(v.number) + " sha256 " +
                v.sha256 + " (" + std::to_string(v.size) + " bytes, " + v.signature +
                (v.key_id.empty() ? "" : " key " + v.key_id) + ") by " + actor +
                (r->created ? "" : " (already stored)"));
            if (!channel.empty()) {
              auto p = registry_->Promote(model, channel, v.sha256, actor);
              if (!p.ok()) return JsonError(res, HttpCode(p.status()), p.status().message());
              c.promotions->Add();
              Log("promoted " + model + "/" + channel + " to version " + std::to_string(v.number) +
                  " by " + actor + " (revision " + std::to_string(p->revision) + ")");
              body["channel"] = p->ToJson();
            }
            JsonReply(res, r->created ? 201 : 200, body);
          });
  srv.Get(std::string(kModel) + "/versions/([^/]+)",
          [this, &c](const httplib::Request& req, httplib::Response& res) {
            const std::string model = req.matches[1];
            VersionInfo v;
            auto bytes = registry_->ReadVersion(model, req.matches[2], &v);
            if (!bytes.ok())
              return JsonError(res, HttpCode(bytes.status()), bytes.status().message());
            c.downloads->Add();
            res.set_header("X-Vigil-Sha256", v.sha256);
            res.set_header("X-Vigil-Version", std::to_string(v.number));
            res.set_header("ETag", "\"" + v.sha256 + "\"");
            res.set_header("Content-Disposition", "attachment; filename=\"" + model + "-" +
                                                      std::to_string(v.number) + ".vigil\"");
            res.set_content(std::move(*bytes), "application/octet-stream");
          });
  srv.Get(std::string(kModel) + "/versions/([^/]+)/info",
          [this](const httplib::Request& req, httplib::Response& res) {
            auto v = registry_->GetVersion(req.matches[1], req.matches[2]);
            if (!v.ok()) return JsonError(res, HttpCode(v.status()), v.status().message());
            JsonReply(res, 200, v->ToJson());
          });
  srv.Get(std::string(kModel) + "/channels",
          [this](const httplib::Request& req, httplib::Response& res) {
            auto list = registry_->ListChannels(req.matches[1]);
            if (!list.ok()) return JsonError(res, HttpCode(list.status()), list.status().message());
            json ch = json::array();
            for (const ChannelState& s : *list) ch.push_back(s.ToJson());
            JsonReply(res, 200, json{{"model", req.matches[1]}, {"channels", ch}});
          });
  srv.Get(std::string(kModel) + "/channels/([^/]+)",
          [this](const httplib::Request& req, httplib::Response& res) {
            auto s = registry_->GetChannel(req.matches[1], req.matches[2]);
            if (!s.ok()) return JsonError(res, HttpCode(s.status()), s.status().message());
            JsonReply(res, 200, s->ToJson());
          });
  srv.Put(std::string(kModel) + "/channels/([^/]+)", [this, &c](const httplib::Request& req,
                                                                httplib::Response& res) {
    const std::string model = req.matches[1], channel = req.matches[2];
    json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || !body.contains("version") ||
        !(body["version"].is_string() || body["version"].is_number_unsigned())) {
      return JsonError(res, 400, "body must be a JSON object {\"version\": NUMBER or SHA-256}");
    }
    const std::string ref = body["version"].is_string()
                                ? body["version"].get<std::string>()
                                : std::to_string(body["version"].get<uint64_t>());
    const std::string actor = Actor(req);
    auto s = registry_->Promote(model, channel, ref, actor);
    if (!s.ok()) return JsonError(res, HttpCode(s.status()), s.status().message());
    c.promotions->Add();
    Log("promoted " + model + "/" + channel + " to version " + std::to_string(s->number) + " by " +
        actor + " (revision " + std::to_string(s->revision) + ")");
    JsonReply(res, 200, s->ToJson());
  });
  srv.Post(std::string(kModel) + "/channels/([^/]+)/rollback",
           [this, &c](const httplib::Request& req, httplib::Response& res) {
             const std::string model = req.matches[1], channel = req.matches[2];
             const std::string actor = Actor(req);
             auto s = registry_->Rollback(model, channel, actor);
             if (!s.ok()) return JsonError(res, HttpCode(s.status()), s.status().message());
             c.rollbacks->Add();
             Log("rolled back " + model + "/" + channel + " to version " +
                 std::to_string(s->number) + " by " + actor + " (revision " +
                 std::to_string(s->revision) + ")");
             JsonReply(res, 200, s->ToJson());
           });
  srv.Get(std::string(kModel) + "/channels/([^/]+)/history",
          [this](const httplib::Request& req, httplib::Response& res) {
            int64_t limit = 100;
            if (!IntParam(req, res, "limit", 1, 10000, &limit)) return;
            auto h = registry_->History(req.matches[1], req.matches[2], static_cast<int>(limit));
            if (!h.ok()) return JsonError(res, HttpCode(h.status()), h.status().message());
            json list = json::array();
            for (const HistoryEntry& e : *h) list.push_back(e.ToJson());
            JsonReply(res, 200, json{{"history", list}});
          });
  srv.Get(std::string(kModel) + "/channels/([^/]+)/watch",
          [this](const httplib::Request& req, httplib::Response& res) {
            int64_t after = 0, timeout = 30;
            if (!IntParam(req, res, "after", 0, INT64_MAX, &after) ||
                !IntParam(req, res, "timeout", 0, options_.max_watch_s, &timeout)) {
              return;
            }
            bool changed = false;
            auto s = registry_->WatchChannel(req.matches[1], req.matches[2], after,
                                             std::chrono::seconds(timeout), &changed);
            if (!s.ok()) return JsonError(res, HttpCode(s.status()), s.status().message());
            json body = s->ToJson();
            body["changed"] = changed;
            JsonReply(res, 200, body);
          });
  // Canary reports: agents (reader tokens) post their per-version counts; anyone who may read
  // sees the sums.
  srv.Post(std::string(kModel) + "/reports",
           [this](const httplib::Request& req, httplib::Response& res) {
             if (req.body.size() > kMaxReportBytes) {
               return JsonError(
                   res, 413, "a report is at most " + std::to_string(kMaxReportBytes) + " bytes");
             }
             json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
             if (body.is_discarded()) return JsonError(res, 400, "report: the body is not JSON");
             Status s = registry_->Report(req.matches[1], body);
             if (!s.ok()) return JsonError(res, HttpCode(s), s.message());
             JsonReply(res, 200, json{{"ok", true}});
           });
  srv.Get(std::string(kModel) + "/stats",
          [this](const httplib::Request& req, httplib::Response& res) {
            auto st = registry_->Stats(req.matches[1]);
            if (!st.ok()) return JsonError(res, HttpCode(st.status()), st.status().message());
            JsonReply(res, 200, *st);
          });
}

}  // namespace vigil
