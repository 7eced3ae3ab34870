// The registry's HTTP API in-process on 127.0.0.1 (port 0), driven through RegistryClient and raw
// requests: the round trip, tokens and roles, signatures, path traversal, size limits, watch, TLS.
#include "registry/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "bundle/signature.h"
#include "core/sha256.h"
#include "registry/client.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kPublisherToken[] = "pub-0123456789abcdef";
constexpr char kReaderToken[] = "read-0123456789abcdef";

std::string BundleBytes(int seed, const SecretKey* key = nullptr, size_t extra_floats = 0) {
  Bundle b;
  b.metadata = {{"kind", "vigil-model"},
                {"model", {{"type", "mlp"}, {"input_dim", 3}}},
                {"classes", {"normal", "attack"}}};
  b.tensors.push_back({"fc0.weight", {2, 3}, {1, 2, 3, 4, 5, static_cast<float>(seed)}});
  if (extra_floats > 0) {
    b.tensors.push_back(
        {"pad", {static_cast<int64_t>(extra_floats)}, std::vector<float>(extra_floats, 0.25f)});
  }
  if (key != nullptr) {
    EXPECT_TRUE(SignBundle(&b, *key).ok());
  }
  return SerializeBundle(b);
}

// Sends raw bytes and returns everything the server answers until it closes (or 5 s pass).
std::string RawRequest(int port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return "";
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

class RegistryServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            ("vigil_regsrv_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto k = GenerateKeyPair();
    ASSERT_TRUE(k.ok());
    key_ = *k;
  }
  void TearDown() override {
    StopServer();
    fs::remove_all(dir_);
  }

  // Starts a server; `tweak` adjusts the options first.
  void StartServer(const std::function<void(RegistryServerOptions*)>& tweak = nullptr) {
    RegistryServerOptions o;
    o.store_dir = dir_ + "/store";
    o.listen = {"127.0.0.1", 0};
    auto tokens =
        TokenSet::Parse(std::string("[[tokens]]\nname = \"ci\"\ntoken = \"") + kPublisherToken +
                            "\"\nrole = \"publisher\"\n[[tokens]]\nname = \"agent\"\n"
                            "token = \"" +
                            kReaderToken + "\"\nrole = \"reader\"\n",
                        "tokens");
    ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
    o.tokens = *tokens;
    o.threads = 8;
    o.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      log_ += line + "\n";
    };
    if (tweak) tweak(&o);
    auto s = RegistryServer::Create(std::move(o));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    auto port = server_->Bind();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    port_ = *port;
    thread_ = std::thread([this] { (void)server_->Serve(); });
  }
  void StopServer() {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }
  std::string Url() const {
    return std::string(server_ && server_->tls() ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(port_);
  }
  std::unique_ptr<RegistryClient> Client(const std::string& token,
                                         const std::string& ca_file = "") {
    RegistryClientOptions o;
    o.url = Url();
    o.token = token;
    o.ca_file = ca_file;
    auto c = RegistryClient::Create(o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }
  std::string Log() {
    std::lock_guard<std::mutex> lock(log_mu_);
    return log_;
  }

  std::string dir_;
  SecretKey key_;
  std::unique_ptr<RegistryServer> server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex log_mu_;
  std::string log_;
};

TEST_F(RegistryServerTest, UploadListDownloadPromoteRollbackWatch) {
  StartServer();
  auto pub = Client(kPublisherToken);
  auto reader = Client(kReaderToken);
  const std::string b1 = BundleBytes(1), b2 = BundleBytes(2);

  bool created = false;
  ChannelState stable;
  auto v1 = pub->Publish("nsl", b1, "stable", &created, &stable);
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_TRUE(created);
  EXPECT_EQ(v1->number, 1);
  EXPECT_EQ(v1->sha256, Sha256Hex(b1));
  EXPECT_EQ(v1->publisher, "ci");
  EXPECT_EQ(v1->signature, "unsigned");
  EXPECT_EQ(stable.sha256, v1->sha256);
  auto dup = pub->Publish("nsl", b1, "", &created);
  ASSERT_TRUE(dup.ok());
  EXPECT_FALSE(created);
  auto v2 = pub->Publish("nsl", b2);
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->number, 2);

  auto models = reader->ListModels();
  ASSERT_TRUE(models.ok()) << models.status().ToString();
  ASSERT_EQ((*models)["models"].size(), 1u);
  EXPECT_EQ((*models)["models"][0]["name"], "nsl");
  EXPECT_EQ((*models)["models"][0]["versions"], 2);
  EXPECT_EQ((*models)["models"][0]["channels"]["stable"]["number"], 1);
  auto versions = reader->ListVersions("nsl");
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[1].summary["model"]["type"], "mlp");
  EXPECT_EQ(*reader->Download("nsl", "2"), b2);
  EXPECT_EQ(*reader->Download("nsl", v1->sha256), b1);
  EXPECT_EQ(*reader->Download("nsl", v1->sha256.substr(0, 12)), b1);
  EXPECT_EQ(reader->Download("nsl", "9").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reader->GetVersion("nsl", "2")->sha256, v2->sha256);

  // A watcher sees the promotion as soon as it happens.
  const int64_t seen = reader->GetChannel("nsl", "stable")->revision;
  std::thread promoter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto p = pub->Promote("nsl", "stable", "2");
    EXPECT_TRUE(p.ok()) << p.status().ToString();
  });
  bool changed = false;
  const auto t0 = std::chrono::steady_clock::now();
  auto w = reader->Watch("nsl", "stable", seen, 20, &changed);
  promoter.join();
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_TRUE(changed);
  EXPECT_EQ(w->sha256, v2->sha256);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  auto idle = reader->Watch("nsl", "stable", w->revision, 1, &changed);
  ASSERT_TRUE(idle.ok());
  EXPECT_FALSE(changed);

  auto r = pub->Rollback("nsl", "stable");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->sha256, v1->sha256);
  EXPECT_GT(r->revision, w->revision);
  auto nothing = pub->Rollback("nsl", "stable");
  EXPECT_EQ(nothing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(nothing.status().message().find("no earlier version"), std::string::npos);
  auto h = reader->History("nsl", "stable");
  ASSERT_TRUE(h.ok());
  ASSERT_EQ((*h)["history"].size(), 3u);
  EXPECT_EQ((*h)["history"][0]["action"], "rollback");
  EXPECT_EQ((*h)["history"][0]["actor"], "ci");

  // The agent's path: the channel's version, downloaded and verified.
  TrustPolicy open;
  open.require_signature = false;
  auto f = reader->FetchChannel("nsl", "stable", open);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->bytes, b1);
  EXPECT_EQ(f->bundle.sha256, v1->sha256);
  EXPECT_EQ(f->channel.revision, r->revision);
  EXPECT_EQ(f->signature.state, SignatureState::kUnsigned);
  TrustPolicy strict;
  strict.keys.Add(key_.public_key);
  SignatureCheck check;
  auto refused = reader->FetchChannel("nsl", "stable", strict, &check);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(check.state, SignatureState::kUnsigned);

  auto metrics = Client("")->Download("x", "1");  // just to be sure /metrics stays open below
  httplib::Client raw("127.0.0.1", port_);
  auto m = raw.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("vigil_registry_uploads_total{result=\"ok\"} 2"), std::string::npos)
      << m->body;
  EXPECT_NE(m->body.find("vigil_registry_uploads_total{result=\"duplicate\"} 1"),
            std::string::npos);
  EXPECT_NE(m->body.find("vigil_registry_channel_changes_total{action=\"rollback\"} 1"),
            std::string::npos);
  EXPECT_NE(m->body.find("vigil_registry_versions 2"), std::string::npos);
  EXPECT_NE(Log().find("published nsl version 2"), std::string::npos) << Log();
}

TEST_F(RegistryServerTest, TokensAndRoles) {
  StartServer();
  const std::string b = BundleBytes(1);
  auto none = Client("");
  auto wrong = Client("not-a-token-0123456789");
  auto reader = Client(kReaderToken);
  auto pub = Client(kPublisherToken);
  ASSERT_TRUE(pub->Publish("m", b, "stable").ok());

  for (auto* c : {none.get(), wrong.get()}) {
    auto r = c->ListModels();
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find(": 401: missing or unknown token"), std::string::npos)
        << r.status().message();
    EXPECT_FALSE(c->Download("m", "1").ok());
  }
  auto p = reader->Publish("m", BundleBytes(2));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("reader token"), std::string::npos) << p.status().message();
  auto promote = reader->Promote("m", "stable", "1");
  ASSERT_FALSE(promote.ok());
  EXPECT_NE(promote.status().message().find(": 403: "), std::string::npos);
  EXPECT_TRUE(reader->Download("m", "1").ok());

  // Raw: the status codes, and a refused upload's body is never read or stored.
  httplib::Client raw("127.0.0.1", port_);
  auto r401 = raw.Put("/v1/models/m/versions", BundleBytes(3), "application/octet-stream");
  ASSERT_TRUE(r401);
  EXPECT_EQ(r401->status, 401);
  EXPECT_EQ(r401->get_header_value("WWW-Authenticate"), "Bearer realm=\"vigil-registry\"");
  httplib::Headers reader_auth = {{"Authorization", std::string("Bearer ") + kReaderToken}};
  auto r403 =
      raw.Put("/v1/models/m/versions", reader_auth, BundleBytes(3), "application/octet-stream");
  ASSERT_TRUE(r403);
  EXPECT_EQ(r403->status, 403);
  auto rb = raw.Post("/v1/models/m/channels/stable/rollback", reader_auth, "", "text/plain");
  ASSERT_TRUE(rb);
  EXPECT_EQ(rb->status, 403);
  EXPECT_EQ(pub->ListVersions("m")->size(), 1u);
  EXPECT_EQ(raw.Get("/healthz")->status, 200);  // open

  auto m = raw.Get("/metrics");
  EXPECT_NE(m->body.find("vigil_registry_auth_failures_total{result=\"forbidden\"} 3"),
            std::string::npos)
      << m->body;
}

TEST_F(RegistryServerTest, RefusesBundlesThatAreCorruptUnsignedOrSignedByAStranger) {
  StartServer([this](RegistryServerOptions* o) {
    o->registry.trust.keys.Add(key_.public_key);
    o->registry.trust.require_signature = true;
  });
  auto pub = Client(kPublisherToken);
  auto good = pub->Publish("m", BundleBytes(1, &key_), "stable");
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->signature, "valid");
  EXPECT_EQ(good->key_id, key_.public_key.id);

  auto stranger = GenerateKeyPair();
  httplib::Client raw("127.0.0.1", port_);
  httplib::Headers auth = {{"Authorization", std::string("Bearer ") + kPublisherToken}};
  std::string flipped = BundleBytes(2, &key_);
  flipped[flipped.size() / 2] ^= 0x01;
  // A valid signature block whose content was changed and re-sealed with a fresh digest.
  std::string tampered = BundleBytes(3, &key_);
  {
    Bundle b = *ParseBundle(tampered, "t");
    b.tensors[0].data[0] = 42;  // keeps the old signature
    tampered = SerializeBundle(b);
  }
  struct Case {
    std::string name, bytes, expect;
  };
  for (const Case& c : std::vector<Case>{
           {"flipped byte", flipped, "checksum mismatch"},
           {"unsigned", BundleBytes(4), "not signed"},
           {"stranger", BundleBytes(5, &*stranger), "not among the 1 trusted key"},
           {"tampered", tampered, "does not verify"},
           {"not a bundle", "hello", "truncated"},
       }) {
    auto r = raw.Put("/v1/models/m/versions", auth, c.bytes, "application/octet-stream");
    ASSERT_TRUE(r) << c.name;
    EXPECT_EQ(r->status, 422) << c.name;
    EXPECT_NE(r->body.find(c.expect), std::string::npos) << c.name << ": " << r->body;
  }
  // The client refuses a corrupt file before sending it.
  auto local = pub->Publish("m", flipped);
  ASSERT_FALSE(local.ok());
  EXPECT_NE(local.status().message().find("bundle to publish: checksum mismatch"),
            std::string::npos);
  EXPECT_EQ(pub->ListVersions("m")->size(), 1u);
  EXPECT_NE(Log().find("422 refused upload"), std::string::npos);
  EXPECT_TRUE(server_->registry().store().Check(true)->empty());
}

TEST_F(RegistryServerTest, PathTraversalIsRefused) {
  StartServer();
  auto pub = Client(kPublisherToken);
  ASSERT_TRUE(pub->Publish("m", BundleBytes(1), "stable").ok());
  std::ofstream(dir_ + "/secret.txt") << "TOP SECRET";
  const std::string auth = std::string("Authorization: Bearer ") + kPublisherToken + "\r\n";
  for (const char* path : {
           "/v1/models/../versions",
           "/v1/models/..%2f..%2fsecret.txt/versions/1",
           "/v1/models/%2e%2e/versions/1",
           "/v1/models/m/versions/..%2f..%2f..%2fsecret.txt",
           "/v1/models/m/versions/../../../secret.txt",
           "/v1/models/m/channels/..%2fx",
           "/v1/models/.hidden/versions",
           "/v1/models/m%00x/versions",
           "/../../secret.txt",
       }) {
    const std::string answer =
        RawRequest(port_, std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\n" + auth +
                              "Connection: close\r\n\r\n");
    ASSERT_FALSE(answer.empty()) << path;
    const std::string status = answer.substr(0, answer.find("\r\n"));
    EXPECT_TRUE(status.find(" 400 ") != std::string::npos ||
                status.find(" 404 ") != std::string::npos)
        << path << ": " << status;
    EXPECT_EQ(answer.find("TOP SECRET"), std::string::npos) << path;
  }
  auto up = RawRequest(port_, "PUT /v1/models/%2e%2e/versions HTTP/1.1\r\nHost: x\r\n" + auth +
                                  "Content-Length: 5\r\nConnection: close\r\n\r\nhello");
  EXPECT_NE(up.find(" 400 "), std::string::npos) << up;
  EXPECT_NE(up.find("invalid model name"), std::string::npos) << up;
  EXPECT_FALSE(fs::exists(dir_ + "/evil"));
}

TEST_F(RegistryServerTest, OversizedUploadsAreRefused) {
  StartServer([](RegistryServerOptions* o) { o->max_bundle_bytes = 64 << 10; });
  const std::string auth = std::string("Authorization: Bearer ") + kPublisherToken + "\r\n";
  // Declared too large: refused before a byte of the body is read.
  std::string answer =
      RawRequest(port_, "PUT /v1/models/m/versions HTTP/1.1\r\nHost: x\r\n" + auth +
                            "Content-Length: 1000000000\r\nConnection: close\r\n\r\n");
  EXPECT_NE(answer.find(" 413 "), std::string::npos) << answer;
  // A real bundle just over the limit, sent anyway: refused from its headers.
  const std::string big_bytes = BundleBytes(1, nullptr, 20000);  // ~80 KB
  httplib::Client raw("127.0.0.1", port_);
  httplib::Headers auth_header = {{"Authorization", std::string("Bearer ") + kPublisherToken}};
  auto big = raw.Put("/v1/models/m/versions", auth_header, big_bytes, "application/octet-stream");
  EXPECT_TRUE(!big || big->status == 413) << (big ? big->status : -1);
  // The client asks for the limit first and does not send it.
  auto pub = Client(kPublisherToken);
  auto refused = pub->Publish("m", big_bytes);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("over the registry's limit of 65536"),
            std::string::npos)
      << refused.status().message();
  EXPECT_EQ((*pub->WhoAmI())["max_bundle_bytes"], 65536);
  EXPECT_TRUE(pub->Publish("m", BundleBytes(2, nullptr, 1000)).ok());  // ~4 KB
  EXPECT_EQ(pub->ListVersions("m")->size(), 1u);
}

TEST_F(RegistryServerTest, ServesHttpsWithOpenSsl) {
  if (std::system("command -v openssl > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "no openssl command to make a test certificate";
  }
  const std::string cert = dir_ + "/cert.pem", key = dir_ + "/key.pem";
  const std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " > /dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  StartServer([&](RegistryServerOptions* o) {
    o->tls_cert = cert;
    o->tls_key = key;
  });
  ASSERT_TRUE(server_->tls());
  auto pub = Client(kPublisherToken, cert);
  auto v = pub->Publish("m", BundleBytes(1), "stable");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*pub->Download("m", "1"), BundleBytes(1));
  // A client that does not trust the certificate refuses to talk.
  auto untrusting = Client(kPublisherToken, dir_ + "/missing-ca.pem");
  auto r = untrusting->ListModels();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIOError);
  // Plain HTTP to the TLS port gets nowhere.
  RegistryClientOptions plain;
  plain.url = "http://127.0.0.1:" + std::to_string(port_);
  plain.token = kPublisherToken;
  plain.timeout_s = 3;
  EXPECT_FALSE((*RegistryClient::Create(plain))->ListModels().ok());
  // A bad key file is refused at start.
  RegistryServerOptions bad;
  bad.store_dir = dir_ + "/store2";
  bad.tokens = TokenSet::AllowEveryone();
  bad.tls_cert = cert;
  bad.tls_key = cert;  // not a key
  auto s = RegistryServer::Create(bad);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("cannot load the TLS certificate"), std::string::npos);
}

TEST_F(RegistryServerTest, InsecureNoAuthLetsEveryoneIn) {
  StartServer([](RegistryServerOptions* o) { o->tokens = TokenSet::AllowEveryone(); });
  auto anyone = Client("");
  auto v = anyone->Publish("m", BundleBytes(1), "stable");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->publisher, "anonymous");
}

TEST(RegistryClientTest, BadUrlsAndUnreachableRegistries) {
  RegistryClientOptions o;
  o.url = "ftp://x";
  EXPECT_FALSE(RegistryClient::Create(o).ok());
  o.url = "127.0.0.1:1";
  EXPECT_FALSE(RegistryClient::Create(o).ok());
  o.url = "http://127.0.0.1:1";  // nothing listens on port 1
  o.connect_timeout_s = 2;
  auto c = RegistryClient::Create(o);
  ASSERT_TRUE(c.ok());
  auto r = (*c)->ListModels();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIOError);  // worth retrying
  EXPECT_EQ((*c)->Download("m", "../x").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vigil
