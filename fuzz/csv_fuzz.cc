// libFuzzer target for the CSV splitter and the table reader.
//
// The input is parsed as raw CSV (checking that every record's views lie inside the input or are
// unescaped quoted fields), then as an NSL-KDD file, a UNSW-NB15 file and a header CSV with
// default_role numeric. Any input must give a Table or an error Status: no crash, no sanitizer
// report, no exception.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "data/csv.h"
#include "data/format.h"

namespace {

const vigil::Schema& CsvSchema() {
  static const vigil::Schema schema = [] {
    vigil::Schema s;
    s.format = "csv";
    s.header = true;
    s.default_role = vigil::ColumnRole::kNumeric;
    s.columns = {{"label", vigil::ColumnRole::kLabel},
                 {"host", vigil::ColumnRole::kSource},
                 {"time", vigil::ColumnRole::kTime},
                 {"kind", vigil::ColumnRole::kCategorical}};
    return s;
  }();
  return schema;
}

void CheckTable(const vigil::Result<vigil::Table>& t) {
  if (!t.ok()) {
    if (t.status().message().empty()) std::abort();
    return;
  }
  for (const auto& column : t->numeric) {
    if (column.size() != t->rows) std::abort();
  }
  for (const auto& column : t->categorical) {
    if (column.size() != t->rows) std::abort();
  }
  if (!t->labels.empty() && (t->labels.size() != t->rows || t->classes.size() != t->rows)) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t last_line = 0;
  vigil::Status s = vigil::ParseCsv(text, "fuzz.csv", {},
                                    [&](size_t line, const std::vector<std::string_view>& fields) {
                                      if (line <= last_line || fields.empty()) std::abort();
                                      last_line = line;
                                      size_t total = 0;
                                      for (std::string_view f : fields) total += f.size();
                                      if (total > size) std::abort();
                                      return vigil::Status::Ok();
                                    });
  if (!s.ok() && s.message().rfind("fuzz.csv:", 0) != 0) std::abort();

  static const vigil::Schema nsl = *vigil::MakeSchema("nsl-kdd");
  static const vigil::Schema unsw = *vigil::MakeSchema("unsw-nb15");
  CheckTable(vigil::ParseTable(text, "fuzz.txt", nsl, true));
  CheckTable(vigil::ParseTable(text, "fuzz.txt", nsl, false));
  CheckTable(vigil::ParseTable(text, "fuzz.csv", unsw, false));
  CheckTable(vigil::ParseTable(text, "fuzz.csv", CsvSchema(), false));

  double v;
  (void)vigil::ParseNumber(text.substr(0, 64), &v);
  return 0;
}
