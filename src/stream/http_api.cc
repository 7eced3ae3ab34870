#include "stream/http_api.h"

#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/json_text.h"
#include "stream/metrics_ingest.h"

namespace vigil {
namespace {

// Collects the verdicts of one request's records.
class HttpReply : public Reply {
 public:
  explicit HttpReply(size_t n) : results_(n), remaining_(n) {}

  void Deliver(uint64_t tag, const Verdict& v) override {
    std::lock_guard<std::mutex> lock(mu_);
    results_[tag] = v.json;
    if (--remaining_ == 0) done_.notify_all();
  }
  // Waits for every verdict; false on timeout.
  bool Wait(std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return done_.wait_for(lock, timeout, [&] { return remaining_ == 0; });
  }
  // Records never submitted (the agent stopped) are answered as such.
  void Abandon(size_t from) {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = from; i < results_.size(); ++i) {
      results_[i] =
          "{\"error\":\"the agent is shutting down\",\"position\":" + std::to_string(i) + "}";
      --remaining_;
    }
  }
  const std::vector<std::string>& results() const { return results_; }

 private:
  std::mutex mu_;
  std::condition_variable done_;
  std::vector<std::string> results_;
  size_t remaining_;
};

}  // namespace

HttpApi::HttpApi(Agent* agent, uint32_t json_input, uint32_t csv_input, size_t max_records)
    : agent_(agent), json_input_(json_input), csv_input_(csv_input), max_records_(max_records) {
  Metrics& m = agent_->metrics();
  const char* help = "HTTP scoring requests, by outcome.";
  requests_ok_ = m.AddCounter("vigil_agent_http_score_requests_total", help, "result=\"ok\"");
  requests_bad_ =
      m.AddCounter("vigil_agent_http_score_requests_total", help, "result=\"bad_request\"");
  requests_unavailable_ =
      m.AddCounter("vigil_agent_http_score_requests_total", help, "result=\"unavailable\"");

  server_.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server_.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    const bool ready = ready_.load() && !agent_->stopping();
    res.status = ready ? 200 : 503;
    res.set_content(ready ? "ready\n" : "not ready\n", "text/plain");
  });
  server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(agent_->metrics().Render(), "text/plain; version=0.0.4");
  });
  server_.Get("/v1/model", [this](const httplib::Request&, httplib::Response& res) {
    auto describe = [](const ServedModel& m) {
      const Scorer& s = m.scorer;
      nlohmann::json j = {
          {"name", s.name()},       {"version", s.version()}, {"sha256", s.bundle().sha256},
          {"type", s.model_type()}, {"classes", s.classes()}, {"threshold", s.threshold()},
          {"origin", m.origin}};
      if (m.registry_version > 0) j["registry_version"] = m.registry_version;
      if (!m.channel.empty()) j["channel"] = m.channel;
      const auto& md = s.bundle().metadata;
      if (md.contains("metrics")) j["metrics"] = md["metrics"];
      return j;
    };
    nlohmann::json j = describe(*agent_->model());
    if (auto canary = agent_->model(ModelRole::kCanary)) {
      j["canary"] = describe(*canary);
      j["canary"]["share"] = agent_->options().canary_share;
    }
    nlohmann::json stats = nlohmann::json::array();
    for (const ModelStats& st : agent_->Stats()) {
      stats.push_back({{"version", st.version},
                       {"role", st.role},
                       {"records", st.records},
                       {"alerts", st.alerts}});
    }
    j["served"] = stats;
    res.set_content(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                    "application/json");
  });
  server_.Get("/v1/hosts", [this](const httplib::Request& req, httplib::Response& res) {
    int64_t n = 20;
    if (!IntParam(req, res, "n", 0, INT64_MAX, &n)) return;
    std::string body = "{\"hosts\":[";
    bool first = true;
    for (const auto& [host, value] :
         agent_->TopHosts(static_cast<size_t>(std::min<int64_t>(n, 10000)))) {
      body += first ? "{\"host\":" : ",{\"host\":";
      first = false;
      AppendJsonString(&body, host);
      body += ",\"value\":";
      AppendJsonNumber(&body, value);
      body += "}";
    }
    body += "]}";
    res.set_content(body, "application/json");
  });
  AddAlertsRoute(&server_, &agent_->alert_feed());
  server_.Get("/v1/stats", [this](const httplib::Request&, httplib::Response& res) {
    const Agent::Mix mix = agent_->TrafficMix();
    nlohmann::json j = {{"records", agent_->scored()},
                        {"alerts", agent_->alerts()},
                        {"malformed", agent_->malformed()},
                        {"uptime_s", std::chrono::duration<double>(
                                         std::chrono::steady_clock::now() - agent_->started())
                                         .count()},
                        {"mix", {{"proto", mix.proto}, {"service", mix.service}}}};
    res.set_content(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                    "application/json");
  });
  server_.Post("/v1/score",
               [this](const httplib::Request& req, httplib::Response& res) { Score(req, res); });
  server_.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, const std::exception_ptr&) {
        JsonError(res, 500, "internal error");
      });
}

void AddAlertsRoute(httplib::Server* server, AlertFeed* feed) {
  server->Get("/v1/alerts", [feed](const httplib::Request& req, httplib::Response& res) {
    int64_t after = 0, wait_s = 0, n = 100;
    if (!IntParam(req, res, "after", 0, INT64_MAX, &after) ||
        !IntParam(req, res, "wait", 0, INT64_MAX, &wait_s) ||
        !IntParam(req, res, "n", 0, INT64_MAX, &n)) {
      return;
    }
    AlertFeed::Page page =
        feed->Since(static_cast<uint64_t>(after), static_cast<size_t>(std::min<int64_t>(n, 1000)),
                    std::chrono::milliseconds(std::min<int64_t>(wait_s, 30) * 1000));
    std::string body = "{\"next\":" + std::to_string(page.next) + ",\"alerts\":[";
    for (size_t i = 0; i < page.items.size(); ++i) {
      if (i > 0) body += ',';
      body += page.items[i];
    }
    body += "]}";
    res.set_content(body, "application/json");
  });
}

HttpApi::~HttpApi() { Stop(); }

void HttpApi::AddMetricsIngest(MetricsIngest* ingest) { ingest->RegisterHttp(&server_); }

Result<int> HttpApi::Start(const ListenAddress& addr, const ServerLimits& limits) {
  HardenServer(&server_, limits);
  VIGIL_ASSIGN_OR_RETURN(int port, Bind(&server_, addr));
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  return port;
}

void HttpApi::Stop() {
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

void HttpApi::Score(const httplib::Request& req, httplib::Response& res) {
  if (agent_->stopping()) {
    requests_unavailable_->Add();
    return JsonError(res, 503, "the agent is shutting down");
  }
  nlohmann::json body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    requests_bad_->Add();
    return JsonError(res, 400, "the body is not valid JSON");
  }
  if (body.is_object() && body.contains("records")) body = std::move(body["records"]);
  if (!body.is_array()) {
    requests_bad_->Add();
    return JsonError(res, 400,
                     "expected a JSON array of records (objects, or CSV strings), or "
                     "{\"records\": [...]}");
  }
  if (body.size() > max_records_) {
    requests_bad_->Add();
    return JsonError(res, 413,
                     "too many records in one request: " + std::to_string(body.size()) +
                         " (limit " + std::to_string(max_records_) + ")");
  }
  auto reply = std::make_shared<HttpReply>(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    Item item;
    const nlohmann::json& r = body[i];
    item.position = i;
    item.tag = i;
    item.reply = reply;
    if (r.is_string()) {
      item.kind = RecordKind::kCsv;
      item.input = csv_input_;
      item.text = r.get<std::string>();
    } else {
      // Objects are scored; anything else is reported as a malformed record by the agent.
      item.kind = RecordKind::kJson;
      item.input = json_input_;
      item.text = r.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    if (!agent_->Submit(std::move(item))) {
      reply->Abandon(i);
      break;
    }
  }
  if (!reply->Wait(std::chrono::seconds(60))) {
    requests_unavailable_->Add();
    return JsonError(res, 504, "scoring did not finish within 60 s");
  }
  requests_ok_->Add();
  const auto model = agent_->model();
  std::string out = "{\"model\":";
  AppendJsonString(&out, model->scorer.name());
  out += ",\"version\":";
  AppendJsonString(&out, model->scorer.version());
  out += ",\"results\":[";
  const auto& results = reply->results();
  for (size_t i = 0; i < results.size(); ++i) {
    if (i > 0) out += ',';
    out += results[i];
  }
  out += "]}";
  res.set_content(out, "application/json");
}

}  // namespace vigil
