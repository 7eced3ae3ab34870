// Data-parallel training end to end with the vigil binary: 2 ranks reach the 1-rank validation
// metric on NSL-KDD, ranks end with identical weights, a resumed 2-rank run equals an
// uninterrupted one, and a killed rank fails the job fast with its name, with and without the
// --nproc launcher. World size 1 given explicitly is the single-process trainer bit for bit.
#include <gtest/gtest.h>

#include <filesystem>

#include "data/synth.h"
#include "train/launch.h"
#include "train/test_process.h"
#include "train/trainer.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;
using namespace testing_process;

const std::string kData = std::string(VIGIL_SOURCE_DIR) + "/../shared/data";

class DistributedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vigil_dist_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // The generated sequence set (small, any machine) as `vigil train` arguments.
  std::vector<std::string> SmallSetArgs(int64_t epochs) {
    SynthOptions o;
    o.hosts = 40;
    o.flows_per_host = 30;
    EXPECT_TRUE(WriteSequenceDataset(Path("small.csv"), Path("small.toml"), o).ok());
    return {VigilBinary(), "train",
            "--format",    "csv",
            "--schema",    Path("small.toml"),
            "--train",     Path("small.csv"),
            "--model",     "mlp",
            "--epochs",    std::to_string(epochs),
            "--patience",  "0",
            "--threads",   "1"};
  }

  fs::path dir_;
};

std::vector<std::string> With(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST_F(DistributedTest, TwoRanksReachTheOneRankMetricOnNslKdd) {
  const std::string train = kData + "/nsl-kdd/KDDTrain+_20Percent.txt";
  if (!fs::exists(train)) GTEST_SKIP() << "NSL-KDD not found at " << train;
  // Same global batch (256) and epochs; 1 thread per rank, so 2 ranks use the machine's 2 cores.
  std::vector<std::string> base = {
      VigilBinary(), "train", "--format",     "nsl-kdd", "--train",   train, "--model", "mlp",
      "--epochs",    "4",     "--batch-size", "256",     "--threads", "1",   "--seed",  "7"};
  pid_t one = Spawn(With(base, {"--out", Path("one.vigil")}), Path("one.log"));
  Exit e1 = WaitExit(one, 120);
  ASSERT_TRUE(e1.ok()) << ReadLog(Path("one.log"));
  pid_t two = Spawn(With(base, {"--nproc", "2", "--out", Path("two.vigil")}), Path("two.log"));
  Exit e2 = WaitExit(two, 120);
  ASSERT_TRUE(e2.ok()) << ReadLog(Path("two.log"));

  nlohmann::json m1 = BundleMetadata(Path("one.vigil"));
  nlohmann::json m2 = BundleMetadata(Path("two.vigil"));
  ASSERT_FALSE(m1.is_null());
  ASSERT_FALSE(m2.is_null());
  const auto& v1 = m1["metrics"]["validation"];
  const auto& v2 = m2["metrics"]["validation"];
  // The same validation rows on both (one seeded split, taken identically on every rank).
  EXPECT_EQ(v1["rows"], v2["rows"]);
  // Tolerance: 0.5 points of accuracy and 0.005 of ROC-AUC (the ranks' dropout masks and the
  // order of float sums differ from the single process; the gradient is the same global batch's).
  const double acc1 = v1["accuracy"].get<double>(), acc2 = v2["accuracy"].get<double>();
  EXPECT_NEAR(acc2, acc1, 0.005);
  EXPECT_NEAR(v2["roc_auc"].get<double>(), v1["roc_auc"].get<double>(), 0.005);
  EXPECT_GE(acc1, 0.95);  // both learnt something (the majority class is ~53%)
  std::printf(
      "[ figures ] validation accuracy 1 rank %.4f, 2 ranks %.4f; samples/s 1 rank %.0f, "
      "2 ranks %.0f; %lld gradient bytes all-reduced per step in %lld buckets\n",
      acc1, acc2, m1["training"]["samples_per_s"].get<double>(),
      m2["training"]["samples_per_s"].get<double>(),
      m2["training"]["distributed"]["allreduce_bytes_per_step"].get<long long>(),
      m2["training"]["distributed"]["gradient_buckets"].get<long long>());
  EXPECT_FALSE(m1["training"].contains("distributed"));
  EXPECT_EQ(m2["training"]["distributed"]["world_size"], 2);

  // Identical weights on both ranks, and they are the bundle's.
  auto digests = WeightDigests(Path("two.log"));
  ASSERT_EQ(digests.size(), 2u) << ReadLog(Path("two.log"));
  EXPECT_EQ(digests[0], digests[1]);
  EXPECT_EQ(m2["training"]["distributed"]["weights_sha256"], digests[0]);
  // Only rank 0 wrote: one bundle, one checkpoint directory, nothing else.
  EXPECT_TRUE(fs::exists(Path("two.vigil.ckpt/state.json")));
}

TEST_F(DistributedTest, ResumedRunEqualsAnUninterruptedOne) {
  auto base = With(SmallSetArgs(4), {"--nproc", "2"});
  pid_t full = Spawn(With(base, {"--out", Path("full.vigil")}), Path("full.log"));
  ASSERT_TRUE(WaitExit(full, 90).ok()) << ReadLog(Path("full.log"));
  pid_t part =
      Spawn(With(base, {"--out", Path("part.vigil"), "--stop-after", "2"}), Path("part.log"));
  ASSERT_TRUE(WaitExit(part, 90).ok()) << ReadLog(Path("part.log"));
  EXPECT_FALSE(fs::exists(Path("part.vigil")));
  EXPECT_NE(ReadLog(Path("part.log")).find("continue with --resume"), std::string::npos);
  pid_t rest = Spawn(With(base, {"--out", Path("part.vigil"), "--resume"}), Path("rest.log"));
  ASSERT_TRUE(WaitExit(rest, 90).ok()) << ReadLog(Path("rest.log"));
  EXPECT_NE(ReadLog(Path("rest.log")).find("resuming at epoch 3"), std::string::npos)
      << ReadLog(Path("rest.log"));
  auto a = BundleMetadata(Path("full.vigil"));
  auto b = BundleMetadata(Path("part.vigil"));
  ASSERT_FALSE(a.is_null());
  ASSERT_FALSE(b.is_null());
  EXPECT_EQ(a["training"]["epochs_run"], 4);
  EXPECT_EQ(b["training"]["epochs_run"], 4);
  EXPECT_EQ(a["training"]["distributed"]["weights_sha256"],
            b["training"]["distributed"]["weights_sha256"]);
}

TEST_F(DistributedTest, LauncherStopsTheJobWhenARankIsKilled) {
  auto args = With(SmallSetArgs(100000), {"--nproc", "2", "--out", Path("m.vigil")});
  pid_t launcher = Spawn(args, Path("launch.log"));
  ASSERT_TRUE(WaitForLog(Path("launch.log"), "epoch   1/", 60)) << ReadLog(Path("launch.log"));
  // Rank 1 is the launcher's child with RANK=1 in its environment.
  pid_t rank1 = -1;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto status = ReadFile(entry.path().string() + "/status");
    auto environ_text = ReadFile(entry.path().string() + "/environ");
    if (!status.ok() || !environ_text.ok()) continue;
    if (status->find("\nPPid:\t" + std::to_string(launcher) + "\n") == std::string::npos) continue;
    if (environ_text->find(std::string("\0RANK=1\0", 8)) != std::string::npos) {
      rank1 = static_cast<pid_t>(std::stol(name));
    }
  }
  ASSERT_GT(rank1, 0) << "rank 1 not found among the launcher's children";
  ASSERT_EQ(::kill(rank1, SIGKILL), 0);
  Exit e = WaitExit(launcher, 60);
  const std::string log = ReadLog(Path("launch.log"));
  EXPECT_FALSE(e.timed_out) << log;
  EXPECT_FALSE(e.ok()) << log;
  EXPECT_LT(e.seconds, 30) << log;
  EXPECT_NE(log.find("rank 1 (pid " + std::to_string(rank1) + ") was killed by signal 9"),
            std::string::npos)
      << log;
  EXPECT_FALSE(fs::exists(Path("m.vigil")));
}

TEST_F(DistributedTest, SurvivorNamesTheLostRankWithoutALauncher) {
  auto port = FreeTcpPort();
  ASSERT_TRUE(port.ok());
  auto base = With(SmallSetArgs(100000),
                   {"--world-size", "2", "--master", "127.0.0.1:" + std::to_string(*port),
                    "--dist-timeout", "20", "--out", Path("m.vigil")});
  pid_t r0 = Spawn(With(base, {"--rank", "0"}), Path("r0.log"));
  pid_t r1 = Spawn(With(base, {"--rank", "1"}), Path("r1.log"));
  ASSERT_TRUE(WaitForLog(Path("r0.log"), "epoch   1/", 60)) << ReadLog(Path("r0.log"));
  ASSERT_EQ(::kill(r1, SIGKILL), 0);
  WaitExit(r1, 10);
  Exit e = WaitExit(r0, 60);
  const std::string log = ReadLog(Path("r0.log"));
  EXPECT_FALSE(e.timed_out) << log;
  EXPECT_FALSE(e.ok()) << log;
  EXPECT_LT(e.seconds, 30) << log;
  EXPECT_NE(log.find("lost rank 1"), std::string::npos) << log;
}

TEST_F(DistributedTest, WorldSizeOneIsTheSingleProcessTrainer) {
  auto args = SmallSetArgs(2);  // writes the data set
  TrainConfig c;
  c.format = "csv";
  c.schema = Path("small.toml");
  c.train = Path("small.csv");
  c.epochs = 2;
  c.threads = 1;
  c.quiet = true;
  c.out = Path("a.vigil");
  ASSERT_TRUE(Train(c).ok());
  c.out = Path("b.vigil");
  c.rank = 0;
  c.world_size = 1;
  ASSERT_TRUE(Train(c).ok());
  auto a = ReadBundle(Path("a.vigil"));
  auto b = ReadBundle(Path("b.vigil"));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->tensors.size(), b->tensors.size());
  for (size_t i = 0; i < a->tensors.size(); ++i) {
    EXPECT_EQ(a->tensors[i].name, b->tensors[i].name);
    EXPECT_EQ(a->tensors[i].data, b->tensors[i].data) << a->tensors[i].name;
  }
  EXPECT_FALSE(b->metadata["training"].contains("distributed"));
}

}  // namespace
}  // namespace vigil
