#include "infer/parallel.h"

#include <algorithm>

namespace vigil {

ParallelScorer::ParallelScorer(const Scorer& scorer, int threads) : scorer_(scorer) {
  const int helpers = std::max(0, threads - 1);
  slices_.resize(static_cast<size_t>(helpers));
  for (int k = 0; k < helpers; ++k) workers_.emplace_back([this, k] { Work(static_cast<size_t>(k)); });
}

ParallelScorer::~ParallelScorer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  start_.notify_all();
  for (auto& t : workers_) t.join();
}

void ParallelScorer::Work(size_t k) {
  uint64_t seen = 0;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    start_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    Slice& s = slices_[k];
    lock.unlock();
    if (s.rows > 0) scorer_.Score(s.x, s.rows, &s.ws, &s.out);
    lock.lock();
    if (--pending_ == 0) done_.notify_one();
  }
}

void ParallelScorer::Score(const float* x, size_t rows, Workspace* ws, ScoreBatch* out) {
  constexpr size_t kMinRowsPerThread = 32;
  const size_t parts = std::min<size_t>(static_cast<size_t>(threads()), rows / kMinRowsPerThread);
  if (parts <= 1) {
    scorer_.Score(x, rows, ws, out);
    return;
  }
  const size_t w = scorer_.row_width(), per = (rows + parts - 1) / parts;
  const size_t mine = per;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t k = 0; k < slices_.size(); ++k) {
      const size_t begin = std::min(rows, mine + k * per), end = std::min(rows, begin + per);
      slices_[k].x = x + begin * w;
      slices_[k].rows = end - begin;
    }
    pending_ = slices_.size();
    ++generation_;
  }
  start_.notify_all();
  scorer_.Score(x, mine, ws, out);
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [&] { return pending_ == 0; });
  for (const Slice& s : slices_) {
    if (s.rows == 0) continue;
    out->pred.insert(out->pred.end(), s.out.pred.begin(), s.out.pred.end());
    out->score.insert(out->score.end(), s.out.score.begin(), s.out.score.end());
    out->probs.insert(out->probs.end(), s.out.probs.begin(), s.out.probs.end());
  }
}

}  // namespace vigil
