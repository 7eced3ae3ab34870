// The NAB scorer on hand-made series whose scores were worked out by hand from the NAB rules:
// scaled sigmoid 2 / (1 + e^(5x)) - 1, divided by its value at the left edge (0.986614) for
// true positives; probation floor(0.15 n).
#include "metrics/nab.h"

#include <gtest/gtest.h>

#include <cmath>

namespace vigil::metrics {
namespace {

// 100 rows, one window over rows 50..53 (width 4); probation is 15 rows.
NabSeries Rows() {
  NabSeries s;
  s.name = "test/a.csv";
  for (int i = 0; i < 100; ++i) {
    s.times.push_back(i * 300);
    s.values.push_back(0);
  }
  s.windows.push_back({50, 53});
  return s;
}

NabProfile Standard() { return {"standard", 1.0, 0.11, 1.0, 1.0}; }

std::vector<double> Spikes(std::initializer_list<std::pair<int, double>> at) {
  std::vector<double> v(100, 0.0);
  for (auto [i, s] : at) v[i] = s;
  return v;
}

TEST(NabTest, ScaledSigmoidMatchesTheDocumentedPoints) {
  EXPECT_NEAR(NabScaledSigmoid(-1.0), 0.98661, 1e-5);
  EXPECT_NEAR(NabScaledSigmoid(-0.5), 0.84828, 1e-5);
  EXPECT_NEAR(NabScaledSigmoid(0.0), 0.0, 1e-12);
  EXPECT_NEAR(NabScaledSigmoid(1.0), -0.98661, 1e-5);
  EXPECT_EQ(NabScaledSigmoid(3.0), -1.0);
  EXPECT_EQ(NabProbationLength(20), 3u);
  EXPECT_EQ(NabProbationLength(100000), 750u);
}

TEST(NabTest, DetectionAtTheLeftEdgeIsPerfect) {
  auto r = ScoreNab({Rows()}, {Spikes({{50, 1.0}})}, Standard());
  EXPECT_NEAR(r.raw, 1.0, 1e-9);
  EXPECT_NEAR(r.null_score, -1.0, 1e-12);
  EXPECT_NEAR(r.perfect, 1.0, 1e-12);
  EXPECT_NEAR(r.normalized, 100.0, 1e-6);
  EXPECT_EQ(r.tp, 1);
  EXPECT_EQ(r.fp, 0);
}

TEST(NabTest, DetectionHalfwayEarnsTheSigmoidAtMinusOneHalf) {
  // Row 52: position -(53 - 52 + 1) / 4 = -0.5 -> 0.848283 / 0.986614 = 0.859793.
  auto r = ScoreNab({Rows()}, {Spikes({{52, 1.0}})}, Standard());
  EXPECT_NEAR(r.raw, 0.859793, 1e-6);
  EXPECT_NEAR(r.normalized, 92.98963, 1e-4);
  // Only the earliest detection in a window counts: adding row 53 changes nothing.
  auto r2 = ScoreNab({Rows()}, {Spikes({{52, 1.0}, {53, 1.0}})}, Standard());
  EXPECT_NEAR(r2.raw, r.raw, 1e-12);
}

TEST(NabTest, ThresholdIsOptimisedOverFalsePositivesBeforeTheWindow) {
  // Row 25 (before any window) scores 1.0 and costs 0.11; row 52 scores 0.9. At threshold 1.0:
  // -1 - 0.11; at 0.9: 0.859793 - 0.11 = 0.749793 (the best); above 1.0: -1.
  auto r = ScoreNab({Rows()}, {Spikes({{25, 1.0}, {52, 0.9}})}, Standard());
  EXPECT_NEAR(r.threshold, 0.9, 1e-12);
  EXPECT_NEAR(r.raw, 0.749793, 1e-6);
  EXPECT_EQ(r.fp, 1);
  EXPECT_EQ(r.tp, 1);
  auto at1 = ScoreNabFile(Rows(), Spikes({{25, 1.0}, {52, 0.9}}), Standard(), 1.0);
  EXPECT_NEAR(at1.score, -1.11, 1e-9);
  EXPECT_EQ(at1.fn, 1);
}

TEST(NabTest, FalsePositiveJustAfterAWindowCostsLess) {
  // Row 55: (55 - 53) / (4 - 1) = 2/3 window widths past -> 0.11 * -0.931109 = -0.102422.
  auto f = ScoreNabFile(Rows(), Spikes({{50, 1.0}, {55, 1.0}}), Standard(), 0.5);
  EXPECT_NEAR(f.score, 1.0 - 0.102422, 1e-6);
  EXPECT_EQ(f.fp, 1);
}

TEST(NabTest, ProbationaryRowsAreNotScored) {
  auto f = ScoreNabFile(Rows(), Spikes({{1, 1.0}, {2, 1.0}}), Standard(), 0.5);
  EXPECT_EQ(f.fp, 0);
  EXPECT_NEAR(f.score, -1.0, 1e-12);
}

TEST(NabTest, LowFnProfileDoublesTheMissCost) {
  NabProfile fn{"reward_low_FN_rate", 1.0, 0.11, 2.0, 1.0};
  // A constant score detects nothing (-2) or everything (+1 for the window, but 35 rows before
  // it alone cost 3.85): nothing is the null baseline.
  auto r = ScoreNab({Rows()}, {Spikes({})}, fn);
  EXPECT_NEAR(r.raw, -2.0, 1e-12);
  EXPECT_NEAR(r.null_score, -2.0, 1e-12);
  EXPECT_NEAR(r.normalized, 0.0, 1e-9);
  // Caught halfway: (0.859793 + 2) / (1 + 2) * 100.
  auto caught = ScoreNab({Rows()}, {Spikes({{52, 1.0}})}, fn);
  EXPECT_NEAR(caught.normalized, (0.859793 + 2.0) / 3.0 * 100.0, 1e-4);
  // On a file this short, detecting every row beats detecting none, and that is the baseline.
  NabSeries tiny = Rows();
  tiny.values.resize(20);
  tiny.times.resize(20);
  tiny.windows = {{10, 13}};
  // +1 for the window, 7 rows before it at -0.11, rows 14..19 at 0.11 * ss((i - 13) / 3).
  double all = 1.0 - 7 * 0.11;
  for (int i = 14; i < 20; ++i) all += 0.11 * NabScaledSigmoid((i - 13) / 3.0);
  auto constant = ScoreNab({tiny}, {std::vector<double>(20, 0.5)}, fn);
  EXPECT_NEAR(constant.null_score, all, 1e-12);
  EXPECT_GT(constant.null_score, -2.0);
  EXPECT_NEAR(constant.normalized, 0.0, 1e-9);
}

TEST(NabTest, CorpusThresholdIsShared) {
  // File a wants threshold 0.9 alone; file b has an FP at 0.95 before its window and a catch at
  // its left edge with 0.5. The corpus sweep must pick one threshold for both.
  NabSeries a = Rows(), b = Rows();
  b.name = "test/b.csv";
  auto r = ScoreNab({a, b}, {Spikes({{52, 0.9}}), Spikes({{25, 0.95}, {50, 0.5}})}, Standard());
  // Candidates: 0.95: -1 + -1.11 = -2.11; 0.9: 0.859793 - 1.11 = -0.250207;
  // 0.5: 0.859793 + 1 - 0.11 = 1.749793 (best).
  EXPECT_NEAR(r.threshold, 0.5, 1e-12);
  EXPECT_NEAR(r.raw, 1.749793, 1e-6);
  EXPECT_NEAR(r.perfect, 2.0, 1e-12);
}

TEST(NabTest, ParsesProfilesAndTimes) {
  auto p = ParseNabProfiles(R"({"standard":{"CostMatrix":{"tpWeight":1,"fnWeight":1,"fpWeight":0.11,
    "tnWeight":1}},"reward_low_FP_rate":{"CostMatrix":{"tpWeight":1,"fnWeight":1,"fpWeight":0.22}},
    "reward_low_FN_rate":{"CostMatrix":{"tpWeight":1,"fnWeight":2,"fpWeight":0.11}}})");
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_EQ(p->size(), 3u);
  EXPECT_EQ((*p)[1].fp_weight, 0.22);
  EXPECT_EQ((*p)[2].fn_weight, 2.0);
  EXPECT_FALSE(ParseNabProfiles(R"({"standard":{}})").ok());
  auto t = ParseNabTime("1970-01-02 00:00:01.000000");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, 86401);
  EXPECT_FALSE(ParseNabTime("yesterday").ok());
}

}  // namespace
}  // namespace vigil::metrics
