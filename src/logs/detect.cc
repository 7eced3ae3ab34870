#include "logs/detect.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <set>

#include "logs/format.h"

namespace vigil {
namespace {

constexpr size_t kSampleLines = 2000;
constexpr size_t kMaxColumns = 12;

// Token classes.
enum Cls : char {
  kPlaceholder = 'P',  // "-"
  kLevel = 'L',
  kBracketDigits = 'b',  // "[...]" holding a digit (a time, a thread number)
  kBracket = 'B',
  kTime = 'T',
  kComponent = 'C',  // "name:"
  kId = 'I',         // other token with a digit
  kDotted = 'D',     // dotted name ("nova.compute.manager")
  kWord = 'W',
};

bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool HasDigit(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return IsDigit(c); });
}

bool InLowerSet(std::string_view s, const std::string_view* set, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    std::string_view w = set[i];
    if (w.size() != s.size()) continue;
    size_t k = 0;
    while (k < w.size() && Lower(s[k]) == w[k]) ++k;
    if (k == w.size()) return true;
  }
  return false;
}

bool IsLevelWord(std::string_view s) {
  static constexpr std::array<std::string_view, 20> kLevels = {
      "trace",     "debug",  "info",     "notice", "warn",   "warning", "error",
      "err",       "severe", "critical", "crit",   "fatal",  "alert",   "emerg",
      "emergency", "fine",   "finer",    "finest", "config", "failure"};
  return InLowerSet(s, kLevels.data(), kLevels.size());
}

bool IsShortDateWord(std::string_view s) {
  static constexpr std::array<std::string_view, 19> kWords = {
      "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
      "nov", "dec", "mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  return InLowerSet(s, kWords.data(), kWords.size());
}

Cls Classify(std::string_view t) {
  if (t == "-") return kPlaceholder;
  std::string_view s = t;
  while (!s.empty() && (s.front() == '[' || s.front() == ']')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == '[' || s.back() == ']')) s.remove_suffix(1);
  while (!s.empty() && (s.back() == ':' || s.back() == ',')) s.remove_suffix(1);
  if (IsLevelWord(s)) return kLevel;
  if (t.size() >= 2 && t.front() == '[' && t.back() == ']') {
    return HasDigit(t) ? kBracketDigits : kBracket;
  }
  std::string_view u = t;
  while (!u.empty() && u.back() == ',') u.remove_suffix(1);
  if (HasDigit(u) && std::all_of(u.begin(), u.end(), [](char c) {
        return IsDigit(c) || std::string_view(":/.,-+TZ_").find(c) != std::string_view::npos;
      })) {
    return kTime;
  }
  if (IsShortDateWord(u)) return kTime;
  if (t.size() > 1 && t.back() == ':') return kComponent;
  if (HasDigit(t)) return kId;
  if (t.find('.') != std::string_view::npos && t.back() != '.' &&
      std::all_of(t.begin(), t.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '$' ||
               c == '-';
      })) {
    return kDotted;
  }
  return kWord;
}

// The first tokens of a line; a balanced "[...]" group (plus any text glued after it) is one token.
std::vector<std::string_view> HeaderTokens(std::string_view line) {
  std::vector<std::string_view> toks;
  size_t i = 0, n = line.size();
  while (i < n && toks.size() < kMaxColumns + 3) {
    if (IsBlank(line[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    if (line[i] == '[') {
      int depth = 0;
      size_t k = i;
      for (; k < n; ++k) {
        if (line[k] == '[') ++depth;
        if (line[k] == ']' && --depth == 0) break;
      }
      if (k < n) j = k + 1;
    }
    while (j < n && !IsBlank(line[j])) ++j;
    toks.push_back(line.substr(i, j - i));
    i = j;
  }
  return toks;
}

struct Sample {
  std::vector<std::vector<std::string_view>> tokens;
  std::vector<std::string> classes;  // one char per token
  size_t size() const { return tokens.size(); }

  double Fraction(size_t column, std::string_view wanted) const {
    size_t hits = 0;
    for (const std::string& c : classes) {
      hits += column < c.size() && wanted.find(c[column]) != std::string_view::npos;
    }
    return classes.empty() ? 0.0 : static_cast<double>(hits) / static_cast<double>(size());
  }
  size_t Distinct(size_t column) const {
    std::set<std::string_view> values;
    for (const auto& t : tokens) {
      if (column < t.size()) values.insert(t[column]);
    }
    return values.size();
  }
  double StartsWith(size_t column, char c) const {
    size_t hits = 0;
    for (const auto& t : tokens)
      hits += column < t.size() && !t[column].empty() && t[column][0] == c;
    return tokens.empty() ? 0.0 : static_cast<double>(hits) / static_cast<double>(size());
  }
};

// Generated header field names: HeaderField(3) == "H3".
std::string HeaderField(size_t n) {
  std::string s = "H";
  s += std::to_string(n);
  return s;
}

std::string PipeSpec(const std::vector<std::string_view>& lines) {
  std::map<size_t, size_t> counts;
  for (std::string_view l : lines) {
    size_t end = 0;
    while (end < l.size() && !IsBlank(l[end])) ++end;
    ++counts[static_cast<size_t>(std::count(l.begin(), l.begin() + end, '|'))];
  }
  auto best = std::max_element(counts.begin(), counts.end(),
                               [](const auto& a, const auto& b) { return a.second < b.second; });
  if (best->first == 0 || best->second < 0.9 * lines.size()) return "";
  std::string spec;
  for (size_t i = 0; i < best->first; ++i)
    spec.append("<").append(HeaderField(i + 1)).append(">\\|");
  return spec + "<Content>";
}

}  // namespace

std::string DetectFormatSpec(const std::vector<std::string_view>& raw_lines) {
  std::vector<std::string_view> lines;
  for (std::string_view l : raw_lines) {
    std::string_view t = TrimBlanks(l);
    if (!t.empty()) lines.push_back(t);
    if (lines.size() == kSampleLines) break;
  }
  if (lines.empty()) return "<Content>";
  std::string pipes = PipeSpec(lines);
  if (!pipes.empty()) return pipes;

  Sample s;
  for (std::string_view l : lines) {
    s.tokens.push_back(HeaderTokens(l));
    std::string c;
    for (std::string_view t : s.tokens.back()) c.push_back(Classify(t));
    s.classes.push_back(std::move(c));
  }
  const double n = static_cast<double>(s.size());

  int level = -1;
  for (size_t c = 0; c < 10; ++c) {
    if (s.Fraction(c, "L") >= 0.6) {
      level = static_cast<int>(c);
      break;
    }
  }
  size_t lead = 0;
  while (lead < kMaxColumns) {
    if (s.Fraction(lead, "TPILb") >= 0.9) {
      ++lead;
      continue;
    }
    bool jumped = false;
    for (size_t skip = 1; skip <= 2 && !jumped; ++skip) {
      if (lead + skip >= kMaxColumns || s.Fraction(lead + skip, "TI") < 0.9) continue;
      bool few_values = true;
      for (size_t q = 0; q < skip; ++q) {
        few_values &= static_cast<double>(s.Distinct(lead + q)) <= std::max(20.0, 0.05 * n);
      }
      if (few_values) {
        lead += skip + 1;
        jumped = true;
      }
    }
    if (!jumped) break;
  }
  size_t base = lead;
  if (level >= 0) base = std::max(lead, static_cast<size_t>(level) + 1);

  std::vector<std::string> parts;
  for (size_t c = 0; c < base; ++c) {
    std::string name = static_cast<int>(c) == level ? std::string("Level") : HeaderField(c + 1);
    if (s.Fraction(c, "P") >= 0.99) {
      parts.push_back("-");
    } else if (s.StartsWith(c, '[') >= 0.6) {
      parts.push_back("\\[<" + name + ">\\]");
    } else {
      parts.push_back("<" + name + ">");
    }
  }
  bool component = false;
  size_t c = base;
  auto terminator = [&](size_t col) {
    return col < kMaxColumns && (s.Fraction(col, "P") >= 0.6 || s.Fraction(col, "C") >= 0.6);
  };
  for (int k = 0; k < 3 && c < kMaxColumns; ++k) {
    if (s.Fraction(c, "P") >= 0.6) {
      parts.push_back("-");
      break;
    }
    if (s.Fraction(c, "C") >= 0.6) {
      parts.push_back("<Component>:");
      break;
    }
    if (s.Fraction(c, "bB") >= 0.6) {
      parts.push_back(std::string("\\[<").append(HeaderField(c + 1)).append(">\\]"));
    } else if (level >= 0 && !component && s.Fraction(c, "D") >= 0.6) {
      parts.push_back("<Component>");
      component = true;
    } else if (terminator(c + 1) || terminator(c + 2)) {
      parts.push_back(std::string("<").append(HeaderField(c + 1)).append(">"));
    } else {
      break;
    }
    ++c;
  }
  std::string spec;
  for (const std::string& p : parts) spec += p + " ";
  return spec + "<Content>";
}

}  // namespace vigil
