// The agent's HTTP API (cpp-httplib, hardened by net/http.h):
//   POST /v1/score   body: a JSON array of records (objects keyed by column name, or strings
//                    holding a CSV record in the schema's column order), or {"records": [...]}.
//                    Scores them synchronously through the agent's queue (so they are micro-batched
//                    with everything else) and answers {"model", "version", "results": [...]}, one
//                    result per record in order: the score line, or {"error", "position"} for a
//                    malformed record. 400 for a body that is not such an array, 413 over the size
//                    limits, 503 while the agent is shutting down, 504 if scoring takes too long.
//   GET /healthz     200 while the process runs.
//   GET /readyz      200 once the model is loaded and inputs run, 503 while starting or draining.
//   GET /metrics     Prometheus text format.
//   GET /v1/model    the bundle's name, version, type, classes, threshold and validation metrics.
//   GET /v1/hosts    source hosts by threat value, highest first (?n=, default 20).
//   GET /v1/alerts   the latest alerts numbered above ?after= (default 0), at most ?n= (100,
//                    max 1000), waiting up to ?wait= seconds (max 30) for one: {"next", "alerts"}.
//   GET /v1/stats    {"records", "alerts", "malformed", "uptime_s", "mix": {"proto", "service"}}.
// Every request is answered; no input crashes the process. Thread-safe (a worker pool).
#pragma once

#include <httplib.h>

#include <atomic>
#include <memory>
#include <thread>

#include "core/status.h"
#include "net/http.h"
#include "stream/agent.h"

namespace vigil {

class MetricsIngest;

// Registers GET /v1/alerts (above) for `feed` on `server` (also used by the metrics-only agent).
void AddAlertsRoute(httplib::Server* server, AlertFeed* feed);

class HttpApi {
 public:
  // `json_input` and `csv_input` are the agent inputs the API's records are submitted as.
  HttpApi(Agent* agent, uint32_t json_input, uint32_t csv_input, size_t max_records = 100000);
  ~HttpApi();

  // Binds and serves on a background thread; returns the bound port.
  Result<int> Start(const ListenAddress& addr, const ServerLimits& limits);
  void Stop();
  void SetReady(bool ready) { ready_.store(ready); }
  // Also serves InfluxDB line protocol (POST /write, /ping, /query) into `ingest`; before Start.
  void AddMetricsIngest(MetricsIngest* ingest);

 private:
  void Score(const httplib::Request& req, httplib::Response& res);

  Agent* agent_;
  uint32_t json_input_, csv_input_;
  size_t max_records_;
  httplib::Server server_;
  std::thread thread_;
  std::atomic<bool> ready_{false};
  Counter *requests_ok_, *requests_bad_, *requests_unavailable_;
};

}  // namespace vigil
