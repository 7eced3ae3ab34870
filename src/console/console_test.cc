// The console's server in-process: login, sessions, CSRF, roles, request checks, events. Training
// runs, evaluations, the registry and agents are exercised end to end with the real binaries in
// src/cli/console_cli_test.cc.
#include "console/console.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "console/events.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

TEST(EventHubTest, FansOutAndDropsTheOldestForSlowReaders) {
  EventHub hub(2);
  auto a = hub.Subscribe(), b = hub.Subscribe();
  hub.Publish("alert", "{\"n\":1}");
  std::string out;
  ASSERT_TRUE(hub.Next(a, std::chrono::milliseconds(0), &out));
  EXPECT_EQ(out, "event: alert\ndata: {\"n\":1}\n\n");
  hub.Publish("alert", "{\"n\":2}");
  hub.Publish("alert", "{\"n\":3}");
  ASSERT_TRUE(hub.Next(b, std::chrono::milliseconds(0), &out));
  // b held three events with room for two: the oldest went.
  EXPECT_EQ(out, "event: alert\ndata: {\"n\":2}\n\nevent: alert\ndata: {\"n\":3}\n\n");
  EXPECT_EQ(b->dropped, 1u);
  ASSERT_TRUE(hub.Next(a, std::chrono::milliseconds(10), &out));
  EXPECT_NE(out.find("\"n\":3"), std::string::npos);
  ASSERT_TRUE(hub.Next(a, std::chrono::milliseconds(10), &out));
  EXPECT_EQ(out, "");  // nothing new: a keep-alive is due
  hub.Unsubscribe(b);
  EXPECT_EQ(hub.subscribers(), 1u);
  hub.Close();
  EXPECT_FALSE(hub.Next(a, std::chrono::milliseconds(1000), &out));
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vigil-console-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "assets");
    std::ofstream(dir_ / "assets/index.html") << "<!doctype html><title>t</title>";
    fs::create_directories(dir_ / "assets/assets");
    {
      std::ofstream js(dir_ / "assets/assets/app-1a2b3c.js");
      for (int i = 0; i < 500; ++i) js << "console.log('line " << i << "');\n";
    }
    ConsoleOptions o;
    o.listen = {"127.0.0.1", 0};
    o.password = "correct horse";
    o.assets_dir = (dir_ / "assets").string();
    o.jobs.dir = (dir_ / "runs").string();
    // A real program that fails at once stands in for vigil-train: these tests are about the
    // server; console_cli_test.cc trains for real.
    o.jobs.train_binary = "/bin/false";
    o.jobs.datasets = {{"tiny", "csv", (dir_ / "t.csv").string(), {}}};
    auto c = Console::Create(std::move(o));
    ASSERT_TRUE(c.ok()) << c.status().message();
    console_ = std::move(*c);
    auto port = console_->Start();
    ASSERT_TRUE(port.ok());
    port_ = *port;
  }
  void TearDown() override {
    console_.reset();
    fs::remove_all(dir_);
  }
  httplib::Client Client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10, 0);
    return c;
  }
  // Logs in; returns the cookie header and the CSRF token.
  std::pair<std::string, std::string> Login() {
    auto c = Client();
    auto r = c.Post("/api/login", R"({"password":"correct horse"})", "application/json");
    EXPECT_TRUE(r && r->status == 200);
    if (!r) return {};
    const std::string set_cookie = r->get_header_value("Set-Cookie");
    EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos);
    EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos);
    return {set_cookie.substr(0, set_cookie.find(';')), json::parse(r->body)["csrf"]};
  }

  fs::path dir_;
  std::unique_ptr<Console> console_;
  int port_ = 0;
};

TEST_F(ConsoleTest, LoginSessionsAndCsrf) {
  auto c = Client();
  // Nothing without logging in, and a JSON error that says so.
  auto r = c.Get("/api/runs");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_NE(json::parse(r->body)["error"].get<std::string>().find("log in"), std::string::npos);
  r = c.Post("/api/login", R"({"password":"wrong"})", "application/json");
  EXPECT_EQ(r->status, 401);
  r = c.Post("/api/login", "not json", "application/json");
  EXPECT_EQ(r->status, 400);
  // The one-time token is off when a password is configured.
  EXPECT_TRUE(console_->one_time_token().empty());

  auto [cookie, csrf] = Login();
  ASSERT_FALSE(csrf.empty());
  httplib::Headers with_cookie = {{"Cookie", cookie}};
  r = c.Get("/api/session", with_cookie);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["role"], "admin");
  r = c.Get("/api/datasets", with_cookie);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["datasets"][0]["id"], "tiny");

  // A write with the cookie but no CSRF token, a wrong one, or from another origin: refused.
  const std::string body = R"({"dataset":"tiny"})";
  r = c.Post("/api/runs", with_cookie, body, "application/json");
  EXPECT_EQ(r->status, 403);
  r = c.Post("/api/runs", {{"Cookie", cookie}, {"X-CSRF-Token", "00" + csrf.substr(2)}}, body,
             "application/json");
  EXPECT_EQ(r->status, 403);
  r = c.Post("/api/runs",
             {{"Cookie", cookie}, {"X-CSRF-Token", csrf}, {"Origin", "http://evil.example"}}, body,
             "application/json");
  EXPECT_EQ(r->status, 403);
  // With the token, the run starts; /bin/false ends it at once, and the run says it failed.
  r = c.Post("/api/runs", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}}, body, "application/json");
  ASSERT_EQ(r->status, 201) << r->body;
  const std::string id = json::parse(r->body)["id"];
  json run;
  for (int i = 0; i < 100; ++i) {
    run = json::parse(c.Get("/api/runs/" + id, with_cookie)->body);
    if (run["status"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(run["status"], "failed") << run.dump();
  EXPECT_EQ(run["error"], "exit status 1");
  // Stopping a run that is not running: 409.
  r = c.Post("/api/runs/" + id + "/stop", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}}, "",
             "application/json");
  EXPECT_EQ(r->status, 409);

  // Scripts use a bearer password and need no CSRF token.
  r = c.Get("/api/runs", {{"Authorization", "Bearer correct horse"}});
  EXPECT_EQ(r->status, 200);
  r = c.Get("/api/runs", {{"Authorization", "Bearer nope"}});
  EXPECT_EQ(r->status, 401);

  // Logging out ends the session.
  r = c.Post("/api/logout", with_cookie, "", "application/json");
  EXPECT_EQ(r->status, 200);
  r = c.Get("/api/session", with_cookie);
  EXPECT_EQ(r->status, 401);
}

TEST_F(ConsoleTest, BadRequestsNameTheField) {
  auto [cookie, csrf] = Login();
  auto c = Client();
  httplib::Headers h = {{"Cookie", cookie}, {"X-CSRF-Token", csrf}};
  struct Case {
    const char* body;
    const char* says;
  } cases[] = {
      {R"({})", "dataset"},
      {R"({"dataset":"nope"})", "not available"},
      {R"({"dataset":"tiny","model":"transformer"})", "model"},
      {R"({"dataset":"tiny","epochs":0})", "epochs"},
      {R"({"dataset":"tiny","epochs":"ten"})", "epochs"},
      {R"({"dataset":"tiny","lr":-1})", "lr"},
      {R"({"dataset":"tiny","hidden":[0]})", "hidden"},
      {R"({"dataset":"tiny","hidden":"big"})", "hidden"},
      {R"({"dataset":"tiny","colour":"red"})", "colour"},
      {R"({"dataset":"tiny","config_toml":"epochs = [\n"})", "config_toml: line"},
      {R"([1,2])", "JSON object"},
  };
  for (const Case& k : cases) {
    auto r = c.Post("/api/runs", h, k.body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << k.body;
    EXPECT_NE(r->body.find(k.says), std::string::npos) << k.body << " -> " << r->body;
  }
  auto r = c.Get("/api/runs/r9999", h);
  EXPECT_EQ(r->status, 404);
  r = c.Post("/api/runs/r9999/stop", h, "", "application/json");
  EXPECT_EQ(r->status, 404);
  r = c.Get("/api/evaluations/e0001", h);
  EXPECT_EQ(r->status, 404);
  r = c.Post("/api/evaluations", h, R"({"bundle":"run:r0001","dataset":"tiny"})",
             "application/json");
  EXPECT_EQ(r->status, 400);
  r = c.Get("/api/alerts?n=abc", h);
  EXPECT_EQ(r->status, 400);
  // Unknown endpoints: JSON 404; no registry configured: a 404 that says so.
  r = c.Get("/api/nothing", h);
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("no such endpoint"), std::string::npos);
  r = c.Get("/api/models", h);
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("--registry"), std::string::npos);
  r = c.Get("/api/models/../../etc", h);
  EXPECT_EQ(r->status, 404);
}

TEST_F(ConsoleTest, ServesTheFrontEndWithStrictHeaders) {
  auto c = Client();
  auto r = c.Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("<title>t</title>"), std::string::npos);
  const std::string csp = r->get_header_value("Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(r->get_header_value("Cache-Control"), "no-cache");
  r = c.Get("/../../etc/passwd");
  EXPECT_NE(r->status, 200);
  r = c.Get("/assets/nothing.js");
  EXPECT_EQ(r->status, 404);
  // Assets: compressed once with gzip (for clients that also accept br), cacheable forever.
  httplib::Client raw("127.0.0.1", port_);
  raw.set_decompress(false);
  r = raw.Get("/assets/app-1a2b3c.js", {{"Accept-Encoding", "gzip, deflate, br"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Encoding"), "gzip");
  EXPECT_EQ(r->get_header_value("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(static_cast<unsigned char>(r->body[0]), 0x1f);  // one gzip layer, not two
  EXPECT_LT(r->body.size(), 4000u);
  r = c.Get("/assets/app-1a2b3c.js", {{"Accept-Encoding", "gzip"}});  // decompressed by the client
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.substr(0, 21), "console.log('line 0')");
  EXPECT_EQ(r->body.size(), Slurp(dir_ / "assets/assets/app-1a2b3c.js").size());
  r = raw.Get("/assets/app-1a2b3c.js");  // no Accept-Encoding: plain
  EXPECT_EQ(r->get_header_value("Content-Encoding"), "");
  EXPECT_EQ(r->body.substr(0, 21), "console.log('line 0')");
}

TEST_F(ConsoleTest, EventStreamDeliversRunEvents) {
  auto [cookie, csrf] = Login();
  auto c = Client();
  auto r = c.Get("/api/events");  // without a session: refused, not streamed
  EXPECT_EQ(r->status, 401);

  std::string received;
  std::atomic<bool> open{false};
  std::thread reader([&, cookie = cookie] {
    httplib::Client rc("127.0.0.1", port_);
    rc.set_read_timeout(10, 0);
    rc.Get("/api/events", {{"Cookie", cookie}}, [&](const char* data, size_t n) {
      received.append(data, n);
      open = true;
      // The run's start and its end ("failed": /bin/false).
      return received.find("\"status\":\"failed\"") == std::string::npos;
    });
  });
  for (int i = 0; i < 200 && !open; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(open);
  r = c.Post("/api/runs", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}}, R"({"dataset":"tiny"})",
             "application/json");
  ASSERT_EQ(r->status, 201);
  reader.join();
  EXPECT_NE(received.find("retry: 1000"), std::string::npos) << received;
  EXPECT_NE(
      received.find("event: run\ndata: {\"id\":\"r0001\",\"row\":null,\"status\":\"running\"}"),
      std::string::npos)
      << received;
  EXPECT_NE(received.find("\"status\":\"failed\""), std::string::npos) << received;
}

}  // namespace
}  // namespace vigil
