#include "data/table.h"

#include <algorithm>
#include <cctype>

namespace vigil {

const char* ColumnRoleName(ColumnRole role) {
  switch (role) {
    case ColumnRole::kNumeric:
      return "numeric";
    case ColumnRole::kCategorical:
      return "categorical";
    case ColumnRole::kLabel:
      return "label";
    case ColumnRole::kClass:
      return "class";
    case ColumnRole::kId:
      return "id";
    case ColumnRole::kTime:
      return "time";
    case ColumnRole::kSource:
      return "source";
    case ColumnRole::kIgnore:
      return "ignore";
  }
  return "?";
}

bool ParseColumnRole(const std::string& name, ColumnRole* role) {
  static const ColumnRole kAll[] = {
      ColumnRole::kNumeric, ColumnRole::kCategorical, ColumnRole::kLabel,  ColumnRole::kClass,
      ColumnRole::kId,      ColumnRole::kTime,        ColumnRole::kSource, ColumnRole::kIgnore};
  for (ColumnRole r : kAll) {
    if (name == ColumnRoleName(r)) {
      *role = r;
      return true;
    }
  }
  return false;
}

int Schema::FindRole(ColumnRole role) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].role == role) return static_cast<int>(i);
  }
  return -1;
}

namespace {
template <typename T>
std::vector<T> Gather(const std::vector<T>& v, const std::vector<size_t>& idx) {
  std::vector<T> out;
  if (v.empty()) return out;
  out.reserve(idx.size());
  for (size_t i : idx) out.push_back(v[i]);
  return out;
}
}  // namespace

Table Table::Select(const std::vector<size_t>& row_indices) const {
  Table t;
  t.source_path = source_path;
  t.rows = row_indices.size();
  t.numeric_names = numeric_names;
  t.categorical_names = categorical_names;
  for (const auto& col : numeric) t.numeric.push_back(Gather(col, row_indices));
  for (const auto& col : categorical) t.categorical.push_back(Gather(col, row_indices));
  t.classes = Gather(classes, row_indices);
  t.labels = Gather(labels, row_indices);
  t.ids = Gather(ids, row_indices);
  t.times = Gather(times, row_indices);
  t.sources = Gather(sources, row_indices);
  return t;
}

}  // namespace vigil
