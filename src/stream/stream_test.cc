// Unit tests of the agent's building blocks: the record queue, the threat tracker, the config file.
// The agent end to end (files, HTTP, NATS, hostile input) is tested through the binary in
// src/cli/agent_test.cc.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "core/file.h"
#include "stream/config.h"
#include "stream/queue.h"
#include "stream/threat.h"

namespace vigil {
namespace {

using namespace std::chrono_literals;

TEST(RecordQueue, BatchesUpToMaxAndWaitsAtMostTheBatchWait) {
  RecordQueue<int> q(100, 1 << 20);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(q.Push(int{i}, 1));
  auto b = q.PopBatch(4, 0us, 10ms);
  EXPECT_EQ(b, (std::vector<int>{0, 1, 2, 3}));
  b = q.PopBatch(100, 0us, 10ms);  // no waiting for more once the queue is empty
  EXPECT_EQ(b.size(), 6u);
  // A lone record waits for company at most the batch wait.
  ASSERT_TRUE(q.Push(7, 1));
  const auto t0 = std::chrono::steady_clock::now();
  b = q.PopBatch(100, 20000us, 10ms);
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(b, (std::vector<int>{7}));
  EXPECT_GE(waited, 15ms);
  EXPECT_LT(waited, 1s);
  // Nothing queued: an idle timeout returns empty.
  EXPECT_TRUE(q.PopBatch(10, 0us, 5ms).empty());
}

TEST(RecordQueue, PushBlocksWhenFullAndCloseDrains) {
  RecordQueue<int> q(2, 1 << 20);
  ASSERT_TRUE(q.Push(1, 1));
  ASSERT_TRUE(q.Push(2, 1));
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    EXPECT_TRUE(q.Push(3, 1));  // blocks: backpressure
    pushed = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(pushed.load());
  EXPECT_EQ(q.PopBatch(1, 0us, 10ms), std::vector<int>{1});
  producer.join();
  EXPECT_TRUE(pushed.load());
  q.Close();
  EXPECT_FALSE(q.Push(4, 1));  // refused after close, not lost silently
  EXPECT_EQ(q.PopBatch(10, 1000us, 10ms), (std::vector<int>{2, 3}));  // drained
  EXPECT_TRUE(q.PopBatch(10, 1000us, 10ms).empty());
}

TEST(RecordQueue, ByteBoundAppliesButAnOversizedRecordStillPasses) {
  RecordQueue<int> q(100, 10);
  ASSERT_TRUE(q.Push(1, 50));  // alone in the queue: accepted
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    q.Push(2, 5);
    pushed = true;
  });
  std::this_thread::sleep_for(30ms);
  EXPECT_FALSE(pushed.load());
  q.PopBatch(1, 0us, 10ms);
  producer.join();
  EXPECT_TRUE(pushed.load());
}

TEST(ThreatTracker, LevelsRiseWithAlertsAndFallWithHysteresis) {
  ThreatOptions o;
  o.half_life_s = 10;
  o.elevated = 3;
  o.high = 10;
  o.critical = 30;
  o.hysteresis = 0.5;
  ThreatTracker t(o);
  std::vector<ThreatEvent> ev;
  for (int i = 0; i < 2; ++i) t.Alert("10.0.0.1", 1000, 1, &ev);
  EXPECT_TRUE(ev.empty());
  t.Alert("10.0.0.1", 1000, 1, &ev);  // 3: elevated
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].from, ThreatLevel::kLow);
  EXPECT_EQ(ev[0].to, ThreatLevel::kElevated);
  ev.clear();
  for (int i = 0; i < 7; ++i) t.Alert("10.0.0.1", 1000, 1, &ev);  // 10: high
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].to, ThreatLevel::kHigh);
  ev.clear();
  // One half-life later the value is 5: below 10 but not below 10 * 0.5, so still high.
  t.Sweep(10, &ev);
  EXPECT_TRUE(ev.empty());
  EXPECT_EQ(t.Level("10.0.0.1"), ThreatLevel::kHigh);
  EXPECT_NEAR(t.Value("10.0.0.1"), 5, 1e-9);
  // Another: 2.5 < 5 leaves high; 2.5 >= 1.5 keeps elevated.
  t.Sweep(10, &ev);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].from, ThreatLevel::kHigh);
  EXPECT_EQ(ev[0].to, ThreatLevel::kElevated);
  // A burst jumps straight to critical.
  ev.clear();
  t.Alert("10.0.0.2", 1000, 40, &ev);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].to, ThreatLevel::kCritical);
  EXPECT_NE(ev[0].ToJson().find("\"level\":\"critical\""), std::string::npos);
  EXPECT_EQ(t.Top(1)[0].first, "10.0.0.2");
}

TEST(ThreatTracker, BoundedHostsEvictTheLeastRecent) {
  ThreatOptions o;
  o.max_hosts = 2;
  ThreatTracker t(o);
  std::vector<ThreatEvent> ev;
  t.Alert("a", 1, 1, &ev);
  t.Alert("b", 2, 1, &ev);
  t.Alert("a", 3, 1, &ev);
  t.Alert("c", 4, 1, &ev);  // evicts b
  EXPECT_EQ(t.hosts(), 2u);
  EXPECT_EQ(t.evicted(), 1u);
  EXPECT_EQ(t.Value("b"), 0);
  EXPECT_GT(t.Value("a"), 1.9);
}

TEST(ActionRunner, RunsACommandWithTheEventInItsEnvironmentAndRateLimits) {
  const std::string out = ::testing::TempDir() + "/vigil_action_" + std::to_string(getpid());
  Metrics m;
  {
    ActionConfig a;
    a.level = ThreatLevel::kHigh;
    a.command = "printf '%s %s\\n' \"$VIGIL_HOST\" \"$VIGIL_LEVEL\" >> " + out;
    a.min_interval_s = 3600;
    ActionRunner runner({a}, /*dry_run=*/false, &m);
    ThreatEvent e{"10.0.0.9; rm -rf /", ThreatLevel::kElevated, ThreatLevel::kHigh, 12, 1};
    runner.OnEvent(e);
    runner.OnEvent(e);  // same host within min_interval_s: rate limited
    runner.OnEvent({"10.0.0.8", ThreatLevel::kLow, ThreatLevel::kElevated, 3, 1});  // below
  }  // the destructor finishes queued actions
  auto text = ReadFile(out);
  ASSERT_TRUE(text.ok());
  // The host reached the command as data, not as shell code.
  EXPECT_EQ(*text, "10.0.0.9; rm -rf / high\n");
  EXPECT_NE(m.Render().find("vigil_agent_actions_total{result=\"rate_limited\"} 1"),
            std::string::npos);
  std::filesystem::remove(out);
}

TEST(ActionRunner, PostsTheEventToAWebhook) {
  httplib::Server server;
  std::string body;
  std::mutex mu;
  server.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    body = req.body;
    res.set_content("ok", "text/plain");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { server.listen_after_bind(); });
  Metrics m;
  {
    ActionConfig a;
    a.level = ThreatLevel::kCritical;
    a.webhook = "http://127.0.0.1:" + std::to_string(port) + "/hook";
    ActionRunner runner({a}, /*dry_run=*/false, &m);
    runner.OnEvent({"10.1.1.1", ThreatLevel::kHigh, ThreatLevel::kCritical, 31, 5});
  }
  server.stop();
  t.join();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_NE(body.find("\"host\":\"10.1.1.1\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"level\":\"critical\""), std::string::npos);
  EXPECT_NE(m.Render().find("vigil_agent_actions_total{result=\"ok\"} 1"), std::string::npos);
}

TEST(ActionRunner, DryRunRunsNothing) {
  const std::string out = ::testing::TempDir() + "/vigil_dry_" + std::to_string(getpid());
  Metrics m;
  {
    ActionConfig a;
    a.level = ThreatLevel::kElevated;
    a.command = "touch " + out;
    ActionRunner runner({a}, /*dry_run=*/true, &m);
    runner.OnEvent({"h", ThreatLevel::kLow, ThreatLevel::kCritical, 40, 1});
  }
  EXPECT_FALSE(FileExists(out));
  EXPECT_NE(m.Render().find("result=\"dry_run\"} 1"), std::string::npos);
}

TEST(AgentConfig, ReadsTomlWithTablesAndNamesBadKeys) {
  const std::string path = ::testing::TempDir() + "/agent_" + std::to_string(getpid()) + ".toml";
  {
    std::ofstream f(path);
    f << "model = \"m.vigil\"\nbatch-max = 64\nbatch_wait_us = 250\ninput = [\"a.csv\", \"-\"]\n"
         "listen = \"127.0.0.1:9000\"\nnats = \"nats://127.0.0.1:4222\"\nstream = \"FLOWS\"\n"
         "[threat]\nhalf_life_s = 60\nhigh = 7\n"
         "[[actions]]\nlevel = \"critical\"\nwebhook = \"http://127.0.0.1:1/hook\"\n";
  }
  AgentConfig c;
  ASSERT_TRUE(ApplyAgentToml(path, &c).ok());
  EXPECT_EQ(c.agent.model, "m.vigil");
  EXPECT_EQ(c.agent.batch_max, 64u);
  EXPECT_EQ(c.agent.batch_wait_us, 250);
  EXPECT_EQ(c.inputs, (std::vector<std::string>{"a.csv", "-"}));
  EXPECT_EQ(c.nats.stream, "FLOWS");
  EXPECT_EQ(c.agent.threat.half_life_s, 60);
  EXPECT_EQ(c.agent.threat.high, 7);
  ASSERT_EQ(c.agent.actions.size(), 1u);
  EXPECT_EQ(c.agent.actions[0].level, ThreatLevel::kCritical);

  auto error = [&](const std::string& text) {
    std::ofstream(path) << text;
    AgentConfig d;
    return ApplyAgentToml(path, &d).message();
  };
  EXPECT_NE(error("batch_mox = 3\n").find(":1: unknown key 'batch_mox'"), std::string::npos);
  EXPECT_NE(error("\n\nbatch_max = \"x\"\n").find(":3: key 'batch_max' has the wrong type"),
            std::string::npos);
  EXPECT_NE(error("[threat]\nhigh = 1\nfoo = 2\n").find("unknown key 'threat.foo'"),
            std::string::npos);
  EXPECT_NE(error("[[actions]]\nlevel = \"severe\"\ncommand = \"x\"\n").find("'severe'"),
            std::string::npos);
  EXPECT_NE(error("[[actions]]\nlevel = \"high\"\n").find("exactly one of command, webhook"),
            std::string::npos);
  EXPECT_NE(error("model = \n").find(":1:"), std::string::npos);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace vigil
