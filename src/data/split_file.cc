#include "data/split_file.h"

#include <string_view>
#include <vector>

#include "core/file.h"
#include "data/csv.h"
#include "data/format.h"
#include "data/split.h"

namespace vigil {
namespace {

void AppendField(std::string* out, std::string_view f, char delim) {
  bool quote = f.find_first_of(std::string{delim, '"', '\n', '\r'}) != std::string_view::npos;
  if (!quote) {
    out->append(f);
    return;
  }
  out->push_back('"');
  for (char c : f) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

void AppendRecord(std::string* out, const std::vector<std::string_view>& fields, char delim) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out->push_back(delim);
    AppendField(out, fields[i], delim);
  }
  out->push_back('\n');
}

}  // namespace

Result<SplitFileCounts> SplitFile(const std::string& path, const Schema& schema, double fraction,
                                  uint64_t seed, const std::string& first_path,
                                  const std::string& second_path) {
  if (!(fraction > 0 && fraction < 1)) {
    return Status::InvalidArgument("split fraction must be in (0, 1)");
  }
  VIGIL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  VIGIL_ASSIGN_OR_RETURN(Table table, ParseTable(text, path, schema, /*require_target=*/true));
  Split split = StratifiedSplit(table, fraction, seed);
  std::vector<uint8_t> in_second(table.rows, 0);
  for (size_t r : split.valid) in_second[r] = 1;

  std::string first, second;
  first.reserve(text.size());
  size_t record = 0;
  bool header_pending = schema.header;
  CsvOptions opts;
  opts.delimiter = schema.delimiter;
  Status s = ParseCsv(text, path, opts, [&](size_t, const std::vector<std::string_view>& fields) {
    if (header_pending) {
      header_pending = false;
      AppendRecord(&first, fields, schema.delimiter);
      AppendRecord(&second, fields, schema.delimiter);
      return Status::Ok();
    }
    if (record >= table.rows) return Status::Internal(path + ": more records than rows read");
    AppendRecord(in_second[record] ? &second : &first, fields, schema.delimiter);
    ++record;
    return Status::Ok();
  });
  VIGIL_RETURN_IF_ERROR(s);
  if (record != table.rows)
    return Status::Internal(path + ": record count changed while splitting");
  VIGIL_RETURN_IF_ERROR(WriteFileAtomic(first_path, first));
  VIGIL_RETURN_IF_ERROR(WriteFileAtomic(second_path, second));
  return SplitFileCounts{split.train.size(), split.valid.size()};
}

}  // namespace vigil
