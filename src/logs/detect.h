// Header format detection: infers a LogFormat spec (format.h) from a sample of raw lines, so that
// logs of an unknown system can be parsed without writing a spec.
//
// The first blank-separated tokens of each line are classified (a bracket group "[...]" is one
// token even with spaces inside): time-like (digits with date/time punctuation, month and weekday
// names), severity level, "-" placeholder, bracket group, "name:" (a component), dotted name, token
// with digits, word. Column statistics over the sample then give:
//   - a leading run of columns that are time-like, numbers, ids, levels or "-" in 90% of the lines,
//     continued over up to two columns of few distinct values when time-like columns follow
//     ("134681 node-246 unix.hw state_change.unavailable 1077804742 1 ...");
//   - the level column (a severity word in 60% of the lines, within the first 10 columns): the
//     header reaches at least to it;
//   - after that, up to three more columns: a bracket group, a dotted component right after the
//     level, a word followed within two columns by a terminator; a "name:" column (then "<Content>"
//     follows ": ") or a "-" column (" - ") ends the header.
// A first token holding the same number of '|' in 90% of the lines gives "<H1>|<H2>|...|<Content>".
// With no structure found the spec is "<Content>" (the whole line is the message).
//
// Stateless and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vigil {

// `lines` need not be trimmed; blank lines are ignored; up to the first 2000 are used.
std::string DetectFormatSpec(const std::vector<std::string_view>& lines);

}  // namespace vigil
