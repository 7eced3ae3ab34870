// Syslog decoding for the agent's log ingest: one message (RFC 5424 or RFC 3164) and the framing
// of a TCP stream of them (RFC 6587: octet counting and newline-terminated frames).
//
// ParseSyslog takes one message without transport framing:
//   RFC 5424  "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]": every header
//             field is one token ("-" for none), STRUCTURED-DATA is "-" or [SD-ID param="value"...]
//             elements (\" \] \\ escaped in values), MSG loses a leading UTF-8 BOM.
//   RFC 3164  "<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG", read leniently as relays write it:
//             the timestamp may be missing or ISO 8601, the hostname missing (a token ending in ':'
//             or holding '[' is the tag), the tag missing (the rest is MSG).
// MSG is the log line the agent parses with the header format. A message without a valid PRI
// (1-3 digits, at most 191), an empty one, or a RFC 5424 header that does not fit is malformed:
// an InvalidArgument naming the field and byte offset, never an exception.
//
// SyslogFramer splits a TCP byte stream into messages. At each frame start, a digit means octet
// counting ("LEN SP MSG"); anything else is a frame ending at LF (a CR before it is dropped, NUL
// also ends a frame, as some senders use it). Frames over max_frame bytes are reported as errors
// with their first bytes and skipped without buffering the rest; so are octet counts that are not
// a number or exceed max_frame. Feed may be called with any split of the stream. One framer per
// connection; not thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vigil {

struct SyslogMessage {
  int priority = -1;  // facility * 8 + severity
  int version = 0;    // 1: RFC 5424; 0: RFC 3164
  std::string timestamp, hostname, app_name, procid, msgid, structured_data;
  std::string message;  // MSG
  int facility() const { return priority / 8; }
  int severity() const { return priority % 8; }
};

Result<SyslogMessage> ParseSyslog(std::string_view text);

class SyslogFramer {
 public:
  // frame: a complete message (error empty), or the kept prefix of a bad frame and what is wrong.
  using Sink = std::function<void(std::string_view frame, std::string_view error)>;

  explicit SyslogFramer(size_t max_frame = 64 << 10) : max_frame_(max_frame) {}

  void Feed(std::string_view bytes, const Sink& sink);
  // The connection closed: a last LF frame without its LF is a message; a partial octet-counted
  // frame is an error.
  void Finish(const Sink& sink);

 private:
  enum class State { kStart, kCount, kOctets, kLine, kSkipLine, kSkipOctets };
  void Error(const Sink& sink, std::string_view what);

  size_t max_frame_;
  State state_ = State::kStart;
  std::string buf_;     // the frame (or count digits) so far
  size_t want_ = 0;     // octets still expected (kOctets, kSkipOctets)
  size_t skipped_ = 0;  // bytes of an oversized frame seen
};

}  // namespace vigil
