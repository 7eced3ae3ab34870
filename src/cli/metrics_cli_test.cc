// End-to-end tests of `vigil metrics`: the NAB benchmark on the shared corpus and on a small
// hand-made corpus, the speed benchmark and the usage errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cli/test_util.h"

namespace {

using namespace vigil::testutil;  // NOLINT(google-build-using-namespace)
namespace fs = std::filesystem;

std::string TempDir(const std::string& name) {
  const fs::path p =
      fs::temp_directory_path() / ("vigil_metrics_cli_" + std::to_string(::getpid()) + "_" + name);
  fs::create_directories(p);
  return p.string();
}

TEST(MetricsCliTest, NabBenchScoresEveryProfileOnTheSharedCorpus) {
  const std::string nab = kData + "/nab";
  if (!fs::exists(nab + "/labels/combined_windows.json")) {
    GTEST_SKIP() << "NAB corpus not found under " << nab;
  }
  const std::string dir = TempDir("nab");
  CmdResult r = Vigil("metrics bench --nab " + nab + " --threads 2 --report " + dir + "/r.json");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("reward_low_FN_rate"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[1/"), std::string::npos) << "no progress on stderr: " << r.out;
  auto j = nlohmann::json::parse(Slurp(dir + "/r.json"));
  int windows = 0;
  const auto labels = nlohmann::json::parse(Slurp(nab + "/labels/combined_windows.json"));
  for (const auto& [name, windows_of_file] : labels.items()) {
    if (fs::exists(nab + "/data/" + name)) windows += static_cast<int>(windows_of_file.size());
  }
  for (const char* p : {"standard", "reward_low_FP_rate", "reward_low_FN_rate"}) {
    ASSERT_TRUE(j.contains(p)) << p;
    const double score = j[p]["score"].get<double>();
    EXPECT_TRUE(std::isfinite(score));
    EXPECT_LE(score, 100.0);
    EXPECT_EQ(j[p]["tp"].get<int>() + j[p]["fn"].get<int>(), windows) << p;
  }
  // The issue's bar (Numenta HTM's 71.21 on these series); docs/metrics.md has 72.96.
  EXPECT_GE(j["standard"]["score"].get<double>(), 71.2);
  EXPECT_GT(j["reward_low_FN_rate"]["score"].get<double>(),
            j["reward_low_FP_rate"]["score"].get<double>());
  EXPECT_GT(j["points_per_s_per_core"].get<double>(), 0.0);
  fs::remove_all(dir);
}

TEST(MetricsCliTest, NabBenchOnAHandMadeCorpus) {
  // One series of 2000 five-minute points, noise around 10, a jump to 60 at row 1500 inside the
  // one labelled window (rows 1450..1549); one series with no anomaly.
  const std::string dir = TempDir("mini");
  fs::create_directories(dir + "/data/cat");
  fs::create_directories(dir + "/labels");
  fs::create_directories(dir + "/config");
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0.0, 1.0);
  auto stamp = [](int i) {
    char buf[32];
    const time_t t = 1400000000 + i * 300;
    struct tm tm;
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return std::string(buf);
  };
  for (const char* name : {"spike", "calm"}) {
    std::ofstream f(dir + "/data/cat/" + name + ".csv");
    f << "timestamp,value\n";
    for (int i = 0; i < 2000; ++i) {
      const double v = 10 + noise(rng) + (std::string(name) == "spike" && i == 1500 ? 50 : 0);
      f << stamp(i) << "," << v << "\n";
    }
  }
  std::ofstream(dir + "/labels/combined_windows.json")
      << R"({"cat/spike.csv": [[")" << stamp(1450) << R"(.000000", ")" << stamp(1549)
      << R"(.000000"]], "cat/calm.csv": []})";
  std::ofstream(dir + "/config/profiles.json")
      << R"({"standard":{"CostMatrix":{"tpWeight":1,"fnWeight":1,"fpWeight":0.11,"tnWeight":1}},
    "reward_low_FP_rate":{"CostMatrix":{"tpWeight":1,"fnWeight":1,"fpWeight":0.22,"tnWeight":1}},
    "reward_low_FN_rate":{"CostMatrix":{"tpWeight":1,"fnWeight":2,"fpWeight":0.11,"tnWeight":1}}})";
  CmdResult r = Vigil("metrics bench --nab " + dir + " --report " + dir + "/r.json --scores " +
                      dir + "/scores");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(Slurp(dir + "/r.json"));
  // --scores: one CSV per series at its name, a row per point, the window labelled.
  {
    std::ifstream f(dir + "/scores/cat/spike.csv");
    std::string line;
    ASSERT_TRUE(std::getline(f, line));
    EXPECT_EQ(line, "timestamp,value,anomaly_score,label,neural,statistical,level,seasonal");
    int rows = 0, labelled = 0, best_row = -1;
    double best = -1;
    while (std::getline(f, line)) {
      std::vector<std::string> cells;
      std::stringstream ss(line);
      for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
      ASSERT_EQ(cells.size(), 8u) << line;
      labelled += cells[3] == "1";
      if (cells[3] == "1") EXPECT_GE(rows, 1450) << "label before the window";
      const double score = std::stod(cells[2]);
      if (score > best) {
        best = score;
        best_row = rows;
      }
      ++rows;
    }
    EXPECT_EQ(rows, 2000);
    EXPECT_EQ(labelled, 100);
    EXPECT_EQ(best_row, 1500);
    EXPECT_TRUE(fs::exists(dir + "/scores/cat/calm.csv"));
  }
  // Caught at row 1500, half way into the window: 0.8598 of the perfect reward, so the standard
  // score is (0.8598 + 1) / 2 * 100 = 93.0 with no false positive; at least one window caught.
  EXPECT_EQ(j["standard"]["tp"], 1);
  EXPECT_GT(j["standard"]["score"].get<double>(), 85.0) << j.dump();
  // Bad input is an error naming the file.
  std::ofstream(dir + "/data/cat/calm.csv", std::ios::app) << "2014-01-01 00:00:00,abc\n";
  r = Vigil("metrics bench --nab " + dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("calm.csv:2002"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

TEST(MetricsCliTest, SpeedAndUsageErrors) {
  CmdResult r = Vigil("metrics speed --series 100 --points 20000");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("points/s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bytes per series"), std::string::npos) << r.out;
  EXPECT_EQ(Vigil("metrics bench --nab /nonexistent/dir").code, 2);
  r = Vigil("metrics speed --series 10 --points 10 --detector-option windw=3");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("windw"), std::string::npos) << r.out;
}

}  // namespace
