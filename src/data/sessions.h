// Log-key sessions: the input of session models such as DeepLog.
//
// A session is the ordered list of log keys (template ids, e.g. "5" or "E5") that one entity wrote:
// an HDFS block, an OpenStack instance, a time window. Two file formats hold them, as in the
// DeepLog and logdeep HDFS sets:
//   "sessions"      one session per line, keys separated by blanks; no label (a training file of
//                   normal sessions, or a file to score). Blank lines are skipped; CR, trailing
//                   blanks and a missing final newline are fine.
//   "sessions-csv"  CSV with a header naming a `Sequence` column (blank-separated keys) and a
//                   `label` column (0/normal = normal, 1/anomaly/attack = anomaly), matched by name
//                   case-insensitively; other columns are ignored. Without a label column the file
//                   has no labels (a file to score).
// A session with no key (an empty Sequence field) is kept: it has only its end to be judged.
//
// KeyVocabulary maps key text to the integer symbols a model sees; three symbols come first: the
// start symbol that pads a session's beginning, the end-of-session symbol, and the symbol of every
// key not seen in training. EncodeSession turns a session into
// [start x window] k1 ... kn [end], so that every key and the end are predicted from the `window`
// symbols before them, even in sessions shorter than the window.
//
// Errors are values: InvalidArgument "PATH:LINE: ..." for a malformed file, IOError when it cannot
// be read. Plain values; stateless functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace vigil {

struct SessionSet {
  std::string source_path;                     // for messages
  std::vector<std::vector<std::string>> keys;  // per session, in order
  std::vector<size_t> lines;                   // 1-based source line of each session
  std::vector<uint8_t> labels;                 // per session, 0 normal / 1 anomaly; empty if none

  size_t size() const { return keys.size(); }
  bool has_labels() const { return !labels.empty(); }
};

// True for "sessions" and "sessions-csv".
bool IsSessionFormat(const std::string& format);
// "sessions-csv" when the first non-blank line names a `Sequence` column, else "sessions".
std::string DetectSessionFormat(std::string_view text);

// Reads a session file of the given format (see above). An empty format is detected: a first line
// with a `Sequence` column is sessions-csv, anything else sessions. With require_labels, a file
// without a label column is an error (format "sessions" never has one: the caller labels it).
Result<SessionSet> ReadSessions(const std::string& path, const std::string& format,
                                bool require_labels = false);
Result<SessionSet> ParseSessions(std::string_view text, const std::string& path,
                                 const std::string& format, bool require_labels = false);

class KeyVocabulary {
 public:
  static constexpr int64_t kStart = 0;
  static constexpr int64_t kEnd = 1;
  static constexpr int64_t kUnknown = 2;
  static constexpr int64_t kFirstKey = 3;

  KeyVocabulary() = default;
  // Keys in symbol order (symbol kFirstKey + i is keys[i]); duplicates are an error.
  static Result<KeyVocabulary> FromKeys(std::vector<std::string> keys);
  // Every distinct key of the sessions, sorted (numerically when all keys are integers).
  static KeyVocabulary Build(const SessionSet& sessions);

  int64_t size() const { return kFirstKey + static_cast<int64_t>(keys_.size()); }
  const std::vector<std::string>& keys() const { return keys_; }
  // The key's symbol, or kUnknown.
  int64_t Symbol(std::string_view key) const;
  // The key text of a symbol: "<start>", "<end>", "<unknown>" for the three special ones.
  std::string Name(int64_t symbol) const;

 private:
  std::vector<std::string> keys_;
  std::unordered_map<std::string, int64_t> index_;
};

// [kStart x window] symbols of `keys` [kEnd]: window + keys.size() + 1 symbols.
std::vector<int64_t> EncodeSession(const KeyVocabulary& vocab, const std::vector<std::string>& keys,
                                   int64_t window);

}  // namespace vigil
