// Sequence windows: for every record, the records of the same source (host) that precede it in
// time, so a sequence model predicts each record from its host's recent history.
//
// BuildWindows returns, row-major [rows x window], the row indices of each record's window: the
// record itself is last, its predecessors (same source, earlier time; equal times keep file order)
// before it, and -1 pads windows of a host's first records. It needs the table's source and time
// columns and refuses tables without them: without a grouping and an order, a window of
// neighbouring rows in file order may leak the label (UNSW-NB15's files are sorted by label).
// Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "data/table.h"

namespace vigil {

Result<std::vector<int64_t>> BuildWindows(const Table& t, int64_t window);

}  // namespace vigil
