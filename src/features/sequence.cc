#include "features/sequence.h"

#include <algorithm>
#include <numeric>
#include <string>
#include <unordered_map>

namespace vigil {

Result<std::vector<int64_t>> BuildWindows(const Table& t, int64_t window) {
  if (window < 1) return Status::InvalidArgument("sequence window must be at least 1");
  if (t.sources.size() != t.rows || t.times.size() != t.rows) {
    return Status::Unsupported(
        (t.source_path.empty() ? std::string("the data") : t.source_path) +
        " has no source and time columns: a sequence model (lstm) needs records grouped by a "
        "source column and ordered by a time column, both named by the schema (roles 'source' and "
        "'time' in a --format csv schema). NSL-KDD and the partitioned UNSW-NB15 files have "
        "neither, and windows in file order would leak the label; use mlp or autoencoder there");
  }
  std::vector<size_t> order(t.rows);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (t.sources[a] != t.sources[b]) return t.sources[a] < t.sources[b];
    return t.times[a] < t.times[b];
  });
  std::vector<int64_t> idx(t.rows * static_cast<size_t>(window), -1);
  size_t start = 0;  // first position in `order` of the current source
  for (size_t pos = 0; pos < order.size(); ++pos) {
    if (pos > 0 && t.sources[order[pos]] != t.sources[order[pos - 1]]) start = pos;
    size_t row = order[pos];
    int64_t* w = &idx[row * static_cast<size_t>(window)];
    for (int64_t k = 0; k < window; ++k) {
      int64_t back = window - 1 - k;  // how many records before this one
      if (static_cast<int64_t>(pos - start) >= back) w[k] = static_cast<int64_t>(order[pos - back]);
    }
  }
  return idx;
}

}  // namespace vigil
