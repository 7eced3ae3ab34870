// The multi-host path: 2 ranks in two network namespaces joined by a veth pair, each with its own
// address, rendezvous and Gloo traffic over that link only (GLOO_SOCKET_IFNAME = the veth end).
// The job must reach the single-rank validation accuracy within 0.5 points. Skipped only where
// `ip netns` cannot be used (not root, no CAP_SYS_ADMIN). The namespaces (and with them the veth
// pair) are removed on exit, also when an assertion fails; ones left by a killed run are removed
// at the next start.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "train/test_process.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;
using namespace testing_process;

const std::string kData = std::string(VIGIL_SOURCE_DIR) + "/../shared/data";
constexpr char kPrefix[] = "vigil-dist-";

// Runs a shell command; returns its exit status and (in *out) its combined output.
int Shell(const std::string& cmd, std::string* out = nullptr) {
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  std::string text;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) text.append(buf, n);
  int status = ::pclose(p);
  if (out != nullptr) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Namespaces "vigil-dist-<pid>-a|b" of processes that no longer exist.
void RemoveStaleNamespaces() {
  std::string list;
  if (Shell("ip netns list", &list) != 0) return;
  size_t at = 0;
  while ((at = list.find(kPrefix, at)) != std::string::npos) {
    size_t end = list.find_first_of(" \n", at);
    std::string name = list.substr(at, end - at);
    at = end;
    std::string pid = name.substr(sizeof kPrefix - 1);
    pid = pid.substr(0, pid.find('-'));
    if (!pid.empty() && !fs::exists("/proc/" + pid)) Shell("ip netns del " + name);
  }
}

// Two namespaces and a veth pair between them; removed by the destructor.
class VethPair {
 public:
  VethPair() {
    const std::string id = std::to_string(::getpid());
    ns_[0] = kPrefix + id + "-a";
    ns_[1] = kPrefix + id + "-b";
    dev_[0] = "vgd" + id + "a";
    dev_[1] = "vgd" + id + "b";
    const std::string net = "10.213." + std::to_string(::getpid() % 200) + ".";
    ip_[0] = net + "1";
    ip_[1] = net + "2";
  }
  ~VethPair() {
    for (const auto& ns : ns_) Shell("ip netns del " + ns);
  }
  // Empty on success, else what failed.
  std::string Create() {
    std::string out;
    for (const auto& ns : ns_) {
      if (Shell("ip netns add " + ns, &out) != 0) return "ip netns add " + ns + ": " + out;
    }
    if (Shell("ip link add " + dev_[0] + " type veth peer name " + dev_[1], &out) != 0)
      return "ip link add (veth): " + out;
    for (int i = 0; i < 2; ++i) {
      const std::string in = "ip -n " + ns_[i] + " ";
      for (const std::string& cmd : {"ip link set " + dev_[i] + " netns " + ns_[i],
                                     in + "addr add " + ip_[i] + "/24 dev " + dev_[i],
                                     in + "link set " + dev_[i] + " up", in + "link set lo up"}) {
        if (Shell(cmd, &out) != 0) return cmd + ": " + out;
      }
    }
    if (Shell("ip netns exec " + ns_[0] + " ping -c 1 -W 2 " + ip_[1], &out) != 0 &&
        Shell("ip netns exec " + ns_[1] + " ip addr show " + dev_[1], &out) != 0) {
      return "the veth link does not come up: " + out;
    }
    return "";
  }
  const std::string& ns(int i) const { return ns_[i]; }
  const std::string& dev(int i) const { return dev_[i]; }
  const std::string& ip(int i) const { return ip_[i]; }

 private:
  std::string ns_[2], dev_[2], ip_[2];
};

TEST(NetnsTest, TwoRanksInTwoNamespacesMatchOneRank) {
  const std::string train = kData + "/nsl-kdd/KDDTrain+_20Percent.txt";
  if (!fs::exists(train)) GTEST_SKIP() << "NSL-KDD not found at " << train;
  if (::geteuid() != 0) GTEST_SKIP() << "ip netns needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN)";
  std::string probe;
  if (Shell("ip netns list", &probe) != 0) GTEST_SKIP() << "ip netns cannot be used: " << probe;
  RemoveStaleNamespaces();
  VethPair link;
  std::string err = link.Create();
  if (err.rfind("ip netns add", 0) == 0) GTEST_SKIP() << "ip netns cannot be used: " << err;
  ASSERT_EQ(err, "");

  const fs::path dir =
      fs::temp_directory_path() / ("vigil_netns_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  struct Cleanup {
    fs::path d;
    ~Cleanup() { fs::remove_all(d); }
  } cleanup{dir};
  auto path = [&](const std::string& n) { return (dir / n).string(); };

  std::vector<std::string> base = {
      VigilBinary(), "train", "--format",  "nsl-kdd", "--train", train, "--model",      "mlp",
      "--epochs",    "2",     "--threads", "1",       "--seed",  "11",  "--batch-size", "256"};
  auto with = [](std::vector<std::string> a, const std::vector<std::string>& more) {
    a.insert(a.end(), more.begin(), more.end());
    return a;
  };
  pid_t one = Spawn(with(base, {"--out", path("one.vigil")}), path("one.log"));
  ASSERT_TRUE(WaitExit(one, 90).ok()) << ReadLog(path("one.log"));

  // Rank i runs inside namespace i; only the veth addresses are reachable between them.
  const std::string master = link.ip(0) + ":29511";
  pid_t ranks[2];
  for (int i = 0; i < 2; ++i) {
    std::vector<std::string> cmd = {"/usr/sbin/ip", "netns", "exec", link.ns(i)};
    cmd = with(cmd, base);
    cmd = with(cmd, {"--rank", std::to_string(i), "--world-size", "2", "--master", master, "--out",
                     path("two.vigil")});
    ranks[i] = Spawn(cmd, path("rank" + std::to_string(i) + ".log"),
                     {{"GLOO_SOCKET_IFNAME", link.dev(i)}});
  }
  Exit e0 = WaitExit(ranks[0], 120);
  Exit e1 = WaitExit(ranks[1], 30);
  ASSERT_TRUE(e0.ok()) << ReadLog(path("rank0.log"));
  ASSERT_TRUE(e1.ok()) << ReadLog(path("rank1.log"));

  nlohmann::json m1 = BundleMetadata(path("one.vigil"));
  nlohmann::json m2 = BundleMetadata(path("two.vigil"));
  ASSERT_FALSE(m1.is_null());
  ASSERT_FALSE(m2.is_null());
  EXPECT_EQ(m2["training"]["distributed"]["world_size"], 2);
  const double a1 = m1["metrics"]["validation"]["accuracy"].get<double>();
  const double a2 = m2["metrics"]["validation"]["accuracy"].get<double>();
  EXPECT_NEAR(a2, a1, 0.005);  // the bar: within 0.5 points of accuracy
  auto d0 = WeightDigests(path("rank0.log"));
  auto d1 = WeightDigests(path("rank1.log"));
  ASSERT_EQ(d0.count(0), 1u) << ReadLog(path("rank0.log"));
  ASSERT_EQ(d1.count(1), 1u) << ReadLog(path("rank1.log"));
  EXPECT_EQ(d0[0], d1[1]);
  std::printf(
      "[ figures ] netns %s <-> %s over %s/%s: accuracy 1 rank %.4f, 2 ranks %.4f, "
      "samples/s %.0f\n",
      link.ip(0).c_str(), link.ip(1).c_str(), link.dev(0).c_str(), link.dev(1).c_str(), a1, a2,
      m2["training"]["samples_per_s"].get<double>());
}

}  // namespace
}  // namespace vigil
