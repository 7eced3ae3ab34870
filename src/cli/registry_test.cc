// End-to-end tests of signing and the model registry through the `vigil` binary: keygen, sign,
// verify, publish, `registry serve` and its client verbs, tokens, refused bundles, TLS, and a
// registry killed with SIGKILL in the middle of uploads.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "bundle/bundle.h"
#include "cli/test_util.h"
#include "core/sha256.h"
#include "registry/client.h"

namespace vigil {
namespace {

using namespace vigil::testutil;  // NOLINT(google-build-using-namespace)

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kPub[] = "publisher-token-0123456789";
constexpr char kRead[] = "reader-token-0123456789";

// A bundle of about `floats` * 4 bytes; `seed` makes its bytes unique.
void MakeBundle(const std::string& path, int seed, size_t floats = 64) {
  Bundle b;
  b.metadata = {{"kind", "vigil-model"},
                {"model", {{"type", "mlp"}, {"input_dim", 3}}},
                {"task", "binary"},
                {"classes", {"normal", "attack"}},
                {"metrics", {{"validation", {{"accuracy", 0.9}}}}}};
  std::vector<float> w(floats);
  for (size_t i = 0; i < floats; ++i) w[i] = static_cast<float>((i * 31 + seed) % 1000) / 1000;
  b.tensors.push_back({"fc0.weight", {static_cast<int64_t>(floats)}, w});
  b.tensors.push_back({"seed", {}, {static_cast<float>(seed)}});
  ASSERT_TRUE(WriteBundle(path, b).ok());
}

// `vigil registry serve` as a child process, its stderr in a log file.
class RegistryProcess {
 public:
  // Starts and waits for "listening on"; `env` is "NAME=value" or "".
  bool Start(const std::string& args, const std::string& log, const std::string& env = "") {
    log_ = log;
    std::ofstream(log, std::ios::trunc).close();
    pid_ = ::fork();
    if (pid_ == 0) {
      if (!env.empty()) ::putenv(const_cast<char*>(env.c_str()));
      const std::string cmd = "exec " + kVigil + " registry serve --listen 127.0.0.1:0 " + args +
                              " 2>>" + log + " >>" + log;
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 400; ++i) {
      const std::string text = Slurp(log);
      const size_t at = text.find("listening on http");
      if (at != std::string::npos) {
        const size_t colon = text.find(':', text.find("127.0.0.1", at));
        port_ = std::atoi(text.c_str() + colon + 1);
        tls_ = text.compare(at, 18, "listening on https") == 0;
        return port_ > 0;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  // SIGTERM (clean) or SIGKILL; returns the exit status as waitpid reports it.
  int Stop(int sig = SIGTERM) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  ~RegistryProcess() { Stop(SIGKILL); }

  std::string url() const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
  }
  std::string log() const { return Slurp(log_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  bool tls_ = false;
  std::string log_;
};

class RegistryCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);  // TLS writes to a connection the server closed
    dir_ = (fs::temp_directory_path() /
            ("vigil_registry_cli_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ + "/tokens.toml")
        << "[[tokens]]\nname = \"ci\"\ntoken = \"" << kPub << "\"\nrole = \"publisher\"\n\n"
        << "[[tokens]]\nname = \"agents\"\ntoken = \"" << kRead << "\"\nrole = \"reader\"\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Client(const RegistryProcess& r, const char* token) const {
    return "--registry " + r.url() + (token != nullptr ? std::string(" --token ") + token : "");
  }

  std::string dir_;
};

TEST_F(RegistryCliTest, SignPublishPromoteRollbackWatchPull) {
  const std::string d = dir_;
  MakeBundle(d + "/v1.vigil", 1);
  MakeBundle(d + "/v2.vigil", 2);
  MakeBundle(d + "/v3.vigil", 3);

  CmdResult r = Vigil("keygen --out " + d + "/ci");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("key id "), std::string::npos);
  EXPECT_EQ(Vigil("keygen --out " + d + "/ci").code, 1);  // never overwrites a key
  ASSERT_EQ(Vigil("keygen --out " + d + "/stranger").code, 0);

  r = Vigil("sign " + d + "/v1.vigil --key " + d + "/ci.key --out " + d + "/v1s.vigil");
  ASSERT_EQ(r.code, 0) << r.out;
  r = Vigil("verify " + d + "/v1s.vigil --trusted-key " + d + "/ci.pub");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("signature valid"), std::string::npos) << r.out;
  r = Vigil("verify " + d + "/v1.vigil --trusted-key " + d + "/ci.pub");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("not signed"), std::string::npos) << r.out;
  r = Vigil("verify " + d + "/v1s.vigil --trusted-key " + d + "/stranger.pub");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("not among the 1 trusted key"), std::string::npos) << r.out;

  // Usage errors exit 2.
  EXPECT_EQ(Vigil("registry serve --store " + d + "/store").code, 2);
  EXPECT_EQ(Vigil("publish --registry http://127.0.0.1:1 --model " + d + "/v1.vigil").code, 2);

  RegistryProcess reg;
  ASSERT_TRUE(reg.Start("--store " + d + "/store --tokens " + d +
                            "/tokens.toml --require-signature --trusted-key " + d + "/ci.pub",
                        d + "/serve.log"))
      << reg.log();
  const std::string pub = Client(reg, kPub), read = Client(reg, kRead);

  r = Vigil("publish " + pub + " --model " + d + "/v1s.vigil --name nsl --channel stable");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("published nsl version 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("channel stable -> version 1"), std::string::npos) << r.out;
  // --key signs on the way (the local file stays unsigned).
  r = Vigil("publish " + pub + " --model " + d + "/v2.vigil --name nsl --key " + d + "/ci.key");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("version 2"), std::string::npos);
  EXPECT_EQ(Vigil("verify " + d + "/v2.vigil --allow-unsigned").code, 0);

  // Refused: unsigned, signed by a stranger, a flipped byte, a reader's or no token.
  r = Vigil("publish " + pub + " --model " + d + "/v3.vigil --name nsl");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("422"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not signed"), std::string::npos) << r.out;
  r = Vigil("publish " + pub + " --model " + d + "/v3.vigil --name nsl --key " + d +
            "/stranger.key");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("not among the 1 trusted key"), std::string::npos) << r.out;
  std::string flipped = Slurp(d + "/v1s.vigil");
  flipped[200] ^= 0x01;
  std::ofstream(d + "/flipped.vigil", std::ios::binary) << flipped;
  r = Vigil("publish " + pub + " --model " + d + "/flipped.vigil --name nsl");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("checksum mismatch"), std::string::npos) << r.out;
  r = Vigil("publish " + read + " --model " + d + "/v3.vigil --name nsl --key " + d + "/ci.key");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("reader token"), std::string::npos) << r.out;
  r = Vigil("registry list --registry " + reg.url());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("401"), std::string::npos) << r.out;
  r = Vigil("registry promote " + read + " --name nsl --channel stable --version 2");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("403"), std::string::npos) << r.out;

  r = Vigil("registry list " + read);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("nsl"), std::string::npos);
  EXPECT_NE(r.out.find("stable=1"), std::string::npos) << r.out;
  r = Vigil("registry list " + read + " --name nsl --json");
  ASSERT_EQ(r.code, 0) << r.out;
  json listing = json::parse(r.out);
  ASSERT_EQ(listing["versions"].size(), 2u);
  EXPECT_EQ(listing["versions"][0]["signature"], "valid");
  EXPECT_EQ(listing["versions"][0]["summary"]["metrics"]["validation"]["accuracy"], 0.9);

  // A watcher (another process) sees the promotion.
  r = Vigil("registry channel " + read + " --name nsl --channel stable");
  ASSERT_EQ(r.code, 0) << r.out;
  const int64_t rev = json::parse(r.out)["revision"];
  CmdResult watched;
  std::thread watcher([&] {
    watched = Vigil("registry channel " + read + " --name nsl --channel stable --watch --after " +
                    std::to_string(rev) + " --timeout 20");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto t0 = std::chrono::steady_clock::now();
  r = Vigil("registry promote " + pub + " --name nsl --channel stable --version 2");
  ASSERT_EQ(r.code, 0) << r.out;
  watcher.join();
  // Two vigil processes start here (each loads LibTorch); the in-process test bounds the wake-up.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  ASSERT_EQ(watched.code, 0) << watched.out;
  json w = json::parse(watched.out);
  EXPECT_TRUE(w["changed"].get<bool>());
  EXPECT_EQ(w["number"], 2);

  // Pull verifies the signature against the caller's keys.
  r = Vigil("registry pull " + read + " --name nsl --channel stable --out " + d +
            "/pulled.vigil --require-signature --trusted-key " + d + "/ci.pub");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(Sha256Hex(Slurp(d + "/pulled.vigil")), listing["versions"][1]["sha256"]);
  r = Vigil("registry pull " + read + " --name nsl --version 1 --out " + d +
            "/x.vigil --require-signature --trusted-key " + d + "/stranger.pub");
  EXPECT_EQ(r.code, 1);

  r = Vigil("registry rollback " + pub + " --name nsl --channel stable");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("rolled back nsl/stable -> version 1"), std::string::npos) << r.out;
  r = Vigil("registry rollback " + pub + " --name nsl --channel stable");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("no earlier version"), std::string::npos) << r.out;
  r = Vigil("registry history " + read + " --name nsl --channel stable");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("rollback"), std::string::npos);
  EXPECT_NE(r.out.find("ci"), std::string::npos);

  EXPECT_EQ(reg.Stop(SIGTERM), 0);  // clean exit on SIGTERM
  const std::string log = reg.log();
  EXPECT_NE(log.find("published nsl version 2"), std::string::npos) << log;
  EXPECT_NE(log.find("401 GET /v1/models"), std::string::npos) << log;
  r = Vigil("registry check --store " + d + "/store --rehash");
  EXPECT_EQ(r.code, 0) << r.out;
}

TEST_F(RegistryCliTest, PathTraversalOversizedUploadsAndTls) {
  const std::string d = dir_;
  MakeBundle(d + "/small.vigil", 1);
  MakeBundle(d + "/big.vigil", 2, 50000);  // ~200 KB
  const std::string cert = d + "/cert.pem", key = d + "/key.pem";
  const bool have_openssl = std::system("command -v openssl > /dev/null 2>&1") == 0 &&
                            std::system(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 "
                                         "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
                                         "-keyout " +
                                         key + " -out " + cert + " > /dev/null 2>&1")
                                            .c_str()) == 0;
  RegistryProcess reg;
  ASSERT_TRUE(reg.Start("--store " + d + "/store --tokens " + d + "/tokens.toml " +
                            "--max-bundle-bytes 100000" +
                            (have_openssl ? " --tls-cert " + cert + " --tls-key " + key : ""),
                        d + "/serve.log"))
      << reg.log();
  const std::string ca = have_openssl ? " --ca " + cert : "";
  const std::string pub = Client(reg, kPub) + ca;
  CmdResult r =
      Vigil("publish " + pub + " --model " + d + "/small.vigil --name m --channel stable");
  ASSERT_EQ(r.code, 0) << r.out;
  // The client asks for the limit first and does not send what would be refused...
  r = Vigil("publish " + pub + " --model " + d + "/big.vigil --name m");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("over the registry's limit of 100000"), std::string::npos) << r.out;
  r = Vigil("publish " + pub + " --model " + d + "/small.vigil --name ../../etc");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("invalid model name"), std::string::npos) << r.out;

  RegistryClientOptions o;
  o.url = reg.url();
  o.token = kPub;
  if (have_openssl) o.ca_file = cert;
  auto client = RegistryClient::Create(o);
  ASSERT_TRUE(client.ok());
  // Through the client's checks no '..' reaches the server, so ask with raw paths as well.
  httplib::Client raw(reg.url());
  if (have_openssl) raw.set_ca_cert_path(cert);
  raw.set_bearer_token_auth(kPub);
  // ...and the server refuses it from the headers, without reading the body.
  auto big = raw.Put("/v1/models/m/versions", Slurp(d + "/big.vigil"), "application/octet-stream");
  EXPECT_TRUE(!big || big->status == 413) << (big ? big->status : -1);
  EXPECT_NE(reg.log().find("413 PUT /v1/models/m/versions"), std::string::npos) << reg.log();
  EXPECT_EQ((*client)->ListVersions("m")->size(), 1u);
  for (const char* path : {"/v1/models/%2e%2e/versions/1", "/v1/models/m/versions/..%2f..%2fLOCK",
                           "/v1/models/m/versions/%2e%2e", "/v1/models/..%2fstore/versions"}) {
    auto res = raw.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_TRUE(res->status == 400 || res->status == 404) << path << ": " << res->status;
  }
  if (have_openssl) {
    // Without the CA the client refuses the self-signed certificate.
    r = Vigil("registry list " + Client(reg, kRead));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.out.find("not trusted"), std::string::npos) << r.out;
    r = Vigil("registry list " + Client(reg, kRead) + ca);
    EXPECT_EQ(r.code, 0) << r.out;
  }
  EXPECT_EQ(reg.Stop(SIGTERM), 0);
  EXPECT_EQ(Vigil("registry check --store " + d + "/store").code, 0);
}

// The bar: kill the registry with SIGKILL during uploads; after a restart the index is
// consistent, the half upload is gone, and every acknowledged version downloads with its SHA-256.
TEST_F(RegistryCliTest, SigkillDuringUploadsLosesNothingAcknowledged) {
  const std::string d = dir_;
  const std::string store = d + "/store";
  const std::string args = "--store " + store + " --tokens " + d + "/tokens.toml";
  std::map<std::string, std::string> acknowledged;  // sha256 -> file
  std::mutex mu;
  auto client_for = [&](const RegistryProcess& reg) {
    RegistryClientOptions o;
    o.url = reg.url();
    o.token = kPub;
    o.timeout_s = 30;
    return RegistryClient::Create(o).value();
  };
  int seed = 0;
  auto next_bundle = [&](size_t floats) {
    const std::string path = d + "/b" + std::to_string(++seed) + ".vigil";
    MakeBundle(path, seed, floats);
    return path;
  };

  // 1. Uploads in a loop (~2 MB each) while the registry is killed at an arbitrary moment.
  {
    RegistryProcess reg;
    ASSERT_TRUE(reg.Start(args, d + "/serve1.log")) << reg.log();
    std::vector<std::string> files;
    for (int i = 0; i < 40; ++i) files.push_back(next_bundle(500000));
    std::atomic<bool> done{false};
    std::thread uploader([&] {
      auto c = client_for(reg);
      for (const std::string& f : files) {
        const std::string bytes = Slurp(f);
        auto v = c->Publish("m", bytes, "stable");
        if (!v.ok()) break;  // the registry is gone
        std::lock_guard<std::mutex> lock(mu);
        acknowledged[v->sha256] = f;
      }
      done = true;
    });
    // Let some uploads be acknowledged, then kill mid-stream.
    for (int i = 0; i < 200 && !done; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (acknowledged.size() >= 5) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(37));
    reg.Stop(SIGKILL);
    uploader.join();
    ASSERT_GE(acknowledged.size(), 5u);
  }

  // 2. and 3. Killed with the half upload on disk: its temporary file (paused before the rename)
  // and its blob (paused before the index commit).
  for (const char* step : {"blob.rename", "index.commit"}) {
    SCOPED_TRACE(step);
    RegistryProcess reg;
    ASSERT_TRUE(reg.Start(args, d + "/serve-" + step + ".log",
                          std::string("VIGIL_REGISTRY_TEST_PAUSE=") + step + ":20000"))
        << reg.log();
    auto count_files = [&](const std::string& sub) {
      size_t n = 0;
      for (const auto& e : fs::recursive_directory_iterator(store + "/" + sub)) {
        n += e.is_regular_file() ? 1 : 0;
      }
      return n;
    };
    const size_t blobs_before = count_files("blobs");
    const std::string half = next_bundle(500000);
    std::thread uploader([&] {
      auto c = client_for(reg);
      (void)c->Publish("m", Slurp(half));  // never acknowledged: the registry dies first
    });
    bool on_disk = false;
    for (int i = 0; i < 400 && !on_disk; ++i) {
      on_disk = std::string(step) == "blob.rename" ? count_files("tmp") == 1
                                                   : count_files("blobs") == blobs_before + 1;
      if (!on_disk) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ASSERT_TRUE(on_disk);
    reg.Stop(SIGKILL);
    uploader.join();
  }

  // Restart: the leftovers are cleaned, everything acknowledged is there, byte for byte.
  EXPECT_NE(Slurp(d + "/serve-index.commit.log")
                .find("removed 1 unfinished upload(s) and 0 uncommitted blob(s)"),
            std::string::npos)
      << Slurp(d + "/serve-index.commit.log");
  RegistryProcess reg;
  ASSERT_TRUE(reg.Start(args, d + "/serve-final.log")) << reg.log();
  EXPECT_NE(reg.log().find("removed 0 unfinished upload(s) and 1 uncommitted blob(s)"),
            std::string::npos)
      << reg.log();
  auto c = client_for(reg);
  auto versions = c->ListVersions("m");
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  std::set<std::string> stored;
  for (const VersionInfo& v : *versions) stored.insert(v.sha256);
  for (const auto& [sha, file] : acknowledged) {
    EXPECT_EQ(stored.count(sha), 1u) << "acknowledged version lost: " << sha;
    auto bytes = c->Download("m", sha);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    EXPECT_EQ(Sha256Hex(*bytes), sha);
    EXPECT_EQ(*bytes, Slurp(file));
  }
  // At most one more: an upload committed just before the kill but not yet acknowledged.
  EXPECT_LE(stored.size(), acknowledged.size() + 1);
  auto stable = c->GetChannel("m", "stable");
  ASSERT_TRUE(stable.ok());
  EXPECT_EQ(stored.count(stable->sha256), 1u);
  // The registry works on: a new upload after the restart.
  EXPECT_TRUE(c->Publish("m", Slurp(next_bundle(64))).ok());
  EXPECT_EQ(reg.Stop(SIGTERM), 0);
  CmdResult check = Vigil("registry check --store " + store + " --rehash");
  EXPECT_EQ(check.code, 0) << check.out;
  EXPECT_NE(check.out.find("consistent"), std::string::npos) << check.out;
}

}  // namespace
}  // namespace vigil
