#include "features/preprocess.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace vigil {
namespace {

double FillNonFinite(double x, const NumericFeature& f) {
  if (std::isnan(x)) return f.raw_mean;
  if (std::isinf(x)) return x > 0 ? f.raw_max : f.raw_min;
  return x;
}

double ApplyLog(double x, const NumericFeature& f) {
  if (!f.log1p) return x;
  return std::log1p(std::max(x, 0.0));
}

NumericFeature FitNumeric(const std::string& name, const std::vector<double>& col,
                          const PreprocessOptions& o) {
  NumericFeature f;
  f.name = name;
  size_t n = 0;
  double sum = 0;
  f.raw_min = std::numeric_limits<double>::infinity();
  f.raw_max = -std::numeric_limits<double>::infinity();
  for (double x : col) {
    if (!std::isfinite(x)) continue;
    ++n;
    sum += x;
    f.raw_min = std::min(f.raw_min, x);
    f.raw_max = std::max(f.raw_max, x);
  }
  if (n == 0) {  // no finite value at all: the column carries nothing
    f.raw_min = f.raw_max = f.raw_mean = 0;
    return f;
  }
  f.raw_mean = sum / static_cast<double>(n);

  // Sample skewness of the raw finite values decides log1p.
  double m2 = 0, m3 = 0;
  for (double x : col) {
    if (!std::isfinite(x)) continue;
    double d = x - f.raw_mean;
    m2 += d * d;
    m3 += d * d * d;
  }
  m2 /= static_cast<double>(n);
  m3 /= static_cast<double>(n);
  double skew = m2 > 1e-24 ? m3 / std::pow(m2, 1.5) : 0.0;
  f.log1p = f.raw_min >= 0 && skew > o.skew_threshold;

  double s = 0, ss = 0;
  for (double x : col) {
    double v = ApplyLog(FillNonFinite(x, f), f);
    s += v;
    ss += v * v;
  }
  double cnt = static_cast<double>(col.size());
  f.mean = s / cnt;
  double var = std::max(0.0, ss / cnt - f.mean * f.mean);
  f.std = std::sqrt(var);
  if (!(f.std > 1e-12)) f.std = 1.0;
  return f;
}

double Standardise(double raw, const NumericFeature& f, double clip) {
  double v = (ApplyLog(FillNonFinite(raw, f), f) - f.mean) / f.std;
  if (clip > 0) v = std::clamp(v, -clip, clip);
  return std::isfinite(v) ? v : 0.0;
}

std::vector<double> FitBins(const std::vector<double>& col, const NumericFeature& f,
                            const PreprocessOptions& o) {
  std::vector<double> v;
  v.reserve(col.size());
  for (double x : col) v.push_back(Standardise(x, f, o.clip));
  std::sort(v.begin(), v.end());
  std::vector<double> edges = {v.front()};
  for (size_t k = 1; k < o.numeric_bins; ++k) {
    double q = v[std::min(v.size() - 1, k * v.size() / o.numeric_bins)];
    if (q > edges.back() + 1e-9) edges.push_back(q);
  }
  if (v.back() > edges.back() + 1e-9) edges.push_back(v.back());
  if (edges.size() < 2) edges.clear();  // a constant column has nothing to bin
  return edges;
}

CategoricalFeature FitCategorical(const std::string& name, const std::vector<std::string>& col,
                                  const PreprocessOptions& o) {
  std::unordered_map<std::string, size_t> counts;
  for (const auto& v : col) ++counts[v];
  std::vector<std::pair<std::string, size_t>> items(counts.begin(), counts.end());
  // Most frequent first; ties by value so the encoding does not depend on hash order.
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  CategoricalFeature f;
  f.name = name;
  for (const auto& [value, count] : items) {
    if (count < o.min_category_count || f.values.size() >= o.max_categories) break;
    f.values.push_back(value);
  }
  return f;
}

// Position of `name` in `names`, trying `hint` first (tables usually keep the fitted order).
int FindName(const std::vector<std::string>& names, const std::string& name, size_t hint = 0) {
  if (hint < names.size() && names[hint] == name) return static_cast<int>(hint);
  auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

}  // namespace

Result<Preprocessor> Preprocessor::Fit(const Table& train, const PreprocessOptions& options) {
  if (train.rows == 0) return Status::InvalidArgument("cannot fit preprocessing on an empty table");
  Preprocessor p;
  p.options_ = options;
  for (size_t c = 0; c < train.numeric.size(); ++c) {
    p.numeric_.push_back(FitNumeric(train.numeric_names[c], train.numeric[c], options));
    if (options.numeric_bins > 1)
      p.numeric_.back().bin_edges = FitBins(train.numeric[c], p.numeric_.back(), options);
  }
  for (size_t c = 0; c < train.categorical.size(); ++c) {
    p.categorical_.push_back(
        FitCategorical(train.categorical_names[c], train.categorical[c], options));
  }
  p.ComputeOutputDim();
  if (p.output_dim_ == 0) return Status::InvalidArgument("the schema has no feature columns");
  return p;
}

void Preprocessor::ComputeOutputDim() {
  output_dim_ = numeric_.size();
  for (const auto& f : numeric_) output_dim_ += f.bin_edges.empty() ? 0 : f.bin_edges.size() - 1;
  for (const auto& c : categorical_) output_dim_ += c.values.size() + 1;
  category_index_.assign(categorical_.size(), {});
  for (size_t c = 0; c < categorical_.size(); ++c) {
    for (size_t i = 0; i < categorical_[c].values.size(); ++i)
      category_index_[c].emplace(categorical_[c].values[i], i);
  }
}

std::vector<std::string> Preprocessor::OutputNames() const {
  std::vector<std::string> names;
  names.reserve(output_dim_);
  for (const auto& f : numeric_) names.push_back(f.name);
  for (const auto& f : numeric_) {
    for (size_t i = 1; i < f.bin_edges.size(); ++i)
      names.push_back(f.name + "#bin" + std::to_string(i));
  }
  for (const auto& c : categorical_) {
    for (const auto& v : c.values) names.push_back(c.name + "=" + v);
    names.push_back(c.name + "=<other>");
  }
  return names;
}

Status Preprocessor::Transform(const Table& t, std::vector<float>* out) const {
  std::vector<int> num_idx, cat_idx;
  num_idx.reserve(numeric_.size());
  cat_idx.reserve(categorical_.size());
  for (const auto& f : numeric_) {
    int i = FindName(t.numeric_names, f.name, num_idx.size());
    if (i < 0) {
      return Status::InvalidArgument(t.source_path + ": numeric column '" + f.name +
                                     "' that the model was trained with is missing");
    }
    num_idx.push_back(i);
  }
  for (const auto& f : categorical_) {
    int i = FindName(t.categorical_names, f.name, cat_idx.size());
    if (i < 0) {
      return Status::InvalidArgument(t.source_path + ": categorical column '" + f.name +
                                     "' that the model was trained with is missing");
    }
    cat_idx.push_back(i);
  }
  const size_t dim = output_dim_;
  out->assign(t.rows * dim, 0.0f);
  const double clip = options_.clip;
  size_t bin_offset = numeric_.size();
  for (size_t c = 0; c < numeric_.size(); ++c) {
    const NumericFeature& f = numeric_[c];
    const std::vector<double>& col = t.numeric[num_idx[c]];
    const std::vector<double>& e = f.bin_edges;
    for (size_t r = 0; r < t.rows; ++r) {
      double v = Standardise(col[r], f, clip);
      float* row = out->data() + r * dim;
      row[c] = static_cast<float>(v);
      for (size_t i = 1; i < e.size(); ++i) {
        row[bin_offset + i - 1] =
            static_cast<float>(std::clamp((v - e[i - 1]) / (e[i] - e[i - 1]), 0.0, 1.0));
      }
    }
    bin_offset += e.empty() ? 0 : e.size() - 1;
  }
  size_t offset = bin_offset;
  for (size_t c = 0; c < categorical_.size(); ++c) {
    const CategoricalFeature& f = categorical_[c];
    const auto& pos = category_index_[c];
    const auto& col = t.categorical[cat_idx[c]];
    for (size_t r = 0; r < t.rows; ++r) {
      auto it = pos.find(col[r]);
      size_t k = it == pos.end() ? f.values.size() : it->second;
      (*out)[r * dim + offset + k] = 1.0f;
    }
    offset += f.values.size() + 1;
  }
  return Status::Ok();
}

nlohmann::json Preprocessor::ToJson() const {
  nlohmann::json j;
  j["options"] = {{"skew_threshold", options_.skew_threshold},
                  {"clip", options_.clip},
                  {"min_category_count", options_.min_category_count},
                  {"max_categories", options_.max_categories},
                  {"numeric_bins", options_.numeric_bins}};
  j["numeric"] = nlohmann::json::array();
  for (const auto& f : numeric_) {
    j["numeric"].push_back({{"name", f.name},
                            {"log1p", f.log1p},
                            {"mean", f.mean},
                            {"std", f.std},
                            {"raw_mean", f.raw_mean},
                            {"raw_min", f.raw_min},
                            {"raw_max", f.raw_max},
                            {"bin_edges", f.bin_edges}});
  }
  j["categorical"] = nlohmann::json::array();
  for (const auto& f : categorical_) {
    j["categorical"].push_back({{"name", f.name}, {"values", f.values}});
  }
  j["output_dim"] = output_dim_;
  return j;
}

Result<Preprocessor> Preprocessor::FromJson(const nlohmann::json& j) {
  Preprocessor p;
  try {
    const auto& o = j.at("options");
    p.options_.skew_threshold = o.at("skew_threshold").get<double>();
    p.options_.clip = o.at("clip").get<double>();
    p.options_.min_category_count = o.at("min_category_count").get<size_t>();
    p.options_.max_categories = o.at("max_categories").get<size_t>();
    p.options_.numeric_bins = o.value("numeric_bins", size_t{0});
    for (const auto& n : j.at("numeric")) {
      NumericFeature f;
      f.name = n.at("name").get<std::string>();
      f.log1p = n.at("log1p").get<bool>();
      f.mean = n.at("mean").get<double>();
      f.std = n.at("std").get<double>();
      f.raw_mean = n.at("raw_mean").get<double>();
      f.raw_min = n.at("raw_min").get<double>();
      f.raw_max = n.at("raw_max").get<double>();
      f.bin_edges = n.value("bin_edges", std::vector<double>{});
      for (size_t i = 1; i < f.bin_edges.size(); ++i) {
        if (!(f.bin_edges[i] > f.bin_edges[i - 1])) {
          return Status::Corruption("preprocessing state for column '" + f.name +
                                    "': bin edges must increase");
        }
      }
      if (f.bin_edges.size() == 1) {
        return Status::Corruption("preprocessing state for column '" + f.name + "': one bin edge");
      }
      if (!std::isfinite(f.mean) || !std::isfinite(f.std) || !(f.std > 0) ||
          !std::isfinite(f.raw_mean) || !std::isfinite(f.raw_min) || !std::isfinite(f.raw_max)) {
        return Status::Corruption("preprocessing state for column '" + f.name +
                                  "' holds a non-finite or invalid value");
      }
      p.numeric_.push_back(std::move(f));
    }
    for (const auto& c : j.at("categorical")) {
      CategoricalFeature f;
      f.name = c.at("name").get<std::string>();
      f.values = c.at("values").get<std::vector<std::string>>();
      p.categorical_.push_back(std::move(f));
    }
    p.ComputeOutputDim();
    if (j.at("output_dim").get<size_t>() != p.output_dim_) {
      return Status::Corruption("preprocessing state: output_dim does not match its columns");
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("preprocessing state: ") + e.what());
  }
  return p;
}

}  // namespace vigil
