#include "data/split.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>

namespace vigil {

Split StratifiedSplit(const Table& t, double valid_fraction, uint64_t seed) {
  if (!(valid_fraction > 0)) valid_fraction = 0;  // also maps NaN to 0
  if (valid_fraction > 1) valid_fraction = 1;

  // Groups in sorted key order, so the random stream is consumed the same way on every run.
  std::map<std::string, std::vector<size_t>> groups;
  for (size_t i = 0; i < t.rows; ++i) {
    std::string key;
    if (i < t.classes.size()) {
      key = t.classes[i];
    } else if (i < t.labels.size()) {
      key = std::to_string(t.labels[i]);
    }
    groups[key].push_back(i);
  }

  std::mt19937_64 rng(seed);
  Split split;
  for (auto& [key, rows] : groups) {
    const size_t n = rows.size();
    size_t n_valid = static_cast<size_t>(std::llround(valid_fraction * static_cast<double>(n)));
    if (valid_fraction > 0 && valid_fraction < 1 && n >= 2) {
      n_valid = std::clamp<size_t>(n_valid, 1, n - 1);
    }
    // Fisher-Yates; the modulo bias of a 64-bit draw is negligible for any table size.
    for (size_t i = n; i > 1; --i) {
      size_t j = static_cast<size_t>(rng() % i);
      std::swap(rows[i - 1], rows[j]);
    }
    split.valid.insert(split.valid.end(), rows.begin(), rows.begin() + n_valid);
    split.train.insert(split.train.end(), rows.begin() + n_valid, rows.end());
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.valid.begin(), split.valid.end());
  return split;
}

}  // namespace vigil
