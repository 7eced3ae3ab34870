// Grouping (parsing) accuracy as loghub defines it (Zhu et al., ICSE 2019): a line is parsed
// correctly iff the set of lines the parser grouped with it equals the set of lines of its
// ground-truth event. The accuracy is the fraction of lines parsed correctly.
//
// Stateless and thread-safe.
#pragma once

#include <string>
#include <vector>

namespace vigil {

// `truth[i]` is line i's ground-truth event (any label); `predicted[i]` its template id. Both must
// have the same length; 0 lines give 1.0.
double GroupingAccuracy(const std::vector<std::string>& truth, const std::vector<int>& predicted);

}  // namespace vigil
