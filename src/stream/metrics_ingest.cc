#include "stream/metrics_ingest.h"

#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>

#include "core/json_text.h"
#include "core/signals.h"
#include "metrics/prometheus.h"
#include "net/http.h"
#include "stream/http_api.h"

namespace vigil {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string IsoTime(int64_t ns) {
  const time_t s = static_cast<time_t>(ns >= 0 ? ns / 1000000000 : (ns + 1) / 1000000000 - 1);
  struct tm tm;
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string ErrorsText(const std::vector<metrics::LineError>& errors, size_t lines_ok) {
  std::string m = "partial write: ";
  for (size_t i = 0; i < errors.size() && i < 20; ++i) {
    if (i > 0) m += "; ";
    m += errors[i].ToString();
  }
  if (errors.size() > 20) m += "; ...";
  m += " (" + std::to_string(errors.size()) + " line(s) dropped, " + std::to_string(lines_ok) +
       " written)";
  return m;
}

// "http://host:port/path" -> ("http://host:port", "/path").
Result<std::pair<std::string, std::string>> SplitUrl(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) {
    return Status::InvalidArgument("scrape URL '" + url + "': only http:// is supported");
  }
  const size_t slash = url.find('/', scheme.size());
  if (slash == scheme.size()) return Status::InvalidArgument("scrape URL '" + url + "': no host");
  if (slash == std::string::npos) return std::make_pair(url, std::string("/metrics"));
  return std::make_pair(url.substr(0, slash), url.substr(slash));
}

}  // namespace

MetricsIngest::MetricsIngest(const MetricsIngestOptions& options)
    : options_(options), table_(options.detector, options.max_series) {}

Result<std::unique_ptr<MetricsIngest>> MetricsIngest::Create(const MetricsIngestOptions& options,
                                                             Metrics* registry) {
  for (const auto& url : options.scrape) VIGIL_RETURN_IF_ERROR(SplitUrl(url).status());
  if (!(options.scrape_interval_s > 0)) {
    return Status::InvalidArgument("--scrape-interval must be > 0 seconds");
  }
  std::unique_ptr<MetricsIngest> m(new MetricsIngest(options));
  if (options.alerts_path == "-") {
    m->alerts_out_ = stdout;
  } else if (!options.alerts_path.empty()) {
    m->alerts_out_ = std::fopen(options.alerts_path.c_str(), "a");
    if (m->alerts_out_ == nullptr) {
      return Status::IOError(options.alerts_path + ": cannot open for appending");
    }
    m->own_alerts_ = true;
  }
  if (registry != nullptr) {
    m->points_ = registry->AddCounter("vigil_metrics_points_total",
                                      "Metric fields scored by the time-series detectors.");
    m->malformed_ = registry->AddCounter("vigil_metrics_malformed_lines_total",
                                         "Line-protocol or Prometheus lines that did not parse.");
    m->alerts_counter_ =
        registry->AddCounter("vigil_metrics_alerts_total", "Alerts raised on metric series.");
    m->overflow_ = registry->AddCounter("vigil_metrics_series_overflow_total",
                                        "Fields dropped because the series table was full.");
    m->scrape_errors_ =
        registry->AddCounter("vigil_metrics_scrape_errors_total", "Failed Prometheus scrapes.");
    m->series_gauge_ = registry->AddGauge("vigil_metrics_series", "Live metric series.");
  }
  return m;
}

MetricsIngest::~MetricsIngest() {
  Stop();
  if (own_alerts_ && alerts_out_ != nullptr) std::fclose(alerts_out_);
}

size_t MetricsIngest::series() const {
  std::lock_guard<std::mutex> lock(mu_);
  return table_.size();
}

uint64_t MetricsIngest::overflow() const {
  std::lock_guard<std::mutex> lock(mu_);
  return table_.overflow();
}

void MetricsIngest::WriteAlert(const std::string& line) {
  ++alerts_total_;
  if (alerts_counter_) alerts_counter_->Add();
  if (feed_ != nullptr) {  // without the newline: the feed holds JSON values
    feed_->Append(!line.empty() && line.back() == '\n' ? line.substr(0, line.size() - 1) : line);
  }
  if (alerts_out_ == nullptr) return;
  std::lock_guard<std::mutex> lock(out_mu_);
  std::fwrite(line.data(), 1, line.size(), alerts_out_);
  std::fflush(alerts_out_);
}

size_t MetricsIngest::ScorePoint(const metrics::MetricPoint& p, int64_t now_ns, Outcome* out) {
  const int64_t t = p.time_ns.value_or(now_ns);
  std::vector<std::string> alerts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t overflow_before = table_.overflow();
    for (const auto& [field, v] : p.fields) {
      if (!v.numeric() || !std::isfinite(v.number)) continue;
      const std::string key = metrics::SeriesKey(p, field);
      auto s = table_.Observe(key, t, v.number);
      if (!s) {
        ++out->dropped;
        continue;
      }
      ++out->scored;
      watch_.Record(key, t, v.number, s->output);  // kept if the series is already watched
      if (s->output.score < options_.alert_score) continue;
      watch_.Alerted(key, t, table_.Recent(key));  // a new watch starts with these points
      std::string a = "{\"time\":";
      AppendJsonString(&a, IsoTime(t));
      a += ",\"type\":\"metric\",\"series\":";
      AppendJsonString(&a, key);
      a += ",\"measurement\":";
      AppendJsonString(&a, p.measurement);
      a += ",\"field\":";
      AppendJsonString(&a, field);
      a += ",\"tags\":{";
      for (size_t i = 0; i < p.tags.size(); ++i) {
        if (i > 0) a += ",";
        AppendJsonString(&a, p.tags[i].first);
        a += ":";
        AppendJsonString(&a, p.tags[i].second);
      }
      a += "},\"value\":";
      AppendJsonNumber(&a, v.number);
      a += ",\"expected\":{\"low\":";
      AppendJsonNumber(&a, s->output.expected_low);
      a += ",\"high\":";
      AppendJsonNumber(&a, s->output.expected_high);
      a += "},\"score\":";
      AppendJsonNumber(&a, s->output.score);
      a += "}\n";
      alerts.push_back(std::move(a));
    }
    if (overflow_ && table_.overflow() > overflow_before) {
      overflow_->Add(table_.overflow() - overflow_before);
    }
    if (series_gauge_) series_gauge_->Set(static_cast<double>(table_.size()));
  }
  for (const auto& a : alerts) WriteAlert(a);
  out->alerts += alerts.size();
  return alerts.size();
}

MetricsIngest::Outcome MetricsIngest::WriteLineProtocol(std::string_view body,
                                                        metrics::Precision precision,
                                                        int64_t now_ns) {
  Outcome out;
  metrics::LineProtocolBatch batch = metrics::ParseLineProtocol(body, precision);
  out.points = batch.points.size();
  for (const auto& p : batch.points) ScorePoint(p, now_ns, &out);
  out.errors = std::move(batch.errors);
  if (points_) points_->Add(out.scored);
  if (malformed_) malformed_->Add(out.errors.size());
  return out;
}

MetricsIngest::Outcome MetricsIngest::WritePrometheus(std::string_view body, int64_t now_ns) {
  Outcome out;
  metrics::LineProtocolBatch batch = metrics::ParsePrometheusText(body);
  out.points = batch.points.size();
  for (const auto& p : batch.points) ScorePoint(p, now_ns, &out);
  out.errors = std::move(batch.errors);
  if (points_) points_->Add(out.scored);
  if (malformed_) malformed_->Add(out.errors.size());
  return out;
}

void MetricsIngest::RegisterHttp(httplib::Server* server) {
  server->Post("/write", [this](const httplib::Request& req, httplib::Response& res) {
    auto precision = metrics::ParsePrecision(req.get_param_value("precision"));
    if (!precision.ok()) return JsonError(res, 400, precision.status().message());
    // cpp-httplib inflates gzip bodies (Telegraf's default) when built with zlib, as Debian's is.
    if (req.body.size() >= 2 && static_cast<unsigned char>(req.body[0]) == 0x1f &&
        static_cast<unsigned char>(req.body[1]) == 0x8b) {
      return JsonError(res, 415,
                       "this build cannot inflate gzip bodies: set content_encoding = "
                       "\"identity\" in Telegraf's outputs.influxdb");
    }
    Outcome o = WriteLineProtocol(req.body, *precision, NowNs());
    if (!o.errors.empty()) return JsonError(res, 400, ErrorsText(o.errors, o.points));
    res.status = 204;
  });
  server->Get("/v1/metrics/series", [this](const httplib::Request& req, httplib::Response& res) {
    int64_t n = 720;
    if (!IntParam(req, res, "n", 0, INT64_MAX, &n)) return;
    n = std::clamp<int64_t>(n, 1, 100000);
    nlohmann::json body;
    {
      std::lock_guard<std::mutex> lock(mu_);
      body = req.has_param("key")
                 ? watch_.Points(req.get_param_value("key"), static_cast<size_t>(n))
                 : watch_.List();
    }
    if (body.is_null()) {
      return JsonError(res, 404,
                       "series '" + req.get_param_value("key") + "' is not watched (no alert yet)");
    }
    JsonReply(res, 200, body);
  });
  server->Get("/ping", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("X-Influxdb-Version", "1.8-vigil");
    res.status = 204;
  });
  auto query = [](const httplib::Request&, httplib::Response& res) {
    // Telegraf sends CREATE DATABASE on start; there is nothing to create.
    res.set_content("{\"results\":[{\"statement_id\":0}]}", "application/json");
  };
  server->Get("/query", query);
  server->Post("/query", query);
}

Result<int> MetricsIngest::Start() {
  int port = 0;
  if (!options_.udp.empty()) {
    VIGIL_ASSIGN_OR_RETURN(ListenAddress addr, ParseListen(options_.udp));
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
    addrinfo* ai = nullptr;
    const std::string service = std::to_string(addr.port);
    if (getaddrinfo(addr.host.c_str(), service.c_str(), &hints, &ai) != 0 || ai == nullptr) {
      return Status::InvalidArgument("--metrics-udp '" + options_.udp + "': bad address");
    }
    udp_fd_ = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    const bool bound = udp_fd_ >= 0 && bind(udp_fd_, ai->ai_addr, ai->ai_addrlen) == 0;
    freeaddrinfo(ai);
    if (!bound) {
      if (udp_fd_ >= 0) close(udp_fd_);
      udp_fd_ = -1;
      return Status::IOError("--metrics-udp " + options_.udp + ": cannot bind");
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    getsockname(udp_fd_, reinterpret_cast<sockaddr*>(&ss), &len);
    port = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                    : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    threads_.emplace_back([this] { RunUdp(); });
  }
  for (const auto& url : options_.scrape) threads_.emplace_back([this, url] { RunScraper(url); });
  return port;
}

void MetricsIngest::Stop() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  if (udp_fd_ >= 0) {
    close(udp_fd_);
    udp_fd_ = -1;
  }
}

void MetricsIngest::RunUdp() {
  std::vector<char> buf(65536);
  while (!stop_) {
    pollfd pfd{udp_fd_, POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0) continue;
    const ssize_t n = recv(udp_fd_, buf.data(), buf.size(), 0);
    if (n <= 0) continue;
    // UDP has no answer channel: bad lines are counted (vigil_metrics_malformed_lines_total).
    WriteLineProtocol(std::string_view(buf.data(), static_cast<size_t>(n)),
                      metrics::Precision::kNanoseconds, NowNs());
  }
}

void MetricsIngest::RunScraper(const std::string& url) {
  auto parts = SplitUrl(url);
  if (!parts.ok()) return;
  httplib::Client client(parts->first);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  auto next = std::chrono::steady_clock::now();
  while (!stop_) {
    if (std::chrono::steady_clock::now() < next) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    next += std::chrono::microseconds(static_cast<int64_t>(options_.scrape_interval_s * 1e6));
    auto res = client.Get(parts->second);
    if (!res || res->status != 200) {
      if (scrape_errors_) scrape_errors_->Add();
      if (!options_.quiet) {
        std::fprintf(stderr, "vigil-agent: scrape %s: %s\n", url.c_str(),
                     res ? ("HTTP " + std::to_string(res->status)).c_str()
                         : httplib::to_string(res.error()).c_str());
      }
      continue;
    }
    WritePrometheus(res->body, NowNs());
  }
}

int RunMetricsOnlyAgent(const MetricsIngestOptions& options, const std::string& listen,
                        size_t max_body_bytes) {
  const sigset_t signals = BlockStopSignals();
  auto fail = [](const Status& s) {
    std::fprintf(stderr, "vigil-agent: error: %s\n", s.message().c_str());
    return 1;
  };
  Metrics registry;
  auto ingest = MetricsIngest::Create(options, &registry);
  if (!ingest.ok()) return fail(ingest.status());
  httplib::Server server;
  std::thread http;
  AlertFeed feed;
  (*ingest)->SetAlertFeed(&feed);
  const auto started = std::chrono::steady_clock::now();
  if (!listen.empty()) {
    auto addr = ParseListen(listen);
    if (!addr.ok()) return fail(addr.status());
    (*ingest)->RegisterHttp(&server);
    AddAlertsRoute(&server, &feed);
    MetricsIngest* in = ingest->get();
    server.Get("/v1/stats", [in, started](const httplib::Request&, httplib::Response& res) {
      const double up =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      res.set_content("{\"records\":" + std::to_string(in->points()) +
                          ",\"alerts\":" + std::to_string(in->alerts()) +
                          ",\"malformed\":0,\"series\":" + std::to_string(in->series()) +
                          ",\"uptime_s\":" + std::to_string(up) +
                          ",\"mix\":{\"proto\":{},\"service\":{}}}",
                      "application/json");
    });
    server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });
    server.Get("/metrics", [&registry](const httplib::Request&, httplib::Response& res) {
      res.set_content(registry.Render(), "text/plain; version=0.0.4");
    });
    ServerLimits limits;
    limits.max_body_bytes = max_body_bytes;
    HardenServer(&server, limits);
    auto port = Bind(&server, *addr);
    if (!port.ok()) return fail(port.status());
    http = std::thread([&server] { server.listen_after_bind(); });
    if (!options.quiet) {
      std::fprintf(stderr, "vigil-agent: listening on %s:%d\n", addr->host.c_str(), *port);
    }
  }
  auto udp = (*ingest)->Start();
  if (!udp.ok()) {
    feed.Close();
    server.stop();
    if (http.joinable()) http.join();
    return fail(udp.status());
  }
  if (!options.quiet) {
    if (*udp > 0) std::fprintf(stderr, "vigil-agent: metrics udp on port %d\n", *udp);
    std::fprintf(stderr, "vigil-agent: ready (metrics only, %zu scrape target(s))\n",
                 options.scrape.size());
  }
  int sig = 0;
  sigwait(&signals, &sig);
  feed.Close();
  server.stop();
  if (http.joinable()) http.join();
  (*ingest)->Stop();
  if (!options.quiet) {
    std::fprintf(stderr, "vigil-agent: signal %d: stopped; %zu series, %llu alerts\n", sig,
                 (*ingest)->series(), static_cast<unsigned long long>((*ingest)->alerts()));
  }
  return 0;
}

}  // namespace vigil
