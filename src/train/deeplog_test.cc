// DeepLog: the judging rules on a small generated set (short sessions are judged by their end,
// unknown keys are never expected, the bundle reloads to the same verdicts), and the bars
// on the DeepLog HDFS sessions (../shared/data/deeplog-hdfs) at a reduced budget.
#include "train/deeplog.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/file.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

const std::string kHdfs = std::string(VIGIL_SOURCE_DIR) + "/../shared/data/deeplog-hdfs";

class DeepLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vigil_deeplog_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  TrainConfig Config(const std::string& train, const std::string& out) const {
    TrainConfig c;
    c.format = "sessions";
    c.model = "deeplog";
    c.train = train;
    c.out = Path(out);
    c.threads = 1;  // small batches: one thread is fastest, and the result is reproducible
    c.quiet = true;
    return c;
  }

  fs::path dir_;
};

// Normal sessions: "1 2 3 4" and "7 2 3 5 6 4"; with h = 3 each window has one next symbol.
std::string WriteToySet(const std::string& path) {
  std::ofstream f(path);
  for (int i = 0; i < 100; ++i) f << "1 2 3 4\n7 2 3 5 6 4\n";
  return path;
}

TEST_F(DeepLogTest, EveryKeyAndTheEndAreJudgedAndTheBundleReloads) {
  TrainConfig c = Config(WriteToySet(Path("toy.txt")), "toy.vigil");
  c.window = 3;
  c.top_g = 2;  // the first key is 1 or 7
  c.lstm_hidden = 16;
  c.epochs = 300;
  c.patience = 0;
  c.lr = 0.01;
  auto summary = TrainDeepLog(c);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->validation.fp, 0u);  // every validation session is normal and judged so

  auto m = LoadDeepLog(c.out);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->spec.window, 3);
  EXPECT_EQ(m->spec.top_g, 2);
  EXPECT_GT(m->threshold, 0.5);  // the first key is a coin toss: ln 2 on every session
  EXPECT_LT(m->threshold, 3.0);
  EXPECT_EQ(m->spec.keys, (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7"}));

  SessionSet s;
  s.keys = {{"7", "2", "3", "5", "6", "4"},  // normal
            {"1", "2"},                      // stops early: the end is unexpected
            {"1", "2", "3", "4", "4"},       // runs on past the end
            {"1", "2", "9", "3", "4"},       // a key never seen in training
            {}};                             // nothing at all: the end right after the start
  s.labels = {0, 1, 1, 1, 1};
  std::vector<SessionVerdict> v = JudgeSessions(*m, s);
  ASSERT_EQ(v.size(), 5u);
  EXPECT_FALSE(v[0].anomaly) << v[0].key << " at " << v[0].position;
  EXPECT_LT(v[0].score, m->threshold + 1e-6);
  ASSERT_TRUE(v[1].anomaly);
  EXPECT_EQ(v[1].position, 3u);
  EXPECT_EQ(v[1].key, "<end>");
  EXPECT_EQ(v[1].expected, (std::vector<std::string>{"3"}));
  ASSERT_TRUE(v[2].anomaly);
  EXPECT_EQ(v[2].position, 5u);
  EXPECT_EQ(v[2].key, "4");
  EXPECT_EQ(v[2].expected, (std::vector<std::string>{"<end>"}));
  ASSERT_TRUE(v[3].anomaly);
  EXPECT_EQ(v[3].position, 3u);
  EXPECT_EQ(v[3].key, "9");
  EXPECT_TRUE(v[3].unknown_key);
  EXPECT_EQ(v[3].score, kDeepLogCap);
  EXPECT_EQ(v[3].probability, 0);
  ASSERT_TRUE(v[4].anomaly);
  EXPECT_EQ(v[4].position, 1u);
  EXPECT_EQ(v[4].key, "<end>");

  // DeepLog's pure top-g rule still catches the early end (outside the top 2) and the run-on.
  const double floor_threshold = m->threshold;
  m->threshold = kDeepLogCap - 0.5;
  std::vector<SessionVerdict> pure = JudgeSessions(*m, s);
  EXPECT_FALSE(pure[0].anomaly);
  EXPECT_TRUE(pure[1].anomaly);
  EXPECT_TRUE(pure[3].anomaly);
  m->threshold = floor_threshold;

  auto report = EvaluateSessions(*m, s);
  ASSERT_TRUE(report.ok());
  EXPECT_DOUBLE_EQ(report->f1, 1.0);
  EXPECT_EQ(report->class_names, (std::vector<std::string>{"normal", "anomaly"}));

  // The same bundle, read again and judged in batches of one window, gives the same verdicts.
  auto again = LoadDeepLog(c.out);
  ASSERT_TRUE(again.ok());
  std::vector<SessionVerdict> w = JudgeSessions(*again, s, /*batch=*/1);
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(w[i].anomaly, v[i].anomaly);
    EXPECT_NEAR(w[i].score, v[i].score, 1e-5);  // another batch size may round differently
    EXPECT_EQ(w[i].position, v[i].position);
  }
}

TEST_F(DeepLogTest, ConfigRefusesMismatchedFormatsAndCheckpoints) {
  TrainConfig c = Config(WriteToySet(Path("toy.txt")), "x.vigil");
  c.format = "csv";
  c.schema = "s.toml";
  EXPECT_NE(c.Validate().message().find("--format sessions"), std::string::npos);
  c = Config(Path("toy.txt"), "x.vigil");
  c.model = "mlp";
  EXPECT_NE(c.Validate().message().find("--model deeplog"), std::string::npos);
  c = Config(Path("toy.txt"), "x.vigil");
  c.resume = true;
  auto s = TrainDeepLog(c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("--resume"), std::string::npos);
  c.resume = false;
  c.top_g = 0;
  EXPECT_NE(c.Validate().message().find("--top-g"), std::string::npos);
  c.top_g = 9;
  c.model = "autoencoder";
  c.format = "nsl-kdd";
  c.threshold = "topg";
  EXPECT_NE(c.Validate().message().find("topg"), std::string::npos);
}

// The bars: F1 >= 0.95 on robust_log_train.csv (every row; its normal sessions are not
// used in training) and recall >= 0.95 on hdfs_test_abnormal, training on hdfs_train only. The
// floors leave a little room for the reduced budget and other thread counts.
TEST_F(DeepLogTest, HdfsSessionsMeetTheBars) {
  if (!FileExists(kHdfs + "/hdfs_train") || !FileExists(kHdfs + "/robust_log_train.csv") ||
      !FileExists(kHdfs + "/hdfs_test_abnormal")) {
    GTEST_SKIP() << "DeepLog HDFS sessions (hdfs_train, hdfs_test_abnormal, robust_log_train.csv) "
                    "not found under "
                 << kHdfs;
  }
  TrainConfig c = Config(kHdfs + "/hdfs_train", "hdfs.vigil");
  auto summary = TrainDeepLog(c);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  auto m = LoadDeepLog(c.out);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->spec.window, 10);
  EXPECT_EQ(m->spec.top_g, 9);

  auto robust = ReadSessions(kHdfs + "/robust_log_train.csv", "sessions-csv", true);
  ASSERT_TRUE(robust.ok()) << robust.status().ToString();
  auto r = EvaluateSessions(*m, *robust);
  ASSERT_TRUE(r.ok());
  std::printf("robust_log_train.csv: precision %.4f recall %.4f f1 %.4f (tp %zu fp %zu fn %zu)\n",
              r->precision, r->recall, r->f1, r->tp, r->fp, r->fn);
  EXPECT_GE(r->f1, 0.94);
  EXPECT_GE(r->recall, 0.94);

  auto abnormal = ReadSessions(kHdfs + "/hdfs_test_abnormal", "sessions");
  ASSERT_TRUE(abnormal.ok()) << abnormal.status().ToString();
  abnormal->labels.assign(abnormal->size(), 1);
  auto a = EvaluateSessions(*m, *abnormal);
  ASSERT_TRUE(a.ok());
  std::printf("hdfs_test_abnormal: recall %.4f (%zu of %zu)\n", a->recall, a->tp, a->rows);
  EXPECT_GE(a->recall, 0.94);
}

}  // namespace
}  // namespace vigil
