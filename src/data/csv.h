// CSV splitting and number parsing for the data-set readers.
//
// ParseCsv splits text held in memory into records and hands each record to a callback as views, so
// the common case (unquoted fields) costs no allocation per field. It accepts what real data-set
// files contain: a UTF-8 byte-order mark, LF, CRLF and lone CR line ends (mixed too), quoted fields
// holding delimiters, line breaks and "" escapes, and a missing final newline. Empty lines are
// skipped (they are not records); a line holding only spaces is a record. A quote inside an
// unquoted field is kept as a literal character.
//
// Errors are values: a malformed file gives Status::InvalidArgument "PATH:LINE:COL: ..." with a
// 1-based physical line and byte column (columns count from after a byte-order mark). A non-ok
// Status returned by the callback stops parsing and is returned unchanged.
//
// Stateless and thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vigil {

struct CsvOptions {
  char delimiter = ',';
};

// `line` is the 1-based physical line where the record starts. `fields` and the views in it are
// valid only during the call.
using CsvRecordFn = std::function<Status(size_t line, const std::vector<std::string_view>& fields)>;

Status ParseCsv(std::string_view text, const std::string& path, const CsvOptions& opts,
                const CsvRecordFn& on_record);

// Parses a decimal number: integers, decimals, exponents, an optional sign, surrounding spaces or
// tabs, and "inf", "infinity", "nan" in any case (with an optional sign). Values beyond the range
// of double become +-inf or 0. On failure returns InvalidArgument "'FIELD' is not a number"; the
// caller adds file, line and field context.
Status ParseNumber(std::string_view field, double* out);

}  // namespace vigil
