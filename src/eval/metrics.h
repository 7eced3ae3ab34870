// Evaluation metrics for detectors: binary detection scores (attack = positive), ranking scores
// (ROC AUC, average precision), per-class scores with a confusion matrix, and threshold selection
// for score-based detectors such as autoencoders.
//
// Conventions, chosen to match scikit-learn so numbers can be checked against it:
// - A ratio with a zero denominator is 0 (sklearn's zero_division=0); no metric is NaN except
//   roc_auc and pr_auc when they are undefined (only one class present), written as JSON null.
// - Scores are "higher = more attack-like"; a threshold t predicts attack iff score > t.
// - Everything is O(n log n) (one sort) and fine for millions of rows.
//
// Pure functions over caller-owned vectors; EvalReport is a plain value. Thread-safe: no shared
// state. Nothing here fails: bad input (mismatched lengths, class indices out of range) is
// described at each function.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vigil {

struct ClassMetrics {
  std::string name;
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  size_t support = 0;  // rows whose true class is this one
};

struct EvalReport {
  size_t rows = 0;
  // Binary keys: normal vs any attack, attack = positive. accuracy is the binary detection
  // accuracy; the multi-class accuracy is the confusion matrix's trace / rows.
  double accuracy = 0;
  double precision = 0;
  double recall = 0;  // detection rate
  double f1 = 0;
  double false_alarm_rate = 0;  // fp / (fp + tn)
  double roc_auc = NAN;         // NaN when undefined
  double pr_auc = NAN;          // average precision; NaN when undefined
  // Unweighted mean of per-class F1 over the classes that occur in the true or predicted classes
  // (sklearn's average="macro" without an explicit label list).
  double macro_f1 = 0;
  // Accuracy over all classes: the confusion matrix's trace / rows (equals `accuracy` for a
  // two-class report).
  double class_accuracy = 0;
  // Binary confusion counts behind the binary keys.
  size_t tn = 0, fp = 0, fn = 0, tp = 0;

  std::vector<std::string> class_names;
  std::vector<std::vector<size_t>> confusion;  // [true][predicted] over class_names
  std::vector<ClassMetrics> per_class;         // one per class name, same order
  double threshold = NAN;                      // score threshold used, if any

  // Curves of the attack score (empty without scores, or with one class only): at most
  // kCurvePoints points each, thresholds from the highest score down. ROC runs from (0,0) to (1,1).
  static constexpr size_t kCurvePoints = 256;
  std::vector<double> roc_fpr, roc_tpr;
  std::vector<double> pr_recall, pr_precision;
  // Histogram of the attack score: kHistogramBins equal bins between the 0.5th and 99.5th
  // percentiles (edges has kHistogramBins + 1 values; scores outside go to the end bins), with
  // the counts of truly normal and truly attack rows. Empty without scores.
  static constexpr size_t kHistogramBins = 40;
  std::vector<double> histogram_edges;
  std::vector<size_t> histogram_normal, histogram_attack;

  // Keys: accuracy precision recall f1 false_alarm_rate roc_auc pr_auc macro_f1 per_class
  // roc_curve ({fpr, tpr}), pr_curve ({recall, precision}) and score_histogram ({edges, normal,
  // attack}) when there are scores, and
  // ({class: {precision, recall, f1, support}}) confusion ({"classes": [...], "matrix": [[...]]})
  // binary_confusion ({tn, fp, fn, tp}) rows threshold. NaN values are written as null.
  nlohmann::json ToJson() const;
  // A readable report: summary lines, a per-class table, then the confusion matrix (rows = true,
  // columns = predicted), columns aligned. Ends with a newline.
  std::string ToText() const;
};

// Area under the ROC curve; labels are 0/1. Tied scores are handled exactly (trapezoid over
// distinct score values, equivalently a tie counts half in the Mann-Whitney statistic). NaN when
// only one class is present or the lengths differ.
double RocAuc(const std::vector<uint8_t>& labels, const std::vector<float>& scores);

// Average precision as sklearn's average_precision_score: sum over distinct thresholds (highest
// first) of (R_n - R_{n-1}) * P_n. NaN when there is no positive row or the lengths differ.
double PrAuc(const std::vector<uint8_t>& labels, const std::vector<float>& scores);

// Builds the full report. true_class/pred_class index into class_names; normal_class is the index
// of the normal class (the binary keys are normal vs any attack, derived from the class
// predictions); attack_scores is the per-row attack score used for ROC/PR AUC (may be empty, then
// both are NaN). Rows whose true or predicted index is outside [0, class_names.size()) are skipped,
// as are rows past the shorter of true_class/pred_class; attack_scores is used only when it has
// one entry per row of true_class. `threshold` of the result is NaN; callers that used one set it.
EvalReport Evaluate(const std::vector<std::string>& class_names, int normal_class,
                    const std::vector<int>& true_class, const std::vector<int>& pred_class,
                    const std::vector<float>& attack_scores);

// Threshold with the best binary F1 over all distinct candidates (predict attack iff score > t).
// Candidates are every distinct score (t = s flags the rows scoring above s) plus a value just
// below the smallest score (flags every row). Ties in F1 go to the larger threshold (fewer alarms).
// NaN when the input is empty or the lengths differ.
double BestF1Threshold(const std::vector<uint8_t>& labels, const std::vector<float>& scores);

// Smallest threshold whose false-alarm rate on the normal rows (label 0) is <= target_far: with n
// normal rows and k = floor(target_far * n) allowed alarms, the (n-k)-th smallest normal score.
// target_far is clamped to [0, 1]; with k >= n the result is just below the smallest normal score.
// NaN when there are no normal rows or the lengths differ.
double ThresholdForFalseAlarmRate(const std::vector<uint8_t>& labels,
                                  const std::vector<float>& scores, double target_far);

}  // namespace vigil
