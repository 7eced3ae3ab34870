// FetchDataset against a local HTTP server (never the internet) serving the NSL-KDD files from
// ../shared/data/nsl-kdd, plus DefaultCacheDir and LocateDataset search order.
#include "data/fetch.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "core/file.h"
#include "core/sha256.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

const char kNslKddDir[] = VIGIL_SOURCE_DIR "/../shared/data/nsl-kdd";

// Sets an environment variable for the life of the object, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    const char* old = std::getenv(name);
    if (old != nullptr) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

fs::path MakeTempDir(const std::string& tag) {
  std::string pattern = (fs::temp_directory_path() / ("vigil_fetch_" + tag + "_XXXXXX")).string();
  char* dir = ::mkdtemp(pattern.data());
  EXPECT_NE(dir, nullptr);
  return fs::path(pattern);
}

void Touch(const fs::path& path) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << "x\n";
}

// Files in `dir` whose names are not catalog names (temporary leftovers).
std::vector<std::string> StrayFiles(const fs::path& dir, const DatasetInfo& info) {
  std::set<std::string> known;
  for (const DatasetFile& f : info.files) known.insert(f.name);
  std::vector<std::string> stray;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string n = entry.path().filename().string();
    if (!known.count(n)) stray.push_back(n);
  }
  return stray;
}

// A minimal HTTP/1.1 server on 127.0.0.1 for these tests: GET only, one connection at a time,
// every response "Connection: close". (Debian's cpp-httplib is a compiled library that the test
// binary does not link; downloads need nothing more than this.)
class LoopbackHttpServer {
 public:
  // Maps a request path without the leading '/' to (HTTP status, body).
  using Handler = std::function<std::pair<int, std::string>(const std::string& path)>;

  explicit LoopbackHttpServer(Handler handler) : handler_(std::move(handler)) {}
  ~LoopbackHttpServer() { Stop(); }

  // Listens on a free port and serves from a thread; false if the socket could not be set up.
  bool Start() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return false;
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
    return true;
  }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  int port() const { return port_; }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      Answer(conn);
      ::close(conn);
    }
  }

  void Answer(int conn) {
    std::string request;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
      ssize_t n = ::recv(conn, buf, sizeof(buf), 0);
      if (n <= 0) return;
      request.append(buf, static_cast<size_t>(n));
    }
    // "GET /PATH HTTP/1.1"
    size_t sp1 = request.find(' ');
    size_t sp2 = request.find(' ', sp1 + 1);
    std::pair<int, std::string> reply = {400, "bad request"};
    if (request.rfind("GET /", 0) == 0 && sp2 != std::string::npos) {
      reply = handler_(request.substr(sp1 + 2, sp2 - sp1 - 2));
    }
    std::string head =
        "HTTP/1.1 " + std::to_string(reply.first) + (reply.first == 200 ? " OK" : " Error") +
        "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(reply.second.size()) +
        "\r\nConnection: close\r\n\r\n";
    SendAll(conn, head);
    SendAll(conn, reply.second);
  }

  static void SendAll(int conn, const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::send(conn, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }

  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class FetchServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::is_directory(kNslKddDir)) {
      GTEST_SKIP() << "NSL-KDD files not found at " << kNslKddDir
                   << " (the shared benchmark data); skipping the download tests";
    }
    ASSERT_TRUE(server_.Start()) << "cannot listen on 127.0.0.1";
    cache_ = MakeTempDir("cache");
    opts_.cache_dir = cache_.string();
    opts_.mirror = "http://127.0.0.1:" + std::to_string(server_.port());
  }

  void TearDown() override {
    server_.Stop();
    if (!cache_.empty()) fs::remove_all(cache_);
  }

  const DatasetInfo& NslKdd() {
    const DatasetInfo* info = FindDataset("nsl-kdd");
    EXPECT_NE(info, nullptr);
    return *info;
  }

  // Serves the NSL-KDD files, with per-name overrides and 404s, counting requests.
  std::pair<int, std::string> Serve(const std::string& name) {
    ++requests_;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = overrides_.find(name);
    if (it != overrides_.end()) return {200, it->second};
    if (missing_.count(name) || name.find("..") != std::string::npos) return {404, "not found"};
    Result<std::string> body = ReadFile(std::string(kNslKddDir) + "/" + name);
    if (!body.ok()) return {404, "not found"};
    return {200, std::move(body).value()};
  }

  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::map<std::string, std::string> overrides_;  // GUARDED_BY(mu_): name -> body served instead
  std::set<std::string> missing_;                 // GUARDED_BY(mu_): names answered with 404
  LoopbackHttpServer server_{[this](const std::string& name) { return Serve(name); }};
  fs::path cache_;
  FetchOptions opts_;
  // A proxy from the environment must not intercept requests to the local server.
  ScopedEnv no_proxy_{"no_proxy", "127.0.0.1,localhost"};
  ScopedEnv no_proxy_upper_{"NO_PROXY", "127.0.0.1,localhost"};
};

TEST_F(FetchServerTest, DownloadsVerifiesAndSkipsFilesAlreadyCached) {
  std::map<std::string, uint64_t> progress_last;
  opts_.progress = [&](const std::string& file, uint64_t done, uint64_t total) {
    progress_last[file] = done;
    EXPECT_LE(done, total);
  };
  Result<std::string> dir = FetchDataset("nsl-kdd", opts_);
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(*dir, (cache_ / "nsl-kdd").string());
  const DatasetInfo& info = NslKdd();
  for (const DatasetFile& f : info.files) {
    std::string path = *dir + "/" + f.name;
    Result<std::string> hash = Sha256FileHex(path);
    ASSERT_TRUE(hash.ok()) << hash.status().ToString();
    EXPECT_EQ(*hash, f.sha256) << f.name;
    EXPECT_EQ(fs::file_size(path), f.size) << f.name;
    EXPECT_EQ(progress_last[f.name], f.size) << f.name;
  }
  EXPECT_TRUE(StrayFiles(*dir, info).empty());
  int after_first = requests_.load();
  EXPECT_EQ(after_first, static_cast<int>(info.files.size()));

  Result<std::string> again = FetchDataset("nsl-kdd", opts_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(requests_.load(), after_first) << "a cached file with the right hash was downloaded";

  opts_.force = true;
  ASSERT_TRUE(FetchDataset("nsl-kdd", opts_).ok());
  EXPECT_EQ(requests_.load(), 2 * after_first);
}

TEST_F(FetchServerTest, ReplacesACachedFileWithTheWrongHash) {
  ASSERT_TRUE(FetchDataset("nsl-kdd", opts_).ok());
  fs::path victim = cache_ / "nsl-kdd" / "KDDTest-21.txt";
  std::ofstream(victim, std::ios::app) << "tampered\n";
  int before = requests_.load();
  ASSERT_TRUE(FetchDataset("nsl-kdd", opts_).ok());
  EXPECT_EQ(requests_.load(), before + 1);
  EXPECT_EQ(*Sha256FileHex(victim.string()),
            "746993ac9e25868827cacf09eab450050a2a1056e1ce48a1ad39f5dc801d531d");
}

TEST_F(FetchServerTest, CorruptDownloadIsRejectedAndDeleted) {
  std::string wrong = *ReadFile(std::string(kNslKddDir) + "/KDDTest+.txt");
  wrong[100] ^= 1;  // same size, one bit off
  {
    std::lock_guard<std::mutex> lock(mu_);
    overrides_["KDDTest+.txt"] = wrong;
  }
  Result<std::string> dir = FetchDataset("nsl-kdd", opts_);
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), StatusCode::kCorruption) << dir.status().ToString();
  const std::string& msg = dir.status().message();
  EXPECT_NE(msg.find("KDDTest+.txt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("fa46b0935342616aa83b7c2578db355b6a7aaabbc492248172c7a1e8b7ab8f84"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find(Sha256Hex(wrong)), std::string::npos) << msg;
  fs::path ds = cache_ / "nsl-kdd";
  EXPECT_FALSE(fs::exists(ds / "KDDTest+.txt"));
  EXPECT_TRUE(StrayFiles(ds, NslKdd()).empty()) << "temporary file left behind";
}

TEST_F(FetchServerTest, HttpErrorIsReported) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    missing_.insert("KDDTrain+_20Percent.txt");
  }
  Result<std::string> dir = FetchDataset("nsl-kdd", opts_);
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), StatusCode::kIOError) << dir.status().ToString();
  const std::string& msg = dir.status().message();
  EXPECT_NE(msg.find("KDDTrain+_20Percent.txt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("HTTP 404"), std::string::npos) << msg;
  fs::path ds = cache_ / "nsl-kdd";
  EXPECT_FALSE(fs::exists(ds / "KDDTrain+_20Percent.txt"));
  EXPECT_TRUE(StrayFiles(ds, NslKdd()).empty()) << "temporary file left behind";
}

TEST(FetchTest, ConnectionRefusedIsAnIOError) {
  // Bind a port without listening and close it, so connecting there is refused at once.
  int sock = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  int port = ntohs(addr.sin_port);
  ::close(sock);
  fs::path cache = MakeTempDir("refused");
  FetchOptions opts;
  opts.cache_dir = cache.string();
  opts.mirror = "http://127.0.0.1:" + std::to_string(port);
  ScopedEnv no_proxy("no_proxy", "127.0.0.1,localhost");
  ScopedEnv no_proxy_upper("NO_PROXY", "127.0.0.1,localhost");
  Result<std::string> dir = FetchDataset("nsl-kdd", opts);
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), StatusCode::kIOError) << dir.status().ToString();
  fs::remove_all(cache);
}

TEST(FetchTest, CatalogHasVerifiableNslKddFiles) {
  const DatasetInfo* nsl = FindDataset("nsl-kdd");
  ASSERT_NE(nsl, nullptr);
  EXPECT_TRUE(nsl->manual_instructions.empty());
  ASSERT_EQ(nsl->files.size(), 4u);
  for (const DatasetFile& f : nsl->files) {
    EXPECT_EQ(f.sha256.size(), 64u) << f.name;
    EXPECT_GT(f.size, 0u) << f.name;
    EXPECT_EQ(f.url.rfind("https://", 0), 0u) << f.url;
  }
  EXPECT_EQ(FindDataset("no-such-set"), nullptr);
}

TEST(FetchTest, UnknownAndManualDataSets) {
  fs::path cache = MakeTempDir("manual");
  FetchOptions opts;
  opts.cache_dir = cache.string();
  Result<std::string> unknown = FetchDataset("kdd-2000", opts);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("nsl-kdd"), std::string::npos);

  Result<std::string> unsw = FetchDataset("unsw-nb15", opts);
  ASSERT_FALSE(unsw.ok());
  EXPECT_EQ(unsw.status().code(), StatusCode::kUnsupported);
  const std::string& msg = unsw.status().message();
  EXPECT_NE(msg.find("research.unsw.edu.au/projects/unsw-nb15-dataset"), std::string::npos) << msg;
  EXPECT_NE(msg.find("UNSW_NB15_training-set.csv"), std::string::npos) << msg;
  EXPECT_NE(msg.find("UNSW_NB15_testing-set.csv"), std::string::npos) << msg;
  EXPECT_NE(msg.find((cache / "unsw-nb15").string()), std::string::npos) << msg;
  fs::remove_all(cache);
}

TEST(FetchTest, DefaultCacheDirPrecedence) {
  ScopedEnv home("HOME", "/home/someone");
  {
    ScopedEnv cache("VIGIL_CACHE", "/var/cache/v");
    ScopedEnv xdg("XDG_CACHE_HOME", "/xdg");
    EXPECT_EQ(DefaultCacheDir(), "/var/cache/v");
  }
  {
    ScopedEnv cache("VIGIL_CACHE", "");
    ScopedEnv xdg("XDG_CACHE_HOME", "/xdg");
    EXPECT_EQ(DefaultCacheDir(), "/xdg/vigil/data");
  }
  {
    ScopedEnv cache("VIGIL_CACHE", std::nullopt);
    ScopedEnv xdg("XDG_CACHE_HOME", std::nullopt);
    EXPECT_EQ(DefaultCacheDir(), "/home/someone/.cache/vigil/data");
  }
}

TEST(FetchTest, LocateDatasetSearchOrderAndMessage) {
  fs::path root = MakeTempDir("locate");
  fs::path env_data = root / "env";
  fs::path project = root / "work" / "main";
  fs::path shared = root / "work" / "shared" / "data" / "nsl-kdd";
  fs::path cache = root / "cache";
  fs::create_directories(project);
  const std::vector<std::string> need = {"KDDTrain+.txt", "KDDTest+.txt"};
  for (const fs::path& d : {env_data / "nsl-kdd", shared, cache / "nsl-kdd"}) {
    for (const std::string& f : need) Touch(d / f);
  }
  ScopedEnv data("VIGIL_DATA", env_data.string());
  ScopedEnv vcache("VIGIL_CACHE", cache.string());

  auto locate = [&] { return LocateDataset("nsl-kdd", need, project.string()); };
  Result<std::string> found = locate();
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(fs::path(*found), env_data / "nsl-kdd");

  fs::remove(env_data / "nsl-kdd" / "KDDTest+.txt");  // incomplete: skipped
  found = locate();
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(fs::weakly_canonical(*found), fs::weakly_canonical(shared));

  fs::remove_all(shared);
  found = locate();
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(fs::path(*found), cache / "nsl-kdd");

  fs::remove(cache / "nsl-kdd" / "KDDTrain+.txt");
  found = locate();
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), StatusCode::kNotFound);
  const std::string& msg = found.status().message();
  EXPECT_NE(msg.find("vigil data fetch nsl-kdd"), std::string::npos) << msg;
  EXPECT_NE(msg.find((env_data / "nsl-kdd").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing KDDTest+.txt"), std::string::npos) << msg;
  EXPECT_NE(msg.find((cache / "nsl-kdd").string()), std::string::npos) << msg;

  // A manual data set's message says where to get the files and where to put them.
  Result<std::string> unsw = LocateDataset("unsw-nb15", {"UNSW_NB15_training-set.csv"}, "");
  ASSERT_FALSE(unsw.ok());
  EXPECT_NE(unsw.status().message().find("research.unsw.edu.au"), std::string::npos);
  EXPECT_NE(unsw.status().message().find((cache / "unsw-nb15").string()), std::string::npos);
  fs::remove_all(root);
}

}  // namespace
}  // namespace vigil
