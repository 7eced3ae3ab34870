// Fast JSON text output for hot paths (the agent writes one JSON line per scored record).
//
// AppendJsonString writes a quoted, escaped JSON string. Input that is not valid UTF-8 (a record's
// raw bytes can be anything) never produces invalid JSON: each invalid byte becomes U+FFFD.
// AppendJsonNumber writes the shortest text that reads back to the same double; NaN and Inf, which
// JSON cannot express, are written as null. Stateless and thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace vigil {

void AppendJsonString(std::string* out, std::string_view s);
void AppendJsonNumber(std::string* out, double v);
// The shortest text that reads back to the same float (scores are float32).
void AppendJsonFloat(std::string* out, float v);
// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code points > U+10FFFF).
bool IsValidUtf8(std::string_view s);

}  // namespace vigil
