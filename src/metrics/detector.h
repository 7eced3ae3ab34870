// Online anomaly detectors for one numeric time series, learned from the series' own history with
// no labels; one configuration serves every series (as NAB requires).
//
// SeriesDetector looks at each point through several views, each a non-negative "surprise":
//  - neural: a small MLP over the last `window` normalised values plus time-of-day and
//    day-of-week features (NeuralPredictor), trained by one SGD step per point; the surprise is its
//    absolute prediction error;
//  - statistical: the distance of the value from a slow exponentially weighted mean, in slow
//    standard deviations (spikes, level shifts);
//  - level: an EWMA control chart: the distance of a short exponentially weighted mean (rate
//    `level_alpha`, the textbook 0.2) from the slow mean, in the standard deviations of that short
//    mean (small shifts that last, which no single point shows);
//  - seasonal: the distance from the running mean of the same half hour of the day, in that half
//    hour's standard deviations (a daily pattern broken);
//  - spread: |log| of short-term over long-term variance of the first differences (flat or
//    noisier stretches); computed and reported, weight 0 by default (it cost NAB points);
//  - contextual (optional, `cad_weight`, off by default): CAD OSE (context_ose.h), whose own
//    score in [0, 1] is combined with the others' by max (or mean, `cad_combine=1`).
// Each view's surprise r is compared with that view's own record R (its largest surprise so far,
// decaying by `record_decay` per point): score r / (r + R), so 0.5 means "as surprising as
// anything seen lately" and only a new record scores above it. The neural, statistical and level
// views, which know nothing of the clock, also compare r with the records of the same half hour of
// the day and its two neighbours, which decay more slowly (`daily_record_decay`): a surprise that
// recurs at the same time each day (a nightly job) is news once, not every day. The seasonal view
// already compares each half hour with itself. The detector reports the largest weighted view
// score. After a score above `rest_level` it rests for `rest_points` points (scores halved), so one
// anomaly raises one alert rather than a burst; a point that scores `rest_break` above the score
// that started the rest is a stronger anomaly and is not halved (it starts a new rest).
//
// Memory per series is fixed (no growth with the length of the series): see MemoryBytes().
// Not thread-safe: one detector per series, driven by one thread at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "metrics/context_ose.h"

namespace vigil::metrics {

struct DetectorConfig {
  int window = 12;  // inputs of the neural predictor (past values)
  int hidden = 12;  // hidden units of the neural predictor
  double learning_rate = 0.01;
  int learning_period = 150;   // points before any score is reported (score 0 meanwhile)
  double norm_alpha = 0.002;   // EWMA rate of the value normalisation
  double stat_alpha = 0.01;    // EWMA rate of the statistical view's mean and variance
  double like_alpha = 0.002;   // EWMA rate of the raw-score distributions
  int short_window = 1;        // points averaged in the likelihood's short-term mean
  double rest_level = 0.53;    // a score above this starts a rest period
  int rest_points = 50;        // length of the rest period
  double rest_break = 0.2;     // a score this much above the rest's first is not halved
  double neural_weight = 1.0;  // 0 disables the neural view
  double stat_weight = 1.0;    // 0 disables the statistical view
  double level_weight = 1.0;   // 0 disables the level view (EWMA chart)
  double level_alpha = 0.2;    // rate of its short mean
  // The running means and variances that the neural, statistical and level views measure against
  // learn from each point clipped to within `winsor` of their standard deviations (0: not
  // clipped), so an anomaly does not widen the yardstick it is measured with. The seasonal
  // profile, which must follow a changed day quickly, is not clipped.
  double winsor = 3.0;
  int tail_mode = 1;  // 0: Gaussian tail of the short mean; 1: against the decayed record
  double record_decay = 0.9997;     // per point (mode 1)...
  double record_day_decay = 0.917;  // ...but never faster than this per day (0: no floor), so
                                    // that a series sampled every 10 s remembers for days too
  // Per day, of the records kept per half hour of the day (mode 1; 0: none). A surprise equal to
  // yesterday's at the same time scores 1 / (1 + this), whatever the sampling interval.
  double daily_record_decay = 0.97;
  double season_weight = 1.0;  // the time-of-day profile view (0 disables)
  double spread_weight = 0.0;  // the short/long variability ratio view (0 disables)
  int time_inputs = 1;         // time-of-day and day-of-week features for the neural predictor
  int season_days = 1;         // the seasonal profile's period in days (1: daily, 7: weekly)
  // The contextual view (CAD OSE, context_ose.h), combined with the views above. Off by
  // default: online (no known range) it lowered the NAB score, and at its context bound it makes
  // a point 20-50x slower (docs/metrics.md, issue 9).
  double cad_weight = 0.0;      // 0 disables it
  int cad_combine = 0;          // 0: max with the other views' score; 1: their mean
  int cad_rest = 150;           // CAD OSE's rest period (NAB: probation / 5, at most 150)
  int cad_max_contexts = 1024;  // bound of its context store
  int cad_nab_convention = 0;   // 1: the bench gives what NAB gives its detectors (look-ahead):
                                // the file's min/max, rest = probation / 5 (comparison only)
  uint32_t seed = 42;
};

// Sets one field from "name=value" (the names above); InvalidArgument naming the field otherwise.
Status SetDetectorOption(DetectorConfig* config, const std::string& assignment);

struct DetectorOutput {
  double score = 0;                            // anomaly score in [0, 1]
  double expected_low = 0, expected_high = 0;  // the range the detector expected the value in
  // Each view's score in [0, 1].
  double neural = 0, statistical = 0, level = 0, seasonal = 0, spread = 0;
  double contextual = 0;  // the CAD OSE view's score in [0, 1]
};

// A small MLP regressor (window -> hidden tanh -> 1) trained online by plain SGD.
class NeuralPredictor {
 public:
  NeuralPredictor(int inputs, int hidden, double learning_rate, uint32_t seed);
  double Predict(const float* x) const;
  // One SGD step on the squared error towards `target`; returns the prediction before the step.
  double Train(const float* x, double target);
  size_t MemoryBytes() const { return w_.capacity() * sizeof(float) + sizeof(*this); }

 private:
  int inputs_, hidden_;
  float lr_;
  std::vector<float> w_;  // [hidden x inputs] W1, [hidden] b1, [hidden] W2, [1] b2
  mutable std::vector<float> h_;
};

// The likelihood of a raw score stream: short-term mean against the long-term distribution
// (tail_mode 0) or against the decayed record (tail_mode 1; it decays per point, and at most by
// record_day_decay per day of the points' clock). With `buckets` > 0 (mode 1), records are also
// kept per time bucket, and a raw score is compared with the larger of the overall record and the
// records of its bucket and the two neighbouring ones (cyclically).
class AnomalyLikelihood {
 public:
  AnomalyLikelihood(const DetectorConfig& c, int buckets);
  // Returns the score in [0, 1] of the newest raw score, observed at `time` (seconds) in `bucket`
  // ([0, buckets), or -1: none).
  double Update(double raw, int64_t time = 0, int bucket = -1);
  size_t MemoryBytes() const { return bucket_log_record_.capacity() * sizeof(float); }

 private:
  double alpha_;
  int short_;
  int mode_;
  double decay_;
  double log_day_decay_;     // per second: the floor of the overall record's decay
  double log_bucket_decay_;  // per second
  double record_ = 0;
  // Each bucket's record r, stored as log(r) - log_bucket_decay_ * (when - origin_) so that it
  // decays without being touched: as of `clock_`, r = exp(stored + log_bucket_decay_ * (clock_ -
  // origin_)). Float keeps ~1e-5 relative precision for a century.
  std::vector<float> bucket_log_record_;
  int64_t origin_ = 0, clock_ = 0;  // the first point's time, the latest time seen
  int n_ = 0;
  double mean_ = 0, var_ = 0;
  std::array<float, 32> recent_{};
  int pos_ = 0;
};

class SeriesDetector {
 public:
  explicit SeriesDetector(const DetectorConfig& config);
  SeriesDetector(SeriesDetector&&) = default;
  SeriesDetector& operator=(SeriesDetector&&) = default;
  // `time` in seconds since the epoch (used for the time-of-day and day-of-week views). A
  // non-finite value scores 0 and is not learnt; magnitudes are clamped to 1e150.
  DetectorOutput Update(int64_t time, double value);
  // Gives the contextual view a known value range (NAB's convention: the file's min and max);
  // without it the range is learnt online.
  void SetKnownRange(double min, double max) {
    if (cad_) cad_->SetRange(min, max);
  }
  size_t MemoryBytes() const;
  int64_t points() const { return n_; }

 private:
  DetectorConfig config_;
  NeuralPredictor net_;
  AnomalyLikelihood neural_like_, stat_like_, level_like_, season_like_, spread_like_;
  static constexpr int kSeasonBuckets = 48;      // half hours of the day
  std::vector<float> season_mean_, season_var_;  // per half hour of the period
  std::vector<uint16_t> season_n_;
  double short_var_ = 0, long_var_ = 0, prev_value_ = 0;
  std::vector<float> past_;  // ring of the last `window` normalised values
  int64_t n_ = 0;
  double norm_mean_ = 0, norm_var_ = 0;
  double stat_mean_ = 0, stat_var_ = 0;
  double level_short_ = 0, level_mean_ = 0, level_var_ = 0;  // the EWMA chart's statistics
  double err_scale_ = 0;  // EWMA of |prediction error| (normalised units)
  int rest_left_ = 0;
  double rest_score_ = 0;            // the score that started the rest
  std::unique_ptr<ContextOse> cad_;  // only when cad_weight > 0
};

}  // namespace vigil::metrics
