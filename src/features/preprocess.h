// Preprocessor: the one feature transform shared by training and detection.
//
// Fit() learns, from training rows only, how to turn a Table into a dense float matrix:
//   - numeric columns: log1p for non-negative heavy-tailed columns (sample skewness above a
//     threshold), then standardisation (mean, population std; a constant column gets std 1), then
//     clipping to [-clip, clip]. Non-finite inputs are replaced before the transform: NaN by the
//     training mean, +Inf by the training maximum, -Inf by the training minimum, so no NaN/Inf ever
//     reaches a model.
//   - categorical columns: one-hot over the values seen in training (at least min_category_count
//     times, at most max_categories per column, most frequent first), plus an "other" bucket for
//     every unseen or rare value.
// Output layout: numeric columns in table order, then (if numeric_bins) each numeric column's bin
// block, then each categorical column's one-hot block.
//
// The fitted state round-trips through JSON (stored in the model bundle), and a Preprocessor
// restored from JSON transforms bit-for-bit like the original. Columns are matched by name, so a
// table whose columns come in another order transforms the same; a missing column is an error.
//
// A fitted Preprocessor is immutable; Transform() is const and thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "data/table.h"

namespace vigil {

struct PreprocessOptions {
  double skew_threshold = 2.0;  // log1p when min >= 0 and skewness > this
  double clip = 10.0;           // clip standardised values to [-clip, clip]; 0 disables
  size_t min_category_count = 1;
  size_t max_categories = 512;
  // Piecewise-linear bins per numeric column (0: off). With K bins, K-1 training quantiles of the
  // standardised column become edges e_1 < ... < e_m (duplicates dropped), and the column gets m
  // extra outputs clamp((x - e_{i-1}) / (e_i - e_{i-1}), 0, 1) with e_0 the training minimum: a
  // thermometer code that lets a network place sharp, tree-like thresholds.
  size_t numeric_bins = 0;
};

struct NumericFeature {
  std::string name;
  bool log1p = false;
  double mean = 0, std = 1;                       // of the (log-)transformed column
  double raw_mean = 0, raw_min = 0, raw_max = 0;  // of the raw finite values, for NaN/Inf fill
  // Piecewise-linear bins (see PreprocessOptions::numeric_bins): e_0, e_1, ..., e_m in the
  // standardised, clipped space; empty when off. Gives edges.size() - 1 outputs.
  std::vector<double> bin_edges;
};

struct CategoricalFeature {
  std::string name;
  std::vector<std::string> values;  // one-hot positions; position values.size() is "other"
};

class Preprocessor {
 public:
  Preprocessor() = default;

  static Result<Preprocessor> Fit(const Table& train, const PreprocessOptions& options = {});
  static Result<Preprocessor> FromJson(const nlohmann::json& j);
  nlohmann::json ToJson() const;

  // Number of output columns.
  size_t output_dim() const { return output_dim_; }
  // Name of every output column: numeric names, then "column=value" and "column=<other>".
  std::vector<std::string> OutputNames() const;

  // Row-major [t.rows x output_dim()] floats appended to *out (which is cleared first).
  Status Transform(const Table& t, std::vector<float>* out) const;

  const std::vector<NumericFeature>& numeric() const { return numeric_; }
  const std::vector<CategoricalFeature>& categorical() const { return categorical_; }

 private:
  void ComputeOutputDim();  // also builds category_index_

  PreprocessOptions options_;
  std::vector<NumericFeature> numeric_;
  std::vector<CategoricalFeature> categorical_;
  size_t output_dim_ = 0;
  // Per categorical column: value -> one-hot position (built with output_dim_).
  std::vector<std::unordered_map<std::string, size_t>> category_index_;
};

}  // namespace vigil
