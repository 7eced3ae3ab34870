#include "logs/parser.h"

namespace vigil {

Result<LogParser> LogParser::Create(LogFormat format, const MaskOptions& masks,
                                    const MinerOptions& miner) {
  VIGIL_RETURN_IF_ERROR(ValidateMinerOptions(miner));
  VIGIL_ASSIGN_OR_RETURN(Masker masker, Masker::Create(masks));
  return LogParser(std::move(format), std::move(masker), TemplateMiner(miner));
}

Result<LogParser> LogParser::FromState(LogFormat format, const nlohmann::json& state) {
  if (!state.is_object() || !state.contains("masks") || !state.contains("miner")) {
    return Status::Corruption("parser state: needs 'masks' and 'miner'");
  }
  VIGIL_ASSIGN_OR_RETURN(MaskOptions masks, MaskOptionsFromJson(state["masks"]));
  VIGIL_ASSIGN_OR_RETURN(Masker masker, Masker::Create(masks));
  VIGIL_ASSIGN_OR_RETURN(TemplateMiner miner, TemplateMiner::FromJson(state["miner"]));
  return LogParser(std::move(format), std::move(masker), std::move(miner));
}

bool LogParser::Split(std::string_view line, std::vector<std::string_view>* fields,
                      std::string_view* content) const {
  if (format_.Match(line, fields)) {
    *content = (*fields)[format_.content_index()];
    return true;
  }
  *content = TrimBlanks(line);
  return false;
}

ParsedLine LogParser::Parse(std::string_view line) {
  ParsedLine out;
  out.malformed = !Split(line, &fields_, &out.content);
  masker_.MaskLine(out.content, &masked_);
  out.template_id = miner_.Add(masked_.tokens);
  return out;
}

nlohmann::json LogParser::StateJson() const {
  return {{"masks", MaskOptionsToJson(masker_.options())}, {"miner", miner_.ToJson()}};
}

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

std::vector<std::string_view> ExtractParameters(const LogTemplate& tmpl, std::string_view content,
                                                const MaskedLine& masked) {
  std::vector<std::string_view> params;
  if (tmpl.tokens.size() != masked.size()) return params;
  for (size_t i = 0; i < tmpl.tokens.size(); ++i) {
    std::string_view t = tmpl.tokens[i];
    size_t w = t.find(kWildcard);
    if (w == std::string_view::npos) continue;
    std::string_view raw =
        content.substr(masked.spans[i].first, masked.spans[i].second - masked.spans[i].first);
    std::string_view prefix = t.substr(0, w);
    std::string_view suffix = t.substr(w + kWildcard.size());
    if (!HasWildcard(suffix) && raw.size() >= prefix.size() + suffix.size() &&
        raw.substr(0, prefix.size()) == prefix &&
        raw.substr(raw.size() - suffix.size()) == suffix) {
      raw = raw.substr(prefix.size(), raw.size() - prefix.size() - suffix.size());
    }
    params.push_back(raw);
  }
  return params;
}

}  // namespace vigil
