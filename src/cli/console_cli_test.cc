// `vigil console` end to end with the real binaries: a training run started through the API
// (vigil-train on NSL-KDD) whose history grows and whose bundle is evaluated by itself (curves,
// histogram); a run stopped; the registry's models promoted and rolled back through the console
// with the user's own token (a reader may not); and an agent's alerts reaching the event stream
// within a second of the records being written. The browser tests (web/tests/) drive the same
// server through the pages.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "cli/test_util.h"

namespace vigil {
namespace {

using namespace vigil::testutil;  // NOLINT(google-build-using-namespace)
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr char kPassword[] = "console-test-password";
constexpr char kPub[] = "publisher-token-for-console";
constexpr char kRead[] = "reader-token-for-console";

class ConsoleCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kData + "/nsl-kdd/KDDTrain+.txt")) {
      GTEST_SKIP() << "NSL-KDD not found under " << kData;
    }
    dir_ = fs::temp_directory_path().string() + "/vigil-console-cli-" + std::to_string(getpid()) +
           "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(P("password")) << kPassword << "\n";
    std::ofstream(P("tokens.toml")) << "[[tokens]]\nname = \"ci\"\ntoken = \"" << kPub
                                    << "\"\nrole = \"publisher\"\n\n[[tokens]]\nname = "
                                       "\"viewer\"\ntoken = \""
                                    << kRead << "\"\nrole = \"reader\"\n";
  }
  void TearDown() override {
    console_ = Proc();
    if (!dir_.empty() && !HasFailure()) fs::remove_all(dir_);
  }
  std::string P(const std::string& name) const { return dir_ + "/" + name; }

  // Starts the console with extra flags; returns its port.
  int StartConsole(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {
        kVigil,    "console", "--listen", "127.0.0.1:0",     "--runs-dir",
        P("runs"), "--data",  kData,      "--password-file", P("password")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    // A log of its own per start: the next start must not read the last one's port.
    const std::string err = P("console" + std::to_string(++starts_) + ".err");
    console_ = Proc::Start(argv, P("console.out"), err);
    port_ = ListeningPort(err);
    return port_;
  }
  httplib::Client Client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(30, 0);
    return c;
  }
  Json GetJson(const std::string& path) const {
    auto r = Client().Get(path, {{"Authorization", std::string("Bearer ") + kPassword}});
    if (!r) return Json();
    Json j = Json::parse(r->body, nullptr, false);
    return j.is_discarded() ? Json() : j;
  }
  // Polls GET `path` (a run or an evaluation) until its status is no longer "running"; the last
  // answer (its status still "running" after `timeout`).
  Json WaitUntilEnded(const std::string& path, std::chrono::seconds timeout) const {
    Json j;
    WaitFor(
        [&] {
          j = GetJson(path);
          return j.is_object() && j["status"] != "running";
        },
        timeout);
    return j;
  }
  httplib::Result PostJson(const std::string& path, const Json& body,
                           const std::string& secret = kPassword) const {
    return Client().Post(path, {{"Authorization", "Bearer " + secret}}, body.dump(),
                         "application/json");
  }

  std::string dir_;
  Proc console_;
  int port_ = -1;
  int starts_ = 0;
};

TEST_F(ConsoleCliTest, TrainingRunGrowsFinishesAndIsEvaluated) {
  ASSERT_GT(StartConsole(), 0) << Slurp(P("console" + std::to_string(starts_) + ".err"));
  Json ds = GetJson("/api/datasets");
  ASSERT_EQ(ds["datasets"][0]["id"], "nsl-kdd") << ds.dump();

  // The event stream carries each epoch as it ends, in order, then the end of the run. The
  // stream is opened before the run starts, so nothing can be missed.
  std::string id;
  std::atomic<bool> connected{false};
  std::vector<int> epochs;
  std::thread reader([&] {
    std::string stream;
    httplib::Client sc("127.0.0.1", port_);
    sc.set_read_timeout(180, 0);
    sc.Get("/api/events", {{"Authorization", std::string("Bearer ") + kPassword}},
           [&](const char* data, size_t n) {
             stream.append(data, n);
             connected = true;
             for (size_t at; (at = stream.find("\n\n")) != std::string::npos;
                  stream.erase(0, at + 2)) {
               const std::string ev = stream.substr(0, at);
               if (ev.rfind("event: run\ndata: ", 0) != 0) continue;
               Json e = Json::parse(ev.substr(17), nullptr, false);
               if (e["row"].is_object()) epochs.push_back(e["row"]["epoch"].get<int>());
               if (e["status"] != "running") return false;
             }
             return true;
           });
  });
  ASSERT_TRUE(WaitFor([&] { return connected.load(); }, 10s));
  auto r = PostJson("/api/runs", {{"dataset", "nsl-kdd"},
                                  {"model", "mlp"},
                                  {"epochs", 4},
                                  {"max_rows", 20000},
                                  {"hidden", {32, 16}}});
  ASSERT_TRUE(r);
  if (r->status != 201) reader.detach();
  ASSERT_EQ(r->status, 201) << r->body;
  id = Json::parse(r->body)["id"];
  reader.join();
  EXPECT_EQ(epochs, (std::vector<int>{1, 2, 3, 4}));
  Json run = GetJson("/api/runs/" + id);
  EXPECT_EQ(run["status"], "done") << run["log_tail"];
  ASSERT_EQ(run["history"].size(), 4u);
  for (const Json& row : run["history"]) {
    EXPECT_GT(row["train_loss"].get<double>(), 0);
    EXPECT_GT(row["valid_loss"].get<double>(), 0);
    EXPECT_GE(row["elapsed_s"].get<double>(), 0);
  }
  EXPECT_TRUE(fs::exists(run["bundle"].get<std::string>()));
  EXPECT_NE(Slurp(P("runs/" + id + "/job.json")).find("--max-rows 20000"), std::string::npos);

  // Its evaluation on KDDTest+ starts by itself.
  ASSERT_TRUE(run["evaluation"].is_string()) << run.dump();
  const std::string eid = run["evaluation"];
  Json ev = WaitUntilEnded("/api/evaluations/" + eid, 120s);
  ASSERT_EQ(ev["status"], "done") << ev.dump();
  const Json& rep = ev["report"];
  EXPECT_EQ(rep["rows"], 22544);
  EXPECT_GT(rep["roc_auc"].get<double>(), 0.8);
  EXPECT_EQ(rep["confusion"]["classes"].size(), 2u);
  EXPECT_GT(rep["roc_curve"]["fpr"].size(), 10u);
  EXPECT_LE(rep["roc_curve"]["fpr"].size(), 256u);
  EXPECT_EQ(rep["score_histogram"]["normal"].size(), 40u);
  EXPECT_EQ(ev["test"], "KDDTest+");

  // The console lists it after a restart.
  console_.Signal(SIGTERM);
  EXPECT_EQ(console_.Wait(20s), 0);
  ASSERT_GT(StartConsole(), 0);
  Json runs = GetJson("/api/runs");
  ASSERT_EQ(runs["runs"].size(), 1u);
  EXPECT_EQ(runs["runs"][0]["status"], "done");
  EXPECT_EQ(runs["runs"][0]["epochs_done"], 4);
}

TEST_F(ConsoleCliTest, RunIsStoppedAndBadConfigRefused) {
  ASSERT_GT(StartConsole(), 0) << Slurp(P("console" + std::to_string(starts_) + ".err"));
  auto r = PostJson("/api/runs", {{"dataset", "nsl-kdd"},
                                  {"config_toml", "model = \"autoencoder\"\nepochs = 500\n"},
                                  {"max_rows", 20000}});
  ASSERT_EQ(r->status, 201) << r->body;
  const std::string id = Json::parse(r->body)["id"];
  ASSERT_TRUE(WaitFor([&] { return GetJson("/api/runs/" + id)["history"].size() >= 1; }, 120s));
  const auto t0 = std::chrono::steady_clock::now();
  r = PostJson("/api/runs/" + id + "/stop", Json::object());
  ASSERT_EQ(r->status, 200) << r->body;
  Json run = WaitUntilEnded("/api/runs/" + id, 20s);
  EXPECT_EQ(run["status"], "stopped");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 6s);
  EXPECT_EQ(run["model"], "mlp");  // the form's default; the TOML chose the autoencoder
  EXPECT_NE(run["command"].get<std::string>().find("--config"), std::string::npos);
  EXPECT_NE(Slurp(P("runs/" + id + "/train.log")).find("autoencoder"), std::string::npos);
  // The trainer refuses what the console cannot check (an unknown model in the TOML): failed,
  // with the trainer's message.
  r = PostJson("/api/runs", {{"dataset", "nsl-kdd"}, {"config_toml", "model = \"nope\"\n"}});
  ASSERT_EQ(r->status, 201);
  const std::string bad = Json::parse(r->body)["id"];
  run = WaitUntilEnded("/api/runs/" + bad, 60s);
  EXPECT_EQ(run["status"], "failed");
  EXPECT_NE(run["error"].get<std::string>().find("nope"), std::string::npos) << run.dump();
}

TEST_F(ConsoleCliTest, ModelsPromotedAndAgentAlertsStreamed) {
  // Two bundles, published as versions 1 and 2 of "nsl".
  for (const char* seed : {"1", "2"}) {
    CmdResult t = Sh(kBin + "/vigil-train train --quiet --epochs 1 --max-rows 20000 --seed " +
                     std::string(seed) + " --format nsl-kdd --train " + kData +
                     "/nsl-kdd/KDDTrain+.txt --out " + P(std::string("m") + seed + ".vigil"));
    ASSERT_EQ(t.code, 0) << t.out;
  }
  RegistryProc reg;
  ASSERT_TRUE(reg.Start(dir_, P("store"))) << Slurp(reg.log);
  for (const char* seed : {"1", "2"}) {
    CmdResult p = Sh("VIGIL_REGISTRY_TOKEN=" + std::string(kPub) + " " + kVigil +
                     " publish --registry " + reg.url() + " --model " +
                     P(std::string("m") + seed + ".vigil") + " --name nsl --channel stable");
    ASSERT_EQ(p.code, 0) << p.out;
  }

  // An agent following a file, with its HTTP API.
  std::ofstream(P("flows.txt")).flush();
  Proc agent =
      Proc::Start({kBin + "/vigil-agent", "--model", P("m1.vigil"), "--input", P("flows.txt"),
                   "--follow", "--listen", "127.0.0.1:0", "--alerts", P("alerts.jsonl")},
                  P("agent.out"), P("agent.err"));
  const int agent_port = ListeningPort(P("agent.err"));
  ASSERT_GT(agent_port, 0) << Slurp(P("agent.err"));
  const std::string agent_url = "http://127.0.0.1:" + std::to_string(agent_port);
  // The console reads the registry with a reader token; users act with their own.
  std::ofstream(P("reader.token")) << kRead << "\n";
  ASSERT_GT(StartConsole({"--registry", reg.url(), "--registry-token-file", P("reader.token"),
                          "--agent", agent_url}),
            0)
      << Slurp(P("console" + std::to_string(starts_) + ".err"));

  // Models: the user's token decides. A reader sees but may not promote.
  Json model = GetJson("/api/models/nsl");
  ASSERT_EQ(model["versions"].size(), 2u) << model.dump();
  EXPECT_EQ(model["channels"]["stable"]["number"], 2) << model.dump();
  auto r = PostJson("/api/models/nsl/channels/stable", {{"version", 1}}, kRead);
  EXPECT_EQ(r->status, 403) << r->body;  // refused by the console: a reader
  r = PostJson("/api/models/nsl/channels/stable", {{"version", 1}});
  EXPECT_EQ(r->status, 403) << r->body;  // refused by the registry: the console's reader token
  r = PostJson("/api/models/nsl/channels/stable", {{"version", 1}}, kPub);
  ASSERT_EQ(r->status, 200) << r->body;
  httplib::Client rc("127.0.0.1", reg.port);
  auto ch =
      rc.Get("/v1/models/nsl/channels/stable", {{"Authorization", std::string("Bearer ") + kRead}});
  ASSERT_TRUE(ch);
  EXPECT_EQ(Json::parse(ch->body)["number"], 1) << ch->body;
  r = PostJson("/api/models/nsl/channels/stable/rollback", Json::object(), kPub);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Json::parse(r->body)["number"], 2) << r->body;
  // A registry version can be evaluated too.
  r = PostJson("/api/evaluations",
               {{"bundle", "registry:nsl:1"}, {"dataset", "nsl-kdd"}, {"test", "KDDTest-21"}});
  ASSERT_EQ(r->status, 202) << r->body;
  const std::string eid = Json::parse(r->body)["id"];

  // Live: records appended to the agent's file reach the event stream as alerts.
  std::mutex mu;
  std::string stream;
  std::vector<std::chrono::steady_clock::time_point> alert_at;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    c.Get("/api/events", {{"Authorization", std::string("Bearer ") + kPassword}},
          [&](const char* data, size_t n) {
            std::lock_guard<std::mutex> lock(mu);
            stream.append(data, n);
            size_t at = 0;
            while ((at = stream.find("event: alert\n", at)) != std::string::npos) {
              alert_at.push_back(std::chrono::steady_clock::now());
              stream.erase(0, at + 13);
              at = 0;
            }
            return !done.load();
          });
  });
  std::this_thread::sleep_for(500ms);
  // Attack records of KDDTest+ (the last field but one names the class).
  std::vector<std::string> attacks;
  for (const std::string& l : Lines(kData + "/nsl-kdd/KDDTest+.txt")) {
    if (l.find(",neptune,") != std::string::npos) attacks.push_back(l);
    if (attacks.size() == 50) break;
  }
  std::vector<double> latency_s;
  for (int burst = 0; burst < 5; ++burst) {
    size_t before;
    {
      std::lock_guard<std::mutex> lock(mu);
      before = alert_at.size();
    }
    const auto t0 = std::chrono::steady_clock::now();
    {
      std::ofstream out(P("flows.txt"), std::ios::app);
      for (int k = 0; k < 10; ++k) out << attacks[static_cast<size_t>(burst * 10 + k)] << "\n";
    }
    ASSERT_TRUE(WaitFor(
        [&] {
          std::lock_guard<std::mutex> lock(mu);
          return alert_at.size() > before;
        },
        10s))
        << "no alert reached the event stream; agent: " << Slurp(P("agent.err"));
    {
      std::lock_guard<std::mutex> lock(mu);
      latency_s.push_back(std::chrono::duration<double>(alert_at[before] - t0).count());
    }
    std::this_thread::sleep_for(300ms);
  }
  done = true;
  std::sort(latency_s.begin(), latency_s.end());
  std::printf(
      "[ figures  ] record written -> alert in the console's event stream: median %.3f s, "
      "max %.3f s\n",
      latency_s[2], latency_s[4]);
  EXPECT_LT(latency_s[2], 1.0);
  // Kick the stream so the reader thread sees `done`.
  PostJson("/api/models/nsl/channels/stable", {{"version", 2}}, kPub);
  {
    std::ofstream out(P("flows.txt"), std::ios::app);
    out << attacks[0] << "\n";
  }
  reader.join();

  Json alerts = GetJson("/api/alerts?n=1000");
  ASSERT_GE(alerts["alerts"].size(), 40u);
  const Json& a = alerts["alerts"][0];
  EXPECT_EQ(a["agent"], agent_url);
  EXPECT_TRUE(a.contains("reasons"));
  EXPECT_EQ(a["class"], "attack");
  Json agents;
  EXPECT_TRUE(WaitFor(
      [&] {
        agents = GetJson("/api/agents");
        return agents["agents"].size() == 1 && agents["agents"][0]["records"].get<int>() >= 51;
      },
      5s))
      << agents.dump();
  ASSERT_EQ(agents["agents"].size(), 1u);
  const Json& ag = agents["agents"][0];
  EXPECT_TRUE(ag["up"].get<bool>()) << ag.dump();
  EXPECT_GE(ag["records"].get<int>(), 50);
  EXPECT_GE(ag["mix"]["proto"]["tcp"].get<int>(), 50) << ag.dump();
  EXPECT_GE(ag["mix"]["service"]["private"].get<int>(), 1) << ag.dump();
  EXPECT_EQ(ag["model"]["version"], Json::parse(Lines(P("alerts.jsonl")).at(0))["version"]);

  // A metric series that alerted on the agent is charted through the console: 300 quiet points
  // of line protocol to the agent's /write, then a spike.
  {
    std::string body;
    std::mt19937 rng(11);
    std::normal_distribution<double> noise(0.0, 1.0);
    for (int i = 0; i < 300; ++i) {
      body += "cpu,host=web1 usage=" + std::to_string(50 + noise(rng)) + " " +
              std::to_string(1700000000 + i * 60) + "\n";
    }
    body += "cpu,host=web1 usage=99 " + std::to_string(1700000000 + 300 * 60) + "\n";
    httplib::Client agent_client("127.0.0.1", agent_port);
    auto w = agent_client.Post("/write?precision=s", body, "text/plain");
    ASSERT_TRUE(w);
    ASSERT_EQ(w->status, 204) << w->body;
    const std::string q = "/api/series?agent=" + httplib::detail::encode_query_param(agent_url);
    Json listed = GetJson(q);
    ASSERT_TRUE(listed.contains("series")) << listed.dump();
    bool found = false;
    for (const Json& e : listed["series"]) found = found || e["series"] == "cpu,host=web1 usage";
    EXPECT_TRUE(found) << listed.dump();
    Json one = GetJson(q + "&key=" + httplib::detail::encode_query_param("cpu,host=web1 usage") + "&n=5");
    ASSERT_TRUE(one.contains("points")) << one.dump();
    ASSERT_GE(one["points"].size(), 1u);
    const Json& last = one["points"].back();
    EXPECT_EQ(last[1].get<double>(), 99.0);
    EXPECT_GE(last[2].get<double>(), 0.53) << "the spike's score";
    auto other = Client().Get("/api/series?agent=http%3A%2F%2F10.0.0.1%3A80",
                              {{"Authorization", std::string("Bearer ") + kPassword}});
    ASSERT_TRUE(other);
    EXPECT_EQ(other->status, 400) << "the console forwards only to its own agents";
  }

  Json ev = WaitUntilEnded("/api/evaluations/" + eid, 120s);
  EXPECT_EQ(ev["status"], "done") << ev.dump();
  EXPECT_EQ(ev["report"]["rows"], 11850);
}

}  // namespace
}  // namespace vigil
