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

// Maps an NSL-KDD attack name ("neptune", "mscan", "normal"; case-insensitive, trimmed) to its
// family: "normal", "DoS", "Probe", "R2L" or "U2R". Returns false for an unknown name.
bool NslKddFamily(std::string_view attack, std::string* family);

}  // namespace vigil
