// Turning parsed records into Scorer input rows.
//
// EncodeTable encodes a whole table (a file): the bundle's preprocessing, and for sequence models
// each record's window from BuildWindows (the records of the same source before it in time order,
// zero rows before the source's first record), so it matches the training plane's scoring.
//
// SequenceState does the same for a stream, where records arrive one by one: it remembers, per
// source, the last window-1 preprocessed records in arrival order. For a stream in time order per
// source (as captures and logs are) it gives the windows EncodeTable gives for the whole file. It
// holds at most max_sources sources; the least recently seen is forgotten beyond that (counted in
// evicted(); its next record starts a fresh window). Not thread-safe.
#pragma once

#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "data/table.h"
#include "infer/scorer.h"

namespace vigil {

// Rows of scorer.row_width() floats, one per table row.
Result<std::vector<float>> EncodeTable(const Scorer& scorer, const Table& t);

class SequenceState {
 public:
  SequenceState(size_t window, size_t dim, size_t max_sources);

  // Writes the window that ends with `features` (dim floats) to out (window * dim floats) and
  // remembers `features` as the source's latest record.
  void Push(const std::string& source, const float* features, float* out);

  size_t sources() const { return index_.size(); }
  uint64_t evicted() const { return evicted_; }

 private:
  struct History {
    std::string source;
    std::vector<float> rows;  // ring of window-1 rows
    size_t count = 0;         // records seen (saturates at window-1 for indexing)
    size_t next = 0;          // ring position of the next write
  };
  size_t window_, dim_, max_sources_;
  std::list<History> lru_;  // most recent first
  std::unordered_map<std::string, std::list<History>::iterator> index_;
  uint64_t evicted_ = 0;
};

}  // namespace vigil
