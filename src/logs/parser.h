// The log parsing pipeline for one stream of lines: header format -> content -> masks -> template
// miner. A line the format does not match is malformed: it is still mined (its whole trimmed text
// is the content) and flagged, never dropped.
//
// LogParser owns its format, masker and miner; it is not thread-safe (one per thread). Its state
// (masks and miner, see StateJson) is what `vigil logs parse --state` saves and resumes from.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "logs/format.h"
#include "logs/masks.h"
#include "logs/miner.h"

namespace vigil {

struct ParsedLine {
  int template_id = 0;  // live when returned; resolve later with miner().Resolve
  bool malformed = false;
  std::string_view content;  // into the line given to Parse
};

class LogParser {
 public:
  static Result<LogParser> Create(LogFormat format, const MaskOptions& masks,
                                  const MinerOptions& miner);
  // Continues from a StateJson(); the format is not part of the state.
  static Result<LogParser> FromState(LogFormat format, const nlohmann::json& state);

  ParsedLine Parse(std::string_view line);
  // Splits a line into header fields and content as Parse does (no mining); false if malformed.
  bool Split(std::string_view line, std::vector<std::string_view>* fields,
             std::string_view* content) const;

  const LogFormat& format() const { return format_; }
  const Masker& masker() const { return masker_; }
  const TemplateMiner& miner() const { return miner_; }

  // {"masks": ..., "miner": ...}
  nlohmann::json StateJson() const;

 private:
  LogParser(LogFormat format, Masker masker, TemplateMiner miner)
      : format_(std::move(format)), masker_(std::move(masker)), miner_(std::move(miner)) {}

  LogFormat format_;
  Masker masker_;
  TemplateMiner miner_;
  std::vector<std::string_view> fields_;
  MaskedLine masked_;
};

// The lines of a text: LF or CRLF ends, no empty last line after a final line end.
std::vector<std::string_view> SplitLines(std::string_view text);

// The variable parts of `content` under `tmpl`: for each template token holding "<*>", the raw
// token(s) at that position, without the template's literal prefix and suffix when they fit
// ("blk_<*>" on "blk_-42" gives "-42"). Empty when the masked line does not fit the template.
std::vector<std::string_view> ExtractParameters(const LogTemplate& tmpl, std::string_view content,
                                                const MaskedLine& masked);

}  // namespace vigil
