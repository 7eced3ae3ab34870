// libFuzzer target for the Fluent Forward decoder (stream/forward.h): msgpack messages in every
// mode, EventTime, options, PackedForward payloads and gzip-compressed ones (inflated with a small
// limit here).
//
// Checked for any input: the streaming decoder gives the same events, errors and acknowledgements
// whether the bytes arrive whole or split at a point taken from the input (as long as neither
// broke the stream), every error has a message, and DecodeMessage on the same bytes does not
// crash. Limits are small so that declared sizes cannot make a run slow or large. No crash, no
// sanitizer report, no exception escaping.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "stream/forward.h"

namespace {

struct Out {
  std::vector<std::string> lines, tags, errors;
  std::string reply;
  bool ok = true;
};

Out Decode(std::string_view text, size_t split, const vigil::ForwardLimits& limits) {
  vigil::ForwardDecoder d(limits);
  Out out;
  vigil::ForwardDecoder::EventSink events = [&](vigil::ForwardEvent&& e) {
    out.lines.push_back(std::move(e.line));
    out.tags.push_back(std::move(e.tag));
  };
  vigil::ForwardDecoder::ErrorSink errors = [&](std::string_view e, std::string_view) {
    if (e.empty()) std::abort();
    out.errors.emplace_back(e);
  };
  out.ok = d.Feed(text.substr(0, split), events, errors, &out.reply);
  if (out.ok) out.ok = d.Feed(text.substr(split), events, errors, &out.reply);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  vigil::ForwardLimits limits;
  limits.max_message = 1 << 16;
  limits.max_inflated = 1 << 20;
  limits.max_entries = 1 << 12;
  const size_t split = size > 0 ? data[0] % (size + 1) : 0;
  Out whole = Decode(text, size, limits);
  Out parts = Decode(text, split, limits);
  if (whole.ok && parts.ok &&
      (whole.lines != parts.lines || whole.tags != parts.tags || whole.errors != parts.errors ||
       whole.reply != parts.reply)) {
    std::abort();
  }
  std::string reply;
  vigil::ForwardDecoder::DecodeMessage(
      text, limits, [](vigil::ForwardEvent&&) {},
      [](std::string_view e, std::string_view) {
        if (e.empty()) std::abort();
      },
      &reply);
  return 0;
}
