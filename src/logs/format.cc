#include "logs/format.h"

#include <cctype>

namespace vigil {
namespace {

constexpr size_t kNpos = std::string_view::npos;
// Backtracking steps allowed per line; real formats need a handful.
constexpr size_t kMatchBudget = 4096;

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

}  // namespace

std::string_view TrimBlanks(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (IsBlank(s[b]) || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (IsBlank(s[e - 1]) || s[e - 1] == '\r' || s[e - 1] == '\n')) --e;
  return s.substr(b, e - b);
}

Result<LogFormat> LogFormat::Parse(std::string_view spec) {
  LogFormat f;
  f.spec_ = std::string(spec);
  std::string literal;
  auto flush_literal = [&]() {
    if (literal.empty()) return;
    Element e;
    e.literal = literal;
    f.elements_.push_back(std::move(e));
    literal.clear();
  };
  bool has_content = false;
  for (size_t i = 0; i < spec.size();) {
    char c = spec[i];
    if (c == '\\') {
      if (i + 1 >= spec.size()) {
        return Status::InvalidArgument("log format: column " + std::to_string(i + 1) +
                                       ": '\\' at the end of the spec");
      }
      literal.push_back(spec[i + 1]);
      i += 2;
      continue;
    }
    if (IsBlank(c)) {
      if (literal.empty() || literal.back() != ' ') literal.push_back(' ');
      while (i < spec.size() && IsBlank(spec[i])) ++i;
      continue;
    }
    if (c == '<') {
      size_t j = i + 1;
      while (j < spec.size() && IsNameChar(spec[j])) ++j;
      if (j < spec.size() && spec[j] == '>' && j > i + 1) {
        std::string name(spec.substr(i + 1, j - i - 1));
        for (const std::string& n : f.names_) {
          if (n == name) {
            return Status::InvalidArgument("log format: column " + std::to_string(i + 1) +
                                           ": field <" + name + "> appears twice");
          }
        }
        if (literal.empty() && !f.elements_.empty() && f.elements_.back().is_field) {
          return Status::InvalidArgument("log format: column " + std::to_string(i + 1) +
                                         ": fields <" + f.names_[f.elements_.back().field] +
                                         "> and <" + name + "> need literal text between them");
        }
        flush_literal();
        Element e;
        e.is_field = true;
        e.field = f.names_.size();
        if (name == "Content") {
          f.content_index_ = f.names_.size();
          has_content = true;
        }
        f.names_.push_back(std::move(name));
        f.elements_.push_back(std::move(e));
        i = j + 1;
        continue;
      }
    }
    literal.push_back(c);
    ++i;
  }
  flush_literal();
  if (!has_content) {
    return Status::InvalidArgument("log format '" + f.spec_ + "' has no <Content> field");
  }
  return f;
}

size_t LogFormat::MatchLiteral(std::string_view line, const std::string& literal,
                               size_t pos) const {
  size_t p = pos;
  for (char c : literal) {
    if (c == ' ') {
      if (p >= line.size() || !IsBlank(line[p])) return kNpos;
      while (p < line.size() && IsBlank(line[p])) ++p;
    } else {
      if (p >= line.size() || line[p] != c) return kNpos;
      ++p;
    }
  }
  return p - pos;
}

bool LogFormat::MatchFrom(std::string_view line, size_t element, size_t pos,
                          std::vector<std::string_view>* fields, size_t* budget) const {
  if (*budget == 0) return false;
  --*budget;
  if (element == elements_.size()) return pos == line.size();
  const Element& e = elements_[element];
  if (!e.is_field) {
    size_t n = MatchLiteral(line, e.literal, pos);
    if (n == kNpos) return false;
    return MatchFrom(line, element + 1, pos + n, fields, budget);
  }
  if (element + 1 == elements_.size()) {
    (*fields)[e.field] = line.substr(pos);
    return true;
  }
  // The next element is a literal (Parse guarantees it): try each place it occurs, nearest first.
  const std::string& next = elements_[element + 1].literal;
  for (size_t q = pos; q < line.size(); ++q) {
    if (next[0] == ' ' ? !IsBlank(line[q]) : line[q] != next[0]) continue;
    size_t n = MatchLiteral(line, next, q);
    if (n == kNpos) continue;
    (*fields)[e.field] = line.substr(pos, q - pos);
    if (MatchFrom(line, element + 2, q + n, fields, budget)) return true;
    if (*budget == 0) return false;
  }
  return false;
}

bool LogFormat::Match(std::string_view line, std::vector<std::string_view>* fields) const {
  std::string_view trimmed = TrimBlanks(line);
  fields->assign(names_.size(), std::string_view());
  size_t budget = kMatchBudget;
  return MatchFrom(trimmed, 0, 0, fields, &budget);
}

}  // namespace vigil
