// The Fluent Forward protocol (v1) as the agent receives it, so fluentd's and fluent-bit's
// `forward` outputs can ship logs to it: a TCP stream of msgpack arrays, decoded with msgpack-cxx.
//   Message                  [tag, time, record(, option)]
//   Forward                  [tag, [[time, record], ...](, option)]
//   PackedForward            [tag, bin|str of concatenated msgpack [time, record] entries(,
//   option)] CompressedPackedForward  the same with option {"compressed": "gzip"} (gzip members,
//   possibly
//                            several, inflated with zlib up to max_inflated bytes)
// time is an integer, a float or the EventTime extension (type 0: seconds and nanoseconds, big
// endian). The log line of a record is the first of `line_keys` it holds as a string or binary
// ("log" for fluent-bit's tail input, "message" for its syslog input and fluentd's). An option map
// with "chunk" is answered with {"ack": chunk} once the message's entries are handed on, which is
// what require_ack_response (fluentd) and Require_ack_response (fluent-bit) wait for. The
// handshake of shared-key authentication (HELO/PING/PONG) and TLS are not supported.
//
// Malformed input is kept, never dropped silently: an entry that is not [time, record], a record
// without a line, a bad packed or compressed payload is reported to the error sink with a JSON
// rendering of what was received (at most 4 KiB) and the others of the message still go through
// (and the chunk is still acknowledged: resending it would not make it valid). Bytes that are not
// msgpack at all, or a message over max_message bytes, cannot be resynchronised: Feed returns false
// after reporting it and the caller closes the connection. Nesting (16), arrays (16,384 items: a
// Forward-mode message holds at most that many entries; PackedForward payloads are not arrays),
// maps (4,096 keys), strings and binaries (max_message) are limited before anything is allocated.
//
// One decoder per connection; not thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vigil {

struct ForwardEvent {
  std::string tag;
  double time = 0;   // seconds since the epoch
  std::string line;  // the record's log line
};

struct ForwardLimits {
  size_t max_message = 16u << 20;   // bytes of one msgpack message on the wire
  size_t max_inflated = 64u << 20;  // bytes of a decompressed PackedForward payload
  size_t max_entries = 1u << 20;    // entries of one message
  std::vector<std::string> line_keys = {"log", "message", "msg", "MESSAGE"};
};

class ForwardDecoder {
 public:
  using EventSink = std::function<void(ForwardEvent&& event)>;
  // what went wrong, and the received item rendered as JSON (truncated).
  using ErrorSink = std::function<void(std::string_view error, std::string_view raw)>;

  explicit ForwardDecoder(ForwardLimits limits = {});
  ~ForwardDecoder();
  ForwardDecoder(ForwardDecoder&&) noexcept;

  // Decodes what `bytes` completes; acknowledgements to send back are appended to *reply.
  // False: the stream is broken (reported to `errors`); close the connection.
  bool Feed(std::string_view bytes, const EventSink& events, const ErrorSink& errors,
            std::string* reply);

  // Decodes one whole message (a test and fuzzing seam; the same path Feed takes).
  static void DecodeMessage(std::string_view message, const ForwardLimits& limits,
                            const EventSink& events, const ErrorSink& errors, std::string* reply);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Encodes {"ack": chunk} (what the decoder sends back).
std::string ForwardAck(std::string_view chunk);

}  // namespace vigil
