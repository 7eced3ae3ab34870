// libFuzzer target for the log header format parser, format detection, the masks and the template
// miner.
//
// The input's first line is a format spec and the rest are log lines. Checked for any input: a spec
// parses or gives a non-empty error; every match gives one field per name, each inside the line;
// the detected spec always parses; masked tokens and their spans agree and lie inside the content;
// every line gets a live template of its own token count; the miner's state survives a JSON round
// trip unchanged. No crash, no sanitizer report, no exception.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "logs/detect.h"
#include "logs/format.h"
#include "logs/masks.h"
#include "logs/miner.h"
#include "logs/parser.h"

namespace {

bool Inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t eol = text.find('\n');
  std::string_view spec = text.substr(0, eol);
  std::string_view body = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
  std::vector<std::string_view> lines = vigil::SplitLines(body);

  auto format = vigil::LogFormat::Parse(spec);
  if (!format.ok() && format.status().message().empty()) std::abort();
  auto detected = vigil::LogFormat::Parse(vigil::DetectFormatSpec(lines));
  if (!detected.ok()) std::abort();
  const vigil::LogFormat& f = format.ok() ? *format : *detected;

  static const vigil::Masker masker = *vigil::Masker::Create({});
  vigil::MinerOptions options;
  options.merge_distinct = 2 + static_cast<int>(size % 4);
  options.max_children = 1 + static_cast<int>(size % 7);
  vigil::TemplateMiner miner(options);
  std::vector<std::string_view> fields;
  vigil::MaskedLine masked;
  for (std::string_view line : lines) {
    std::string_view content = vigil::TrimBlanks(line);
    if (f.Match(line, &fields)) {
      if (fields.size() != f.field_names().size()) std::abort();
      for (std::string_view field : fields) {
        if (!Inside(field, line)) std::abort();
      }
      content = fields[f.content_index()];
    }
    masker.MaskLine(content, &masked);
    if (masked.tokens.size() != masked.spans.size()) std::abort();
    for (const auto& [begin, end] : masked.spans) {
      if (begin >= end || end > content.size()) std::abort();
    }
    int id = miner.Add(masked.tokens);
    if (id < 1 || id > static_cast<int>(miner.size())) std::abort();
    const vigil::LogTemplate& t = miner.Get(miner.Resolve(id));
    if (t.alias != t.id || t.tokens.size() != masked.tokens.size()) std::abort();
    (void)vigil::ExtractParameters(t, content, masked);
  }
  nlohmann::json state = miner.ToJson();
  auto reloaded = vigil::TemplateMiner::FromJson(state);
  if (!reloaded.ok() || reloaded->ToJson() != state) std::abort();
  return 0;
}
