// End-to-end tests of `vigil train|eval|predict|inspect` with --model deeplog on a small generated
// session set: the formats, labels, reports and verdicts a user sees, and the usage errors.
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

class DeepLogCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ =
        (fs::temp_directory_path() / ("vigil_deeplog_cli_" + std::to_string(::getpid()))).string();
    fs::create_directories(dir_);
    // Normal sessions: with h = 3 every window has one next key.
    std::ofstream train(dir_ + "/train.txt");
    for (int i = 0; i < 100; ++i) train << "1 2 3 4 \n7 2 3 5 6 4\n";
    train.close();
    std::ofstream(dir_ + "/test.csv") << "Sequence,label\n1 2 3 4,0\n7 2 3 5 6 4,0\n1 2,1\n"
                                         "1 2 3 4 4,1\n1 2 8 3 4,1\n";
    std::ofstream(dir_ + "/bad.txt") << "1 2\n7 2 3\n";
    train_ = Vigil("train --model deeplog --format sessions --train " + dir_ +
                   "/train.txt --window 3 --top-g 2 --lstm-hidden 16 --epochs 300 --patience 0 "
                   "--lr 0.01 --threads 1 --quiet --out " +
                   dir_ + "/m.vigil");
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static std::string dir_;
  static CmdResult train_;
};

std::string DeepLogCliTest::dir_;
CmdResult DeepLogCliTest::train_;

TEST_F(DeepLogCliTest, TrainEvalPredictInspect) {
  ASSERT_EQ(train_.code, 0) << train_.out;
  EXPECT_NE(train_.out.find("wrote " + dir_ + "/m.vigil"), std::string::npos) << train_.out;

  // Labelled sessions-csv, format detected; the report has the usual keys.
  CmdResult r = Vigil("eval -m " + dir_ + "/m.vigil --test " + dir_ + "/test.csv --report " + dir_ +
                      "/r.json");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("h 3, g 2"), std::string::npos) << r.out;
  auto report = nlohmann::json::parse(Slurp(dir_ + "/r.json"));
  for (const char* k : {"accuracy", "precision", "recall", "f1", "false_alarm_rate", "roc_auc",
                        "binary_confusion", "rows", "threshold"}) {
    EXPECT_TRUE(report.contains(k)) << k;
  }
  EXPECT_DOUBLE_EQ(report["f1"].get<double>(), 1.0) << r.out;
  EXPECT_EQ(report["rows"], 5);

  // A sessions file has no labels: --label gives them, and eval refuses without it.
  CmdResult no_label = Vigil("eval -m " + dir_ + "/m.vigil --test " + dir_ + "/bad.txt");
  EXPECT_EQ(no_label.code, 1);
  EXPECT_NE(no_label.out.find("--label"), std::string::npos) << no_label.out;
  CmdResult all_bad =
      Vigil("eval -m " + dir_ + "/m.vigil --format sessions --label anomaly --test " + dir_ +
            "/bad.txt --report " + dir_ + "/bad.json");
  ASSERT_EQ(all_bad.code, 0) << all_bad.out;
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(Slurp(dir_ + "/bad.json"))["recall"].get<double>(), 1.0);

  // predict: one verdict per session, the first unexpected key and what was expected there.
  CmdResult p = Vigil("predict -m " + dir_ + "/m.vigil --input " + dir_ + "/test.csv -o " + dir_ +
                      "/v.jsonl");
  ASSERT_EQ(p.code, 0) << p.out;
  std::istringstream lines(Slurp(dir_ + "/v.jsonl"));
  std::vector<nlohmann::json> v;
  for (std::string line; std::getline(lines, line);) v.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(v.size(), 5u);
  EXPECT_EQ(v[0]["class"], "normal");
  EXPECT_FALSE(v[0].contains("key"));
  EXPECT_EQ(v[2]["class"], "anomaly");
  EXPECT_EQ(v[2]["key"], "<end>");
  EXPECT_EQ(v[2]["position"], 3);
  EXPECT_EQ(v[2]["expected"], nlohmann::json::array({"3"}));
  EXPECT_EQ(v[3]["key"], "4");
  EXPECT_EQ(v[3]["expected"], nlohmann::json::array({"<end>"}));
  EXPECT_EQ(v[4]["key"], "8");
  EXPECT_EQ(v[4]["unknown_key"], true);
  EXPECT_EQ(v[4]["line"], 6);

  CmdResult inspect = Vigil("inspect " + dir_ + "/m.vigil");
  ASSERT_EQ(inspect.code, 0) << inspect.out;
  EXPECT_NE(inspect.out.find("deeplog"), std::string::npos);
  EXPECT_NE(inspect.out.find("lstm.weight_ih_l0"), std::string::npos);
}

TEST_F(DeepLogCliTest, UsageErrorsSaySo) {
  CmdResult r = Vigil("train --model deeplog --format nsl-kdd --train " + dir_ +
                      "/train.txt --out " + dir_ + "/x.vigil");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("--format sessions"), std::string::npos) << r.out;
  r = Vigil("train --model mlp --format sessions --train " + dir_ + "/train.txt --out " + dir_ +
            "/x.vigil");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("--model deeplog"), std::string::npos) << r.out;
  ASSERT_EQ(train_.code, 0) << train_.out;
  r = Vigil("eval -m " + dir_ + "/m.vigil --format nsl-kdd --test " + dir_ + "/test.csv");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("log-key sessions"), std::string::npos) << r.out;
  r = Vigil("eval -m " + dir_ + "/m.vigil --label anomaly --test " + dir_ + "/test.csv");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("label column"), std::string::npos) << r.out;
}

}  // namespace
