#include "data/format.h"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <unordered_map>
#include <utility>

#include "core/file.h"
#include "data/csv.h"

namespace vigil {
namespace {

// Column names, space-separated (defcom17_Field_Names.csv; UNSW_NB15_dev.csv's header).
constexpr std::string_view kNslKddFeatures =
    "duration protocol_type service flag src_bytes dst_bytes land wrong_fragment urgent hot "
    "num_failed_logins logged_in num_compromised root_shell su_attempted num_root "
    "num_file_creations num_shells num_access_files num_outbound_cmds is_host_login "
    "is_guest_login count srv_count serror_rate srv_serror_rate rerror_rate srv_rerror_rate "
    "same_srv_rate diff_srv_rate srv_diff_host_rate dst_host_count dst_host_srv_count "
    "dst_host_same_srv_rate dst_host_diff_srv_rate dst_host_same_src_port_rate "
    "dst_host_srv_diff_host_rate dst_host_serror_rate dst_host_srv_serror_rate "
    "dst_host_rerror_rate dst_host_srv_rerror_rate";
constexpr std::string_view kUnswColumns =
    "id dur proto service state spkts dpkts sbytes dbytes rate sttl dttl sload dload sloss dloss "
    "sinpkt dinpkt sjit djit swin stcpb dtcpb dwin tcprtt synack ackdat smean dmean trans_depth "
    "response_body_len ct_srv_src ct_state_ttl ct_dst_ltm ct_src_dport_ltm ct_dst_sport_ltm "
    "ct_dst_src_ltm is_ftp_login ct_ftp_cmd ct_flw_http_mthd ct_src_ltm ct_srv_dst "
    "is_sm_ips_ports attack_cat label";

// The 22 attacks of KDDTrain+ (defcom17_Attack_Types.csv) and the 17 that occur only in the test
// files, by family as in Tavallaee et al. 2009.
constexpr std::pair<std::string_view, std::string_view> kNslKddFamilies[] = {
    {"normal", "normal"},
    {"DoS", "back land neptune pod smurf teardrop apache2 mailbomb processtable udpstorm"},
    {"Probe", "ipsweep nmap portsweep satan mscan saint"},
    {"R2L",
     "ftp_write guess_passwd imap multihop phf spy warezclient warezmaster httptunnel named "
     "sendmail snmpgetattack snmpguess worm xlock xsnoop"},
    {"U2R", "buffer_overflow loadmodule perl rootkit ps sqlattack xterm"},
};

std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    size_t end = std::min(s.find(' '), s.size());
    if (end > 0) out.push_back(s.substr(0, end));
    s.remove_prefix(std::min(end + 1, s.size()));
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A field value for a message: quoted, and cut short if long.
std::string Shown(std::string_view v) {
  constexpr size_t kMax = 40;
  return "'" + std::string(v.substr(0, kMax)) + (v.size() > kMax ? "...'" : "'");
}

std::string Quoted(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "'" : ", '") + n + "'";
  return out;
}

bool IsSingleRole(ColumnRole r) {
  return r == ColumnRole::kLabel || r == ColumnRole::kClass || r == ColumnRole::kId ||
         r == ColumnRole::kTime || r == ColumnRole::kSource;
}

// ---- Schemas ---------------------------------------------------------------------------------

Schema NslKddSchema() {
  Schema s;
  s.format = "nsl-kdd";
  s.header = false;
  s.normal_classes = {"normal"};
  for (std::string_view name : Words(kNslKddFeatures)) {
    bool categorical = name == "protocol_type" || name == "service" || name == "flag";
    s.columns.push_back(
        {std::string(name), categorical ? ColumnRole::kCategorical : ColumnRole::kNumeric});
  }
  s.columns.push_back({"attack", ColumnRole::kClass});
  s.columns.push_back({"difficulty", ColumnRole::kIgnore});
  return s;
}

Schema UnswSchema() {
  Schema s;
  s.format = "unsw-nb15";
  s.header = true;
  s.normal_classes = {"Normal"};
  for (std::string_view n : Words(kUnswColumns)) {
    ColumnRole role = ColumnRole::kNumeric;
    if (n == "id") role = ColumnRole::kId;
    if (n == "proto" || n == "service" || n == "state") role = ColumnRole::kCategorical;
    if (n == "attack_cat") role = ColumnRole::kClass;
    if (n == "label") role = ColumnRole::kLabel;
    s.columns.push_back({std::string(n), role});
  }
  return s;
}

Status TomlError(const std::string& path, const toml::source_region& where,
                 const std::string& what) {
  return Status::InvalidArgument(path + ":" + std::to_string(where.begin.line) + ":" +
                                 std::to_string(where.begin.column) + ": " + what);
}

Status ReadRole(const std::string& path, const toml::node& node, const std::string& key,
                ColumnRole* role) {
  const std::string* name = node.as_string() ? &node.as_string()->get() : nullptr;
  if (name == nullptr || !ParseColumnRole(*name, role)) {
    return TomlError(path, node.source(),
                     "'" + key +
                         "' must be one of numeric, categorical, label, class, id, time, "
                         "source, ignore");
  }
  return Status::Ok();
}

Status ReadColumns(const std::string& path, const toml::node& node, Schema* s) {
  const toml::array* columns = node.as_array();
  if (columns == nullptr) {
    return TomlError(path, node.source(), "'columns' must be an array of tables ([[columns]])");
  }
  for (const toml::node& entry : *columns) {
    const toml::table* col = entry.as_table();
    if (col == nullptr)
      return TomlError(path, entry.source(), "each [[columns]] entry must be a table");
    ColumnSpec spec;
    bool has_role = false;
    for (const auto& [key, value] : *col) {
      if (key == "name") {
        if (!value.as_string() || value.as_string()->get().empty()) {
          return TomlError(path, value.source(), "column 'name' must be a non-empty string");
        }
        spec.name = std::string(Trim(value.as_string()->get()));
      } else if (key == "role") {
        VIGIL_RETURN_IF_ERROR(ReadRole(path, value, "role", &spec.role));
        has_role = true;
      } else {
        return TomlError(path, value.source(),
                         "unknown column key '" + std::string(key.str()) + "' (valid: name, role)");
      }
    }
    if (spec.name.empty() || !has_role) {
      return TomlError(path, entry.source(), "each [[columns]] entry needs 'name' and 'role'");
    }
    for (const ColumnSpec& other : s->columns) {
      if (other.name == spec.name) {
        return TomlError(path, entry.source(), "column '" + spec.name + "' is listed twice");
      }
      if (IsSingleRole(spec.role) && other.role == spec.role) {
        return TomlError(path, entry.source(),
                         "columns '" + other.name + "' and '" + spec.name + "' both have role '" +
                             ColumnRoleName(spec.role) + "'; at most one is allowed");
      }
    }
    s->columns.push_back(std::move(spec));
  }
  return Status::Ok();
}

Result<Schema> CsvSchemaFromToml(const std::string& path) {
  VIGIL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  toml::table doc;
#if TOML_EXCEPTIONS
  try {
    doc = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return TomlError(path, e.source(), std::string(e.description()));
  }
#else
  toml::parse_result parsed = toml::parse(text, path);
  if (!parsed)
    return TomlError(path, parsed.error().source(), std::string(parsed.error().description()));
  doc = std::move(parsed).table();
#endif
  Schema s;
  s.format = "csv";
  s.header = true;
  bool default_role_set = false;
  for (const auto& [key, value] : doc) {
    if (key == "header") {
      if (!value.as_boolean())
        return TomlError(path, value.source(), "'header' must be true or false");
      s.header = value.as_boolean()->get();
    } else if (key == "delimiter") {
      const toml::value<std::string>* d = value.as_string();
      std::string v = d ? d->get() : "";
      if (v == "tab") v = "\t";
      if (v.size() != 1 || v == "\"" || v == "\n" || v == "\r") {
        return TomlError(path, value.source(),
                         "'delimiter' must be one character such as \",\" or \"\\t\"");
      }
      s.delimiter = v[0];
    } else if (key == "normal_classes") {
      const toml::array* arr = value.as_array();
      if (arr == nullptr)
        return TomlError(path, value.source(), "'normal_classes' must be an array of strings");
      s.normal_classes.clear();
      for (const toml::node& n : *arr) {
        if (!n.as_string())
          return TomlError(path, n.source(), "'normal_classes' must hold strings");
        s.normal_classes.push_back(n.as_string()->get());
      }
    } else if (key == "default_role") {
      VIGIL_RETURN_IF_ERROR(ReadRole(path, value, "default_role", &s.default_role));
      if (IsSingleRole(s.default_role)) {
        return TomlError(path, value.source(),
                         "'default_role' must be numeric, categorical or ignore");
      }
      default_role_set = s.default_role != ColumnRole::kIgnore;
    } else if (key == "columns") {
      VIGIL_RETURN_IF_ERROR(ReadColumns(path, value, &s));
    } else {
      return TomlError(path, value.source(),
                       "unknown key '" + std::string(key.str()) +
                           "' (valid: header, delimiter, normal_classes, default_role, columns)");
    }
  }
  if (!s.header && default_role_set) {
    return Status::InvalidArgument(path +
                                   ": 'default_role' needs header = true (without a header "
                                   "[[columns]] must list every column)");
  }
  if (s.columns.empty() && !default_role_set) {
    return Status::InvalidArgument(path +
                                   ": the schema lists no [[columns]] and has no default_role");
  }
  return s;
}

// ---- Reading ---------------------------------------------------------------------------------

void AddToPlan(const std::string& name, ColumnRole role, size_t field, RowPlan* plan, Table* t) {
  auto take = [&](int* slot) {
    if (*slot < 0) *slot = static_cast<int>(field);
  };
  switch (role) {
    case ColumnRole::kNumeric:
      plan->numeric_fields.push_back(field);
      t->numeric_names.push_back(name);
      break;
    case ColumnRole::kCategorical:
      plan->categorical_fields.push_back(field);
      t->categorical_names.push_back(name);
      break;
    case ColumnRole::kClass:
      take(&plan->class_field);
      break;
    case ColumnRole::kLabel:
      take(&plan->label_field);
      break;
    case ColumnRole::kId:
      take(&plan->id_field);
      break;
    case ColumnRole::kTime:
      take(&plan->time_field);
      break;
    case ColumnRole::kSource:
      take(&plan->source_field);
      break;
    case ColumnRole::kIgnore:
      break;
  }
}

bool IsTarget(ColumnRole r) { return r == ColumnRole::kLabel || r == ColumnRole::kClass; }

Status PlanHeader(const std::string& path, const std::vector<std::string_view>& header,
                      const Schema& schema, bool require_target, RowPlan* plan, Table* t) {
  plan->field_count = header.size();
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < header.size(); ++i) {
    std::string name(Trim(header[i]));
    if (name.empty()) name = "column_" + std::to_string(i + 1);
    std::string unique = name;
    for (int k = 1; index.count(unique); ++k) unique = name + "." + std::to_string(k);
    index.emplace(unique, i);
    plan->field_names.push_back(unique);
  }
  std::vector<bool> listed(header.size(), false);
  std::vector<std::string> missing;
  for (const ColumnSpec& col : schema.columns) {
    auto it = index.find(col.name);
    if (it == index.end()) {
      if (col.role != ColumnRole::kIgnore && !(IsTarget(col.role) && !require_target)) {
        missing.push_back(col.name);
      }
      continue;
    }
    listed[it->second] = true;
    AddToPlan(col.name, col.role, it->second, plan, t);
  }
  if (!missing.empty()) {
    return Status::InvalidArgument(path + ":1: the header lacks column" +
                                   (missing.size() > 1 ? "s " : " ") + Quoted(missing) +
                                   " named by the " + schema.format + " schema");
  }
  for (size_t i = 0; i < header.size(); ++i) {
    if (!listed[i]) AddToPlan(plan->field_names[i], schema.default_role, i, plan, t);
  }
  return Status::Ok();
}

// Without a header the first row fixes the field count: all schema columns, or fewer when the
// missing trailing ones are only ignored or (when no target is required) target columns.
Status PlanCount(const std::string& path, size_t line, size_t count, const Schema& schema,
                     bool require_target, RowPlan* plan, Table* t) {
  const size_t n = schema.columns.size();
  bool ok = count == n;
  if (count < n && count > 0) {
    ok = true;
    for (size_t i = count; i < n; ++i) {
      ColumnRole r = schema.columns[i].role;
      if (r != ColumnRole::kIgnore && !(IsTarget(r) && !require_target)) ok = false;
    }
  }
  if (!ok) {
    return Status::InvalidArgument(path + ":" + std::to_string(line) + ": expected " +
                                   std::to_string(n) + " fields, found " + std::to_string(count));
  }
  plan->field_count = count;
  for (size_t i = 0; i < count; ++i) {
    plan->field_names.push_back(schema.columns[i].name);
    AddToPlan(schema.columns[i].name, schema.columns[i].role, i, plan, t);
  }
  return Status::Ok();
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {  // H. Hinnant's algorithm
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// "YYYY-MM-DD[( |T)HH:MM[:SS[.fff]]][Z|+hh:mm|-hhmm]" as seconds since the epoch, UTC.
bool ParseIsoTime(std::string_view s, double* out) {
  s = Trim(s);
  size_t p = 0;
  auto digits = [&](size_t count, int* v) {
    if (p + count > s.size()) return false;
    *v = 0;
    for (size_t i = 0; i < count; ++i, ++p) {
      if (s[p] < '0' || s[p] > '9') return false;
      *v = *v * 10 + (s[p] - '0');
    }
    return true;
  };
  auto lit = [&](char c) { return p < s.size() && s[p] == c ? (++p, true) : false; };
  int year, month, day, hour = 0, minute = 0, second = 0;
  if (!digits(4, &year) || !lit('-') || !digits(2, &month) || !lit('-') || !digits(2, &day))
    return false;
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  double fraction = 0;
  if (p < s.size() && (s[p] == ' ' || s[p] == 'T')) {
    ++p;
    if (!digits(2, &hour) || !lit(':') || !digits(2, &minute)) return false;
    if (lit(':')) {
      if (!digits(2, &second)) return false;
      if (lit('.') || lit(',')) {
        double scale = 0.1;
        size_t start = p;
        for (; p < s.size() && s[p] >= '0' && s[p] <= '9'; ++p, scale /= 10)
          fraction += (s[p] - '0') * scale;
        if (p == start) return false;
      }
    }
    if (hour > 23 || minute > 59 || second > 60) return false;
  }
  int offset = 0;
  if (lit('Z')) {
  } else if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
    int sign = s[p++] == '-' ? -1 : 1, oh, om;
    if (!digits(2, &oh)) return false;
    lit(':');
    if (!digits(2, &om)) return false;
    offset = sign * (oh * 3600 + om * 60);
  }
  if (p != s.size()) return false;
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  *out = static_cast<double>(days * 86400 + hour * 3600 + minute * 60 + second - offset) + fraction;
  return true;
}

bool ParseLabel(std::string_view v, const std::vector<std::string>& normal_lower, uint8_t* out) {
  static const char* const kZero[] = {"0",      "false",    "no",        "normal",
                                      "benign", "negative", "legitimate"};
  static const char* const kOne[] = {"1",       "true",      "yes",      "attack",   "malicious",
                                     "anomaly", "anomalous", "abnormal", "positive", "malware"};
  std::string s = Lower(Trim(v));
  for (const char* z : kZero) {
    if (s == z) return *out = 0, true;
  }
  for (const char* o : kOne) {
    if (s == o) return *out = 1, true;
  }
  if (std::find(normal_lower.begin(), normal_lower.end(), s) != normal_lower.end())
    return *out = 0, true;
  double d;
  if (!s.empty() && ParseNumber(s, &d).ok() && (d == 0 || d == 1)) return *out = d == 1, true;
  return false;
}

}  // namespace

bool NslKddFamily(std::string_view attack, std::string* family) {
  const std::string name = Lower(Trim(attack));
  for (const auto& [fam, names] : kNslKddFamilies) {
    for (std::string_view n : Words(names)) {
      if (n == name) {
        *family = std::string(fam);
        return true;
      }
    }
  }
  return false;
}

Result<Schema> MakeSchema(const std::string& format, const std::string& schema_path) {
  if (format == "csv") {
    if (schema_path.empty()) {
      return Status::InvalidArgument(
          "format 'csv' needs a TOML schema file describing its columns");
    }
    return CsvSchemaFromToml(schema_path);
  }
  if (format != "nsl-kdd" && format != "unsw-nb15") {
    return Status::InvalidArgument("unknown data format '" + format +
                                   "' (valid: nsl-kdd, unsw-nb15, csv)");
  }
  if (!schema_path.empty()) {
    return Status::InvalidArgument("a schema file is used only with format 'csv', not '" + format +
                                   "'");
  }
  return format == "nsl-kdd" ? NslKddSchema() : UnswSchema();
}

Result<Table> ReadTable(const std::string& path, const Schema& schema, bool require_target) {
  VIGIL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseTable(text, path, schema, require_target);
}

Result<Table> ParseTable(std::string_view text, const std::string& path, const Schema& schema,
                         bool require_target) {
  RowReader reader(schema, path, require_target);
  VIGIL_RETURN_IF_ERROR(reader.CheckTarget());
  Table t;
  size_t expected_rows = std::count(text.begin(), text.end(), '\n');
  if (expected_rows == 0) expected_rows = std::count(text.begin(), text.end(), '\r');
  Status s = ParseCsv(text, path, CsvOptions{schema.delimiter},
                      [&](size_t line, const std::vector<std::string_view>& f) -> Status {
                        if (!reader.planned()) {
                          if (schema.header) {
                            VIGIL_RETURN_IF_ERROR(reader.PlanFromHeader(f));
                            reader.StartTable(&t, expected_rows);
                            return Status::Ok();
                          }
                          VIGIL_RETURN_IF_ERROR(reader.PlanFromCount(line, f.size()));
                          reader.StartTable(&t, expected_rows);
                        }
                        return reader.AddRow(line, f, &t);
                      });
  if (!s.ok()) return s;
  if (!reader.planned()) return Status::InvalidArgument(path + ": empty file (no records)");
  if (t.rows == 0) return Status::InvalidArgument(path + ": no data rows after the header");
  return t;
}

// ---- RowReader ----------------------------------------------------------------------------------

RowReader::RowReader(Schema schema, std::string path, bool require_target)
    : schema_(std::move(schema)), path_(std::move(path)), require_target_(require_target) {
  for (const std::string& c : schema_.normal_classes) normal_lower_.push_back(Lower(Trim(c)));
}

Status RowReader::CheckTarget() const {
  if (require_target_ && schema_.FindRole(ColumnRole::kLabel) < 0 &&
      schema_.FindRole(ColumnRole::kClass) < 0) {
    return Status::InvalidArgument(
        path_ + ": the " + schema_.format +
        " schema has no label or class column, and a target is required");
  }
  return Status::Ok();
}

Status RowReader::PlanFromHeader(const std::vector<std::string_view>& header) {
  RowPlan plan;
  Table names;
  VIGIL_RETURN_IF_ERROR(
      PlanHeader(path_, header, schema_, require_target_, &plan, &names));
  Adopt(std::move(plan), std::move(names));
  return Status::Ok();
}

Status RowReader::PlanFromSchema(bool include_targets) {
  std::vector<std::string_view> header;
  for (const ColumnSpec& c : schema_.columns) {
    if (include_targets || !IsTarget(c.role)) header.push_back(c.name);
  }
  return PlanFromHeader(header);
}

Status RowReader::PlanFromCount(size_t line, size_t count) {
  RowPlan plan;
  Table names;
  VIGIL_RETURN_IF_ERROR(
      PlanCount(path_, line, count, schema_, require_target_, &plan, &names));
  Adopt(std::move(plan), std::move(names));
  return Status::Ok();
}

void RowReader::Adopt(RowPlan plan, Table names) {
  plan_ = std::move(plan);
  numeric_names_ = std::move(names.numeric_names);
  categorical_names_ = std::move(names.categorical_names);
  planned_ = true;
}

void RowReader::StartTable(Table* t, size_t expected_rows) const {
  if (t->source_path != path_) t->source_path = path_;
  t->rows = 0;
  if (t->numeric_names != numeric_names_) t->numeric_names = numeric_names_;
  if (t->categorical_names != categorical_names_) t->categorical_names = categorical_names_;
  t->numeric.resize(numeric_names_.size());
  t->categorical.resize(categorical_names_.size());
  for (auto& c : t->numeric) {
    c.clear();
    c.reserve(expected_rows);
  }
  for (auto& c : t->categorical) {
    c.clear();
    c.reserve(expected_rows);
  }
  t->classes.clear();
  t->labels.clear();
  t->ids.clear();
  t->times.clear();
  t->sources.clear();
}

int RowReader::FieldIndex(std::string_view name) const {
  for (size_t i = 0; i < plan_.field_names.size(); ++i) {
    if (plan_.field_names[i] == name) return static_cast<int>(i);
  }
  return -1;
}

Status RowReader::FieldError(size_t line, size_t field, const std::string& what) const {
  return Status::InvalidArgument(path_ + ":" + std::to_string(line) + ":" +
                                 std::to_string(field + 1) + ": field '" + plan_.field_names[field] +
                                 "': " + what);
}

Status RowReader::AddRow(size_t line, const std::vector<std::string_view>& f, Table* t) {
  if (f.size() != plan_.field_count) {
    return Status::InvalidArgument(path_ + ":" + std::to_string(line) + ": expected " +
                                   std::to_string(plan_.field_count) + " fields, found " +
                                   std::to_string(f.size()));
  }
  // Everything is parsed into scratch first, so a bad field leaves the table unchanged.
  scratch_.resize(plan_.numeric_fields.size());
  for (size_t k = 0; k < plan_.numeric_fields.size(); ++k) {
    size_t i = plan_.numeric_fields[k];
    if (!ParseNumber(f[i], &scratch_[k]).ok()) {
      return FieldError(line, i, Shown(f[i]) + " is not a number");
    }
  }
  const std::pair<std::string, uint8_t>* cls = nullptr;
  if (plan_.class_field >= 0) {
    std::string_view raw = Trim(f[plan_.class_field]);
    auto it = class_cache_.find(std::string(raw));
    if (it == class_cache_.end()) {
      std::string name(raw);
      if (name.empty()) return FieldError(line, plan_.class_field, "empty class name");
      if (schema_.format == "nsl-kdd" && !NslKddFamily(raw, &name)) {
        return Status::InvalidArgument(path_ + ":" + std::to_string(line) + ": field '" +
                                       plan_.field_names[plan_.class_field] +
                                       "': unknown NSL-KDD attack name " + Shown(raw));
      }
      if (schema_.format == "unsw-nb15" && name == "Backdoors") name = "Backdoor";
      std::string lower = Lower(name);
      uint8_t label =
          std::find(normal_lower_.begin(), normal_lower_.end(), lower) == normal_lower_.end();
      it = class_cache_.emplace(std::string(raw), std::make_pair(std::move(name), label)).first;
    }
    cls = &it->second;
  }
  uint8_t label = 0;
  if (plan_.label_field >= 0 && !ParseLabel(f[plan_.label_field], normal_lower_, &label)) {
    return FieldError(line, plan_.label_field,
                      Shown(f[plan_.label_field]) +
                          " is not a label (expected 0/1, true/false, normal/attack or "
                          "benign/malicious)");
  }
  double time = 0;
  if (plan_.time_field >= 0 && !ParseNumber(f[plan_.time_field], &time).ok() &&
      !ParseIsoTime(f[plan_.time_field], &time)) {
    return FieldError(line, plan_.time_field,
                      Shown(f[plan_.time_field]) +
                          " is not a number or an ISO-8601 time (YYYY-MM-DD HH:MM:SS)");
  }
  // Commit.
  for (size_t k = 0; k < plan_.numeric_fields.size(); ++k) t->numeric[k].push_back(scratch_[k]);
  for (size_t k = 0; k < plan_.categorical_fields.size(); ++k) {
    t->categorical[k].emplace_back(Trim(f[plan_.categorical_fields[k]]));
  }
  if (cls != nullptr) {
    t->classes.push_back(cls->first);
    if (plan_.label_field < 0) t->labels.push_back(cls->second);
  }
  if (plan_.label_field >= 0) {
    t->labels.push_back(label);
    if (plan_.class_field < 0) t->classes.emplace_back(label ? "attack" : "normal");
  }
  if (plan_.id_field >= 0) t->ids.emplace_back(Trim(f[plan_.id_field]));
  if (plan_.source_field >= 0) t->sources.emplace_back(Trim(f[plan_.source_field]));
  if (plan_.time_field >= 0) t->times.push_back(time);
  ++t->rows;
  return Status::Ok();
}

}  // namespace vigil
