#include "data/sessions.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "core/file.h"
#include "data/csv.h"

namespace vigil {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::vector<std::string> SplitKeys(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsBlank(s[i])) ++i;
    size_t j = i;
    while (j < s.size() && !IsBlank(s[j])) ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (!IsBlank(c)) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool ParseSessionLabel(std::string_view v, uint8_t* out) {
  const std::string l = Lower(v);
  if (l == "0" || l == "normal" || l == "false" || l == "benign") {
    *out = 0;
    return true;
  }
  if (l == "1" || l == "anomaly" || l == "abnormal" || l == "attack" || l == "true") {
    *out = 1;
    return true;
  }
  return false;
}

Result<SessionSet> ParsePlain(std::string_view text, const std::string& path) {
  SessionSet set;
  set.source_path = path;
  size_t line = 0;
  size_t pos = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    ++line;
    std::vector<std::string> keys = SplitKeys(text.substr(pos, end - pos));
    if (!keys.empty()) {
      set.keys.push_back(std::move(keys));
      set.lines.push_back(line);
    }
    pos = end + 1;
  }
  return set;
}

Result<SessionSet> ParseCsvSessions(std::string_view text, const std::string& path,
                                    bool require_labels) {
  SessionSet set;
  set.source_path = path;
  int seq_field = -1;
  int label_field = -1;
  size_t width = 0;
  bool header_seen = false;
  Status s = ParseCsv(text, path, CsvOptions{}, [&](size_t line, const auto& fields) -> Status {
    if (!header_seen) {
      header_seen = true;
      width = fields.size();
      for (size_t i = 0; i < fields.size(); ++i) {
        const std::string name = Lower(fields[i]);
        if (name == "sequence" && seq_field < 0) seq_field = static_cast<int>(i);
        if (name == "label" && label_field < 0) label_field = static_cast<int>(i);
      }
      if (seq_field < 0) {
        return Status::InvalidArgument(path + ":" + std::to_string(line) +
                                       ": no 'Sequence' column in the header (sessions-csv needs "
                                       "'Sequence,label')");
      }
      if (label_field < 0 && require_labels) {
        return Status::InvalidArgument(path + ":" + std::to_string(line) +
                                       ": no 'label' column in the header");
      }
      return Status::Ok();
    }
    if (fields.size() != width) {
      return Status::InvalidArgument(path + ":" + std::to_string(line) + ": expected " +
                                     std::to_string(width) + " fields, found " +
                                     std::to_string(fields.size()));
    }
    set.keys.push_back(SplitKeys(fields[static_cast<size_t>(seq_field)]));
    set.lines.push_back(line);
    if (label_field >= 0) {
      uint8_t label = 0;
      std::string_view v = fields[static_cast<size_t>(label_field)];
      if (!ParseSessionLabel(v, &label)) {
        return Status::InvalidArgument(path + ":" + std::to_string(line) + ":" +
                                       std::to_string(label_field + 1) + ": field 'label': '" +
                                       std::string(v) + "' is not a label (0/1, normal/anomaly)");
      }
      set.labels.push_back(label);
    }
    return Status::Ok();
  });
  VIGIL_RETURN_IF_ERROR(s);
  if (!header_seen)
    return Status::InvalidArgument(path + ": empty file (no 'Sequence,label' header)");
  return set;
}

bool AllIntegers(const std::vector<std::string>& keys) {
  return std::all_of(keys.begin(), keys.end(), [](const std::string& k) {
    long long v = 0;
    auto [p, ec] = std::from_chars(k.data(), k.data() + k.size(), v);
    return ec == std::errc() && p == k.data() + k.size() && k.size() < 18;
  });
}

}  // namespace

bool IsSessionFormat(const std::string& format) {
  return format == "sessions" || format == "sessions-csv";
}

std::string DetectSessionFormat(std::string_view text) {
  size_t pos = text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  while (pos < text.size()) {
    size_t end = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, end - pos);
    if (!SplitKeys(line).empty()) {
      size_t start = 0;
      while (start <= line.size()) {
        size_t comma = std::min(line.find(',', start), line.size());
        std::string name = Lower(line.substr(start, comma - start));
        if (name == "sequence" || name == "\"sequence\"") return "sessions-csv";
        start = comma + 1;
      }
      return "sessions";
    }
    pos = end + 1;
  }
  return "sessions";
}

Result<SessionSet> ParseSessions(std::string_view text, const std::string& path,
                                 const std::string& format, bool require_labels) {
  if (format.empty()) return ParseSessions(text, path, DetectSessionFormat(text), require_labels);
  if (format == "sessions") {
    if (require_labels) {
      return Status::InvalidArgument(path +
                                     ": format 'sessions' has no labels; use sessions-csv "
                                     "(Sequence,label) or label the whole file");
    }
    return ParsePlain(text, path);
  }
  if (format == "sessions-csv") return ParseCsvSessions(text, path, require_labels);
  return Status::InvalidArgument("unknown session format '" + format +
                                 "' (sessions, sessions-csv)");
}

Result<SessionSet> ReadSessions(const std::string& path, const std::string& format,
                                bool require_labels) {
  VIGIL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseSessions(text, path, format, require_labels);
}

Result<KeyVocabulary> KeyVocabulary::FromKeys(std::vector<std::string> keys) {
  KeyVocabulary v;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].empty()) return Status::InvalidArgument("key vocabulary: empty key");
    if (!v.index_.emplace(keys[i], kFirstKey + static_cast<int64_t>(i)).second) {
      return Status::InvalidArgument("key vocabulary: duplicate key '" + keys[i] + "'");
    }
  }
  v.keys_ = std::move(keys);
  return v;
}

KeyVocabulary KeyVocabulary::Build(const SessionSet& sessions) {
  std::set<std::string> distinct;
  for (const auto& s : sessions.keys) distinct.insert(s.begin(), s.end());
  std::vector<std::string> keys(distinct.begin(), distinct.end());
  if (AllIntegers(keys)) {
    std::sort(keys.begin(), keys.end(), [](const std::string& a, const std::string& b) {
      return std::stoll(a) < std::stoll(b);
    });
  }
  auto v = FromKeys(std::move(keys));  // distinct and non-empty by construction
  return v.ok() ? *v : KeyVocabulary();
}

int64_t KeyVocabulary::Symbol(std::string_view key) const {
  auto it = index_.find(std::string(key));
  return it == index_.end() ? kUnknown : it->second;
}

std::string KeyVocabulary::Name(int64_t symbol) const {
  if (symbol == kStart) return "<start>";
  if (symbol == kEnd) return "<end>";
  if (symbol >= kFirstKey && symbol < size()) return keys_[static_cast<size_t>(symbol - kFirstKey)];
  return "<unknown>";
}

std::vector<int64_t> EncodeSession(const KeyVocabulary& vocab, const std::vector<std::string>& keys,
                                   int64_t window) {
  std::vector<int64_t> out(static_cast<size_t>(std::max<int64_t>(window, 0)),
                           KeyVocabulary::kStart);
  out.reserve(out.size() + keys.size() + 1);
  for (const auto& k : keys) out.push_back(vocab.Symbol(k));
  out.push_back(KeyVocabulary::kEnd);
  return out;
}

}  // namespace vigil
