#include "metrics/detector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <utility>
#include <vector>

#include "metrics/series_table.h"

namespace vigil::metrics {
namespace {

// A daily sine (5-minute samples) with noise; `spike_at` gets +`spike` added.
double Sample(int i, std::mt19937* rng, int spike_at, double spike) {
  std::normal_distribution<double> noise(0.0, 0.5);
  double v = 50 + 10 * std::sin(2 * M_PI * i / 288.0) + noise(*rng);
  return i == spike_at ? v + spike : v;
}

TEST(DetectorTest, ScoresAreInRangeAndTheSpikeStandsOut) {
  SeriesDetector d{DetectorConfig{}};
  std::mt19937 rng(1);
  const int spike_at = 3000;
  double max_before = 0, at_spike = 0;
  DetectorOutput spike_out;
  for (int i = 0; i < 3100; ++i) {
    DetectorOutput o = d.Update(1700000000 + i * 300, Sample(i, &rng, spike_at, 40));
    ASSERT_GE(o.score, 0.0);
    ASSERT_LE(o.score, 1.0);
    if (i < 150) {
      EXPECT_EQ(o.score, 0.0) << "learning period, point " << i;
    }
    if (i >= 1000 && i < spike_at) max_before = std::max(max_before, o.score);
    if (i == spike_at) {
      at_spike = o.score;
      spike_out = o;
    }
  }
  EXPECT_GT(at_spike, 0.6);
  EXPECT_GT(at_spike, max_before + 0.05);
  // The expected range brackets the normal level, not the spike.
  EXPECT_LT(spike_out.expected_high, 80.0);
  EXPECT_GT(spike_out.expected_high, spike_out.expected_low);
}

// A quiet series (5-minute samples) with a nightly job raising it from 03:00 to 03:30 every day,
// and on day 15 a larger spike at 15:00. Returns each day's score at 03:00 (the job's start) and
// sets the score of the 15:00 spike.
std::vector<double> NightlyJobScores(const DetectorConfig& config, double* odd_spike) {
  SeriesDetector d(config);
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0.0, 0.002);
  std::vector<double> at_start;
  const int64_t midnight = 1700006400;  // 2023-11-15 00:00 UTC
  for (int i = 0; i < 20 * 288; ++i) {
    const int day = i / 288, slot = i % 288;
    double v = 0.07 + noise(rng);
    if (slot >= 36 && slot < 42) v = 1.5 + noise(rng);  // 03:00-03:30
    if (day == 15 && slot == 180) v = 3.0;              // 15:00
    const double score = d.Update(midnight + int64_t{i} * 300, v).score;
    if (slot == 36) at_start.push_back(score);
    if (day == 15 && slot == 180) *odd_spike = score;
  }
  return at_start;
}

// A surprise that recurs at the same time of day scores about one day's decay of its record above
// 0.5: 1 / (1 + 0.97) = 0.508 with the time-of-day records, 1 / (1 + 0.9997^288) = 0.522 with the
// overall record alone; the estimate of the noise moves each night's score around that.
TEST(DetectorTest, ANightlyJobIsNewsOnceNotEveryNight) {
  double odd = 0;
  std::vector<double> with = NightlyJobScores(DetectorConfig{}, &odd);
  EXPECT_GT(with[1], 0.9) << "the first night (day 0's job falls in the learning period)";
  EXPECT_GT(odd, 0.9) << "a new surprise at another time still stands out";
  DetectorConfig plain;
  plain.daily_record_decay = 0;
  std::vector<double> without = NightlyJobScores(plain, &odd);
  // Nights 3-14: after the first two, before the 15:00 spike disturbs the running statistics.
  double mean_with = 0, mean_without = 0;
  int alerts = 0;
  for (size_t day = 3; day < 15; ++day) {
    mean_with += with[day] / 12;
    mean_without += without[day] / 12;
    alerts += with[day] >= DetectorConfig{}.rest_level;  // the agent's default threshold
  }
  EXPECT_EQ(alerts, 0);
  EXPECT_LT(mean_with, 0.512);
  EXPECT_GT(mean_without, 0.518);
}

// A shift of 1.5 standard deviations that lasts an hour (1-minute samples): no single point is
// remarkable, but the EWMA chart (the level view) sees the short mean leave the slow one.
TEST(DetectorTest, TheLevelViewSeesASmallShiftThatLasts) {
  SeriesDetector d{DetectorConfig{}};
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0.0, 1.0);
  double quiet_max = 0, level_max = 0, single_max = 0;
  for (int i = 0; i < 3060; ++i) {
    const DetectorOutput o =
        d.Update(1700000000 + int64_t{i} * 60, 50 + noise(rng) + (i >= 3000 ? 1.5 : 0));
    if (i >= 1000 && i < 3000) {
      quiet_max = std::max({quiet_max, o.neural, o.statistical, o.level, o.seasonal});
    } else if (i >= 3000) {
      level_max = std::max(level_max, o.level);
      single_max = std::max({single_max, o.neural, o.statistical, o.seasonal});
    }
  }
  EXPECT_GT(level_max, quiet_max + 0.01);
  EXPECT_GT(level_max, single_max + 0.03);
}

// After an alert the detector rests (scores halved) so one anomaly raises one alert; a much
// stronger anomaly during the rest still alerts.
TEST(DetectorTest, AStrongerAnomalyBreaksTheRest) {
  auto run = [](double second) {
    SeriesDetector d{DetectorConfig{}};
    std::mt19937 rng(2);
    std::normal_distribution<double> noise(0.0, 1.0);
    double first_score = 0, second_score = 0;
    for (int i = 0; i < 2010; ++i) {
      double v = 50 + noise(rng);
      if (i == 2000) v += 6;       // a modest anomaly: an alert, then a rest
      if (i == 2005) v += second;  // five points later
      const double s = d.Update(1700000000 + int64_t{i} * 60, v).score;
      if (i == 2000) first_score = s;
      if (i == 2005) second_score = s;
    }
    return std::make_pair(first_score, second_score);
  };
  const double threshold = DetectorConfig{}.rest_level;
  auto [first, big] = run(40);
  EXPECT_GE(first, threshold);
  EXPECT_GE(big, threshold) << "a far larger spike during the rest";
  auto [first_again, similar] = run(6);
  EXPECT_GE(first_again, threshold);
  EXPECT_LT(similar, threshold) << "a spike like the first one rests";
}

TEST(DetectorTest, NeuralPredictorLearnsALinearMap) {
  NeuralPredictor net(2, 8, 0.02, 3);
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> u(-1, 1);
  double first = 0, last = 0;
  for (int i = 0; i < 20000; ++i) {
    float x[2] = {u(rng), u(rng)};
    const double target = 0.5 * x[0] - 0.3 * x[1];
    const double err = std::fabs(net.Train(x, target) - target);
    if (i < 200) first += err;
    if (i >= 19800) last += err;
  }
  EXPECT_LT(last, first / 5);
}

TEST(DetectorTest, MemoryPerSeriesIsFixed) {
  SeriesDetector d{DetectorConfig{}};
  const size_t before = d.MemoryBytes();
  for (int i = 0; i < 5000; ++i) d.Update(i * 60, i % 7);
  EXPECT_EQ(d.MemoryBytes(), before);
  EXPECT_LT(before, 4096u);
}

// The optional contextual view (CAD OSE): scores stay in [0, 1], the spike still stands out, and
// the memory stops growing at the context store's bound.
TEST(DetectorTest, ContextualViewIsBoundedAndKeepsTheSpike) {
  DetectorConfig c;
  c.cad_weight = 1.0;
  c.cad_max_contexts = 256;
  SeriesDetector d{c};
  std::mt19937 rng(1);
  double at_spike = 0;
  size_t memory_at_4000 = 0;
  for (int i = 0; i < 8000; ++i) {
    DetectorOutput o = d.Update(1700000000 + i * 300, Sample(i, &rng, 7000, 40));
    ASSERT_GE(o.score, 0.0);
    ASSERT_LE(o.score, 1.0);
    ASSERT_GE(o.contextual, 0.0);
    ASSERT_LE(o.contextual, 1.0);
    if (i == 7000) at_spike = o.score;
    if (i == 4000) memory_at_4000 = d.MemoryBytes();
  }
  EXPECT_GT(at_spike, 0.6);
  EXPECT_EQ(d.MemoryBytes(), memory_at_4000);
  EXPECT_LT(d.MemoryBytes(), 4096u + 256u * 100);
  // Off (the default), it is never run.
  SeriesDetector off{DetectorConfig{}};
  EXPECT_EQ(off.Update(0, 1.0).contextual, 0.0);
}

TEST(DetectorTest, OptionsAreCheckedByName) {
  DetectorConfig c;
  EXPECT_TRUE(SetDetectorOption(&c, "window=8").ok());
  EXPECT_EQ(c.window, 8);
  EXPECT_TRUE(SetDetectorOption(&c, "record_decay=0.999").ok());
  EXPECT_EQ(c.record_decay, 0.999);
  auto s = SetDetectorOption(&c, "windw=8");
  EXPECT_NE(s.message().find("windw"), std::string::npos);
  EXPECT_FALSE(SetDetectorOption(&c, "window=1000").ok());
  EXPECT_FALSE(SetDetectorOption(&c, "window=abc").ok());
  EXPECT_TRUE(SetDetectorOption(&c, "cad_weight=1").ok());
  EXPECT_EQ(c.cad_weight, 1.0);
  EXPECT_FALSE(SetDetectorOption(&c, "cad_combine=2").ok());
}

TEST(SeriesTableTest, CapsSeriesAndCountsOverflowAndOutOfOrder) {
  SeriesTable t(DetectorConfig{}, 2);
  EXPECT_TRUE(t.Observe("a f", 10, 1).has_value());
  EXPECT_TRUE(t.Observe("b f", 10, 1).has_value());
  EXPECT_FALSE(t.Observe("c f", 10, 1).has_value());
  EXPECT_EQ(t.overflow(), 1u);
  EXPECT_TRUE(t.Observe("a f", 20, 2).has_value());  // known series still scored
  EXPECT_FALSE(t.Observe("a f", 15, 2).has_value());
  EXPECT_EQ(t.out_of_order(), 1u);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.points(), 3u);
  EXPECT_GT(t.MemoryBytes(), 0u);
}

TEST(SeriesTableTest, KeepsTheLastScoredPointsOfEachSeries) {
  SeriesTable t(DetectorConfig{}, 10);
  EXPECT_TRUE(t.Recent("a f").empty());
  constexpr int64_t kSecond = 1'000'000'000;
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(t.Observe("a f", i * kSecond, i).has_value());
  t.Observe("b f", 0, 7);
  EXPECT_FALSE(t.Observe("a f", 5 * kSecond, -1).has_value());  // out of order: not kept
  const std::vector<ScoredPoint> a = t.Recent("a f");
  ASSERT_EQ(a.size(), SeriesTable::kRecentPoints);
  for (size_t k = 0; k < a.size(); ++k) {  // the newest 32, oldest first
    EXPECT_EQ(a[k].time_ns, static_cast<int64_t>(40 - a.size() + k) * kSecond);
    EXPECT_EQ(a[k].value, static_cast<float>(40 - a.size() + k));
    EXPECT_LE(a[k].low, a[k].high);
  }
  const std::vector<ScoredPoint> b = t.Recent("b f");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].value, 7.0f);
}

}  // namespace
}  // namespace vigil::metrics
