// SplitFile: a stratified, random split of a data file into two files of the same format, for a
// hold-out test set of one's own (UNSW-NB15's dev file has no separate test file, and its rows are
// sorted by label, so a split by position would be meaningless). The header, if the format has
// one, is copied to both outputs; records are re-written as CSV with the same delimiter (quoting
// only where needed), in their original order. Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "data/table.h"

namespace vigil {

struct SplitFileCounts {
  size_t first_rows = 0;   // rows written to first_path
  size_t second_rows = 0;  // rows written to second_path (the `fraction` part)
};

// Writes about (1 - fraction) of each class's rows to first_path and the rest to second_path.
Result<SplitFileCounts> SplitFile(const std::string& path, const Schema& schema, double fraction,
                                  uint64_t seed, const std::string& first_path,
                                  const std::string& second_path);

}  // namespace vigil
