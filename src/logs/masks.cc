#include "logs/masks.h"

#include <toml++/toml.h>

#include <array>
#include <cctype>

#include "core/file.h"

namespace vigil {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }
bool IsHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsBlank(char c) { return c == ' ' || c == '\t'; }

constexpr std::string_view kLead = "([{<'\"";
constexpr std::string_view kTrail = ")]}>'\",;:.";

struct CharSet {
  explicit constexpr CharSet(std::string_view chars) {
    for (char c : chars) has[static_cast<unsigned char>(c)] = true;
  }
  bool operator()(char c) const { return has[static_cast<unsigned char>(c)]; }
  bool has[256] = {};
};
constexpr CharSet kIsLead(kLead);
constexpr CharSet kIsTrail(kTrail);

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsLower(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (Lower(s[i]) != lower[i]) return false;
  }
  return true;
}

// Month and weekday names, full or in three letters, any case, with a trailing ',' or '.' allowed.
// `months_only` leaves weekdays out. Called for every token, so it rejects most words by length
// and first letter before comparing.
bool IsDateName(std::string_view w, bool months_only) {
  while (!w.empty() && (w.back() == ',' || w.back() == '.')) w.remove_suffix(1);
  if (w.size() < 3 || w.size() > 9 || !IsAlpha(w[0])) return false;
  static constexpr std::array<std::string_view, 12> kMonths = {
      "january", "february", "march",     "april",   "may",      "june",
      "july",    "august",   "september", "october", "november", "december"};
  static constexpr std::array<std::string_view, 7> kDays = {
      "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};
  char lower[10];
  for (size_t i = 0; i < w.size(); ++i) {
    if (!IsAlpha(w[i])) return false;
    lower[i] = Lower(w[i]);
  }
  std::string_view l(lower, w.size());
  auto matches = [&](std::string_view full) {
    return l == full || (l.size() == 3 && full.substr(0, 3) == l);
  };
  for (std::string_view m : kMonths) {
    if (m[0] == l[0] && matches(m)) return true;
  }
  if (months_only) return false;
  for (std::string_view d : kDays) {
    if (d[0] == l[0] && matches(d)) return true;
  }
  return false;
}

bool IsSizeUnit(std::string_view w) {
  static constexpr std::array<std::string_view, 14> kUnits = {
      "B", "KB", "MB", "GB", "TB", "PB", "KiB", "MiB", "GiB", "TiB", "kB", "K", "M", "G"};
  for (std::string_view u : kUnits) {
    if (w == u) return true;
  }
  return false;
}

// A DNS name: labels of letters, digits and '-', with a generic or two-letter top-level domain.
bool IsHost(std::string_view s) {
  size_t labels = 1;
  size_t label_len = 0;
  for (char c : s) {
    if (c == '.') {
      if (label_len == 0) return false;
      ++labels;
      label_len = 0;
    } else if (IsAlnum(c) || c == '-') {
      ++label_len;
    } else {
      return false;
    }
  }
  if (labels < 2 || label_len == 0) return false;
  std::string_view last = s.substr(s.size() - label_len);
  static constexpr std::array<std::string_view, 6> kGeneric = {"com", "net", "org",
                                                               "edu", "gov", "mil"};
  for (std::string_view g : kGeneric) {
    if (EqualsLower(last, g)) return true;
  }
  if (labels < 3) return false;
  static constexpr std::array<std::string_view, 5> kMore = {"int", "info", "biz", "local", "lan"};
  for (std::string_view g : kMore) {
    if (EqualsLower(last, g)) return true;
  }
  return last.size() == 2 && IsAlpha(last[0]) && IsAlpha(last[1]);
}

bool IsIpAddress(std::string_view s) {
  // IPv4 with an optional :port.
  int dots = 0, digits = 0;
  size_t i = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (IsDigit(c)) {
      if (++digits > 3) return false;
    } else if (c == '.' && digits > 0 && dots < 3) {
      ++dots;
      digits = 0;
    } else {
      break;
    }
  }
  if (dots == 3 && digits > 0) {
    if (i == s.size()) return true;
    if (s[i] != ':' || i + 1 == s.size()) return false;
    for (size_t j = i + 1; j < s.size(); ++j) {
      if (!IsDigit(s[j])) return false;
    }
    return true;
  }
  // IPv6: hex groups and colons, at least two colons.
  int colons = 0;
  for (char c : s) {
    if (c == ':') {
      ++colons;
    } else if (!IsHexDigit(c) && c != '.') {
      return false;
    }
  }
  return colons >= 2;
}

bool IsPath(std::string_view s) {
  if (s.size() > 1 && s[0] == '/') return true;
  if (s.size() >= 3 && IsAlpha(s[0]) && s[1] == ':' && s[2] == '\\') return true;
  int slashes = 0, backslashes = 0;
  for (char c : s) {
    slashes += c == '/';
    backslashes += c == '\\';
  }
  return slashes >= 2 || backslashes >= 2;
}

// Hex words: every letter-digit run is hex, one holds a digit, and the whole looks like an
// identifier rather than a short word ("0x..", 8+ hex digits, or 3+ runs as in UUIDs and MACs).
bool IsHexWord(std::string_view s) {
  bool digit = false;
  size_t runs = 0, hex_chars = 0;
  bool in_run = false;
  for (char c : s) {
    if (IsAlnum(c)) {
      if (!IsHexDigit(c)) return false;
      digit |= IsDigit(c);
      ++hex_chars;
      if (!in_run) ++runs;
      in_run = true;
    } else {
      in_run = false;
    }
  }
  if (!digit) return false;
  bool prefixed = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  if (prefixed) {
    for (size_t i = 2; i < s.size(); ++i) {
      if (!IsHexDigit(s[i])) return false;
    }
    return true;
  }
  return hex_chars >= 8 || runs >= 3;
}

bool IsHexPrefixed(std::string_view run) {
  if (run.size() < 3 || run[0] != '0' || (run[1] != 'x' && run[1] != 'X')) return false;
  for (size_t i = 2; i < run.size(); ++i) {
    if (!IsHexDigit(run[i])) return false;
  }
  return true;
}

// The key of "key=value" / "key:value": letters, digits, '_', '.', '-', starting with a letter or
// '_', holding a letter that is not a hex digit (so "FF:F2:..." is not a key). Returns the length
// including the '=' or ':', or 0.
size_t KeyLength(std::string_view core) {
  if (core.empty() || !(IsAlpha(core[0]) || core[0] == '_')) return 0;
  bool non_hex_letter = false;
  for (size_t i = 0; i < core.size(); ++i) {
    char c = core[i];
    if (c == '=' || c == ':') {
      if (!non_hex_letter || i + 1 >= core.size()) return 0;
      return i + 1;
    }
    if (!(IsAlnum(c) || c == '_' || c == '.' || c == '-')) return 0;
    if (c == '_' || (IsAlpha(c) && !IsHexDigit(c))) non_hex_letter = true;
  }
  return 0;
}

}  // namespace

Result<MaskOptions> ParseMaskOptions(std::string_view toml_text, const std::string& path) {
  toml::table table;
  try {
    table = toml::parse(toml_text, path);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return Status::InvalidArgument(path + ":" + std::to_string(where.line) + ":" +
                                   std::to_string(where.column) + ": " +
                                   std::string(e.description()));
  }
  MaskOptions o;
  struct Flag {
    const char* name;
    bool* value;
  };
  Flag flags[] = {{"keys", &o.keys},   {"paths", &o.paths}, {"hosts", &o.hosts},
                  {"ips", &o.ips},     {"hex", &o.hex},     {"numbers", &o.numbers},
                  {"dates", &o.dates}, {"units", &o.units}, {"collapse", &o.collapse}};
  for (const auto& [key, node] : table) {
    std::string k(key.str());
    bool known = false;
    for (Flag& f : flags) {
      if (k != f.name) continue;
      known = true;
      if (!node.is_boolean()) {
        return Status::InvalidArgument(path + ": '" + k + "' must be true or false");
      }
      *f.value = node.value<bool>().value_or(false);
    }
    if (k == "custom") {
      known = true;
      const toml::array* arr = node.as_array();
      if (arr == nullptr) {
        return Status::InvalidArgument(path + ": 'custom' must be an array of tables ([[custom]])");
      }
      for (const toml::node& item : *arr) {
        const toml::table* t = item.as_table();
        auto name = t ? t->get_as<std::string>("name") : nullptr;
        auto regex = t ? t->get_as<std::string>("regex") : nullptr;
        if (name == nullptr || regex == nullptr) {
          return Status::InvalidArgument(path + ": each [[custom]] needs name and regex strings");
        }
        o.custom.push_back({name->get(), regex->get()});
      }
    }
    if (!known) return Status::InvalidArgument(path + ": unknown mask setting '" + k + "'");
  }
  return o;
}

Result<MaskOptions> LoadMaskOptions(const std::string& path) {
  VIGIL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseMaskOptions(text, path);
}

nlohmann::json MaskOptionsToJson(const MaskOptions& o) {
  nlohmann::json j = {{"keys", o.keys},   {"paths", o.paths}, {"hosts", o.hosts},
                      {"ips", o.ips},     {"hex", o.hex},     {"numbers", o.numbers},
                      {"dates", o.dates}, {"units", o.units}, {"collapse", o.collapse}};
  nlohmann::json custom = nlohmann::json::array();
  for (const CustomMask& c : o.custom) custom.push_back({{"name", c.name}, {"regex", c.regex}});
  j["custom"] = custom;
  return j;
}

Result<MaskOptions> MaskOptionsFromJson(const nlohmann::json& j) {
  MaskOptions o;
  try {
    o.keys = j.at("keys").get<bool>();
    o.paths = j.at("paths").get<bool>();
    o.hosts = j.at("hosts").get<bool>();
    o.ips = j.at("ips").get<bool>();
    o.hex = j.at("hex").get<bool>();
    o.numbers = j.at("numbers").get<bool>();
    o.dates = j.at("dates").get<bool>();
    o.units = j.at("units").get<bool>();
    o.collapse = j.at("collapse").get<bool>();
    for (const auto& c : j.at("custom")) {
      o.custom.push_back({c.at("name").get<std::string>(), c.at("regex").get<std::string>()});
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("masks: ") + e.what());
  }
  return o;
}

Result<Masker> Masker::Create(const MaskOptions& options) {
  Masker m;
  m.options_ = options;
  auto regexes = std::make_shared<std::vector<std::regex>>();
  for (const CustomMask& c : options.custom) {
    try {
      regexes->emplace_back(c.regex, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      return Status::InvalidArgument("mask '" + c.name + "': bad regular expression '" + c.regex +
                                     "': " + e.what());
    }
  }
  m.custom_ = std::move(regexes);
  return m;
}

void Masker::MaskCore(std::string_view core, std::string* out) const {
  if (core.empty()) return;
  // One pass gathers what the checks below need, so that most tokens skip most checks.
  bool alnum = false, non_hex_letter = false, host_chars = true;
  int digits = 0, dots = 0, slashes = 0, backslashes = 0, colons = 0;
  for (char c : core) {
    if (IsDigit(c)) {
      ++digits;
      alnum = true;
    } else if (IsAlpha(c)) {
      alnum = true;
      non_hex_letter |= !IsHexDigit(c);
    } else {
      dots += c == '.';
      slashes += c == '/';
      backslashes += c == '\\';
      colons += c == ':';
      host_chars &= c == '.' || c == '-';
    }
  }
  bool special = digits + dots + slashes + backslashes + colons > 0;
  if (!alnum || (!special && custom_->empty())) {
    // Punctuation such as "-" or "****" is structure, and a plain word is a word.
    out->append(core);
    return;
  }
  for (const std::regex& r : *custom_) {
    if (std::regex_match(core.begin(), core.end(), r)) {
      out->append(kWildcard);
      return;
    }
  }
  const MaskOptions& o = options_;
  if ((o.paths && (slashes > 0 || backslashes > 0) && IsPath(core)) ||
      (o.hosts && dots > 0 && host_chars && IsHost(core)) ||
      (o.ips && (dots == 3 || colons >= 2) && IsIpAddress(core)) ||
      (o.hex && digits > 0 && !non_hex_letter && IsHexWord(core))) {
    out->append(kWildcard);
    return;
  }
  if (!o.numbers) {
    out->append(core);
    return;
  }
  // Letter-digit runs holding a digit become wildcards; separators stay.
  const size_t start = out->size();
  bool kept_letters = false;
  size_t i = 0;
  while (i < core.size()) {
    if (!IsAlnum(core[i])) {
      size_t j = i;
      while (j < core.size() && !IsAlnum(core[j])) ++j;
      std::string_view sep = core.substr(i, j - i);
      // A '-' right before a number is its sign when it starts the token or follows punctuation.
      if (sep.back() == '-' && j < core.size() && IsDigit(core[j]) && (i == 0 || sep.size() > 1)) {
        sep.remove_suffix(1);
      }
      out->append(sep);
      i = j;
      continue;
    }
    size_t j = i;
    bool digit = false;
    while (j < core.size() && IsAlnum(core[j])) digit |= IsDigit(core[j++]);
    std::string_view run = core.substr(i, j - i);
    if (!digit && !IsHexPrefixed(run)) {
      out->append(run);
      kept_letters = true;
    } else {
      size_t letters = 0;
      while (letters < run.size() && IsAlpha(run[letters])) ++letters;
      bool letters_then_digits = letters > 0 && letters < run.size();
      for (size_t k = letters; k < run.size() && letters_then_digits; ++k) {
        letters_then_digits = IsDigit(run[k]);
      }
      if (letters_then_digits) {
        out->append(run.substr(0, letters));
        kept_letters = true;
      }
      out->append(kWildcard);
    }
    i = j;
  }
  if (!kept_letters) {  // nothing but numbers and separators: one variable
    out->resize(start);
    out->append(kWildcard);
  }
}

void Masker::MaskTokenInto(std::string_view tok, std::string* out) const {
  size_t i = 0;
  while (i < tok.size() && kIsLead(tok[i])) ++i;
  size_t j = tok.size();
  while (j > i && kIsTrail(tok[j - 1])) --j;
  std::string_view core = tok.substr(i, j - i);
  out->append(tok.substr(0, i));
  size_t key = options_.keys ? KeyLength(core) : 0;
  if (key > 0) {
    out->append(core.substr(0, key));
    MaskCore(core.substr(key), out);
  } else {
    MaskCore(core, out);
  }
  out->append(tok.substr(j));
}

std::string Masker::MaskToken(std::string_view token) const {
  std::string out;
  MaskTokenInto(token, &out);
  return out;
}

void Masker::MaskLine(std::string_view content, MaskedLine* out) const {
  size_t n = 0;
  for (size_t i = 0; i < content.size();) {
    if (IsBlank(content[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < content.size() && !IsBlank(content[j])) ++j;
    if (n == out->tokens.size()) {
      out->tokens.emplace_back();
      out->spans.emplace_back();
    }
    std::string& t = out->tokens[n];
    t.clear();
    MaskTokenInto(content.substr(i, j - i), &t);
    out->spans[n] = {static_cast<uint32_t>(i), static_cast<uint32_t>(j)};
    ++n;
    i = j;
  }
  out->tokens.resize(n);
  out->spans.resize(n);
  std::vector<std::string>& t = out->tokens;
  if (options_.units) {
    for (size_t k = 1; k < n; ++k) {
      if (t[k - 1] != kWildcard) continue;
      std::string_view w = t[k];
      size_t b = 0, e = w.size();
      constexpr std::string_view kStrip = "()[],;.";
      while (b < e && kStrip.find(w[b]) != std::string_view::npos) ++b;
      while (e > b && kStrip.find(w[e - 1]) != std::string_view::npos) --e;
      if (IsSizeUnit(w.substr(b, e - b))) t[k].replace(b, e - b, kWildcard);
    }
  }
  if (options_.dates) {
    for (size_t k = 0; k < n; ++k) {
      if (!IsDateName(t[k], false)) continue;
      bool next_var = k + 1 < n && t[k + 1] == kWildcard;
      bool prev_var = k > 0 && t[k - 1] == kWildcard;
      bool next_month = k + 1 < n && IsDateName(t[k + 1], true);
      if (next_var || prev_var || next_month) t[k].assign(kWildcard);
    }
  }
  if (options_.collapse && n > 1) {
    size_t w = 1;
    for (size_t k = 1; k < n; ++k) {
      if (t[k] == t[w - 1] && HasWildcard(t[k])) {
        out->spans[w - 1].second = out->spans[k].second;
        continue;
      }
      if (w != k) {
        std::swap(t[w], t[k]);
        out->spans[w] = out->spans[k];
      }
      ++w;
    }
    t.resize(w);
    out->spans.resize(w);
  }
}

}  // namespace vigil
