// vigil-agent with metrics: line protocol over HTTP (POST /write) and UDP into the detectors,
// an alert for an injected spike, a 400 naming the malformed line, and no model needed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <sstream>

#include "cli/test_util.h"

namespace {

using namespace vigil::testutil;  // NOLINT(google-build-using-namespace)
namespace fs = std::filesystem;

const std::string kAgent = kBin + "/vigil-agent";

// `n` points of "<measurement>,host=<host> <field>=..." starting at row `from`, one minute apart.
std::string Points(const std::string& series_prefix, int from, int n, std::mt19937* rng,
                   const char* precision_suffix = "") {
  std::normal_distribution<double> noise(0.0, 1.0);
  std::ostringstream s;
  for (int i = from; i < from + n; ++i) {
    s << series_prefix << "=" << 50 + noise(*rng) << " " << 1700000000 + i * 60 << precision_suffix
      << "\n";
  }
  return s.str();
}

int UdpPort(const std::string& err_path) {
  int port = -1;
  WaitFor(
      [&] {
        std::smatch m;
        const std::string err = Slurp(err_path);
        if (std::regex_search(err, m, std::regex("metrics udp on port ([0-9]+)"))) {
          port = std::stoi(m[1]);
          return true;
        }
        return false;
      },
      std::chrono::seconds(10));
  return port;
}

void SendUdp(int port, const std::string& payload) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  close(fd);
}

bool HasAlertFor(const std::string& path, const std::string& series, double value) {
  for (const auto& line : Lines(path)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("series", "") == series && j.value("value", 0.0) == value) {
      return true;
    }
  }
  return false;
}

TEST(MetricsAgentTest, LineProtocolOverHttpAndUdpRaisesSpikeAlerts) {
  if (!fs::exists(kAgent)) GTEST_SKIP() << "vigil-agent not built";
  const fs::path dir =
      fs::temp_directory_path() / ("vigil_metrics_agent_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string alerts = (dir / "alerts.jsonl").string();
  Proc agent = Proc::Start(
      {kAgent, "--listen", "127.0.0.1:0", "--metrics-udp", "127.0.0.1:0", "--alerts", alerts},
      (dir / "out").string(), (dir / "err").string());
  const int port = ListeningPort((dir / "err").string());
  ASSERT_GT(port, 0) << Slurp((dir / "err").string());
  const int udp = UdpPort((dir / "err").string());
  ASSERT_GT(udp, 0) << Slurp((dir / "err").string());

  httplib::Client http("127.0.0.1", port);
  auto ping = http.Get("/ping");
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->status, 204);
  // HTTP: 400 normal points in four batches (precision s), then a spike.
  std::mt19937 rng(11);
  for (int b = 0; b < 4; ++b) {
    auto res = http.Post("/write?db=telegraf&precision=s",
                         Points("cpu,host=web1 usage_user", b * 100, 100, &rng), "text/plain");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 204) << res->body;
  }
  auto spike = http.Post("/write?db=telegraf&precision=s",
                         "cpu,host=web1 usage_user=99 " + std::to_string(1700000000 + 400 * 60),
                         "text/plain");
  ASSERT_TRUE(spike);
  EXPECT_EQ(spike->status, 204);
  EXPECT_TRUE(WaitFor([&] { return HasAlertFor(alerts, "cpu,host=web1 usage_user", 99); },
                      std::chrono::seconds(5)))
      << Slurp(alerts);
  // A malformed line: 400 naming it; the good line of the same batch still lands.
  auto bad = http.Post("/write?precision=s",
                       "cpu,host=web2 usage_user=1 1700000000\ncpu,host=web2 usage_user=x "
                       "1700000060\n",
                       "text/plain");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("line 2, column"), std::string::npos) << bad->body;
  auto bad_precision = http.Post("/write?precision=days", "cpu v=1", "text/plain");
  ASSERT_TRUE(bad_precision);
  EXPECT_EQ(bad_precision->status, 400);
  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("vigil_metrics_series 2"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("vigil_metrics_malformed_lines_total 1"), std::string::npos);
  // Telegraf's default gzip bodies.
  httplib::Client gzip_client("127.0.0.1", port);
  gzip_client.set_compress(true);
  auto zipped =
      gzip_client.Post("/write?precision=s", "disk,host=web1 used=5 1700000000\n", "text/plain");
  ASSERT_TRUE(zipped);
  EXPECT_EQ(zipped->status, 204) << zipped->body;

  // UDP: nanosecond timestamps, 100 lines a datagram, then a spike.
  for (int b = 0; b < 4; ++b) {
    SendUdp(udp, Points("mem,host=db1 used_percent", b * 100, 100, &rng, "000000000"));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  SendUdp(udp,
          "mem,host=db1 used_percent=3 " + std::to_string(1700000000LL + 400 * 60) + "000000000\n");
  EXPECT_TRUE(WaitFor([&] { return HasAlertFor(alerts, "mem,host=db1 used_percent", 3); },
                      std::chrono::seconds(5)))
      << Slurp(alerts);
  // Every alert names the series, the value, the expected range and the score.
  for (const auto& line : Lines(alerts)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_TRUE(j.contains("series") && j.contains("value") && j.contains("score") &&
                j["expected"].contains("low") && j["expected"].contains("high"))
        << line;
  }
  // The same alerts in the agent's feed (GET /v1/alerts, which the console follows).
  auto feed = http.Get("/v1/alerts?after=0&n=1000");
  ASSERT_TRUE(feed);
  auto page = nlohmann::json::parse(feed->body);
  EXPECT_EQ(page["alerts"].size(), Lines(alerts).size()) << feed->body;
  ASSERT_FALSE(page["alerts"].empty());
  EXPECT_EQ(page["alerts"][0]["type"], "metric");
  EXPECT_EQ(page["next"], Lines(alerts).size());
  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.Wait(std::chrono::seconds(10)), 0) << Slurp((dir / "err").string());
  fs::remove_all(dir);
}

TEST(MetricsAgentTest, ScrapesAPrometheusEndpoint) {
  if (!fs::exists(kAgent)) GTEST_SKIP() << "vigil-agent not built";
  // A tiny exporter: a gauge that is flat, then jumps.
  httplib::Server exporter;
  std::atomic<int> scrapes{0};
  exporter.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    const int n = scrapes++;
    std::ostringstream s;
    s << "# TYPE queue_depth gauge\nqueue_depth{queue=\"jobs\"} " << (n < 200 ? 10 + n % 3 : 500)
      << "\n";
    res.set_content(s.str(), "text/plain; version=0.0.4");
  });
  const int port = exporter.bind_to_any_port("127.0.0.1");
  std::thread serve([&] { exporter.listen_after_bind(); });
  const fs::path dir =
      fs::temp_directory_path() / ("vigil_metrics_scrape_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string alerts = (dir / "alerts.jsonl").string();
  Proc agent =
      Proc::Start({kAgent, "--scrape", "http://127.0.0.1:" + std::to_string(port) + "/metrics",
                   "--scrape-interval", "0.005", "--alerts", alerts},
                  (dir / "out").string(), (dir / "err").string());
  EXPECT_TRUE(WaitFor([&] { return HasAlertFor(alerts, "queue_depth,queue=jobs value", 500); },
                      std::chrono::seconds(20)))
      << "scrapes: " << scrapes << "\n"
      << Slurp((dir / "err").string()) << Slurp(alerts);
  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.Wait(std::chrono::seconds(10)), 0);
  exporter.stop();
  serve.join();
  fs::remove_all(dir);
}

}  // namespace
