// Data-set formats: the schema of each supported file format and the reader that fills a Table.
//
// Formats:
//   "nsl-kdd"    no header; the 41 NSL-KDD features (protocol_type, service, flag categorical),
//                then `attack` (class: the attack name mapped to its family normal, DoS, Probe,
//                R2L, U2R) and `difficulty` (ignored). Rows may also omit difficulty (42 fields),
//                and, when no target is required, attack too (41 fields).
//   "unsw-nb15"  header required; columns matched by name: id, proto/service/state categorical,
//                attack_cat class (trimmed, "Backdoors" read as "Backdoor"), label, the rest
//                numeric. Header columns the schema does not know are ignored.
//   "csv"        a TOML schema file (see MakeSchema) describes any delimited file.
//
// Reading rules. With a header, schema columns are matched to header names (both trimmed; a
// repeated header name gets a ".1", ".2" ... suffix, as pandas does; an empty one reads as
// "column_N", 1-based) and header columns the schema does not list get Schema::default_role.
// Table feature columns come in schema order, then the unlisted ones in file order, so two files
// with the same schema give the same feature order whatever their column order. Without a header,
// fields are taken in schema order. Categorical, id and source values are trimmed of spaces/tabs.
// Targets: a class column gives `classes` and `labels` (label 1 = class not in normal_classes); a
// label column gives `labels` (0/1, true/false, yes/no, normal/attack, benign/malicious, ...) and,
// without a class column, classes "normal"/"attack"; with both, labels come from the label column.
// Time fields are numbers or ISO-8601 UTC times ("2017-07-03 08:55:58", "...T...", optional
// fraction and Z/+hh:mm), read as seconds since the epoch. Every row is kept or the read fails.
//
// Errors are values (InvalidArgument unless the file cannot be read), naming the place:
//   "PATH:LINE: expected 43 fields, found 12"
//   "PATH:LINE:COL: field 'src_bytes': 'abc' is not a number"   (COL = 1-based field number)
//   "PATH:LINE: field 'attack': unknown NSL-KDD attack name 'xyz'"
// Stateless and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/status.h"
#include "data/table.h"

namespace vigil {

// `format` is "nsl-kdd", "unsw-nb15" or "csv"; "csv" reads the TOML schema at `schema_path`:
//   header = true                 # default true
//   delimiter = ","               # one character, default ","; "\t" for tabs
//   normal_classes = ["BENIGN"]   # default ["normal", "benign"]
//   default_role = "numeric"      # role of header columns not listed; default "ignore"
//   [[columns]]                   # with header = false: every column, in file order
//   name = "Flow Duration"
//   role = "numeric"              # numeric|categorical|label|class|id|time|source|ignore
Result<Schema> MakeSchema(const std::string& format, const std::string& schema_path = "");

// Reads `path` whole and parses it per `schema`. With require_target = false a file may lack the
// label and class columns (a file to score); the table then has no target.
Result<Table> ReadTable(const std::string& path, const Schema& schema, bool require_target = true);

// ReadTable on text already in memory; `path` is used in messages only.
Result<Table> ParseTable(std::string_view text, const std::string& path, const Schema& schema,
                         bool require_target = true);

// Where each field of a record goes (RowReader's plan; exposed for the reader's helpers).
struct RowPlan {
  size_t field_count = 0;
  std::vector<std::string> field_names;  // by field index, for messages
  std::vector<size_t> numeric_fields, categorical_fields;
  int class_field = -1, label_field = -1, id_field = -1, time_field = -1, source_field = -1;
};

// Record-at-a-time reading with the rules and messages of ParseTable, for streams (the agent)
// where a bad record must cost only itself: AddRow either appends the whole record or returns the
// error and leaves the table unchanged. Usage: plan once (from a header record, from the first
// record's field count, or from the schema's own column list for JSON records and headerless
// streams), StartTable(), then AddRow() per record. Not thread-safe (holds scratch space).
class RowReader {
 public:
  // `path` names the input in messages ("PATH:LINE: ...").
  RowReader(Schema schema, std::string path, bool require_target);

  // InvalidArgument when a target is required and the schema has no label or class column.
  Status CheckTarget() const;
  Status PlanFromHeader(const std::vector<std::string_view>& header);
  Status PlanFromCount(size_t line, size_t count);
  // As if the records' fields came in the schema's column order: every column, or without the
  // label and class columns (records to score, e.g. JSON objects, need not carry a target).
  Status PlanFromSchema(bool include_targets = true);
  bool planned() const { return planned_; }

  // Resets *t to zero rows with this plan's columns (capacity kept).
  void StartTable(Table* t, size_t expected_rows = 0) const;
  Status AddRow(size_t line, const std::vector<std::string_view>& fields, Table* t);

  const Schema& schema() const { return schema_; }
  // Field names by position (header names, made unique), once planned.
  const std::vector<std::string>& field_names() const { return plan_.field_names; }
  // Position of a field by name, or -1.
  int FieldIndex(std::string_view name) const;

 private:
  void Adopt(RowPlan plan, Table names);
  Status FieldError(size_t line, size_t field, const std::string& what) const;

  Schema schema_;
  std::string path_;
  bool require_target_;
  bool planned_ = false;
  RowPlan plan_;
  std::vector<std::string> numeric_names_, categorical_names_;
  std::vector<std::string> normal_lower_;
  std::vector<double> scratch_;
  // Class names repeat; each distinct raw value's class and label.
  std::unordered_map<std::string, std::pair<std::string, uint8_t>> class_cache_;
};

// Maps an NSL-KDD attack name ("neptune", "mscan", "normal"; case-insensitive, trimmed) to its
// family: "normal", "DoS", "Probe", "R2L" or "U2R". Returns false for an unknown name.
bool NslKddFamily(std::string_view attack, std::string* family);

}  // namespace vigil
