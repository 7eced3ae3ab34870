#include "data/synth.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>

#include "core/file.h"
#include "data/format.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

class SynthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("vigil_synth_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    csv_ = (dir_ / "seq.csv").string();
    schema_ = (dir_ / "seq.toml").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  Table Generate(const SynthOptions& o) {
    Status s = WriteSequenceDataset(csv_, schema_, o);
    EXPECT_TRUE(s.ok()) << s.ToString();
    auto schema = MakeSchema("csv", schema_);
    EXPECT_TRUE(schema.ok()) << schema.status().ToString();
    auto t = ReadTable(csv_, *schema);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? std::move(t).value() : Table{};
  }

  fs::path dir_;
  std::string csv_, schema_;
};

size_t Column(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) - names.begin();
}

TEST_F(SynthTest, ReadableWithItsSchema) {
  Table t = Generate({.hosts = 50, .flows_per_host = 20, .seed = 3});
  EXPECT_EQ(t.rows, 1000u);
  EXPECT_EQ(t.numeric_names, (std::vector<std::string>{"bytes", "duration", "pkts"}));
  EXPECT_EQ(t.categorical_names, std::vector<std::string>{"dport_class"});
  EXPECT_EQ(t.sources.size(), t.rows);
  EXPECT_EQ(t.times.size(), t.rows);
  EXPECT_TRUE(std::is_sorted(t.times.begin(), t.times.end()));
  EXPECT_FALSE(WriteSequenceDataset(csv_, schema_, {.hosts = 0}).ok());
  EXPECT_FALSE(WriteSequenceDataset(csv_, schema_, {.flows_per_host = 3}).ok());
}

TEST_F(SynthTest, DeterministicForSeed) {
  ASSERT_TRUE(WriteSequenceDataset(csv_, schema_, {.hosts = 30, .seed = 9}).ok());
  auto a = ReadFile(csv_);
  ASSERT_TRUE(WriteSequenceDataset(csv_, schema_, {.hosts = 30, .seed = 9}).ok());
  auto b = ReadFile(csv_);
  ASSERT_TRUE(WriteSequenceDataset(csv_, schema_, {.hosts = 30, .seed = 10}).ok());
  auto c = ReadFile(csv_);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
}

TEST_F(SynthTest, LabelIsAFunctionOfTheHostsLastFourFlows) {
  Table t = Generate({});
  ASSERT_EQ(t.rows, 200u * 60u);
  const auto& dport = t.categorical[0];
  const auto& bytes = t.numeric[Column(t.numeric_names, "bytes")];
  std::map<std::string, std::vector<size_t>> by_host;
  for (size_t i = 0; i < t.rows; ++i) by_host[t.sources[i]].push_back(i);
  ASSERT_EQ(by_host.size(), 200u);
  const std::string cycle[] = {"web", "dns", "ssh", "mail"};
  auto next = [&](const std::string& d) {
    for (int k = 0; k < 4; ++k) {
      if (cycle[k] == d) return cycle[(k + 1) % 4];
    }
    return std::string("?");
  };
  size_t attacks = 0, attacker_hosts = 0;
  for (auto& [host, rows] : by_host) {
    std::stable_sort(rows.begin(), rows.end(),
                     [&](size_t a, size_t b) { return t.times[a] < t.times[b]; });
    bool attacker = false;
    for (size_t k = 0; k < rows.size(); ++k) {
      bool want = false;
      if (k >= 3) {
        want = true;
        for (size_t j = k - 2; j <= k; ++j) {
          want = want && dport[rows[j]] == next(dport[rows[j - 1]]) &&
                 bytes[rows[j - 1]] < bytes[rows[j]];
        }
      }
      ASSERT_EQ(t.labels[rows[k]], want) << host << " flow " << k;
      if (k >= 3) {
        ASSERT_EQ(CompletesSweep(
                      {dport[rows[k - 3]], dport[rows[k - 2]], dport[rows[k - 1]], dport[rows[k]]},
                      {bytes[rows[k - 3]], bytes[rows[k - 2]], bytes[rows[k - 1]], bytes[rows[k]]}),
                  want);
      }
      attacks += want;
      attacker = attacker || want;
    }
    attacker_hosts += attacker;
  }
  double rate = static_cast<double>(attacks) / t.rows;
  EXPECT_GE(rate, 0.10);
  EXPECT_LE(rate, 0.20);
  EXPECT_EQ(attacker_hosts, 60u);  // 30% of 200
}

TEST_F(SynthTest, SingleRecordMarginalsMatchAcrossClasses) {
  Table t = Generate({.hosts = 400, .seed = 5});
  std::map<std::string, double> share[2];
  double count[2] = {0, 0}, log_bytes[2] = {0, 0}, log_duration[2] = {0, 0};
  const auto& bytes = t.numeric[Column(t.numeric_names, "bytes")];
  const auto& duration = t.numeric[Column(t.numeric_names, "duration")];
  for (size_t i = 0; i < t.rows; ++i) {
    int y = t.labels[i];
    share[y][t.categorical[0][i]] += 1;
    count[y] += 1;
    log_bytes[y] += std::log(bytes[i]);
    log_duration[y] += std::log(duration[i]);
  }
  for (const char* d : {"web", "dns", "ssh", "mail"}) {
    EXPECT_NEAR(share[0][d] / count[0], 0.25, 0.02) << d;
    EXPECT_NEAR(share[1][d] / count[1], 0.25, 0.03) << d;
  }
  // log(bytes) spreads by about 1.0 across hosts; the class means differ by a fraction of that.
  EXPECT_NEAR(log_bytes[0] / count[0], log_bytes[1] / count[1], 0.2);
  EXPECT_NEAR(log_duration[0] / count[0], log_duration[1] / count[1], 0.1);
}

}  // namespace
}  // namespace vigil
