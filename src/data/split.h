// Train/validation splitting of a Table, stratified by class.
//
// StratifiedSplit groups rows by class (Table::classes, or Table::labels when there are no class
// names, or one group when the table has no target) and moves round(valid_fraction * n) of each
// group, chosen at random, to the validation list; a group of two or more rows keeps at least one
// row on each side when 0 < valid_fraction < 1. The shuffle is a Fisher-Yates over std::mt19937_64
// written here (not std::shuffle), so a seed gives the same split with any standard library.
// Both index lists are sorted ascending, disjoint, and together hold every row exactly once.
// valid_fraction is clamped to [0, 1]. Pure function; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "data/table.h"

namespace vigil {

struct Split {
  std::vector<size_t> train, valid;
};

Split StratifiedSplit(const Table& t, double valid_fraction, uint64_t seed);

}  // namespace vigil
