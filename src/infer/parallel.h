// ParallelScorer: a Scorer's batches split over a fixed set of threads.
//
// With threads = 1 it is the Scorer itself. With more, a batch of at least 32 rows per thread is
// cut into equal contiguous slices: the calling thread scores the first and persistent workers
// (each with its own Workspace) the others; results are written in row order, identical to a
// one-thread run. Smaller batches run on the calling thread alone, where a hand-off would cost more
// than it saves. One caller at a time (the agent's scoring thread); not for concurrent Score calls.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "infer/scorer.h"

namespace vigil {

class ParallelScorer {
 public:
  ParallelScorer(const Scorer& scorer, int threads);
  ~ParallelScorer();
  ParallelScorer(const ParallelScorer&) = delete;
  ParallelScorer& operator=(const ParallelScorer&) = delete;

  void Score(const float* x, size_t rows, Workspace* ws, ScoreBatch* out);
  int threads() const { return static_cast<int>(workers_.size()) + 1; }

 private:
  struct Slice {
    const float* x = nullptr;
    size_t rows = 0;
    ScoreBatch out;
    Workspace ws;
  };
  void Work(size_t k);

  const Scorer& scorer_;
  std::vector<std::thread> workers_;
  std::vector<Slice> slices_;  // one per worker
  std::mutex mu_;
  std::condition_variable start_, done_;
  uint64_t generation_ = 0;
  size_t pending_ = 0;
  bool stop_ = false;
};

}  // namespace vigil
