// libFuzzer target for the syslog decoders the agent's log ingest uses (stream/syslog.h): one
// message (RFC 5424 / RFC 3164) and the TCP framer (octet counting, newline framing).
//
// Checked for any input: ParseSyslog gives a message or a non-empty error; a parsed message has a
// priority in [0, 191], version 0 or 1, and a MSG no longer than the input. The framer gives the
// same frames and errors whether the stream arrives whole or split at any two points (taken from
// the input), every frame is at most max_frame bytes, and frames never hold more bytes than came
// in. No crash, no sanitizer report, no exception.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "stream/syslog.h"

namespace {

struct Out {
  std::vector<std::string> frames, errors;
  size_t bytes = 0;
};

Out Frame(std::string_view text, size_t a, size_t b, size_t max_frame) {
  vigil::SyslogFramer framer(max_frame);
  Out out;
  vigil::SyslogFramer::Sink sink = [&](std::string_view f, std::string_view e) {
    if (e.empty()) {
      if (f.size() > max_frame) std::abort();
      out.bytes += f.size();
      out.frames.emplace_back(f);
    } else {
      out.errors.emplace_back(e);
    }
  };
  framer.Feed(text.substr(0, a), sink);
  framer.Feed(text.substr(a, b - a), sink);
  framer.Feed(text.substr(b), sink);
  framer.Finish(sink);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto m = vigil::ParseSyslog(text);
  if (m.ok()) {
    if (m->priority < 0 || m->priority > 191 || (m->version != 0 && m->version != 1)) std::abort();
    if (m->message.size() > size) std::abort();
  } else if (m.status().message().empty()) {
    std::abort();
  }
  const size_t max_frame = 16 + (size > 0 ? data[0] % 64 : 0);
  size_t a = size > 1 ? data[1] % (size + 1) : 0;
  size_t b = size > 2 ? data[2] % (size + 1) : size;
  if (a > b) std::swap(a, b);
  Out whole = Frame(text, size, size, max_frame);
  Out split = Frame(text, a, b, max_frame);
  if (whole.frames != split.frames || whole.errors != split.errors) std::abort();
  if (whole.bytes > size) std::abort();
  for (const std::string& f : whole.frames) (void)vigil::ParseSyslog(f);
  return 0;
}
