#include "metrics/detector.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>

namespace vigil::metrics {
namespace {

constexpr double kLogFloor = 1e-10;

// Exponentially weighted mean and variance; the rate starts at 1/n so early points are averaged.
// With `clip` > 0, from the 11th point on, x is first moved to within `clip` standard deviations
// of the mean (winsorised).
void Ewma(double x, double alpha, int64_t n, double* mean, double* var, double clip = 0) {
  const double a = std::max(alpha, 1.0 / static_cast<double>(n + 1));
  double d = x - *mean;
  if (clip > 0 && n > 10) {
    const double limit = clip * std::sqrt(*var);
    d = std::clamp(d, -limit, limit);
  }
  *mean += a * d;
  *var = (1 - a) * (*var + a * d * d);
}

ContextOseConfig CadConfigOf(const DetectorConfig& c) {
  ContextOseConfig k;
  k.rest_period = c.cad_rest;
  k.max_contexts = c.cad_max_contexts;
  return k;
}

}  // namespace

Status SetDetectorOption(DetectorConfig* c, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos) {
    return Status::InvalidArgument("detector option '" + assignment + "': expected name=value");
  }
  const std::string name = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !std::isfinite(v)) {
    return Status::InvalidArgument("detector option '" + name + "': '" + text +
                                   "' is not a number");
  }
  struct IntField {
    const char* name;
    int* field;
    int lo, hi;
  };
  struct RealField {
    const char* name;
    double* field;
    double lo, hi;
  };
  for (IntField f : {IntField{"window", &c->window, 1, 256},
                     {"hidden", &c->hidden, 1, 256},
                     {"learning_period", &c->learning_period, 0, 1 << 30},
                     {"short_window", &c->short_window, 1, 32},
                     {"rest_points", &c->rest_points, 0, 1 << 30},
                     {"tail_mode", &c->tail_mode, 0, 1},
                     {"season_days", &c->season_days, 1, 7},
                     {"cad_combine", &c->cad_combine, 0, 1},
                     {"cad_rest", &c->cad_rest, 0, 1 << 20},
                     {"cad_max_contexts", &c->cad_max_contexts, 1, 60000},
                     {"cad_nab_convention", &c->cad_nab_convention, 0, 1},
                     {"time_inputs", &c->time_inputs, 0, 1}}) {
    if (name != f.name) continue;
    if (v < f.lo || v > f.hi || v != std::floor(v)) {
      return Status::InvalidArgument("detector option '" + name + "': " + text + " is not an " +
                                     "integer in [" + std::to_string(f.lo) + ", " +
                                     std::to_string(f.hi) + "]");
    }
    *f.field = static_cast<int>(v);
    return Status::Ok();
  }
  for (RealField f : {RealField{"learning_rate", &c->learning_rate, 0, 10},
                      {"norm_alpha", &c->norm_alpha, 0, 1},
                      {"stat_alpha", &c->stat_alpha, 0, 1},
                      {"like_alpha", &c->like_alpha, 0, 1},
                      {"rest_level", &c->rest_level, 0, 1},
                      {"rest_break", &c->rest_break, 0, 1},
                      {"neural_weight", &c->neural_weight, 0, 1},
                      {"stat_weight", &c->stat_weight, 0, 1},
                      {"level_weight", &c->level_weight, 0, 1},
                      {"level_alpha", &c->level_alpha, 0, 1},
                      {"winsor", &c->winsor, 0, 100},
                      {"record_decay", &c->record_decay, 0, 1},
                      {"record_day_decay", &c->record_day_decay, 0, 1},
                      {"daily_record_decay", &c->daily_record_decay, 0, 1},
                      {"season_weight", &c->season_weight, 0, 1},
                      {"spread_weight", &c->spread_weight, 0, 1},
                      {"cad_weight", &c->cad_weight, 0, 1}}) {
    if (name != f.name) continue;
    if (v < f.lo || v > f.hi) {
      return Status::InvalidArgument("detector option '" + name + "': " + text +
                                     " is out of range");
    }
    *f.field = v;
    return Status::Ok();
  }
  if (name == "seed") {
    c->seed = static_cast<uint32_t>(v);
    return Status::Ok();
  }
  return Status::InvalidArgument("unknown detector option '" + name + "'");
}

NeuralPredictor::NeuralPredictor(int inputs, int hidden, double learning_rate, uint32_t seed)
    : inputs_(inputs), hidden_(hidden), lr_(static_cast<float>(learning_rate)) {
  w_.assign(static_cast<size_t>(hidden) * inputs + 2 * hidden + 1, 0.0f);
  h_.assign(hidden, 0.0f);
  std::mt19937 rng(seed);
  std::normal_distribution<float> n1(0.0f, 1.0f / std::sqrt(static_cast<float>(inputs)));
  std::normal_distribution<float> n2(0.0f, 1.0f / std::sqrt(static_cast<float>(hidden)));
  for (int i = 0; i < hidden * inputs; ++i) w_[i] = n1(rng);
  for (int j = 0; j < hidden; ++j) w_[hidden * inputs + hidden + j] = n2(rng);
}

double NeuralPredictor::Predict(const float* x) const {
  const float* w1 = w_.data();
  const float* b1 = w1 + hidden_ * inputs_;
  const float* w2 = b1 + hidden_;
  float y = w2[hidden_];
  for (int j = 0; j < hidden_; ++j) {
    float a = b1[j];
    const float* row = w1 + j * inputs_;
    for (int i = 0; i < inputs_; ++i) a += row[i] * x[i];
    h_[j] = std::tanh(a);
    y += w2[j] * h_[j];
  }
  return y;
}

double NeuralPredictor::Train(const float* x, double target) {
  const double y = Predict(x);
  float g = static_cast<float>(std::clamp(y - target, -5.0, 5.0)) * lr_;
  float* w1 = w_.data();
  float* b1 = w1 + hidden_ * inputs_;
  float* w2 = b1 + hidden_;
  for (int j = 0; j < hidden_; ++j) {
    const float gh = g * w2[j] * (1.0f - h_[j] * h_[j]);
    w2[j] -= g * h_[j];
    b1[j] -= gh;
    float* row = w1 + j * inputs_;
    for (int i = 0; i < inputs_; ++i) row[i] -= gh * x[i];
  }
  w2[hidden_] -= g;
  return y;
}

AnomalyLikelihood::AnomalyLikelihood(const DetectorConfig& c, int buckets)
    : alpha_(c.like_alpha),
      short_(c.short_window),
      mode_(c.tail_mode),
      decay_(c.record_decay),
      log_day_decay_(c.record_day_decay > 0 ? std::log(c.record_day_decay) / 86400.0 : 0),
      log_bucket_decay_(c.daily_record_decay > 0 ? std::log(c.daily_record_decay) / 86400.0 : 0) {
  if (mode_ == 1 && c.daily_record_decay > 0 && buckets > 0) {
    bucket_log_record_.assign(buckets, -1e30f);
  }
}

double AnomalyLikelihood::Update(double raw, int64_t time, int bucket) {
  recent_[pos_] = static_cast<float>(raw);
  pos_ = (pos_ + 1) % short_;
  double sum = 0;
  const int k = std::min<int>(short_, n_ + 1);
  for (int i = 0; i < k; ++i) sum += recent_[(pos_ - 1 - i + 2 * short_) % short_];
  const double avg = sum / k;
  double score = 0;
  if (mode_ == 1) {
    if (n_ == 0) origin_ = clock_ = time;
    const int64_t elapsed = std::max<int64_t>(0, time - clock_);  // since the latest point
    clock_ += elapsed;  // a clock that steps back does not make records grow
    // The first points are compared with nothing: normalisations are still settling.
    if (n_ >= 50) {
      const int buckets = static_cast<int>(bucket_log_record_.size());
      const bool timed = bucket >= 0 && bucket < buckets;
      const double decayed = log_bucket_decay_ * static_cast<double>(clock_ - origin_);
      double reference = record_;
      if (timed) {
        float best = -1e30f;
        for (int k = -1; k <= 1; ++k) {
          best = std::max(best, bucket_log_record_[(bucket + k + buckets) % buckets]);
        }
        if (best > -1e29f) reference = std::max(reference, std::exp(best + decayed));
      }
      score = avg / (avg + reference + 1e-12);
      double decay = decay_;
      if (log_day_decay_ < 0 && elapsed > 0) {
        decay = std::max(decay, std::exp(log_day_decay_ * static_cast<double>(elapsed)));
      }
      record_ = std::max(record_ * decay, avg);
      if (timed && avg > 0) {
        float& stored = bucket_log_record_[bucket];
        stored = std::max(stored, static_cast<float>(std::log(avg) - decayed));
      }
    }
    ++n_;
    return score;
  }
  if (n_ >= 10) {
    const double sd = std::sqrt(std::max(var_, 1e-12));
    const double z = (avg - mean_) / sd;
    const double tail = 0.5 * std::erfc(z / std::sqrt(2.0));
    score = std::clamp(std::log(tail + kLogFloor) / std::log(kLogFloor), 0.0, 1.0);
  }
  Ewma(raw, alpha_, n_, &mean_, &var_);
  ++n_;
  return score;
}

SeriesDetector::SeriesDetector(const DetectorConfig& config)
    : config_(config),
      net_(config.window + (config.time_inputs ? 4 : 0), config.hidden, config.learning_rate,
           config.seed),
      neural_like_(config, kSeasonBuckets * config.season_days),
      stat_like_(config, kSeasonBuckets * config.season_days),
      level_like_(config, kSeasonBuckets * config.season_days),
      season_like_(config, 0),
      spread_like_(config, 0),
      season_mean_(static_cast<size_t>(kSeasonBuckets) * config.season_days, 0.0f),
      season_var_(season_mean_.size(), 0.0f),
      season_n_(season_mean_.size(), 0),
      past_(config.window, 0.0f),
      cad_(config.cad_weight > 0 ? std::make_unique<ContextOse>(CadConfigOf(config)) : nullptr) {}

size_t SeriesDetector::MemoryBytes() const {
  return sizeof(*this) + net_.MemoryBytes() +
         (past_.capacity() + season_mean_.capacity() + season_var_.capacity()) * sizeof(float) +
         season_n_.capacity() * sizeof(uint16_t) + neural_like_.MemoryBytes() +
         stat_like_.MemoryBytes() + level_like_.MemoryBytes() + (cad_ ? cad_->MemoryBytes() : 0);
}

DetectorOutput SeriesDetector::Update(int64_t time, double raw_value) {
  DetectorOutput out;
  // Squares of the value must stay finite; a non-finite value is not a measurement.
  if (!std::isfinite(raw_value)) return out;
  const double value = std::clamp(raw_value, -1e150, 1e150);
  // Normalise with the statistics of the past (before this point).
  const double sd = std::sqrt(std::max(norm_var_, 1e-12));
  const double x = n_ == 0
                       ? 0.0
                       : std::clamp((value - norm_mean_) /
                                        std::max(sd, 1e-6 * std::max(1.0, std::fabs(norm_mean_))),
                                    -10.0, 10.0);
  // past_ is a ring; unroll it oldest-first into the input vector.
  const int w = config_.window;
  float input[256];
  const int head = static_cast<int>(n_ % w);
  for (int i = 0; i < w; ++i) input[i] = past_[(head + i) % w];
  const int64_t day_seconds = ((time % 86400) + 86400) % 86400;
  if (config_.time_inputs) {
    constexpr double kTwoPi = 6.283185307179586;
    const double day = kTwoPi * static_cast<double>(day_seconds) / 86400.0;
    const double week = kTwoPi * static_cast<double>(((time / 86400) % 7 + 7) % 7) / 7.0;
    input[w] = static_cast<float>(std::sin(day));
    input[w + 1] = static_cast<float>(std::cos(day));
    input[w + 2] = static_cast<float>(std::sin(week));
    input[w + 3] = static_cast<float>(std::cos(week));
  }
  const int64_t day_index =
      ((time / 86400) % config_.season_days + config_.season_days) % config_.season_days;
  const int bucket =
      static_cast<int>(day_index * kSeasonBuckets + day_seconds * kSeasonBuckets / 86400);
  double season = 0;
  if (season_n_[bucket] >= 3) {
    season =
        std::fabs(value - season_mean_[bucket]) /
        std::sqrt(std::max<double>(season_var_[bucket], 1e-12) + 1e-3 * std::max(norm_var_, 1e-12));
  }
  const double d = n_ == 0 ? 0.0 : value - prev_value_;
  const double spread = n_ < 2 ? 0.0
                               : std::fabs(std::log((short_var_ + 1e-9 * (1 + norm_var_)) /
                                                    (long_var_ + 1e-9 * (1 + norm_var_))));
  const double pred = n_ >= w ? net_.Train(input, x) : x;
  const double err = std::fabs(x - pred);
  const double stat_sd = std::sqrt(std::max(stat_var_, 1e-12));
  const double stat = n_ == 0 ? 0.0 : std::fabs(value - stat_mean_) / std::max(stat_sd, 1e-9);
  // The EWMA chart: this point moves the short mean, which is compared with the slow one.
  const double level_short =
      n_ == 0 ? value
              : level_short_ + std::max(config_.level_alpha, 1.0 / static_cast<double>(n_ + 1)) *
                                   (value - level_short_);
  const double level =
      n_ < 2 ? 0.0 : std::fabs(level_short - level_mean_) / std::sqrt(std::max(level_var_, 1e-12));
  out.neural = neural_like_.Update(err, time, bucket);
  out.statistical = stat_like_.Update(std::min(stat, 1e3), time, bucket);
  out.level = level_like_.Update(std::min(level, 1e3), time, bucket);
  out.seasonal = season_like_.Update(std::min(season, 1e3), time);
  out.spread = spread_like_.Update(std::min(spread, 1e3), time);
  const double band = 3.0 * std::max(err_scale_, 0.05) * std::max(sd, 1e-9);
  const double expected = norm_mean_ + pred * sd;
  out.expected_low = expected - band;
  out.expected_high = expected + band;
  double score =
      std::max({config_.neural_weight * out.neural, config_.stat_weight * out.statistical,
                config_.level_weight * out.level, config_.season_weight * out.seasonal,
                config_.spread_weight * out.spread});
  if (cad_) {
    out.contextual = cad_->Update(value);
    const double cad = config_.cad_weight * out.contextual;
    score = config_.cad_combine == 0 ? std::max(score, cad) : 0.5 * (score + cad);
  }
  if (n_ < config_.learning_period) score = 0;
  const bool stronger = score >= config_.rest_level && score >= rest_score_ + config_.rest_break;
  if (rest_left_ > 0 && !stronger) {
    --rest_left_;
    score *= 0.5;
  } else if (score >= config_.rest_level) {
    rest_left_ = config_.rest_points;
    rest_score_ = score;
  }
  out.score = score;
  // Learn from this point.
  past_[head] = static_cast<float>(x);
  Ewma(value, config_.norm_alpha, n_, &norm_mean_, &norm_var_, config_.winsor);
  Ewma(value, config_.stat_alpha, n_, &stat_mean_, &stat_var_, config_.winsor);
  level_short_ = level_short;
  Ewma(level_short, config_.norm_alpha, n_, &level_mean_, &level_var_, config_.winsor);
  {
    double m = season_mean_[bucket], v = season_var_[bucket];
    Ewma(value, 0.1, season_n_[bucket], &m, &v);
    season_mean_[bucket] = static_cast<float>(m);
    season_var_[bucket] = static_cast<float>(v);
    if (season_n_[bucket] < 60000) ++season_n_[bucket];
  }
  if (n_ >= 1) {
    const double a_short = std::max(0.1, 1.0 / static_cast<double>(n_));
    const double a_long = std::max(0.005, 1.0 / static_cast<double>(n_));
    short_var_ += a_short * (d * d - short_var_);
    long_var_ += a_long * (d * d - long_var_);
  }
  prev_value_ = value;
  err_scale_ += std::max(0.01, 1.0 / static_cast<double>(n_ + 1)) * (err - err_scale_);
  ++n_;
  return out;
}

}  // namespace vigil::metrics
