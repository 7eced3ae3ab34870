// The metrics ingest core without sockets: line protocol and Prometheus batches into detectors,
// alerts, malformed lines and the series cap.
#include "stream/metrics_ingest.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace vigil {
namespace {

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("vigil_metrics_ingest_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

std::vector<nlohmann::json> ReadAlerts(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty()) out.push_back(nlohmann::json::parse(l));
  }
  return out;
}

// `n` points of "cpu,host=<host> usage=..." one minute apart, noise around 50.
std::string Lines(const std::string& host, int from, int n, std::mt19937* rng) {
  std::normal_distribution<double> noise(0.0, 1.0);
  std::ostringstream s;
  for (int i = from; i < from + n; ++i) {
    s << "cpu,host=" << host << " usage=" << 50 + noise(*rng) << " " << 1700000000 + i * 60 << "\n";
  }
  return s.str();
}

TEST(MetricsIngestTest, SpikeRaisesOneAlertWithSeriesValueRangeAndScore) {
  MetricsIngestOptions o;
  o.alerts_path = TempPath("alerts.jsonl");
  std::filesystem::remove(o.alerts_path);
  Metrics registry;
  auto ingest = MetricsIngest::Create(o, &registry);
  ASSERT_TRUE(ingest.ok()) << ingest.status().message();
  std::mt19937 rng(5);
  auto r = (*ingest)->WriteLineProtocol(Lines("a", 0, 500, &rng), metrics::Precision::kSeconds, 0);
  EXPECT_EQ(r.points, 500u);
  EXPECT_EQ(r.scored, 500u);
  EXPECT_TRUE(r.errors.empty());
  const size_t quiet_alerts = ReadAlerts(o.alerts_path).size();
  r = (*ingest)->WriteLineProtocol("cpu,host=a usage=95 " + std::to_string(1700000000 + 500 * 60),
                                   metrics::Precision::kSeconds, 0);
  EXPECT_EQ(r.alerts, 1u);
  auto alerts = ReadAlerts(o.alerts_path);
  ASSERT_EQ(alerts.size(), quiet_alerts + 1);
  const auto& a = alerts.back();
  EXPECT_EQ(a["series"], "cpu,host=a usage");
  EXPECT_EQ(a["type"], "metric");
  EXPECT_EQ(a["value"], 95);
  EXPECT_EQ(a["tags"]["host"], "a");
  EXPECT_LT(a["expected"]["high"].get<double>(), 95.0);
  EXPECT_GT(a["expected"]["high"].get<double>(), a["expected"]["low"].get<double>());
  EXPECT_GE(a["score"].get<double>(), o.alert_score);
  EXPECT_LE(a["score"].get<double>(), 1.0);
  EXPECT_NE(registry.Render().find("vigil_metrics_alerts_total"), std::string::npos);
  std::filesystem::remove(o.alerts_path);
}

// A series that alerted is watched: GET /v1/metrics/series lists it, and ?key= gives its points
// from the alert on with their scores and expected ranges (what the console charts).
TEST(MetricsIngestTest, AlertedSeriesAreServedWithTheirPoints) {
  MetricsIngestOptions o;
  o.alerts_path = TempPath("watch.jsonl");
  std::filesystem::remove(o.alerts_path);
  auto ingest = MetricsIngest::Create(o, nullptr);
  ASSERT_TRUE(ingest.ok()) << ingest.status().message();
  std::mt19937 rng(5);
  (*ingest)->WriteLineProtocol(
      Lines("a", 0, 500, &rng) + Lines("b", 0, 500, &rng) + "cpu,host=c usage=1 1700000000\n",
      metrics::Precision::kSeconds, 0);
  auto r =
      (*ingest)->WriteLineProtocol("cpu,host=a usage=95 " + std::to_string(1700000000 + 500 * 60),
                                   metrics::Precision::kSeconds, 0);
  ASSERT_EQ(r.alerts, 1u);
  (*ingest)->WriteLineProtocol(Lines("a", 501, 9, &rng), metrics::Precision::kSeconds, 0);
  std::set<std::string> alerted;  // what the agent alerted
  for (const auto& a : ReadAlerts(o.alerts_path)) alerted.insert(a["series"].get<std::string>());

  httplib::Server server;
  (*ingest)->RegisterHttp(&server);
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread t([&] { server.listen_after_bind(); });
  for (int i = 0; i < 2000 && !server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  httplib::Client c("127.0.0.1", port);
  auto list = c.Get("/v1/metrics/series");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->status, 200) << list->body;
  std::set<std::string> watched;
  const auto listed = nlohmann::json::parse(list->body);
  for (const auto& e : listed["series"]) {
    watched.insert(e["series"].get<std::string>());
  }
  EXPECT_EQ(watched, alerted) << "exactly the series that alerted: " << list->body;
  EXPECT_EQ(watched.count("cpu,host=c usage"), 0u);
  auto one = c.Get("/v1/metrics/series?key=cpu%2Chost%3Da%20usage");
  ASSERT_TRUE(one);
  ASSERT_EQ(one->status, 200) << one->body;
  const auto j = nlohmann::json::parse(one->body);
  // Points from just before its first alert on; the last ten are the spike and the nine after it.
  const auto& points = j["points"];
  ASSERT_GE(points.size(), 10u);
  const auto& spike = points[points.size() - 10];
  EXPECT_EQ(spike[0].get<double>(), 1700000000.0 + 500 * 60);
  EXPECT_EQ(spike[1].get<double>(), 95.0);
  EXPECT_GE(spike[2].get<double>(), o.alert_score);
  EXPECT_LT(spike[4].get<double>(), 95.0) << "the expected range's high end";
  // Before its first alert, the points that led up to it (the series table's last 32, the
  // alert's own included), one a minute like the rest.
  size_t first_alert = 0;
  while (first_alert < points.size() && points[first_alert][2].get<double>() < o.alert_score) {
    ++first_alert;
  }
  EXPECT_EQ(first_alert, metrics::SeriesTable::kRecentPoints - 1) << one->body;
  for (size_t i = 1; i < points.size(); ++i) {
    EXPECT_EQ(points[i][0].get<double>() - points[i - 1][0].get<double>(), 60.0) << i;
  }
  EXPECT_GE(j["alerts"].get<int>(), 1);
  auto three = c.Get("/v1/metrics/series?key=cpu%2Chost%3Da%20usage&n=3");
  EXPECT_EQ(nlohmann::json::parse(three->body)["points"].size(), 3u);
  EXPECT_EQ(c.Get("/v1/metrics/series?key=cpu%2Chost%3Dc%20usage")->status, 404);
  EXPECT_EQ(c.Get("/v1/metrics/series?key=x&n=abc")->status, 400);
  server.stop();
  t.join();
  std::filesystem::remove(o.alerts_path);
}

TEST(MetricsIngestTest, MalformedLinesCostOnlyThemselves) {
  MetricsIngestOptions o;
  o.alerts_path = "";
  auto ingest = MetricsIngest::Create(o, nullptr);
  ASSERT_TRUE(ingest.ok());
  auto r = (*ingest)->WriteLineProtocol(
      "cpu,host=a usage=1 10\ncpu,host=b usage=oops 10\nmem,host=a free=3i 10\n",
      metrics::Precision::kSeconds, 0);
  EXPECT_EQ(r.points, 2u);
  EXPECT_EQ(r.scored, 2u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 2u);
  EXPECT_EQ((*ingest)->series(), 2u);
  // String and boolean fields are not series.
  r = (*ingest)->WriteLineProtocol("log,host=a msg=\"x\",ok=t,n=2 11", metrics::Precision::kSeconds,
                                   0);
  EXPECT_EQ(r.scored, 1u);
  EXPECT_EQ((*ingest)->series(), 3u);
}

TEST(MetricsIngestTest, SeriesCapDropsNewSeriesAndCountsThem) {
  MetricsIngestOptions o;
  o.alerts_path = "";
  o.max_series = 2;
  Metrics registry;
  auto ingest = MetricsIngest::Create(o, &registry);
  ASSERT_TRUE(ingest.ok());
  auto r = (*ingest)->WriteLineProtocol("m a=1,b=2,c=3 1\nm a=1,b=2,c=3 2\n",
                                        metrics::Precision::kSeconds, 0);
  EXPECT_EQ(r.scored, 4u);
  EXPECT_EQ(r.dropped, 2u);
  EXPECT_EQ((*ingest)->overflow(), 2u);
  EXPECT_NE(registry.Render().find("vigil_metrics_series_overflow_total 2"), std::string::npos)
      << registry.Render();
}

TEST(MetricsIngestTest, PrometheusSamplesAreSeries) {
  MetricsIngestOptions o;
  o.alerts_path = "";
  auto ingest = MetricsIngest::Create(o, nullptr);
  ASSERT_TRUE(ingest.ok());
  auto r = (*ingest)->WritePrometheus(
      "# TYPE up gauge\nup{job=\"a\"} 1\nup{job=\"b\"} 1\nreqs_total 10 1700000000000\n", 5);
  EXPECT_EQ(r.scored, 3u);
  EXPECT_EQ((*ingest)->series(), 3u);
  EXPECT_FALSE(MetricsIngest::Create(
                   [] {
                     MetricsIngestOptions bad;
                     bad.scrape = {"ftp://x/metrics"};
                     return bad;
                   }(),
                   nullptr)
                   .ok());
}

}  // namespace
}  // namespace vigil
