#include "eval/metrics.h"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace vigil {
namespace {

double Ratio(double num, double den) { return den > 0 ? num / den : 0.0; }

double F1(double precision, double recall) {
  return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
}

// NaN scores rank below every number so that the sort has a strict weak order; "score > t" is
// false for them too, so they behave as the least attack-like rows everywhere.
float RankKey(float s) { return std::isnan(s) ? -std::numeric_limits<float>::infinity() : s; }

// One group of rows sharing a score, with the cumulative counts of every row scoring >= it.
struct ScoreGroup {
  float score;
  double tp;  // positives with score >= this group's score
  double fp;  // negatives with score >= this group's score
};

// Sorts once by score (highest first) and collapses ties. Returns the groups and the totals.
std::vector<ScoreGroup> GroupByScore(const std::vector<uint8_t>& labels,
                                     const std::vector<float>& scores, double* positives,
                                     double* negatives) {
  struct Row {
    float score;
    uint8_t label;
  };
  std::vector<Row> rows(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) rows[i] = {RankKey(scores[i]), labels[i]};
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.score > b.score; });
  std::vector<ScoreGroup> groups;
  double tp = 0, fp = 0;
  for (size_t i = 0; i < rows.size();) {
    size_t j = i;
    for (; j < rows.size() && rows[j].score == rows[i].score; ++j) {
      if (rows[j].label != 0) {
        ++tp;
      } else {
        ++fp;
      }
    }
    groups.push_back({rows[i].score, tp, fp});
    i = j;
  }
  *positives = tp;
  *negatives = fp;
  return groups;
}

// A threshold just below `s`, representable as a float so that "score > t" gives the same answer
// whether a caller compares in float or in double.
double JustBelow(float s) {
  return static_cast<double>(std::nextafter(s, -std::numeric_limits<float>::infinity()));
}

nlohmann::json Number(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}

std::string Fixed(double v) {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.4f", v);
  return buf;
}

std::string PadRight(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

std::string PadLeft(const std::string& s, size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

}  // namespace

double RocAuc(const std::vector<uint8_t>& labels, const std::vector<float>& scores) {
  if (labels.size() != scores.size()) return NAN;
  double pos = 0, neg = 0;
  std::vector<ScoreGroup> groups = GroupByScore(labels, scores, &pos, &neg);
  if (pos == 0 || neg == 0) return NAN;
  // Trapezoids between consecutive ROC points; a group of ties is one diagonal step.
  double area = 0, prev_tp = 0, prev_fp = 0;
  for (const ScoreGroup& g : groups) {
    area += (g.fp - prev_fp) * (g.tp + prev_tp) / 2;
    prev_tp = g.tp;
    prev_fp = g.fp;
  }
  return area / (pos * neg);
}

double PrAuc(const std::vector<uint8_t>& labels, const std::vector<float>& scores) {
  if (labels.size() != scores.size()) return NAN;
  double pos = 0, neg = 0;
  std::vector<ScoreGroup> groups = GroupByScore(labels, scores, &pos, &neg);
  if (pos == 0) return NAN;
  double ap = 0, prev_recall = 0;
  for (const ScoreGroup& g : groups) {
    double recall = g.tp / pos;
    ap += (recall - prev_recall) * (g.tp / (g.tp + g.fp));
    prev_recall = recall;
  }
  return ap;
}

double BestF1Threshold(const std::vector<uint8_t>& labels, const std::vector<float>& scores) {
  if (labels.empty() || labels.size() != scores.size()) return NAN;
  double pos = 0, neg = 0;
  std::vector<ScoreGroup> groups = GroupByScore(labels, scores, &pos, &neg);
  // Candidate t = groups[g].score flags exactly the groups before g; candidates are visited from
  // the largest threshold down, so a strict improvement is needed to move to a smaller one.
  double best_f1 = -1, best_threshold = NAN, tp = 0, fp = 0;
  auto consider = [&](double threshold) {
    double f1 = Ratio(2 * tp, 2 * tp + fp + (pos - tp));
    if (f1 > best_f1) {
      best_f1 = f1;
      best_threshold = threshold;
    }
  };
  for (const ScoreGroup& g : groups) {
    consider(g.score);
    tp = g.tp;
    fp = g.fp;
  }
  consider(JustBelow(groups.back().score));
  return best_threshold;
}

double ThresholdForFalseAlarmRate(const std::vector<uint8_t>& labels,
                                  const std::vector<float>& scores, double target_far) {
  if (labels.size() != scores.size()) return NAN;
  std::vector<float> normal;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] == 0) normal.push_back(RankKey(scores[i]));
  }
  if (normal.empty()) return NAN;
  double far = std::isnan(target_far) ? 0.0 : std::clamp(target_far, 0.0, 1.0);
  size_t n = normal.size();
  // The epsilon keeps 0.1 * 10 from becoming 0.9999... alarms.
  size_t k = static_cast<size_t>(std::floor(far * static_cast<double>(n) + 1e-9));
  if (k >= n) return JustBelow(*std::min_element(normal.begin(), normal.end()));
  // Every t below the (n-k)-th smallest normal score flags at least k+1 normal rows.
  auto nth = normal.begin() + static_cast<std::ptrdiff_t>(n - k - 1);
  std::nth_element(normal.begin(), nth, normal.end());
  return *nth;
}

namespace {

// ROC and PR points at every distinct score (highest first), thinned to kCurvePoints, and the
// score histogram.
void AddCurves(const std::vector<uint8_t>& labels, const std::vector<float>& scores,
               EvalReport* r) {
  const size_t n = scores.size();
  if (n == 0) return;
  size_t positives = 0;
  for (uint8_t l : labels) positives += l != 0;
  const size_t negatives = n - positives;
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return RankKey(scores[a]) > RankKey(scores[b]); });

  if (positives > 0 && negatives > 0) {
    std::vector<double> fpr{0}, tpr{0}, rec, prec;
    size_t tp = 0, fp = 0;
    for (size_t k = 0; k < n; ++k) {
      (labels[order[k]] != 0 ? tp : fp) += 1;
      if (k + 1 < n && RankKey(scores[order[k + 1]]) == RankKey(scores[order[k]])) {
        continue;  // ties: one point
      }
      fpr.push_back(static_cast<double>(fp) / static_cast<double>(negatives));
      tpr.push_back(static_cast<double>(tp) / static_cast<double>(positives));
      rec.push_back(static_cast<double>(tp) / static_cast<double>(positives));
      prec.push_back(static_cast<double>(tp) / static_cast<double>(tp + fp));
    }
    // Thin to at most kCurvePoints, keeping the first and last points.
    auto thin = [](std::vector<double>* a, std::vector<double>* b) {
      const size_t m = a->size(), keep = EvalReport::kCurvePoints;
      if (m <= keep) return;
      std::vector<double> x, y;
      for (size_t q = 0; q < keep; ++q) {
        const size_t i = q * (m - 1) / (keep - 1);
        x.push_back((*a)[i]);
        y.push_back((*b)[i]);
      }
      *a = std::move(x);
      *b = std::move(y);
    };
    thin(&fpr, &tpr);
    thin(&rec, &prec);
    r->roc_fpr = std::move(fpr);
    r->roc_tpr = std::move(tpr);
    r->pr_recall = std::move(rec);
    r->pr_precision = std::move(prec);
  }

  // Histogram between the 0.5th and 99.5th percentiles (order is descending).
  const size_t bins = EvalReport::kHistogramBins;
  double lo = scores[order[std::min(n - 1, n - 1 - n / 200)]];
  double hi = scores[order[n / 200]];
  if (!(hi > lo)) {
    lo = scores[order[n - 1]];
    hi = scores[order[0]];
  }
  if (!std::isfinite(lo) || !std::isfinite(hi)) {
    lo = 0;
    hi = 1;
  }
  if (!(hi > lo)) hi = lo + 1;
  r->histogram_edges.resize(bins + 1);
  for (size_t b = 0; b <= bins; ++b) {
    r->histogram_edges[b] = lo + (hi - lo) * static_cast<double>(b) / static_cast<double>(bins);
  }
  r->histogram_normal.assign(bins, 0);
  r->histogram_attack.assign(bins, 0);
  for (size_t i = 0; i < n; ++i) {
    const double v = scores[i];
    size_t b = 0;
    if (v >= hi) {
      b = bins - 1;
    } else if (v > lo) {
      b = std::min(bins - 1, static_cast<size_t>((v - lo) / (hi - lo) * static_cast<double>(bins)));
    }
    ++(labels[i] != 0 ? r->histogram_attack : r->histogram_normal)[b];
  }
}

}  // namespace

EvalReport Evaluate(const std::vector<std::string>& class_names, int normal_class,
                    const std::vector<int>& true_class, const std::vector<int>& pred_class,
                    const std::vector<float>& attack_scores) {
  EvalReport r;
  const size_t num_classes = class_names.size();
  r.class_names = class_names;
  r.confusion.assign(num_classes, std::vector<size_t>(num_classes, 0));
  const bool use_scores = attack_scores.size() == true_class.size();
  std::vector<uint8_t> score_labels;
  std::vector<float> score_values;
  const size_t n = std::min(true_class.size(), pred_class.size());
  auto valid = [&](int c) { return c >= 0 && static_cast<size_t>(c) < num_classes; };
  for (size_t i = 0; i < n; ++i) {
    int t = true_class[i], p = pred_class[i];
    if (!valid(t) || !valid(p)) continue;
    ++r.rows;
    ++r.confusion[t][p];
    bool true_attack = t != normal_class, pred_attack = p != normal_class;
    if (true_attack) {
      ++(pred_attack ? r.tp : r.fn);
    } else {
      ++(pred_attack ? r.fp : r.tn);
    }
    if (use_scores) {
      score_labels.push_back(true_attack ? 1 : 0);
      score_values.push_back(attack_scores[i]);
    }
  }

  double tp = r.tp, fp = r.fp, fn = r.fn, tn = r.tn;
  r.accuracy = Ratio(tp + tn, static_cast<double>(r.rows));
  r.precision = Ratio(tp, tp + fp);
  r.recall = Ratio(tp, tp + fn);
  r.f1 = F1(r.precision, r.recall);
  r.false_alarm_rate = Ratio(fp, fp + tn);
  if (use_scores) {
    r.roc_auc = RocAuc(score_labels, score_values);
    r.pr_auc = PrAuc(score_labels, score_values);
    AddCurves(score_labels, score_values, &r);
  }

  double f1_sum = 0;
  size_t f1_count = 0;
  for (size_t c = 0; c < num_classes; ++c) {
    size_t predicted = 0;
    for (size_t t = 0; t < num_classes; ++t) predicted += r.confusion[t][c];
    ClassMetrics m;
    m.name = class_names[c];
    for (size_t p = 0; p < num_classes; ++p) m.support += r.confusion[c][p];
    double hits = static_cast<double>(r.confusion[c][c]);
    m.precision = Ratio(hits, static_cast<double>(predicted));
    m.recall = Ratio(hits, static_cast<double>(m.support));
    m.f1 = F1(m.precision, m.recall);
    if (m.support + predicted > 0) {
      f1_sum += m.f1;
      ++f1_count;
    }
    r.per_class.push_back(std::move(m));
  }
  r.macro_f1 = Ratio(f1_sum, static_cast<double>(f1_count));
  double trace = 0;
  for (size_t c = 0; c < num_classes; ++c) trace += static_cast<double>(r.confusion[c][c]);
  r.class_accuracy = Ratio(trace, static_cast<double>(r.rows));
  return r;
}

nlohmann::json EvalReport::ToJson() const {
  nlohmann::json j;
  j["rows"] = rows;
  j["accuracy"] = Number(accuracy);
  j["precision"] = Number(precision);
  j["recall"] = Number(recall);
  j["f1"] = Number(f1);
  j["false_alarm_rate"] = Number(false_alarm_rate);
  j["roc_auc"] = Number(roc_auc);
  j["pr_auc"] = Number(pr_auc);
  j["macro_f1"] = Number(macro_f1);
  j["class_accuracy"] = Number(class_accuracy);
  j["threshold"] = Number(threshold);
  j["binary_confusion"] = {{"tn", tn}, {"fp", fp}, {"fn", fn}, {"tp", tp}};
  nlohmann::json classes = nlohmann::json::object();
  for (const ClassMetrics& m : per_class) {
    classes[m.name] = {{"precision", Number(m.precision)},
                       {"recall", Number(m.recall)},
                       {"f1", Number(m.f1)},
                       {"support", m.support}};
  }
  j["per_class"] = std::move(classes);
  nlohmann::json matrix = nlohmann::json::array();
  for (const auto& row : confusion) matrix.push_back(row);
  j["confusion"] = {{"classes", class_names}, {"matrix", std::move(matrix)}};
  if (!roc_fpr.empty()) j["roc_curve"] = {{"fpr", roc_fpr}, {"tpr", roc_tpr}};
  if (!pr_recall.empty()) j["pr_curve"] = {{"recall", pr_recall}, {"precision", pr_precision}};
  if (!histogram_edges.empty()) {
    j["score_histogram"] = {
        {"edges", histogram_edges}, {"normal", histogram_normal}, {"attack", histogram_attack}};
  }
  return j;
}

std::string EvalReport::ToText() const {
  std::string out;
  auto line = [&](const std::string& key, const std::string& value) {
    out += PadRight(key, 18) + value + "\n";
  };
  line("rows", std::to_string(rows));
  line("accuracy", Fixed(accuracy));
  line("precision", Fixed(precision));
  line("recall", Fixed(recall));
  line("f1", Fixed(f1));
  line("false_alarm_rate", Fixed(false_alarm_rate));
  line("roc_auc", Fixed(roc_auc));
  line("pr_auc", Fixed(pr_auc));
  line("macro_f1", Fixed(macro_f1));
  if (class_names.size() > 2) line("class_accuracy", Fixed(class_accuracy));
  if (!std::isnan(threshold)) line("threshold", Fixed(threshold));
  std::string counts = "tn=";
  counts += std::to_string(tn) + " fp=" + std::to_string(fp);
  counts += " fn=" + std::to_string(fn) + " tp=" + std::to_string(tp);
  line("binary confusion", counts);
  if (per_class.empty()) return out;

  size_t name_width = 5;  // "class"
  for (const std::string& name : class_names) name_width = std::max(name_width, name.size());
  name_width += 2;
  size_t support_width = 7;  // "support"
  for (const ClassMetrics& m : per_class) {
    support_width = std::max(support_width, std::to_string(m.support).size());
  }
  out += "\n";
  out += PadRight("class", name_width) + PadLeft("precision", 9) + PadLeft("recall", 9) +
         PadLeft("f1", 9) + PadLeft("support", support_width + 2) + "\n";
  for (const ClassMetrics& m : per_class) {
    out += PadRight(m.name, name_width) + PadLeft(Fixed(m.precision), 9) +
           PadLeft(Fixed(m.recall), 9) + PadLeft(Fixed(m.f1), 9) +
           PadLeft(std::to_string(m.support), support_width + 2) + "\n";
  }

  size_t cell_width = 1;
  for (const std::string& name : class_names) cell_width = std::max(cell_width, name.size());
  for (const auto& row : confusion) {
    for (size_t v : row) cell_width = std::max(cell_width, std::to_string(v).size());
  }
  cell_width += 2;
  out += "\nconfusion (rows = true, columns = predicted)\n";
  out += std::string(name_width, ' ');
  for (const std::string& name : class_names) out += PadLeft(name, cell_width);
  out += "\n";
  for (size_t t = 0; t < confusion.size(); ++t) {
    out += PadRight(class_names[t], name_width);
    for (size_t v : confusion[t]) out += PadLeft(std::to_string(v), cell_width);
    out += "\n";
  }
  return out;
}

}  // namespace vigil
