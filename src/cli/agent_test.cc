// End-to-end tests of the `vigil-agent` binary: it loads no LibTorch, agrees with `vigil predict`,
// survives hostile input without losing anything else, serves HTTP, follows files, tracks threat
// levels, and over a real nats-server (JetStream) scores every record at least once while an agent
// is killed mid-stream.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "cli/test_util.h"

namespace {

using namespace vigil::testutil;  // NOLINT(google-build-using-namespace)

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Json = nlohmann::json;

const std::string kNslTest = kData + "/nsl-kdd/KDDTest+.txt";
const std::string kUnsw = kData + "/unsw-nb15/UNSW_NB15_dev.csv";

class AgentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (fs::temp_directory_path() / ("vigil_agent_test_" + std::to_string(getpid()))).string();
    fs::create_directories(dir_);
    if (fs::exists(kNslTest)) {
      CmdResult r =
          Sh(kBin + "/vigil train --quiet --threads 1 --epochs 1 --format nsl-kdd --train " +
             kData + "/nsl-kdd/KDDTrain+_20Percent.txt --out " + dir_ + "/nsl.vigil");
      nsl_ok_ = r.code == 0;
      log_ += r.out;
    }
    if (fs::exists(kUnsw)) {
      CmdResult r =
          Sh(kBin + "/vigil train --quiet --threads 1 --epochs 1 --format unsw-nb15 --train " +
             kUnsw + " --out " + dir_ + "/unsw.vigil");
      unsw_ok_ = r.code == 0;
      log_ += r.out;
    }
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  std::string P(const std::string& name) const { return dir_ + "/" + name; }
  void NeedNsl() {
    if (!fs::exists(kNslTest)) GTEST_SKIP() << "NSL-KDD not found under " << kData;
    ASSERT_TRUE(nsl_ok_) << log_;
  }
  void NeedUnsw() {
    if (!fs::exists(kUnsw)) GTEST_SKIP() << "UNSW-NB15 not found under " << kData;
    ASSERT_TRUE(unsw_ok_) << log_;
  }

  // `vigil predict` of a file: per row, class and score.
  std::vector<std::pair<std::string, double>> Predict(const std::string& model,
                                                      const std::string& input) {
    const std::string out = P("predict.jsonl");
    CmdResult r = Sh(kBin + "/vigil predict --threads 1 --model " + model + " --input " + input +
                     " --output " + out);
    EXPECT_EQ(r.code, 0) << r.out;
    std::vector<std::pair<std::string, double>> rows;
    for (const std::string& l : Lines(out)) {
      Json j = Json::parse(l);
      rows.emplace_back(j["class"], j["score"]);
    }
    return rows;
  }

  static std::string dir_, log_;
  static bool nsl_ok_, unsw_ok_;
};
std::string AgentTest::dir_, AgentTest::log_;
bool AgentTest::nsl_ok_ = false, AgentTest::unsw_ok_ = false;

TEST_F(AgentTest, DoesNotLinkLibTorch) {
  CmdResult r = Sh("ldd " + kBin + "/vigil-agent");
  ASSERT_EQ(r.code, 0) << r.out;
  // Library names only: ldd's load addresses are hex and can hold "c10".
  EXPECT_EQ(r.out.find("libtorch"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("libc10"), std::string::npos) << r.out;
  // The training binary does load both: the checks above can fail.
  CmdResult train = Sh("ldd " + kBin + "/vigil-train");
  EXPECT_NE(train.out.find("libtorch"), std::string::npos) << train.out;
  EXPECT_NE(train.out.find("libc10"), std::string::npos) << train.out;
}

TEST_F(AgentTest, ScoresMatchVigilPredictAtEveryBatchSize) {
  NeedNsl();
  const auto want = Predict(P("nsl.vigil"), kNslTest);
  ASSERT_GT(want.size(), 20000u);
  for (const char* batch : {"1", "256"}) {
    const std::string scores = P(std::string("scores-") + batch + ".jsonl");
    CmdResult r =
        Sh(kBin + "/vigil-agent --model " + P("nsl.vigil") + " --input " + kNslTest +
           " --batch-max " + batch + " --scores " + scores + " --alerts " + P("alerts.jsonl"));
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("ready in"), std::string::npos) << r.out;
    std::vector<std::string> lines = Lines(scores);
    ASSERT_EQ(lines.size(), want.size());
    size_t attacks = 0;
    double max_diff = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
      Json j = Json::parse(lines[i]);
      ASSERT_EQ(j["row"].get<size_t>(), i + 1);
      ASSERT_EQ(j["class"], want[i].first) << "row " << i + 1;
      max_diff = std::max(max_diff, std::abs(j["score"].get<double>() - want[i].second));
      attacks += j["attack"].get<bool>();
    }
    EXPECT_LE(max_diff, 1e-5);
    // One alert per attack, each with its reasons.
    std::vector<std::string> alerts = Lines(P("alerts.jsonl"));
    EXPECT_EQ(alerts.size(), attacks);
    Json a = Json::parse(alerts.at(0));
    for (const char* key : {"time", "input", "position", "proto", "class", "score", "threshold",
                            "model", "version", "reasons"})
      EXPECT_TRUE(a.contains(key)) << key << " missing in " << alerts[0];
    ASSERT_FALSE(a["reasons"].empty());
    EXPECT_TRUE(a["reasons"][0].contains("feature"));
    EXPECT_GT(a["reasons"][0]["contribution"].get<double>(), 0);
  }
}

// Every kind of bad record is counted, dead-lettered with its line, and costs only itself.
TEST_F(AgentTest, HostileInputIsCountedAndNothingElseIsLost) {
  NeedUnsw();
  std::ifstream src(kUnsw);
  std::string header, line;
  std::getline(src, header);
  std::vector<std::string> good;
  while (good.size() < 300 && std::getline(src, line)) good.push_back(line);
  const std::string input = P("hostile.csv");
  std::ofstream f(input, std::ios::binary);
  f << header << "\n";
  size_t bad = 0, valid = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    f << good[i] << "\n";
    ++valid;
    switch (i % 50) {
      case 3:  // truncated
        f << good[i].substr(0, good[i].size() / 2) << "\n";
        ++bad;
        break;
      case 9:  // an extra column
        f << good[i] << ",extra\n";
        ++bad;
        break;
      case 17: {  // a number field that is not a number
        std::string s = good[i];
        s.replace(s.find(',') + 1, s.find(',', s.find(',') + 1) - s.find(',') - 1, "12abc");
        f << s << "\r\n";
        ++bad;
        break;
      }
      case 23:  // binary garbage
        f << std::string("\x00\xff\xfe\x01garbage\x80", 12) << "\n";
        ++bad;
        break;
      case 31: {  // invalid UTF-8 in a categorical field: still a record to score
        std::string s = good[i];
        const size_t c1 = s.find(',', s.find(',') + 1);  // after id, dur
        s.insert(c1 + 1, "\xc3\x28");
        f << s << "\n";
        ++valid;
        break;
      }
      case 41:  // a 10 MB line
        f << std::string(10 << 20, '7') << "\n";
        ++bad;
        break;
      case 45:  // blank lines are not records
        f << "\n\n";
        break;
    }
  }
  f.close();
  const std::string scores = P("h-scores.jsonl"), dead = P("h-dead.jsonl");
  CmdResult r =
      Sh(kBin + "/vigil-agent --model " + P("unsw.vigil") + " --input " + input + " --scores " +
         scores + " --alerts " + P("h-alerts.jsonl") + " --dead-letter " + dead);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(std::to_string(bad) + " malformed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("malformed record"), std::string::npos);  // logged with its position
  std::vector<std::string> s = Lines(scores), d = Lines(dead);
  EXPECT_EQ(s.size(), valid);
  EXPECT_EQ(d.size(), bad);
  std::set<std::string> errors;
  for (const std::string& l : d) {
    Json j = Json::parse(l);  // valid JSON even for binary garbage
    EXPECT_GT(j["position"].get<int>(), 1);
    errors.insert(j["error"].get<std::string>().substr(0, 60));
    if (j["bytes"].get<size_t>() > (1u << 20)) {
      EXPECT_TRUE(j["truncated"].get<bool>());
      EXPECT_NE(j["error"].get<std::string>().find("over the"), std::string::npos);
    }
  }
  for (const std::string& l : s) EXPECT_NO_THROW(Json::parse(l)) << l;
  bool saw_field = false;
  for (const std::string& e : errors) saw_field |= e.find("field 'dur'") != std::string::npos;
  EXPECT_TRUE(saw_field) << "no error names the bad field";
}

TEST_F(AgentTest, ServesHttpAndShutsDownGracefully) {
  NeedUnsw();
  Proc agent =
      Proc::Start({kBin + "/vigil-agent", "--model", P("unsw.vigil"), "--listen", "127.0.0.1:0",
                   "--http-max-body", "1000000", "--alerts", P("http-alerts.jsonl")},
                  P("http.out"), P("http.err"));
  const int port = ListeningPort(P("http.err"));
  ASSERT_GT(port, 0) << Slurp(P("http.err"));
  httplib::Client cli("127.0.0.1", port);
  cli.set_read_timeout(30, 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = cli.Get("/readyz");
        return r && r->status == 200;
      },
      10s));
  // No LibTorch in the running process either.
  EXPECT_EQ(Slurp("/proc/" + std::to_string(agent.pid) + "/maps").find("torch"), std::string::npos);

  // Records as JSON objects keyed by column name, compared with vigil predict on the same rows.
  std::ifstream src(kUnsw);
  std::string header, line;
  std::getline(src, header);
  std::vector<std::string> names;
  for (std::stringstream ss(header); std::getline(ss, line, ',');) names.push_back(line);
  std::ofstream sub(P("sub.csv"));
  sub << header << "\n";
  Json records = Json::array();
  for (int i = 0; i < 500 && std::getline(src, line); ++i) {
    sub << line << "\n";
    Json rec;
    std::stringstream ss(line);
    std::string v;
    for (size_t k = 0; std::getline(ss, v, ','); ++k) rec[names[k]] = v;
    records.push_back(rec);
  }
  sub.close();
  const auto want = Predict(P("unsw.vigil"), P("sub.csv"));
  auto res = cli.Post("/v1/score", records.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  Json body = Json::parse(res->body);
  ASSERT_EQ(body["results"].size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(body["results"][i]["class"], want[i].first);
    EXPECT_NEAR(body["results"][i]["score"].get<double>(), want[i].second, 1e-5);
  }
  // Malformed records inside a good request: answered per record.
  res = cli.Post("/v1/score", R"([{"dur": "x"}, 17, "1,2,3"])", "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  body = Json::parse(res->body);
  ASSERT_EQ(body["results"].size(), 3u);
  for (const auto& r : body["results"]) EXPECT_TRUE(r.contains("error")) << r;
  // Malformed bodies.
  for (const char* bad : {"", "{", "[1,", "{\"a\": 1}", "\xff\xfe", "null"}) {
    res = cli.Post("/v1/score", bad, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << bad;
    EXPECT_NO_THROW(Json::parse(res->body));
  }
  res = cli.Post("/v1/score", std::string(2000000, '['), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  res = cli.Get("/v1/nope");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  res = cli.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_NE(res->body.find("vigil_agent_records_scored_total 500"), std::string::npos) << res->body;
  EXPECT_NE(res->body.find("vigil_agent_malformed_records_total 3"), std::string::npos);
  EXPECT_NE(res->body.find("vigil_agent_http_score_requests_total{result=\"bad_request\"} 6"),
            std::string::npos);
  EXPECT_NE(res->body.find("vigil_agent_batch_latency_seconds_bucket"), std::string::npos);
  EXPECT_NE(res->body.find("vigil_agent_model_info{name="), std::string::npos);
  ASSERT_TRUE(cli.Get("/healthz"));
  ASSERT_TRUE(cli.Get("/v1/model"));
  EXPECT_EQ(Json::parse(cli.Get("/v1/model")->body)["type"], "mlp");
  // Hosts by threat value: n bounds the list; a bad n is a 400 naming it.
  res = cli.Get("/v1/hosts?n=1");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_LE(Json::parse(res->body)["hosts"].size(), 1u);
  for (const char* bad : {"abc", "12abc", "-1", "99999999999999999999"}) {
    res = cli.Get(std::string("/v1/hosts?n=") + bad);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << bad;
    EXPECT_NE(res->body.find("'n'"), std::string::npos) << res->body;
  }

  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.Wait(30s), 0) << Slurp(P("http.err"));
  EXPECT_NE(Slurp(P("http.err")).find("draining"), std::string::npos);
}

TEST_F(AgentTest, FollowsAGrowingRotatedFileAndReadsStdin) {
  NeedNsl();
  std::vector<std::string> rows = Lines(kNslTest);
  rows.resize(300);
  const std::string input = P("follow.txt"), scores = P("follow-scores.jsonl");
  {
    std::ofstream f(input);
    for (int i = 0; i < 100; ++i) f << rows[i] << "\n";
  }
  Proc agent =
      Proc::Start({kBin + "/vigil-agent", "--model", P("nsl.vigil"), "--input", input, "--follow",
                   "--scores", scores, "--alerts", "", "--batch-wait-us", "100"},
                  P("follow.out"), P("follow.err"));
  ASSERT_TRUE(WaitFor([&] { return Lines(scores).size() == 100; }, 20s)) << Slurp(P("follow.err"));
  {
    std::ofstream f(input, std::ios::app);
    for (int i = 100; i < 150; ++i) f << rows[i] << "\n";
    f << rows[150].substr(0, 20);  // half a line: waits for its end
    f.flush();
    std::this_thread::sleep_for(400ms);
    f << rows[150].substr(20) << "\n";
  }
  ASSERT_TRUE(WaitFor([&] { return Lines(scores).size() == 151; }, 20s)) << Lines(scores).size();
  // Rotation: the old file moves away and a new one appears at the path.
  fs::rename(input, input + ".1");
  {
    std::ofstream f(input);
    for (int i = 200; i < 230; ++i) f << rows[i] << "\n";
  }
  ASSERT_TRUE(WaitFor([&] { return Lines(scores).size() == 181; }, 20s)) << Lines(scores).size();
  agent.Signal(SIGINT);
  EXPECT_EQ(agent.Wait(30s), 0);
  std::vector<std::string> s = Lines(scores);
  for (const std::string& l : s) EXPECT_FALSE(Json::parse(l).contains("error"));

  // stdin, with a rate limit: 40 records at 100/s take at least 0.35 s.
  {
    std::ofstream f(P("stdin.txt"));
    for (int i = 0; i < 40; ++i) f << rows[i] << "\n";
  }
  const auto t0 = std::chrono::steady_clock::now();
  CmdResult r = Sh(kBin + "/vigil-agent --model " + P("nsl.vigil") + " --input - --rate 100 " +
                   "--scores " + P("stdin-scores.jsonl") + " --alerts '' < " + P("stdin.txt"));
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(Lines(P("stdin-scores.jsonl")).size(), 40u);
  EXPECT_GE(took, 350ms);
}

TEST_F(AgentTest, ThreatLevelsRiseAndRunActions) {
  // The generated sequence set has a host (source) per record: hosts that sweep raise alerts.
  CmdResult r =
      Sh(kBin + "/vigil data synth --out " + P("seq.csv") + " --schema-out " + P("seq.toml"));
  ASSERT_EQ(r.code, 0) << r.out;
  r = Sh(kBin + "/vigil train --quiet --threads 1 --epochs 8 --format csv --schema " +
         P("seq.toml") + " --train " + P("seq.csv") + " --model lstm --lstm-hidden 16 --out " +
         P("seq.vigil"));
  ASSERT_EQ(r.code, 0) << r.out;
  std::ofstream(P("agent.toml")) << "alerts = \"" << P("seq-alerts.jsonl") << "\"\n"
                                 << "[threat]\nelevated = 1\nhigh = 2\ncritical = 50\n"
                                 << "[[actions]]\nlevel = \"high\"\ncommand = \"echo "
                                    "$VIGIL_HOST $VIGIL_LEVEL >> "
                                 << P("actions.txt") << "\"\nmin_interval_s = 0\n"
                                 << "max_per_minute = 1000\n";
  r = Sh(kBin + "/vigil-agent --config " + P("agent.toml") + " --model " + P("seq.vigil") +
         " --input " + P("seq.csv"));
  ASSERT_EQ(r.code, 0) << r.out;
  size_t alerts = 0, events = 0, to_high = 0;
  for (const std::string& l : Lines(P("seq-alerts.jsonl"))) {
    Json j = Json::parse(l);
    if (j.contains("event")) {
      ++events;
      to_high += j["level"] == "high";
      EXPECT_TRUE(j.contains("host"));
    } else {
      ++alerts;
      EXPECT_TRUE(j.contains("src")) << l;  // the record's source host
    }
  }
  ASSERT_GT(alerts, 10u);
  EXPECT_GT(events, 0u);
  ASSERT_GT(to_high, 0u);
  EXPECT_EQ(Lines(P("actions.txt")).size(), to_high);
  // A bad config is a usage error naming the line.
  std::ofstream(P("bad.toml")) << "model = 3\n";
  r = Sh(kBin + "/vigil-agent --config " + P("bad.toml") + " --input x");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("bad.toml:1: key 'model' has the wrong type"), std::string::npos) << r.out;
}

// Packets in, verdicts out: the agent runs the flow meter itself and scores the same flows that
// `vigil capture` writes, with the verdicts `vigil predict` gives them.
TEST_F(AgentTest, ScoresTheFlowsOfACapture) {
  NeedUnsw();
  const std::string pcap =
      kData + "/pcap/esnet-curated-pcaps/attacks/scanners/nmap/nmap_80_all.pcap";
  if (!fs::exists(pcap)) GTEST_SKIP() << pcap << " not found";
  CmdResult r = Sh(kBin + "/vigil capture --pcap " + pcap + " --output " + P("flows.csv"));
  ASSERT_EQ(r.code, 0) << r.out;
  const auto want = Predict(P("unsw.vigil"), P("flows.csv"));
  ASSERT_GT(want.size(), 10u);
  r = Sh(kBin + "/vigil-agent --model " + P("unsw.vigil") + " --pcap " + pcap + " --scores " +
         P("cap-scores.jsonl") + " --alerts " + P("cap-alerts.jsonl"));
  ASSERT_EQ(r.code, 0) << r.out;
  std::vector<std::string> s = Lines(P("cap-scores.jsonl"));
  ASSERT_EQ(s.size(), want.size());
  for (size_t i = 0; i < s.size(); ++i) {
    Json j = Json::parse(s[i]);
    EXPECT_EQ(j["class"], want[i].first);
    EXPECT_NEAR(j["score"].get<double>(), want[i].second, 1e-5);
  }
  size_t alerts = 0;
  for (const std::string& l : Lines(P("cap-alerts.jsonl"))) {
    Json a = Json::parse(l);
    if (a.contains("event")) continue;
    ++alerts;
    for (const char* key : {"src", "sport", "dst", "dport", "proto", "record_time"})
      EXPECT_TRUE(a.contains(key)) << key << " missing: " << l;
  }
  size_t attacks = 0;
  for (const auto& w : want) attacks += w.first != "normal";
  EXPECT_EQ(alerts, attacks);
}

// ---- NATS JetStream ----------------------------------------------------------------------------

// A port free on 127.0.0.1 (bound to 0, then released).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

class NatsServer {
 public:
  bool Start(const std::string& dir) {
    if (Sh("command -v nats-server").code != 0) return false;
    port_ = FreePort();
    proc_ = Proc::Start({"/usr/sbin/nats-server", "-js", "-a", "127.0.0.1", "-p",
                         std::to_string(port_), "-sd", dir + "/js"},
                        dir + "/nats.out", dir + "/nats.err");
    return WaitFor(
        [&] {
          natsConnection* nc = nullptr;
          if (natsConnection_ConnectTo(&nc, url().c_str()) != NATS_OK) return false;
          natsConnection_Destroy(nc);
          return true;
        },
        10s);
  }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_ = 0;
  Proc proc_;
};

TEST_F(AgentTest, NatsConsumerGroupScoresEveryRecordWhenAnAgentDies) {
  NeedUnsw();
  NatsServer server;
  if (!server.Start(dir_))
    GTEST_SKIP() << "nats-server could not start here (scripts/setup installs it)";
  natsConnection* nc = nullptr;
  ASSERT_EQ(natsConnection_ConnectTo(&nc, server.url().c_str()), NATS_OK);
  jsCtx* js = nullptr;
  ASSERT_EQ(natsConnection_JetStream(&js, nc, nullptr), NATS_OK);
  auto add_stream = [&](const char* name, std::vector<const char*> subjects) {
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = name;
    cfg.Subjects = subjects.data();
    cfg.SubjectsLen = static_cast<int>(subjects.size());
    cfg.Storage = js_FileStorage;
    jsErrCode err;
    ASSERT_EQ(js_AddStream(nullptr, js, &cfg, nullptr, &err), NATS_OK);
  };
  add_stream("FLOWS", {"flows.>"});
  add_stream("VERDICTS", {"vigil.results", "vigil.alerts"});

  // 100,000 records: the UNSW-NB15 file's rows over and over, alternately CSV lines and JSON.
  std::vector<std::string> rows = Lines(kUnsw);
  const std::string header = rows.front();
  rows.erase(rows.begin());
  std::vector<std::string> names;
  {
    std::stringstream ss(header);
    for (std::string v; std::getline(ss, v, ',');) names.push_back(v);
  }
  const size_t n = 100000;
  for (size_t i = 0; i < n; ++i) {
    const std::string& row = rows[i % rows.size()];
    std::string payload = row;
    if (i % 2 == 1) {
      Json rec;
      std::stringstream ss(row);
      std::string v;
      for (size_t k = 0; std::getline(ss, v, ','); ++k) rec[names[k]] = v;
      payload = rec.dump();
    }
    ASSERT_EQ(js_PublishAsync(js, "flows.unsw", payload.data(), static_cast<int>(payload.size()),
                              nullptr),
              NATS_OK);
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = 60000;
  ASSERT_EQ(js_PublishAsyncComplete(js, &po), NATS_OK);

  // What each record should get: vigil predict on the same file.
  const auto want = Predict(P("unsw.vigil"), kUnsw);
  ASSERT_EQ(want.size(), rows.size());

  auto start_agent = [&](const std::string& name) {
    return Proc::Start(
        {kBin + "/vigil-agent", "--model", P("unsw.vigil"), "--nats", server.url(), "--stream",
         "FLOWS", "--consumer", "scorers", "--nats-results", "vigil.results", "--nats-alerts",
         "vigil.alerts", "--ack-wait", "2", "--alerts", ""},
        P(name + ".out"), P(name + ".err"));
  };
  Proc a = start_agent("a"), b = start_agent("b");
  auto stored = [&](const char* stream) {
    jsStreamInfo* si = nullptr;
    if (js_GetStreamInfo(&si, js, stream, nullptr, nullptr) != NATS_OK) return uint64_t{0};
    uint64_t msgs = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return msgs;
  };
  // Kill one agent mid-stream, without warning.
  ASSERT_TRUE(WaitFor([&] { return stored("VERDICTS") > 20000; }, 120s))
      << Slurp(P("a.err")) << Slurp(P("b.err"));
  a.Signal(SIGKILL);
  EXPECT_EQ(a.Wait(10s), -SIGKILL);
  // The survivor finishes: nothing pending, nothing waiting for an ack.
  auto drained = [&] {
    jsConsumerInfo* ci = nullptr;
    if (js_GetConsumerInfo(&ci, js, "FLOWS", "scorers", nullptr, nullptr) != NATS_OK) return false;
    bool done = ci->NumPending == 0 && ci->NumAckPending == 0;
    jsConsumerInfo_Destroy(ci);
    return done;
  };
  ASSERT_TRUE(WaitFor(drained, 180s)) << Slurp(P("b.err"));
  b.Signal(SIGTERM);
  EXPECT_EQ(b.Wait(30s), 0) << Slurp(P("b.err"));

  // Read every verdict and alert back.
  natsSubscription* sub = nullptr;
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = "VERDICTS";
  ASSERT_EQ(js_PullSubscribe(&sub, js, ">", "reader", nullptr, &so, nullptr), NATS_OK);
  std::map<uint64_t, Json> results;
  std::set<uint64_t> alerted;
  size_t duplicates = 0, mismatches = 0;
  while (true) {
    natsMsgList list{};
    if (natsSubscription_Fetch(&list, sub, 1000, 2000, nullptr) != NATS_OK) break;
    for (int i = 0; i < list.Count; ++i) {
      natsMsg* m = list.Msgs[i];
      Json j = Json::parse(std::string(natsMsg_GetData(m), natsMsg_GetDataLength(m)));
      if (std::string(natsMsg_GetSubject(m)) == "vigil.alerts") {
        alerted.insert(j["position"].get<uint64_t>());
      } else {
        const uint64_t seq = j["seq"];
        duplicates += results.count(seq);
        results[seq] = j;
      }
      natsMsg_Ack(m, nullptr);
    }
    natsMsgList_Destroy(&list);
  }
  natsSubscription_Destroy(sub);
  // Every record scored at least once, with vigil predict's verdict; every attack alerted.
  ASSERT_EQ(results.size(), n);
  size_t attacks = 0;
  for (uint64_t seq = 1; seq <= n; ++seq) {
    const auto& w = want[(seq - 1) % want.size()];
    const Json& got = results.at(seq);
    if (got["class"] != w.first || std::abs(got["score"].get<double>() - w.second) > 1e-5)
      ++mismatches;
    if (got["attack"].get<bool>()) {
      ++attacks;
      EXPECT_TRUE(alerted.count(seq)) << "no alert for seq " << seq;
    }
  }
  EXPECT_EQ(mismatches, 0u);
  EXPECT_GT(attacks, 1000u);
  std::printf("[ nats ] %zu records scored, %zu duplicate verdicts after the kill, %zu attacks\n",
              results.size(), duplicates, attacks);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
}

}  // namespace
