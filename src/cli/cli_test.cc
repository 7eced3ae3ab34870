// End-to-end tests of the `vigil` binary: the commands a user types, their files and their errors.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cli/test_util.h"

namespace {

using namespace vigil::testutil;  // NOLINT(google-build-using-namespace)

namespace fs = std::filesystem;

const std::string kNsl = kData + "/nsl-kdd";

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (fs::temp_directory_path() / ("vigil_cli_test_" + std::to_string(::getpid()))).string();
    fs::create_directories(dir_);
    if (!fs::exists(kNsl + "/KDDTrain+_20Percent.txt")) return;
    // One small model shared by the tests below; TOML config with a flag overriding it.
    std::ofstream(dir_ + "/cfg.toml") << "epochs = 5\nlr = 0.002\nbatch_size = 128\n";
    CmdResult r = Vigil("train --config " + dir_ +
                        "/cfg.toml --epochs 1 --threads 1 --format nsl-kdd --train " + kNsl +
                        "/KDDTrain+_20Percent.txt --out " + dir_ + "/m.vigil");
    train_ok_ = r.code == 0;
    train_out_ = r.out;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  void SetUp() override {
    if (!fs::exists(kNsl + "/KDDTest+.txt")) GTEST_SKIP() << "NSL-KDD not found under " << kData;
    ASSERT_TRUE(train_ok_) << train_out_;
  }

  static std::string dir_;
  static bool train_ok_;
  static std::string train_out_;
};
std::string CliTest::dir_;
bool CliTest::train_ok_ = false;
std::string CliTest::train_out_;

TEST_F(CliTest, TrainShowsProgressAndFlagsOverrideTheConfigFile) {
  EXPECT_NE(train_out_.find("epoch   1/1"), std::string::npos) << train_out_;
  EXPECT_NE(train_out_.find("samples/s"), std::string::npos);
  CmdResult r = Vigil("inspect --json " + dir_ + "/m.vigil");
  ASSERT_EQ(r.code, 0) << r.out;
  auto md = nlohmann::json::parse(r.out);
  EXPECT_EQ(md["training"]["config"]["epochs"], 1);        // flag wins
  EXPECT_EQ(md["training"]["config"]["lr"], 0.002);        // from the file
  EXPECT_EQ(md["training"]["config"]["batch_size"], 128);  // from the file
}

TEST_F(CliTest, EvalWritesEveryReportKey) {
  CmdResult r = Vigil("eval --model " + dir_ + "/m.vigil --format nsl-kdd --test " + kNsl +
                      "/KDDTest+.txt --report " + dir_ + "/r.json");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("false_alarm_rate"), std::string::npos);
  auto j = nlohmann::json::parse(Slurp(dir_ + "/r.json"));
  for (const char* k : {"accuracy", "precision", "recall", "f1", "false_alarm_rate", "roc_auc",
                        "pr_auc", "macro_f1", "per_class", "confusion", "rows"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_EQ(j["rows"], 22544);
  EXPECT_GT(j["accuracy"].get<double>(), 0.7);
  EXPECT_EQ(j["confusion"]["classes"].size(), 2u);
}

TEST_F(CliTest, PredictWritesOneJsonObjectPerRecord) {
  CmdResult r = Vigil("predict --model " + dir_ + "/m.vigil --input " + kNsl +
                      "/KDDTest-21.txt --output " + dir_ + "/p.jsonl");
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream in(dir_ + "/p.jsonl");
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (n == 0) {
      EXPECT_TRUE(j.contains("class"));
      EXPECT_TRUE(j.contains("score"));
      EXPECT_EQ(j["probabilities"].size(), 2u);
      double sum =
          j["probabilities"]["normal"].get<double>() + j["probabilities"]["attack"].get<double>();
      EXPECT_NEAR(sum, 1.0, 1e-5);
    }
    ++n;
  }
  EXPECT_EQ(n, 11850u);
}

TEST_F(CliTest, InspectPrintsMetadataAndChecksum) {
  CmdResult r = Vigil("inspect " + dir_ + "/m.vigil");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("sha256"), std::string::npos);
  EXPECT_NE(r.out.find("fc0.weight"), std::string::npos);
  EXPECT_NE(r.out.find("KDDTrain+_20Percent.txt"), std::string::npos);
}

TEST_F(CliTest, TamperedOrTruncatedBundlesAreRefused) {
  std::string bytes = Slurp(dir_ + "/m.vigil");
  std::string tampered = bytes;
  tampered[bytes.size() / 2] ^= 0x01;
  std::ofstream(dir_ + "/tampered.vigil", std::ios::binary) << tampered;
  CmdResult r = Vigil("eval --model " + dir_ + "/tampered.vigil --test " + kNsl + "/KDDTest+.txt");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("checksum mismatch"), std::string::npos) << r.out;

  std::ofstream(dir_ + "/short.vigil", std::ios::binary) << bytes.substr(0, 40);
  r = Vigil("inspect " + dir_ + "/short.vigil");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("short.vigil"), std::string::npos) << r.out;
}

TEST_F(CliTest, MalformedInputNamesFileLineAndField) {
  std::ofstream(dir_ + "/bad.txt")
      << "0,tcp,http,SF,181,5450,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,8,8,0.00,0.00,0.00,0.00,1.00,0.00,"
         "0.00,9,9,1.00,0.00,0.11,0.00,0.00,0.00,0.00,0.00,normal,21\n"
      << "0,tcp,http,SF,abc,5450,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,8,8,0.00,0.00,0.00,0.00,1.00,0.00,"
         "0.00,9,9,1.00,0.00,0.11,0.00,0.00,0.00,0.00,0.00,normal,21\n";
  CmdResult r = Vigil("eval --model " + dir_ + "/m.vigil --test " + dir_ + "/bad.txt");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("bad.txt:2:5"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("src_bytes"), std::string::npos) << r.out;
}

TEST_F(CliTest, UsageErrorsExitWithTwo) {
  EXPECT_EQ(Vigil("train --epochs").code, 2);
  EXPECT_NE(Vigil("no-such-command").code, 0);
  CmdResult r =
      Vigil("train --train " + kNsl + "/KDDTest+.txt --model lstm --out " + dir_ + "/l.vigil");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("source and time"), std::string::npos) << r.out;
}

// `vigil` itself loads no LibTorch; it hands the training commands to `vigil-train`.
TEST_F(CliTest, TrainingCommandsRunInVigilTrain) {
  CmdResult r = Sh("ldd " + kVigil);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find("torch"), std::string::npos) << r.out;
  EXPECT_NE(Sh("ldd " + kBin + "/vigil-train").out.find("torch"), std::string::npos);
  r = Vigil("--help");
  EXPECT_EQ(r.code, 0);
  for (const char* c : {"train", "eval", "predict", "demo", "bench", "capture", "registry"}) {
    EXPECT_NE(r.out.find(std::string("\n  ") + c + " "), std::string::npos) << c << "\n" << r.out;
  }
  r = Vigil("train --help");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("--model"), std::string::npos) << r.out;
  // Without vigil-train next to it, vigil says what is missing.
  const std::string lone = dir_ + "/lone";
  fs::create_directories(lone);
  fs::copy_file(kVigil, lone + "/vigil", fs::copy_options::overwrite_existing);
  r = Sh(lone + "/vigil train --help");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("vigil-train"), std::string::npos) << r.out;
  EXPECT_EQ(Sh(lone + "/vigil inspect --help").code, 0);
}

TEST_F(CliTest, DataSplitKeepsEveryRow) {
  if (!fs::exists(kData + "/unsw-nb15/UNSW_NB15_dev.csv")) GTEST_SKIP() << "UNSW-NB15 not found";
  CmdResult r = Vigil("data split --format unsw-nb15 --input " + kData +
                      "/unsw-nb15/UNSW_NB15_dev.csv " + "--test-fraction 0.25 --train-out " + dir_ +
                      "/u_train.csv --test-out " + dir_ + "/u_test.csv");
  ASSERT_EQ(r.code, 0) << r.out;
  auto lines = [](const std::string& path) {
    std::ifstream in(path);
    size_t n = 0;
    std::string l;
    while (std::getline(in, l)) ++n;
    return n;
  };
  size_t a = lines(dir_ + "/u_train.csv"), b = lines(dir_ + "/u_test.csv");
  EXPECT_EQ(a + b, 49399u + 2u);  // two headers
  EXPECT_NEAR(static_cast<double>(b - 1) / 49399.0, 0.25, 0.01);
}

TEST_F(CliTest, DemoQuickRunsEndToEnd) {
  CmdResult r = Vigil("demo --quick --threads 1 --data " + kData + " --out " + dir_ + "/demo");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("KDDTest-21"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(dir_ + "/demo/nsl-kdd-mlp.vigil"));
  EXPECT_TRUE(fs::exists(dir_ + "/demo/nsl-kdd-autoencoder.vigil"));
  EXPECT_TRUE(fs::exists(dir_ + "/demo/autoencoder-KDDTest+.json"));
}

TEST_F(CliTest, DemoWithoutDataTellsTheUserWhatToRun) {
  CmdResult r = Vigil("demo --quick --data " + dir_ + "/nowhere");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("nowhere"), std::string::npos) << r.out;
}

}  // namespace
