// Variable masks: the step before template mining that turns the variable parts of a log message
// into the wildcard "<*>" so that lines of one event look alike.
//
// Content is split into tokens on spaces and tabs. Each token loses its surrounding brackets,
// quotes and trailing punctuation for the checks (they stay in the masked token), and then:
//   keys     "key=value" / "key:value" keeps the key and masks only the value;
//   paths    "/a/b", "C:\a", anything with two '/' or two '\' (URLs too) becomes "<*>";
//   hosts    DNS names with a known top-level domain ("node1.example.com") become "<*>";
//   ips      IPv4 and IPv6 addresses, with an optional port, become "<*>";
//   hex      "0x1f", UUIDs, MAC addresses and hex strings of 8+ digits become "<*>";
//   numbers  every letter-digit run holding a digit becomes "<*>" ("blk_-42" -> "blk_<*>",
//            "node-7" -> "node-<*>"), letters before trailing digits are kept ("eth0" -> "eth<*>");
//            a token left with no letters at all becomes a single "<*>";
//   dates    month and weekday names next to a masked token ("Sat Jul 9 11:35:59") become "<*>";
//   units    size units right after a masked number ("5.2 KB") become "<*>";
//   collapse a run of identical masked tokens ("blk_<*> blk_<*> blk_<*>") counts as one token;
//   custom   regular expressions (ECMAScript) from masks.toml: a token whose stripped text matches
//            one entirely becomes "<*>".
// Tokens made only of punctuation ("-", "****") are kept as they are.
//
// masks.toml: booleans named after the kinds above (all true by default) and any number of
//   [[custom]]
//   name = "session"
//   regex = "sess-[a-z0-9]+"
//
// A Masker is immutable after Create and safe to share between threads; MaskLine writes only to
// its output argument. Custom regular expressions use std::regex and are much slower than the
// built-in kinds.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vigil {

inline constexpr std::string_view kWildcard = "<*>";

struct CustomMask {
  std::string name;
  std::string regex;
  bool operator==(const CustomMask&) const = default;
};

struct MaskOptions {
  bool keys = true;
  bool paths = true;
  bool hosts = true;
  bool ips = true;
  bool hex = true;
  bool numbers = true;
  bool dates = true;
  bool units = true;
  bool collapse = true;
  std::vector<CustomMask> custom;
  bool operator==(const MaskOptions&) const = default;
};

// Reads masks.toml text; unknown keys are errors (a typo must not silently disable nothing).
Result<MaskOptions> ParseMaskOptions(std::string_view toml_text, const std::string& path);
Result<MaskOptions> LoadMaskOptions(const std::string& path);
nlohmann::json MaskOptionsToJson(const MaskOptions& options);
Result<MaskOptions> MaskOptionsFromJson(const nlohmann::json& j);

// One masked message: `tokens[i]` is the masked text of the raw bytes content[spans[i]].
struct MaskedLine {
  std::vector<std::string> tokens;
  std::vector<std::pair<uint32_t, uint32_t>> spans;  // [begin, end) offsets into the content
  size_t size() const { return tokens.size(); }
};

class Masker {
 public:
  // InvalidArgument naming the custom mask whose regular expression does not compile.
  static Result<Masker> Create(const MaskOptions& options);

  // Tokenizes and masks `content`, reusing the capacity of `out`.
  void MaskLine(std::string_view content, MaskedLine* out) const;
  // Masks one token (no splitting); for tests and tools.
  std::string MaskToken(std::string_view token) const;

  const MaskOptions& options() const { return options_; }

 private:
  void MaskTokenInto(std::string_view token, std::string* out) const;
  void MaskCore(std::string_view core, std::string* out) const;

  MaskOptions options_;
  std::shared_ptr<const std::vector<std::regex>> custom_;
};

// True when `token` contains the wildcard.
inline bool HasWildcard(std::string_view token) {
  return token.find(kWildcard) != std::string_view::npos;
}

}  // namespace vigil
