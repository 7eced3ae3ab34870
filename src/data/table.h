// Schema and Table: the in-memory form of a labelled data set.
//
// A Schema names the columns of an input file and gives each a role. A Table holds the rows of one
// file after parsing, column by column: numeric feature columns as doubles (NaN/Inf kept as read;
// preprocessing deals with them), categorical feature columns as strings, and the per-row target
// fields. Feature columns keep the schema's order within their kind.
//
// Targets: `classes` holds each row's class name as the format defines it (for NSL-KDD the attack
// family: normal, DoS, Probe, R2L, U2R; for UNSW-NB15 attack_cat). `labels` holds 0 (normal) / 1
// (attack). A format fills both when it can: a class column implies the label through
// `Schema::normal_classes`, and a label column alone gives classes "normal"/"attack".
// A file that has no target (a file to score) leaves both empty.
//
// Tables are plain values; not synchronised.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vigil {

enum class ColumnRole {
  kNumeric,      // a numeric feature
  kCategorical,  // a string feature, one-hot encoded
  kLabel,        // 0/1 target (also accepts normal/attack, benign, true/false)
  kClass,        // class-name target (attack family)
  kId,           // record id, kept for output, not a feature
  kTime,         // record time (seconds or any monotone number), orders sequences
  kSource,       // the host or entity that groups records into sequences
  kIgnore,       // read and dropped
};

const char* ColumnRoleName(ColumnRole role);
// Parses "numeric", "categorical", "label", "class", "id", "time", "source", "ignore".
bool ParseColumnRole(const std::string& name, ColumnRole* role);

struct ColumnSpec {
  std::string name;
  ColumnRole role = ColumnRole::kNumeric;
};

struct Schema {
  std::string format;               // "nsl-kdd", "unsw-nb15", "csv"
  std::vector<ColumnSpec> columns;  // in file order
  bool header = false;              // first line names the columns
  char delimiter = ',';
  // Class names (compared case-insensitively, trimmed) that mean "not an attack".
  std::vector<std::string> normal_classes = {"normal", "benign"};
  // Role of header columns that `columns` does not list (files with a header only).
  ColumnRole default_role = ColumnRole::kIgnore;

  // Index of the first column with `role`, or -1.
  int FindRole(ColumnRole role) const;
  bool HasSequenceColumns() const {
    return FindRole(ColumnRole::kSource) >= 0 && FindRole(ColumnRole::kTime) >= 0;
  }
};

struct Table {
  std::string source_path;  // file the rows came from (for messages)
  size_t rows = 0;

  std::vector<std::string> numeric_names;
  std::vector<std::vector<double>> numeric;  // [column][row]
  std::vector<std::string> categorical_names;
  std::vector<std::vector<std::string>> categorical;  // [column][row]

  std::vector<std::string> classes;  // [row]; empty if the file has no target
  std::vector<uint8_t> labels;       // [row]; 0 normal, 1 attack; empty if no target
  std::vector<std::string> ids;      // [row]; empty if no id column
  std::vector<double> times;         // [row]; empty if no time column
  std::vector<std::string> sources;  // [row]; empty if no source column

  bool has_target() const { return !labels.empty(); }
  // A table with the same columns holding the given rows, in the given order.
  Table Select(const std::vector<size_t>& row_indices) const;
};

}  // namespace vigil
