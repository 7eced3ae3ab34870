// Log header formats: a spec like loghub's "<Date> <Time> <Level> <Component>: <Content>" compiled
// into a matcher that splits a raw line into named header fields and the message content.
//
// Spec grammar: `<Name>` is a field (letters, digits, '_'); everything else is literal text. A run
// of spaces or tabs in the literal matches one or more spaces or tabs; `\x` is the literal
// character x (so loghub specs written for regular expressions, "\[<Pid>\]", read the same). Every
// field matches the shortest text that lets the rest of the spec match (like the regular expression
// `.*?`), the whole line must be matched, and the spec must contain a `<Content>` field. Two fields
// must be separated by literal text (otherwise the split between them is ambiguous).
//
// Match() takes a line without its line end, trims surrounding whitespace (as loghub does) and
// returns false when the line does not fit; callers keep such lines as malformed. Matching
// backtracks over the places where a field's closing literal occurs, with a step budget per line so
// that a hostile line cannot make it slow: a line that exhausts the budget does not match.
//
// A LogFormat is immutable after Parse and safe to use from several threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vigil {

class LogFormat {
 public:
  // InvalidArgument with the column of the problem for a malformed spec.
  static Result<LogFormat> Parse(std::string_view spec);

  // On success fills `fields` (one view per field, into `line`) and returns true.
  bool Match(std::string_view line, std::vector<std::string_view>* fields) const;

  const std::string& spec() const { return spec_; }
  const std::vector<std::string>& field_names() const { return names_; }
  size_t content_index() const { return content_index_; }

 private:
  struct Element {
    bool is_field = false;
    size_t field = 0;     // index into names_ when is_field
    std::string literal;  // when !is_field; runs of blanks are stored as one ' '
  };
  bool MatchFrom(std::string_view line, size_t element, size_t pos,
                 std::vector<std::string_view>* fields, size_t* budget) const;
  // Length of the literal `element` matched at `pos`, or npos.
  size_t MatchLiteral(std::string_view line, const std::string& literal, size_t pos) const;

  std::string spec_;
  std::vector<std::string> names_;
  std::vector<Element> elements_;
  size_t content_index_ = 0;
};

// Removes leading and trailing spaces, tabs, CR and LF.
std::string_view TrimBlanks(std::string_view s);

}  // namespace vigil
