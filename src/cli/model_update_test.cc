// End-to-end tests of model updates in `vigil-agent`: three agents following a registry channel
// under continuous load move to a published version and back on a rollback within 2 s, score every
// record exactly once and name the version that scored it; tampered, unsigned and stranger-signed
// bundles are refused while the previous version keeps serving; an agent restarts from its cache
// without the registry; a watched directory; a canary share with per-version reports.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bundle/bundle.h"
#include "cli/test_util.h"
#include "registry/client.h"

namespace vigil {
namespace {

using namespace vigil::testutil;  // NOLINT(google-build-using-namespace)
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr char kPub[] = "publisher-token-for-updates";
constexpr char kRead[] = "reader-token-for-updates";
const std::string kTrain = kData + "/nsl-kdd/KDDTrain+_20Percent.txt";
const std::string kTest = kData + "/nsl-kdd/KDDTest+.txt";

std::string Get(int port, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(2);
  c.set_read_timeout(5);
  auto r = c.Get(path);
  return r && r->status == 200 ? r->body : std::string();
}

// The version (first 12 hex digits of the SHA-256) an agent serves, "" if it does not answer.
std::string Serving(int port) {
  Json j = Json::parse(Get(port, "/v1/model"), nullptr, false);
  return j.is_object() ? j.value("version", "") : "";
}

// The value of a metric line that starts with `prefix` (name and labels), or 0.
double Metric(int port, const std::string& prefix) {
  std::istringstream in(Get(port, "/metrics"));
  for (std::string l; std::getline(in, l);) {
    if (l.rfind(prefix + " ", 0) == 0) return std::stod(l.substr(prefix.size() + 1));
  }
  return 0;
}

class ModelUpdateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    signal(SIGPIPE, SIG_IGN);
    dir_ = (fs::temp_directory_path() / ("vigil_update_test_" + std::to_string(getpid()))).string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    if (!fs::exists(kTrain) || !fs::exists(kTest)) return;
    // Two models of the same schema, different weights; signed copies; a stranger's signature;
    // a copy whose signature no longer matches its (re-checksummed) content.
    for (const char* seed : {"1", "2"}) {
      CmdResult r = Vigil("train --quiet --threads 1 --epochs 1 --seed " + std::string(seed) +
                          " --format nsl-kdd --train " + kTrain + " --out " +
                          P("m" + std::string(seed) + ".vigil"));
      if (r.code != 0) {
        setup_error_ = r.out;
        return;
      }
    }
    for (const std::string& cmd :
         {"keygen --out " + P("ci"), "keygen --out " + P("stranger"),
          "sign --key " + P("ci.key") + " " + P("m1.vigil") + " --out " + P("a.vigil"),
          "sign --key " + P("ci.key") + " " + P("m2.vigil") + " --out " + P("b.vigil"),
          "sign --key " + P("stranger.key") + " " + P("m2.vigil") + " --out " +
              P("b-stranger.vigil")}) {
      CmdResult r = Vigil(cmd);
      if (r.code != 0) {
        setup_error_ = cmd + ": " + r.out;
        return;
      }
    }
    auto b = ReadBundle(P("b.vigil"));
    if (!b.ok()) {
      setup_error_ = b.status().message();
      return;
    }
    b->tensors[0].data[0] += 0.5f;  // still signed by ci, but the signature no longer verifies
    if (Status s = WriteBundle(P("b-forged.vigil"), *b); !s.ok()) {
      setup_error_ = s.message();
      return;
    }
    std::ofstream(P("tokens.toml")) << "[[tokens]]\nname = \"ci\"\ntoken = \"" << kPub
                                    << "\"\nrole = \"publisher\"\n\n[[tokens]]\nname = "
                                       "\"agents\"\ntoken = \""
                                    << kRead << "\"\nrole = \"reader\"\n";
    std::ofstream(P("reader.token")) << kRead << "\n";
    for (const std::string& l : Lines(kTest)) test_lines_.push_back(l);
    ready_ = true;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  void SetUp() override {
    if (!setup_error_.empty()) FAIL() << "setup failed: " << setup_error_;
    if (!ready_) GTEST_SKIP() << "NSL-KDD not found under " << kData;
  }

  static std::string P(const std::string& name) { return dir_ + "/" + name; }
  static std::string Version(const std::string& bundle_file) {
    auto b = ReadBundle(P(bundle_file));
    return b.ok() ? b->sha256.substr(0, 12) : "";
  }
  static std::unique_ptr<RegistryClient> Client(const RegistryProc& reg) {
    RegistryClientOptions o;
    o.url = reg.url();
    o.token = kPub;
    auto c = RegistryClient::Create(o);
    return c.ok() ? std::move(*c) : nullptr;
  }
  static bool Publish(RegistryClient& c, const std::string& file, const std::string& channel) {
    auto v = c.Publish("nsl", Slurp(P(file)), channel);
    if (!v.ok()) ADD_FAILURE() << file << ": " << v.status().message();
    return v.ok();
  }
  // An agent following `feed`, with its HTTP API on an ephemeral port.
  static Proc StartAgent(const std::string& name, const std::vector<std::string>& extra,
                         const std::string& feed) {
    std::vector<std::string> argv = {
        kBin + "/vigil-agent", "--input",  feed, "--follow", "--scores",
        P(name + ".scores"),   "--alerts", "",   "--listen", "127.0.0.1:0",
        "--batch-wait-us",     "200"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return Proc::Start(argv, P(name + ".out"), P(name + ".err"));
  }

  static std::string dir_, setup_error_;
  static bool ready_;
  static std::vector<std::string> test_lines_;
};

std::string ModelUpdateTest::dir_;
std::string ModelUpdateTest::setup_error_;
bool ModelUpdateTest::ready_ = false;
std::vector<std::string> ModelUpdateTest::test_lines_;

// Appends test records to a file at a steady pace until stopped.
class Feeder {
 public:
  Feeder(std::string path, const std::vector<std::string>& lines) : path_(std::move(path)) {
    std::ofstream(path_).close();
    thread_ = std::thread([this, &lines] {
      std::ofstream out(path_, std::ios::app);
      size_t k = 0;
      while (!stop_.load()) {
        for (int i = 0; i < 20; ++i) out << lines[k++ % lines.size()] << "\n";
        out.flush();
        written_ += 20;
        std::this_thread::sleep_for(10ms);  // about 2000 records/s
      }
    });
  }
  ~Feeder() { Stop(); }
  uint64_t Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return written_.load();
  }

 private:
  std::string path_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> written_{0};
  std::thread thread_;
};

TEST_F(ModelUpdateTest, ThreeAgentsFollowPublishAndRollbackWithEveryRecordScoredOnce) {
  RegistryProc reg;
  ASSERT_TRUE(reg.Start(dir_, P("store"))) << Slurp(reg.log);
  auto client = Client(reg);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(Publish(*client, "a.vigil", "stable"));
  const std::string va = Version("a.vigil"), vb = Version("b.vigil");
  ASSERT_NE(va, vb);

  Feeder feeder(P("feed.csv"), test_lines_);
  std::vector<Proc> agents;
  std::vector<int> ports;
  for (int k = 0; k < 3; ++k) {
    const std::string name = "agent" + std::to_string(k);
    agents.push_back(
        StartAgent(name,
                   {"--registry", reg.url(), "--name", "nsl", "--token-file", P("reader.token"),
                    "--trusted-key", P("ci.pub"), "--require-signature", "--cache-dir",
                    P(name + "-cache"), "--report-interval", "0.5", "--agent-id", name},
                   P("feed.csv")));
    ports.push_back(ListeningPort(P(name + ".err")));
    ASSERT_GT(ports.back(), 0) << Slurp(P(name + ".err"));
  }
  for (int port : ports) EXPECT_EQ(Serving(port), va);
  std::this_thread::sleep_for(1s);

  // Publish B: every agent serves it within 2 s.
  auto all_serve = [&](const std::string& v) {
    return WaitFor(
        [&] {
          for (int port : ports) {
            if (Serving(port) != v) return false;
          }
          return true;
        },
        5s);
  };
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(Publish(*client, "b.vigil", "stable"));
  ASSERT_TRUE(all_serve(vb));
  const double publish_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(publish_s, 2.0);
  std::this_thread::sleep_for(1s);

  // Roll back: every agent returns to A within 2 s.
  t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(client->Rollback("nsl", "stable").ok());
  ASSERT_TRUE(all_serve(va));
  const double rollback_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(rollback_s, 2.0);
  std::printf("[ figures  ] publish -> 3 agents %.3f s, rollback -> 3 agents %.3f s\n", publish_s,
              rollback_s);

  // Refused: unsigned, signed by an untrusted key, a signature that no longer verifies.
  const std::pair<std::string, std::string> refusals[] = {
      {"m2.vigil", "unsigned"}, {"b-stranger.vigil", "unknown_key"}, {"b-forged.vigil", "invalid"}};
  for (const auto& [file, reason] : refusals) {
    ASSERT_TRUE(Publish(*client, file, "stable"));
    for (size_t k = 0; k < ports.size(); ++k) {
      const std::string metric = "vigil_agent_model_refused_total{reason=\"" + reason + "\"}";
      EXPECT_TRUE(WaitFor([&] { return Metric(ports[k], metric) >= 1; }, 5s))
          << file << " not refused by agent " << k << ": "
          << Slurp(P("agent" + std::to_string(k) + ".err"));
      EXPECT_EQ(Serving(ports[k]), va);
    }
  }
  for (size_t k = 0; k < ports.size(); ++k) {
    EXPECT_NE(Slurp(P("agent" + std::to_string(k) + ".err")).find("refused"), std::string::npos);
  }

  // Canary reports reached the registry: each agent's records under the versions it served.
  std::this_thread::sleep_for(1200ms);
  auto stats = client->Stats("nsl");
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ((*stats)["agents"].size(), 3u) << stats->dump();

  // Stop the load; every agent scores every record exactly once.
  const uint64_t written = feeder.Stop();
  for (size_t k = 0; k < agents.size(); ++k) {
    const std::string scores = P("agent" + std::to_string(k) + ".scores");
    EXPECT_TRUE(WaitFor([&] { return Lines(scores).size() >= written; }, 30s))
        << Lines(scores).size() << " of " << written;
    agents[k].Signal(SIGTERM);
    EXPECT_EQ(agents[k].Wait(30s), 0) << Slurp(P("agent" + std::to_string(k) + ".err"));
    std::vector<std::string> lines = Lines(scores);
    EXPECT_EQ(lines.size(), written) << "agent " << k;
    std::set<uint64_t> positions;
    std::vector<std::string> segments;  // the versions in scoring order, runs collapsed
    for (const std::string& l : lines) {
      Json j = Json::parse(l, nullptr, false);
      ASSERT_TRUE(j.is_object()) << l;
      positions.insert(j["position"].get<uint64_t>());
      const std::string v = j.value("version", "");
      if (segments.empty() || segments.back() != v) segments.push_back(v);
    }
    EXPECT_EQ(positions.size(), written) << "agent " << k << ": a record scored twice or lost";
    EXPECT_EQ(*positions.begin(), 1u);
    EXPECT_EQ(*positions.rbegin(), written);
    EXPECT_EQ(segments, (std::vector<std::string>{va, vb, va})) << "agent " << k;
  }

  // Without the registry, an agent starts from its cached last good bundle.
  reg.proc.Signal(SIGKILL);
  reg.proc.Wait(10s);
  std::ofstream(P("few.csv")) << test_lines_[0] << "\n" << test_lines_[1] << "\n";
  CmdResult r = Sh(kBin + "/vigil-agent --registry " + reg.url() + " --name nsl --token-file " +
                   P("reader.token") + " --trusted-key " + P("ci.pub") +
                   " --require-signature --cache-dir " + P("agent0-cache") + " --input " +
                   P("few.csv") + " --scores " + P("cached.scores") + " --alerts ''");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("serving the cached bundle"), std::string::npos) << r.out;
  std::vector<std::string> cached = Lines(P("cached.scores"));
  ASSERT_EQ(cached.size(), 2u);
  EXPECT_EQ(Json::parse(cached[0]).value("version", ""), va);
  // ...and without registry or cache it says so and fails.
  r = Sh(kBin + "/vigil-agent --registry " + reg.url() + " --name nsl --cache-dir " +
         P("empty-cache") + " --input " + P("few.csv"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("no usable cached bundle"), std::string::npos) << r.out;
}

TEST_F(ModelUpdateTest, WatchedDirectorySwapsInNewBundlesAndRefusesDamagedOnes) {
  const std::string d = P("models");
  fs::create_directories(d);
  fs::copy_file(P("a.vigil"), d + "/a.vigil", fs::copy_options::overwrite_existing);
  Feeder feeder(P("dir-feed.csv"), test_lines_);
  Proc agent = StartAgent("dir-agent",
                          {"--model-dir", d, "--trusted-key", P("ci.pub"), "--require-signature"},
                          P("dir-feed.csv"));
  const int port = ListeningPort(P("dir-agent.err"));
  ASSERT_GT(port, 0) << Slurp(P("dir-agent.err"));
  EXPECT_EQ(Serving(port), Version("a.vigil"));
  std::this_thread::sleep_for(1100ms);  // a newer mtime than a.vigil's
  // Written as a temporary name and renamed, as a deploy tool would.
  fs::copy_file(P("b.vigil"), d + "/b.tmp");
  fs::rename(d + "/b.tmp", d + "/b.vigil");
  EXPECT_TRUE(WaitFor([&] { return Serving(port) == Version("b.vigil"); }, 6s))
      << Slurp(P("dir-agent.err"));
  // A flipped byte: refused as corrupt, B keeps serving.
  std::this_thread::sleep_for(1100ms);
  std::string flipped = Slurp(P("a.vigil"));
  flipped[flipped.size() / 2] ^= 0x01;
  std::ofstream(d + "/c.vigil", std::ios::binary) << flipped;
  EXPECT_TRUE(WaitFor(
      [&] { return Metric(port, "vigil_agent_model_refused_total{reason=\"corrupt\"}") >= 1; }, 6s))
      << Slurp(P("dir-agent.err"));
  EXPECT_EQ(Serving(port), Version("b.vigil"));
  const uint64_t written = feeder.Stop();
  EXPECT_TRUE(WaitFor([&] { return Lines(P("dir-agent.scores")).size() >= written; }, 30s));
  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.Wait(30s), 0);
  EXPECT_EQ(Lines(P("dir-agent.scores")).size(), written);
}

TEST_F(ModelUpdateTest, CanaryScoresItsShareAndTheRegistryReportsBothVersions) {
  RegistryProc reg;
  ASSERT_TRUE(reg.Start(dir_, P("canary-store"))) << Slurp(reg.log);
  auto client = Client(reg);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(Publish(*client, "a.vigil", "stable"));
  ASSERT_TRUE(Publish(*client, "b.vigil", "canary"));
  std::ofstream(P("canary-feed.csv")).close();
  Proc agent = StartAgent(
      "canary-agent",
      {"--registry", reg.url(), "--name", "nsl", "--token-file", P("reader.token"),
       "--canary-share", "0.25", "--cache-dir", P("canary-cache"), "--report-interval", "0.3"},
      P("canary-feed.csv"));
  const int port = ListeningPort(P("canary-agent.err"));
  ASSERT_GT(port, 0) << Slurp(P("canary-agent.err"));
  ASSERT_TRUE(WaitFor(
      [&] {
        Json j = Json::parse(Get(port, "/v1/model"), nullptr, false);
        return j.is_object() && j.contains("canary");
      },
      5s))
      << Get(port, "/v1/model") << Slurp(P("canary-agent.err"));
  {
    std::ofstream out(P("canary-feed.csv"), std::ios::app);
    for (size_t i = 0; i < 1000; ++i) out << test_lines_[i] << "\n";
  }
  ASSERT_TRUE(WaitFor([&] { return Lines(P("canary-agent.scores")).size() >= 1000; }, 30s));
  std::map<std::string, int> by_version;
  for (const std::string& l : Lines(P("canary-agent.scores")))
    ++by_version[Json::parse(l)["version"]];
  EXPECT_EQ(by_version[Version("a.vigil")], 750);
  EXPECT_EQ(by_version[Version("b.vigil")], 250);

  // The registry's per-version figures add up to what the agent scored.
  EXPECT_TRUE(WaitFor(
      [&] {
        auto st = client->Stats("nsl");
        if (!st.ok()) return false;
        int64_t total = 0;
        for (const Json& v : (*st)["versions"]) total += v.value("records", int64_t{0});
        return total == 1000;
      },
      5s));
  auto st = client->Stats("nsl");
  ASSERT_TRUE(st.ok());
  for (const Json& v : (*st)["versions"]) {
    const std::string sha = v.value("sha256", "");
    const int64_t records = v.value("records", int64_t{0});
    int64_t hist = 0;
    for (const Json& c : v["histogram"]) hist += c.get<int64_t>();
    EXPECT_EQ(hist, records);
    if (sha.rfind(Version("a.vigil"), 0) == 0) EXPECT_EQ(records, 750);
    if (sha.rfind(Version("b.vigil"), 0) == 0) {
      EXPECT_EQ(records, 250);
      EXPECT_EQ(v["channels"], Json::array({"canary"}));
    }
  }
  CmdResult r =
      Vigil("registry stats --registry " + reg.url() + " --token " + kRead + " --name nsl");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("canary"), std::string::npos) << r.out;
  // A report must name real versions and counts.
  httplib::Client h("127.0.0.1", reg.port);
  httplib::Headers auth = {{"Authorization", std::string("Bearer ") + kRead}};
  auto bad = h.Post("/v1/models/nsl/reports", auth, R"({"agent":"x","versions":[{"sha256":"00"}]})",
                    "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400) << bad->body;
  auto anon =
      h.Post("/v1/models/nsl/reports", R"({"agent":"x","versions":[]})", "application/json");
  ASSERT_TRUE(anon);
  EXPECT_EQ(anon->status, 401);
  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.Wait(30s), 0);
}

}  // namespace
}  // namespace vigil
