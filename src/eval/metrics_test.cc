#include "eval/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace vigil {
namespace {

TEST(RocAucTest, SklearnDocExample) {
  // Positive/negative pairs ranked correctly: (0.35>0.1), (0.8>0.1), (0.8>0.4); wrong: 0.35<0.4.
  EXPECT_DOUBLE_EQ(RocAuc({0, 0, 1, 1}, {0.1f, 0.4f, 0.35f, 0.8f}), 0.75);
}

TEST(RocAucTest, TiesCountHalf) {
  // Positives {0.5, 0.9}, negatives {0.5, 0.2}: pairs 0.5~0.5 (0.5), 0.5>0.2, 0.9>0.5, 0.9>0.2.
  EXPECT_DOUBLE_EQ(RocAuc({0, 1, 0, 1}, {0.5f, 0.5f, 0.2f, 0.9f}), 3.5 / 4);
  EXPECT_DOUBLE_EQ(RocAuc({0, 1, 0, 1}, {0.3f, 0.3f, 0.3f, 0.3f}), 0.5);
}

TEST(RocAucTest, PerfectAndInverted) {
  EXPECT_DOUBLE_EQ(RocAuc({0, 0, 1, 1}, {0.1f, 0.2f, 0.8f, 0.9f}), 1.0);
  EXPECT_DOUBLE_EQ(RocAuc({1, 1, 0, 0}, {0.1f, 0.2f, 0.8f, 0.9f}), 0.0);
}

TEST(RocAucTest, UndefinedIsNaN) {
  EXPECT_TRUE(std::isnan(RocAuc({1, 1}, {0.1f, 0.2f})));
  EXPECT_TRUE(std::isnan(RocAuc({0, 0}, {0.1f, 0.2f})));
  EXPECT_TRUE(std::isnan(RocAuc({}, {})));
  EXPECT_TRUE(std::isnan(RocAuc({0, 1}, {0.1f})));
}

TEST(RocAucTest, MatchesPairwiseCountOnRandomTiedData) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> score(0, 9), label(0, 1);
  std::vector<uint8_t> y(500);
  std::vector<float> s(500);
  for (size_t i = 0; i < y.size(); ++i) {
    y[i] = static_cast<uint8_t>(label(rng));
    s[i] = static_cast<float>(score(rng)) / 10;
  }
  double wins = 0, pairs = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    for (size_t j = 0; j < y.size(); ++j) {
      if (y[i] != 1 || y[j] != 0) continue;
      ++pairs;
      wins += s[i] > s[j] ? 1.0 : (s[i] == s[j] ? 0.5 : 0.0);
    }
  }
  EXPECT_NEAR(RocAuc(y, s), wins / pairs, 1e-12);
}

TEST(PrAucTest, SklearnDocExample) {
  // Thresholds high to low: 0.8 (P=1, R=.5), 0.4 (P=.5, R=.5), 0.35 (P=2/3, R=1), 0.1 (P=.5, R=1).
  // AP = 0.5 * 1 + 0 + 0.5 * 2/3 + 0 = 0.8333.
  EXPECT_NEAR(PrAuc({0, 0, 1, 1}, {0.1f, 0.4f, 0.35f, 0.8f}), 0.5 + 1.0 / 3, 1e-12);
}

TEST(PrAucTest, TiedScoresAreOneThreshold) {
  // 0.9 holds a positive and a negative: P=.5 at R=.5; then 0.5: P=2/3 at R=1.
  EXPECT_NEAR(PrAuc({1, 0, 1, 0}, {0.9f, 0.9f, 0.5f, 0.1f}), 0.25 + 1.0 / 3, 1e-12);
}

TEST(PrAucTest, Edges) {
  EXPECT_DOUBLE_EQ(PrAuc({1, 1}, {0.1f, 0.2f}), 1.0);
  EXPECT_TRUE(std::isnan(PrAuc({0, 0}, {0.1f, 0.2f})));
  EXPECT_TRUE(std::isnan(PrAuc({1}, {})));
}

TEST(PrAucTest, MatchesNaiveDefinitionOnRandomData) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> score(0, 19), label(0, 1);
  std::vector<uint8_t> y(300);
  std::vector<float> s(300);
  for (size_t i = 0; i < y.size(); ++i) {
    y[i] = static_cast<uint8_t>(label(rng));
    s[i] = static_cast<float>(score(rng));
  }
  double positives = 0;
  for (uint8_t v : y) positives += v;
  double ap = 0, prev_recall = 0;
  for (int t = 19; t >= 0; --t) {
    double tp = 0, flagged = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      if (s[i] >= static_cast<float>(t)) {
        ++flagged;
        tp += y[i];
      }
    }
    if (flagged == 0) continue;
    ap += (tp / positives - prev_recall) * (tp / flagged);
    prev_recall = tp / positives;
  }
  EXPECT_NEAR(PrAuc(y, s), ap, 1e-12);
}

// Three classes, normal = 0. Rows (true -> predicted):
//   normal: 0->0, 0->0, 0->1, 0->0      dos: 1->1, 1->1, 1->0      probe: 2->2, 2->1, 2->2
// Confusion [true][pred]: normal {3,1,0}, dos {1,2,0}, probe {0,1,2}.
// Binary (attack = positive): tp = 5 (rows 4,5,7,8,9), fn = 1 (row 6), fp = 1 (row 2), tn = 3.
//   accuracy 8/10, precision 5/6, recall 5/6, f1 5/6, false alarm rate 1/4.
// Per class: normal P=3/4 R=3/4 F1=3/4; dos P=2/4 R=2/3 F1=4/7; probe P=2/2 R=2/3 F1=4/5.
//   macro F1 = (3/4 + 4/7 + 4/5) / 3.
// Scores: negatives {.1,.2,.7,.3}, positives {.9,.8,.4,.95,.6,.85}: 22 of 24 pairs ordered -> AUC
//   22/24. Ranked: + + + + - + + - - -: AP = (1+1+1+1+5/6+6/7)/6.
class EvaluateTest : public ::testing::Test {
 protected:
  std::vector<std::string> classes_ = {"normal", "dos", "probe"};
  std::vector<int> true_ = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2};
  std::vector<int> pred_ = {0, 0, 1, 0, 1, 1, 0, 2, 1, 2};
  std::vector<float> scores_ = {0.1f, 0.2f, 0.7f, 0.3f, 0.9f, 0.8f, 0.4f, 0.95f, 0.6f, 0.85f};
};

TEST_F(EvaluateTest, HandComputedValues) {
  EvalReport r = Evaluate(classes_, 0, true_, pred_, scores_);
  EXPECT_EQ(r.rows, 10u);
  EXPECT_EQ(r.confusion, (std::vector<std::vector<size_t>>{{3, 1, 0}, {1, 2, 0}, {0, 1, 2}}));
  EXPECT_EQ(r.tp, 5u);
  EXPECT_EQ(r.fn, 1u);
  EXPECT_EQ(r.fp, 1u);
  EXPECT_EQ(r.tn, 3u);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.8);
  EXPECT_DOUBLE_EQ(r.precision, 5.0 / 6);
  EXPECT_DOUBLE_EQ(r.recall, 5.0 / 6);
  EXPECT_DOUBLE_EQ(r.f1, 5.0 / 6);
  EXPECT_DOUBLE_EQ(r.false_alarm_rate, 0.25);
  ASSERT_EQ(r.per_class.size(), 3u);
  EXPECT_EQ(r.per_class[1].name, "dos");
  EXPECT_DOUBLE_EQ(r.per_class[0].precision, 0.75);
  EXPECT_DOUBLE_EQ(r.per_class[0].recall, 0.75);
  EXPECT_DOUBLE_EQ(r.per_class[0].f1, 0.75);
  EXPECT_EQ(r.per_class[0].support, 4u);
  EXPECT_DOUBLE_EQ(r.per_class[1].precision, 0.5);
  EXPECT_DOUBLE_EQ(r.per_class[1].recall, 2.0 / 3);
  EXPECT_NEAR(r.per_class[1].f1, 4.0 / 7, 1e-12);
  EXPECT_EQ(r.per_class[1].support, 3u);
  EXPECT_DOUBLE_EQ(r.per_class[2].precision, 1.0);
  EXPECT_DOUBLE_EQ(r.per_class[2].recall, 2.0 / 3);
  EXPECT_NEAR(r.per_class[2].f1, 0.8, 1e-12);
  EXPECT_NEAR(r.macro_f1, (0.75 + 4.0 / 7 + 0.8) / 3, 1e-12);
  EXPECT_DOUBLE_EQ(r.class_accuracy, 0.7);  // trace 3 + 2 + 2 of 10 rows
  EXPECT_NEAR(r.roc_auc, 22.0 / 24, 1e-12);
  EXPECT_NEAR(r.pr_auc, (4 + 5.0 / 6 + 6.0 / 7) / 6, 1e-12);
  EXPECT_TRUE(std::isnan(r.threshold));
}

TEST_F(EvaluateTest, ZeroDivisionGivesZeroAndMacroSkipsAbsentClasses) {
  // Everything is normal and predicted normal: no attack predicted or present.
  EvalReport r = Evaluate(classes_, 0, {0, 0}, {0, 0}, {0.1f, 0.2f});
  EXPECT_DOUBLE_EQ(r.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(r.precision, 0.0);
  EXPECT_DOUBLE_EQ(r.recall, 0.0);
  EXPECT_DOUBLE_EQ(r.f1, 0.0);
  EXPECT_DOUBLE_EQ(r.false_alarm_rate, 0.0);
  EXPECT_TRUE(std::isnan(r.roc_auc));
  EXPECT_TRUE(std::isnan(r.pr_auc));
  EXPECT_DOUBLE_EQ(r.per_class[1].f1, 0.0);
  EXPECT_DOUBLE_EQ(r.macro_f1, 1.0);  // only "normal" occurs
}

TEST_F(EvaluateTest, SkipsOutOfRangeRowsAndIgnoresMismatchedScores) {
  EvalReport r = Evaluate(classes_, 0, {0, 1, 7, 2}, {0, -1, 0, 2}, {0.5f});
  EXPECT_EQ(r.rows, 2u);
  EXPECT_EQ(r.tn, 1u);
  EXPECT_EQ(r.tp, 1u);
  EXPECT_TRUE(std::isnan(r.roc_auc));
  EvalReport empty = Evaluate({}, 0, {}, {}, {});
  EXPECT_EQ(empty.rows, 0u);
  EXPECT_DOUBLE_EQ(empty.accuracy, 0.0);
  EXPECT_FALSE(empty.ToText().empty());
}

TEST_F(EvaluateTest, JsonHasEveryKey) {
  EvalReport r = Evaluate(classes_, 0, true_, pred_, scores_);
  r.threshold = 0.5;
  nlohmann::json j = r.ToJson();
  for (const char* key : {"accuracy", "precision", "recall", "f1", "false_alarm_rate", "roc_auc",
                          "pr_auc", "macro_f1", "per_class", "confusion", "rows", "threshold",
                          "binary_confusion", "class_accuracy"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["rows"], 10);
  EXPECT_DOUBLE_EQ(j["threshold"].get<double>(), 0.5);
  EXPECT_EQ(j["binary_confusion"], (nlohmann::json{{"tn", 3}, {"fp", 1}, {"fn", 1}, {"tp", 5}}));
  EXPECT_EQ(j["confusion"]["classes"], (nlohmann::json{"normal", "dos", "probe"}));
  EXPECT_EQ(j["confusion"]["matrix"], (nlohmann::json{{3, 1, 0}, {1, 2, 0}, {0, 1, 2}}));
  EXPECT_EQ(j["per_class"]["probe"]["support"], 3);
  EXPECT_DOUBLE_EQ(j["per_class"]["probe"]["precision"].get<double>(), 1.0);
  EXPECT_TRUE(j["per_class"]["dos"].contains("f1"));
  EXPECT_TRUE(j["per_class"]["dos"].contains("recall"));
}

TEST_F(EvaluateTest, JsonWritesUndefinedAsNull) {
  EvalReport r = Evaluate(classes_, 0, {0, 0}, {0, 1}, {});
  nlohmann::json j = r.ToJson();
  EXPECT_TRUE(j["roc_auc"].is_null());
  EXPECT_TRUE(j["pr_auc"].is_null());
  EXPECT_TRUE(j["threshold"].is_null());
  EXPECT_TRUE(j["f1"].is_number());
  EXPECT_EQ(j.dump().find("NaN"), std::string::npos);
}

TEST_F(EvaluateTest, TextHasSummaryTableAndMatrix) {
  EvalReport r = Evaluate(classes_, 0, true_, pred_, scores_);
  std::string text = r.ToText();
  EXPECT_NE(text.find("accuracy          0.8000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("binary confusion  tn=3 fp=1 fn=1 tp=5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("class   precision   recall       f1  support\n"), std::string::npos) << text;
  EXPECT_NE(text.find("dos        0.5000   0.6667   0.5714        3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\n          normal     dos   probe\n"), std::string::npos) << text;
  EXPECT_NE(text.find("probe          0       1       2\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("threshold"), std::string::npos);  // NaN threshold is left out
}

TEST(BestF1ThresholdTest, PicksBestCandidate) {
  // Flagging (score > t), P = 3 positives:
  //   t=.6: none, F1 0   t=.5: {.6} 1/0 -> .5   t=.4: +{.5} fp -> .4   t=.3: +{.4} -> 4/6
  //   t=.2: +{.3} tp=3 fp=1 -> 6/7   t=.1: +{.2} fp=2 -> 6/8   below .1: fp=3 -> 6/9
  std::vector<uint8_t> y = {0, 0, 1, 1, 0, 1};
  std::vector<float> s = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
  EXPECT_EQ(BestF1Threshold(y, s), static_cast<double>(0.2f));
}

TEST(BestF1ThresholdTest, TiesGoToTheLargerThreshold) {
  // Labels {1,0,0,1}, scores {.9,.6,.5,.1}, P = 2: t=.6 flags {.9}: 2/3; t=.5: 2/4; t=.1: 2/5;
  // below .1 flags all: 4/6 = 2/3, tied with t=.6, which wins as the larger threshold.
  EXPECT_EQ(BestF1Threshold({1, 0, 0, 1}, {0.9f, 0.6f, 0.5f, 0.1f}), static_cast<double>(0.6f));
  // t=.2 flags {.8,.9} (F1 1) and is the largest candidate that does.
  EXPECT_EQ(BestF1Threshold({0, 0, 1, 1}, {0.1f, 0.2f, 0.8f, 0.9f}), static_cast<double>(0.2f));
}

TEST(BestF1ThresholdTest, CanFlagEveryRow) {
  double t = BestF1Threshold({1, 1}, {0.3f, 0.5f});
  EXPECT_LT(t, 0.3);
  EXPECT_GT(0.3f, static_cast<float>(t));  // holds in float too
  double tied = BestF1Threshold({0, 1}, {0.5f, 0.5f});
  EXPECT_LT(tied, 0.5);
}

TEST(BestF1ThresholdTest, UndefinedInputs) {
  EXPECT_TRUE(std::isnan(BestF1Threshold({}, {})));
  EXPECT_TRUE(std::isnan(BestF1Threshold({0, 1}, {0.5f})));
  // No positives: every candidate has F1 0, so the largest (flag nothing) wins.
  EXPECT_EQ(BestF1Threshold({0, 0}, {0.1f, 0.7f}), static_cast<double>(0.7f));
}

TEST(FalseAlarmThresholdTest, QuantileOfNormalScores) {
  // Normal scores 1..10 (attacks at 100 are ignored).
  std::vector<uint8_t> y;
  std::vector<float> s;
  for (int i = 1; i <= 10; ++i) {
    y.push_back(0);
    s.push_back(static_cast<float>(i));
    y.push_back(1);
    s.push_back(100);
  }
  EXPECT_EQ(ThresholdForFalseAlarmRate(y, s, 0.0), 10.0);   // flags nothing
  EXPECT_EQ(ThresholdForFalseAlarmRate(y, s, 0.1), 9.0);    // flags {10}
  EXPECT_EQ(ThresholdForFalseAlarmRate(y, s, 0.25), 8.0);   // k = 2: flags {9, 10}
  EXPECT_EQ(ThresholdForFalseAlarmRate(y, s, 0.3), 7.0);    // 0.3 * 10 is 3 alarms, not 2.99
  EXPECT_LT(ThresholdForFalseAlarmRate(y, s, 1.0), 1.0);    // flags every row
  EXPECT_EQ(ThresholdForFalseAlarmRate(y, s, -1.0), 10.0);  // clamped
  EXPECT_TRUE(std::isnan(ThresholdForFalseAlarmRate({1}, {0.5f}, 0.1)));
}

TEST(FalseAlarmThresholdTest, TiesNeverExceedTarget) {
  // Normal {1,2,2,2,3}: target 0.4 allows 2 alarms, but any t < 2 flags 4 rows; t = 2 flags 1.
  EXPECT_EQ(ThresholdForFalseAlarmRate({0, 0, 0, 0, 0}, {1, 2, 2, 2, 3}, 0.4), 2.0);
}

TEST(FalseAlarmThresholdTest, SmallestThresholdMeetingTargetOnRandomData) {
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0, 1);
  std::vector<uint8_t> y(2000);
  std::vector<float> s(2000);
  for (size_t i = 0; i < y.size(); ++i) {
    y[i] = i % 4 == 0 ? 1 : 0;
    s[i] = std::round(noise(rng) * 20) / 20 + (y[i] ? 2.0f : 0.0f);
  }
  for (double target : {0.0, 0.01, 0.05, 0.2, 0.5}) {
    double t = ThresholdForFalseAlarmRate(y, s, target);
    auto far = [&](double threshold) {
      double normals = 0, alarms = 0;
      for (size_t i = 0; i < y.size(); ++i) {
        if (y[i] != 0) continue;
        ++normals;
        alarms += s[i] > threshold ? 1 : 0;
      }
      return alarms / normals;
    };
    EXPECT_LE(far(t), target + 1e-12) << target;
    EXPECT_GT(far(std::nextafter(t, -1e9)), target) << target;
  }
}

TEST(MetricsScaleTest, MillionRowsOnce) {
  const size_t n = 1000000;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<uint8_t> y(n);
  std::vector<float> s(n);
  for (size_t i = 0; i < n; ++i) {
    y[i] = i % 10 == 0 ? 1 : 0;
    s[i] = u(rng) + (y[i] ? 0.5f : 0.0f);
  }
  double auc = RocAuc(y, s);
  EXPECT_GT(auc, 0.8);
  EXPECT_LT(auc, 0.95);
  EXPECT_GT(PrAuc(y, s), 0.2);
  EXPECT_FALSE(std::isnan(BestF1Threshold(y, s)));
  EXPECT_FALSE(std::isnan(ThresholdForFalseAlarmRate(y, s, 0.01)));
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

TEST(EvalCurvesTest, RocPrAndHistogram) {
  // Scores 0..9: rows 6..9 are attacks, plus one attack at score 2 (a miss at high thresholds).
  std::vector<int> truth = {0, 0, 1, 0, 0, 0, 1, 1, 1, 1};
  std::vector<float> scores = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<int> pred(10);
  for (size_t i = 0; i < 10; ++i) pred[i] = scores[i] > 5 ? 1 : 0;
  EvalReport r = Evaluate({"normal", "attack"}, 0, truth, pred, scores);
  ASSERT_EQ(r.roc_fpr.size(), 11u);  // (0,0) + one point per distinct score
  EXPECT_DOUBLE_EQ(r.roc_fpr.front(), 0);
  EXPECT_DOUBLE_EQ(r.roc_tpr.front(), 0);
  EXPECT_DOUBLE_EQ(r.roc_fpr.back(), 1);
  EXPECT_DOUBLE_EQ(r.roc_tpr.back(), 1);
  EXPECT_DOUBLE_EQ(r.roc_tpr[4], 0.8);  // the four top scores are attacks
  EXPECT_DOUBLE_EQ(r.roc_fpr[4], 0.0);
  EXPECT_DOUBLE_EQ(r.pr_precision[3], 1.0);
  EXPECT_DOUBLE_EQ(r.pr_recall.back(), 1.0);
  EXPECT_DOUBLE_EQ(r.pr_precision.back(), 0.5);
  ASSERT_EQ(r.histogram_edges.size(), EvalReport::kHistogramBins + 1);
  size_t normal = 0, attack = 0;
  for (size_t b = 0; b < EvalReport::kHistogramBins; ++b) {
    normal += r.histogram_normal[b];
    attack += r.histogram_attack[b];
  }
  EXPECT_EQ(normal, 5u);
  EXPECT_EQ(attack, 5u);
  EXPECT_EQ(r.histogram_attack.back(), 1u);  // score 9 in the last bin
  nlohmann::json j = r.ToJson();
  EXPECT_EQ(j["roc_curve"]["fpr"].size(), 11u);
  EXPECT_EQ(j["score_histogram"]["normal"].size(), EvalReport::kHistogramBins);

  // Many distinct scores: thinned to kCurvePoints, ends kept.
  std::vector<int> t2(5000), p2(5000, 0);
  std::vector<float> s2(5000);
  for (size_t i = 0; i < 5000; ++i) {
    t2[i] = i % 3 == 0;
    s2[i] = static_cast<float>(i);
  }
  EvalReport r2 = Evaluate({"normal", "attack"}, 0, t2, p2, s2);
  EXPECT_EQ(r2.roc_fpr.size(), EvalReport::kCurvePoints);
  EXPECT_DOUBLE_EQ(r2.roc_fpr.back(), 1.0);
  EXPECT_DOUBLE_EQ(r2.roc_tpr.back(), 1.0);
  // One class only: no curves, a histogram still.
  EvalReport r3 = Evaluate({"normal", "attack"}, 0, {0, 0, 0}, {0, 0, 0}, {0.1f, 0.2f, 0.3f});
  EXPECT_TRUE(r3.roc_fpr.empty());
  EXPECT_FALSE(r3.histogram_edges.empty());
}

}  // namespace
}  // namespace vigil
