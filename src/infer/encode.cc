#include "infer/encode.h"

#include <algorithm>

#include "features/sequence.h"

namespace vigil {

Result<std::vector<float>> EncodeTable(const Scorer& scorer, const Table& t) {
  std::vector<float> dense;
  VIGIL_RETURN_IF_ERROR(scorer.preprocessor().Transform(t, &dense));
  if (!scorer.sequence()) return dense;
  const size_t w = scorer.window(), d = scorer.input_dim();
  VIGIL_ASSIGN_OR_RETURN(std::vector<int64_t> idx,
                         BuildWindows(t, static_cast<int64_t>(w)));
  std::vector<float> out(t.rows * w * d, 0.0f);
  for (size_t r = 0; r < t.rows; ++r) {
    for (size_t k = 0; k < w; ++k) {
      const int64_t src = idx[r * w + k];
      if (src < 0) continue;  // padding stays zero
      std::copy_n(dense.data() + static_cast<size_t>(src) * d, d, out.data() + (r * w + k) * d);
    }
  }
  return out;
}

SequenceState::SequenceState(size_t window, size_t dim, size_t max_sources)
    : window_(window), dim_(dim), max_sources_(std::max<size_t>(1, max_sources)) {}

void SequenceState::Push(const std::string& source, const float* features, float* out) {
  const size_t keep = window_ - 1;
  auto it = index_.find(source);
  if (it == index_.end()) {
    if (index_.size() >= max_sources_) {
      index_.erase(lru_.back().source);
      lru_.pop_back();
      ++evicted_;
    }
    lru_.push_front(History{source, std::vector<float>(keep * dim_, 0.0f), 0, 0});
    it = index_.emplace(source, lru_.begin()).first;
  } else if (it->second != lru_.begin()) {
    lru_.splice(lru_.begin(), lru_, it->second);
  }
  History& h = *lru_.begin();
  // Oldest first: the ring from `next` (oldest) around, zero rows when fewer than keep were seen.
  std::fill(out, out + window_ * dim_, 0.0f);
  const size_t have = std::min(h.count, keep);
  for (size_t k = 0; k < have; ++k) {
    const size_t slot = (h.next + keep - have + k) % keep;
    std::copy_n(h.rows.data() + slot * dim_, dim_, out + (keep - have + k) * dim_);
  }
  std::copy_n(features, dim_, out + keep * dim_);
  if (keep > 0) {
    std::copy_n(features, dim_, h.rows.data() + h.next * dim_);
    h.next = (h.next + 1) % keep;
    h.count = std::min(h.count + 1, keep);
  }
}

}  // namespace vigil
