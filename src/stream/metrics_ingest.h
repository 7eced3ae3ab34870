// Metrics into the agent: InfluxDB line protocol over HTTP (POST /write, as InfluxDB 1.x accepts
// it, so Telegraf's outputs.influxdb can point at the agent) and over UDP, and Prometheus text
// endpoints scraped on an interval. Every numeric field of every point is one series (measurement
// + sorted tags + field, metrics/point.h) scored online by its own detector (metrics/detector.h);
// a point whose score reaches `alert_score` raises an alert, one JSON line:
//   {"time":"2026-11-29T12:00:00Z","type":"metric","series":"cpu,host=a usage_idle",
//    "measurement":"cpu","field":"usage_idle","tags":{"host":"a"},"value":3.5,
//    "expected":{"low":80.1,"high":99.7},"score":0.91}
// written where the agent's alerts go (--alerts; stdout by default) and, with SetAlertFeed, to the
// agent's alert feed (GET /v1/alerts, the console).
//
// The core (WriteLineProtocol, WritePrometheus) needs no socket and is what the HTTP handler, the
// UDP listener and the scrapers call. A malformed line costs only itself: the other lines of the
// batch are scored, and the HTTP answer is 400 naming each bad line ("line 3, column 9: ...");
// a clean batch gets 204. Series beyond `max_series` are dropped and counted
// (vigil_metrics_series_overflow_total).
//
// The series that alerted are watched (metrics/series_watch.h): their recent points, scores and
// expected ranges are served by GET /v1/metrics/series (a list) and GET /v1/metrics/series?key=K
// (one series; &n= points, default 720), which the console charts.
//
// Thread-safe: the series table is behind one mutex; the UDP listener and each scraper run on
// their own thread until Stop().
#pragma once

#include <httplib.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/status.h"
#include "metrics/detector.h"
#include "metrics/line_protocol.h"
#include "metrics/series_table.h"
#include "metrics/series_watch.h"
#include "net/metrics.h"
#include "stream/alert_feed.h"

namespace vigil {

struct MetricsIngestOptions {
  std::string udp;                  // HOST:PORT for line protocol datagrams ("": none)
  std::vector<std::string> scrape;  // Prometheus endpoints, http://host:port/path
  double scrape_interval_s = 10;
  // The NAB-optimised threshold of the standard profile for the default detector (docs/metrics.md).
  double alert_score = 0.53;
  size_t max_series = 100000;
  metrics::DetectorConfig detector;
  std::string alerts_path = "-";  // "-": stdout; "": no alerts written
  bool quiet = false;
  bool any_source() const { return !udp.empty() || !scrape.empty(); }
};

class MetricsIngest {
 public:
  // `registry` (may be null) receives the ingest's counters; it must outlive the ingest.
  static Result<std::unique_ptr<MetricsIngest>> Create(const MetricsIngestOptions& options,
                                                       Metrics* registry);
  ~MetricsIngest();

  struct Outcome {
    size_t points = 0;  // points parsed
    size_t scored = 0;  // numeric fields scored
    size_t alerts = 0;
    size_t dropped = 0;  // fields dropped (series cap, out of order)
    std::vector<metrics::LineError> errors;
  };
  // `now_ns` stamps points that carry no timestamp.
  Outcome WriteLineProtocol(std::string_view body, metrics::Precision precision, int64_t now_ns);
  Outcome WritePrometheus(std::string_view body, int64_t now_ns);

  // Registers POST /write (and GET /ping, POST/GET /query answered as InfluxDB 1.x does for a
  // client that checks the server or creates its database) on `server`, before it starts.
  void RegisterHttp(httplib::Server* server);
  // Starts the UDP listener (if options.udp) and the scrapers; returns the UDP port (0 if none).
  Result<int> Start();
  void Stop();

  // Also hands every alert to `feed` (the agent's, for GET /v1/alerts); before Start.
  void SetAlertFeed(AlertFeed* feed) { feed_ = feed; }

  size_t series() const;
  uint64_t overflow() const;
  uint64_t alerts() const { return alerts_total_; }
  uint64_t points() const { return points_ != nullptr ? points_->value() : 0; }

 private:
  explicit MetricsIngest(const MetricsIngestOptions& options);
  size_t ScorePoint(const metrics::MetricPoint& p, int64_t now_ns, Outcome* out);
  void RunUdp();
  void RunScraper(const std::string& url);
  void WriteAlert(const std::string& line);

  MetricsIngestOptions options_;
  mutable std::mutex mu_;  // guards table_ and watch_
  metrics::SeriesTable table_;
  metrics::SeriesWatch watch_;
  std::mutex out_mu_;  // guards alerts_out_
  FILE* alerts_out_ = nullptr;
  bool own_alerts_ = false;
  AlertFeed* feed_ = nullptr;
  int udp_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> alerts_total_{0};
  Counter *points_ = nullptr, *malformed_ = nullptr, *alerts_counter_ = nullptr,
          *overflow_ = nullptr, *scrape_errors_ = nullptr;
  Gauge* series_gauge_ = nullptr;
};

// vigil-agent without a model: metrics only. Serves /write, /ping, /query, /healthz and /metrics
// on `listen` (if given), listens on UDP, scrapes, and returns 0 on SIGINT/SIGTERM (blocked by
// the caller and taken here with sigwait).
int RunMetricsOnlyAgent(const MetricsIngestOptions& options, const std::string& listen,
                        size_t max_body_bytes);

}  // namespace vigil
