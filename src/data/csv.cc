#include "data/csv.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <utility>

namespace vigil {
namespace {

// A quoted field with "" escapes is unescaped into a scratch buffer; its view is made only once the
// record is complete, because appending to the buffer may move it.
struct ScratchField {
  size_t field;
  size_t offset;
  size_t length;
};

std::string Describe(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
  static const char kHex[] = "0123456789abcdef";
  return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 15];
}

// `pos` is at '\n' or '\r'; returns the position after the line end (CRLF counts as one).
size_t SkipLineEnd(const char* data, size_t n, size_t pos) {
  if (data[pos] == '\r' && pos + 1 < n && data[pos + 1] == '\n') return pos + 2;
  return pos + 1;
}

bool EqualsLower(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// Clinger's fast path: with at most 15 digits and no exponent, the digits fit a double exactly
// and one division by an exact power of ten rounds correctly. Most data-set fields take it.
bool ParseShortDecimal(std::string_view s, double* out) {
  static constexpr double kPow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  uint64_t mantissa = 0;
  int digits = 0;
  int fraction_digits = -1;  // -1 until the decimal point
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      if (++digits > 15) return false;
      mantissa = mantissa * 10 + static_cast<uint64_t>(c - '0');
      if (fraction_digits >= 0) ++fraction_digits;
    } else if (c == '.' && fraction_digits < 0) {
      fraction_digits = 0;
    } else {
      return false;
    }
  }
  if (digits == 0) return false;
  *out = static_cast<double>(mantissa);
  if (fraction_digits > 0) *out /= kPow10[fraction_digits];
  return true;
}

Status NotANumber(std::string_view field) {
  std::string message;  // appended piecewise: operator+ here trips GCC 12's -Wrestrict
  message.reserve(field.size() + 20);
  message.append("'").append(field).append("' is not a number");
  return Status::InvalidArgument(std::move(message));
}

}  // namespace

Status ParseCsv(std::string_view text, const std::string& path, const CsvOptions& opts,
                const CsvRecordFn& on_record) {
  const char delim = opts.delimiter;
  if (delim == '"' || delim == '\n' || delim == '\r') {
    return Status::InvalidArgument(path + ": the CSV delimiter cannot be " + Describe(delim));
  }
  std::array<bool, 256> stops{};
  stops[static_cast<unsigned char>(delim)] = true;
  stops['\n'] = true;
  stops['\r'] = true;

  const char* const data = text.data();
  const size_t n = text.size();
  size_t pos = 0;
  if (n >= 3 && std::memcmp(data, "\xEF\xBB\xBF", 3) == 0) pos = 3;
  size_t line = 1;
  size_t line_start = pos;
  auto error = [&](size_t at_line, size_t col, const std::string& what) {
    return Status::InvalidArgument(path + ":" + std::to_string(at_line) + ":" +
                                   std::to_string(col) + ": " + what);
  };

  std::vector<std::string_view> fields;
  std::string scratch;
  std::vector<ScratchField> scratch_fields;
  while (pos < n) {
    if (data[pos] == '\n' || data[pos] == '\r') {  // an empty line
      pos = SkipLineEnd(data, n, pos);
      ++line;
      line_start = pos;
      continue;
    }
    const size_t record_line = line;
    fields.clear();
    scratch.clear();
    scratch_fields.clear();
    for (;;) {
      if (pos < n && data[pos] == '"') {
        const size_t open_line = line;
        const size_t open_col = pos - line_start + 1;
        size_t segment = ++pos;
        bool escaped = false;
        size_t scratch_offset = 0;
        for (;;) {
          if (pos >= n) return error(open_line, open_col, "unterminated quoted field");
          const char c = data[pos];
          if (c == '"') {
            if (pos + 1 < n && data[pos + 1] == '"') {
              if (!escaped) {
                escaped = true;
                scratch_offset = scratch.size();
              }
              scratch.append(data + segment, pos + 1 - segment);  // keeps one quote
              pos += 2;
              segment = pos;
              continue;
            }
            break;
          }
          if (c == '\n' || c == '\r') {
            pos = SkipLineEnd(data, n, pos);
            ++line;
            line_start = pos;
            continue;
          }
          ++pos;
        }
        if (escaped) {
          scratch.append(data + segment, pos - segment);
          scratch_fields.push_back(
              {fields.size(), scratch_offset, scratch.size() - scratch_offset});
          fields.emplace_back();
        } else {
          fields.emplace_back(data + segment, pos - segment);
        }
        ++pos;  // the closing quote
        if (pos < n && !stops[static_cast<unsigned char>(data[pos])]) {
          return error(line, pos - line_start + 1,
                       "unexpected " + Describe(data[pos]) + " after a closing quote");
        }
      } else {
        const size_t start = pos;
        while (pos < n && !stops[static_cast<unsigned char>(data[pos])]) ++pos;
        fields.emplace_back(data + start, pos - start);
      }
      if (pos >= n) break;
      if (data[pos] == delim) {
        ++pos;
        continue;
      }
      pos = SkipLineEnd(data, n, pos);
      ++line;
      line_start = pos;
      break;
    }
    for (const ScratchField& f : scratch_fields) {
      fields[f.field] = std::string_view(scratch).substr(f.offset, f.length);
    }
    VIGIL_RETURN_IF_ERROR(on_record(record_line, fields));
  }
  return Status::Ok();
}

Status ParseNumber(std::string_view field, double* out) {
  std::string_view s = field;
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (s.empty()) return NotANumber(field);
  bool negative = false;
  if (s.front() == '+' || s.front() == '-') {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty() || s.front() == '+' || s.front() == '-') return NotANumber(field);
  double value = 0;
  if (ParseShortDecimal(s, &value)) {
    // done
  } else if (EqualsLower(s, "inf") || EqualsLower(s, "infinity")) {
    value = std::numeric_limits<double>::infinity();
  } else if (EqualsLower(s, "nan")) {
    value = std::numeric_limits<double>::quiet_NaN();
  } else {
    const char* end = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(s.data(), end, value, std::chars_format::general);
    if (ptr != end) return NotANumber(field);
    if (ec == std::errc::result_out_of_range) {
      // Well-formed but beyond double: strtod gives +-HUGE_VAL (inf) or a denormal/zero.
      value = std::strtod(std::string(s).c_str(), nullptr);
    } else if (ec != std::errc()) {
      return NotANumber(field);
    }
    if (s.front() == 'i' || s.front() == 'I' || s.front() == 'n' || s.front() == 'N') {
      return NotANumber(field);  // from_chars also takes "nan(...)" and "infin"; we do not
    }
  }
  *out = negative ? -value : value;
  return Status::Ok();
}

}  // namespace vigil
