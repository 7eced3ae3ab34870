#include "stream/syslog.h"

#include <algorithm>
#include <cctype>

namespace vigil {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

Status Bad(std::string_view what, size_t offset) {
  return Status::InvalidArgument("syslog: " + std::string(what) + " at byte " +
                                 std::to_string(offset));
}

// The next space-delimited token of a RFC 5424 header; false at the end of the text.
bool Token(std::string_view s, size_t* pos, std::string* out) {
  if (*pos >= s.size()) return false;
  const size_t end = std::min(s.find(' ', *pos), s.size());
  if (end == *pos) return false;
  out->assign(s.substr(*pos, end - *pos));
  *pos = end;
  return true;
}

bool Space(std::string_view s, size_t* pos) {
  if (*pos >= s.size() || s[*pos] != ' ') return false;
  ++*pos;
  return true;
}

// STRUCTURED-DATA: "-" or one or more [SD-ID (SP name="value")*] elements.
Status StructuredData(std::string_view s, size_t* pos, std::string* out) {
  const size_t start = *pos;
  if (*pos < s.size() && s[*pos] == '-') {
    ++*pos;
    *out = "-";
    return Status::Ok();
  }
  if (*pos >= s.size() || s[*pos] != '[') return Bad("STRUCTURED-DATA: expected '-' or '['", *pos);
  while (*pos < s.size() && s[*pos] == '[') {
    ++*pos;
    bool in_value = false;
    bool closed = false;
    while (*pos < s.size()) {
      const char c = s[*pos];
      if (in_value) {
        if (c == '\\' && *pos + 1 < s.size()) {
          *pos += 2;
          continue;
        }
        if (c == '"') in_value = false;
      } else if (c == '"') {
        in_value = true;
      } else if (c == ']') {
        closed = true;
        ++*pos;
        break;
      }
      ++*pos;
    }
    if (!closed) return Bad("STRUCTURED-DATA: unterminated element", start);
  }
  out->assign(s.substr(start, *pos - start));
  return Status::Ok();
}

const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// "Mmm dd hh:mm:ss" (dd may be space-padded); its length or 0.
size_t Rfc3164Time(std::string_view s) {
  if (s.size() < 15) return 0;
  bool month = false;
  for (const char* m : kMonths) month |= s.substr(0, 3) == m;
  if (!month || s[3] != ' ') return 0;
  const std::string_view rest = s.substr(4);
  const bool ok = (IsDigit(rest[0]) || rest[0] == ' ') && IsDigit(rest[1]) && rest[2] == ' ' &&
                  IsDigit(rest[3]) && IsDigit(rest[4]) && rest[5] == ':' && IsDigit(rest[6]) &&
                  IsDigit(rest[7]) && rest[8] == ':' && IsDigit(rest[9]) && IsDigit(rest[10]);
  return ok ? 15 : 0;
}

// An ISO 8601 timestamp token ("2026-11-29T12:00:00Z", "2026-11-29T12:00:00.123+01:00").
size_t IsoTime(std::string_view s) {
  if (s.size() < 19 || !IsDigit(s[0]) || s[4] != '-' || s[7] != '-' || s[10] != 'T') return 0;
  return std::min(s.find(' '), s.size());
}

void ParseRfc3164(std::string_view s, SyslogMessage* m) {
  size_t pos = 0;
  size_t t = Rfc3164Time(s);
  if (t == 0) t = IsoTime(s);
  if (t > 0) {
    m->timestamp.assign(s.substr(0, t));
    pos = t;
    while (pos < s.size() && s[pos] == ' ') ++pos;
    // A hostname unless the token is already the tag ("sshd[12]:", "kernel:").
    const size_t end = std::min(s.find(' ', pos), s.size());
    const std::string_view tok = s.substr(pos, end - pos);
    if (!tok.empty() && tok.back() != ':' && tok.find('[') == std::string_view::npos &&
        end < s.size()) {
      m->hostname.assign(tok);
      pos = end + 1;
    }
  }
  // TAG: alphanumerics and a few marks, then "[PID]" and/or ':' and a space.
  size_t i = pos;
  while (i < s.size() && i - pos < 48 &&
         (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_' || s[i] == '-' ||
          s[i] == '.' || s[i] == '/')) {
    ++i;
  }
  size_t after = std::string_view::npos;
  std::string procid;
  if (i > pos && i < s.size() && s[i] == '[') {
    const size_t close = s.find(']', i);
    if (close != std::string_view::npos && close - i <= 32) {
      procid.assign(s.substr(i + 1, close - i - 1));
      after = close + 1;
      if (after < s.size() && s[after] == ':') ++after;
    }
  } else if (i > pos && i < s.size() && s[i] == ':') {
    after = i + 1;
  }
  if (after != std::string_view::npos && (after == s.size() || s[after] == ' ')) {
    m->app_name.assign(s.substr(pos, i - pos));
    m->procid = procid;
    pos = after;
    if (pos < s.size()) ++pos;
  }
  m->message.assign(s.substr(pos));
}

}  // namespace

Result<SyslogMessage> ParseSyslog(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == '\0'))
    s.remove_suffix(1);
  if (s.empty()) return Bad("empty message", 0);
  if (s[0] != '<') return Bad("no PRI ('<' expected)", 0);
  size_t pos = 1;
  int pri = 0;
  while (pos < s.size() && IsDigit(s[pos]) && pos <= 3) pri = pri * 10 + (s[pos++] - '0');
  if (pos == 1 || pos >= s.size() || s[pos] != '>' || pri > 191) return Bad("bad PRI", 1);
  ++pos;
  SyslogMessage m;
  m.priority = pri;
  const std::string_view rest = s.substr(pos);
  if (rest.size() >= 2 && rest[0] == '1' && rest[1] == ' ') {  // RFC 5424
    m.version = 1;
    pos += 2;
    std::string* fields[] = {&m.timestamp, &m.hostname, &m.app_name, &m.procid, &m.msgid};
    const char* names[] = {"TIMESTAMP", "HOSTNAME", "APP-NAME", "PROCID", "MSGID"};
    for (size_t f = 0; f < 5; ++f) {
      if (!Token(s, &pos, fields[f]) || !Space(s, &pos)) {
        return Bad(std::string(names[f]) + " missing", pos);
      }
    }
    VIGIL_RETURN_IF_ERROR(StructuredData(s, &pos, &m.structured_data));
    if (pos < s.size()) {
      if (s[pos] != ' ') return Bad("space expected after STRUCTURED-DATA", pos);
      ++pos;
      std::string_view msg = s.substr(pos);
      if (msg.substr(0, 3) == "\xEF\xBB\xBF") msg.remove_prefix(3);
      m.message.assign(msg);
    }
    return m;
  }
  ParseRfc3164(rest, &m);
  return m;
}

void SyslogFramer::Error(const Sink& sink, std::string_view what) {
  sink(std::string_view(buf_).substr(0, std::min<size_t>(buf_.size(), 4096)), what);
  buf_.clear();
}

void SyslogFramer::Feed(std::string_view bytes, const Sink& sink) {
  size_t i = 0;
  while (i < bytes.size()) {
    switch (state_) {
      case State::kStart:
        buf_.clear();
        skipped_ = 0;
        if (bytes[i] == '\n' || bytes[i] == '\r' || bytes[i] == '\0' || bytes[i] == ' ') {
          ++i;  // blank between frames
        } else if (IsDigit(bytes[i])) {
          state_ = State::kCount;
        } else {
          state_ = State::kLine;
        }
        break;
      case State::kCount: {
        const char c = bytes[i];
        if (IsDigit(c) && buf_.size() < 10) {
          buf_.push_back(c);
          ++i;
        } else if (c == ' ' && !buf_.empty()) {
          ++i;
          want_ = std::stoull(buf_);
          buf_.clear();
          if (want_ == 0) {
            state_ = State::kStart;
          } else if (want_ > max_frame_) {
            buf_ = "octet count " + std::to_string(want_);
            Error(sink, "octet count over the frame limit");
            state_ = State::kSkipOctets;
          } else {
            state_ = State::kOctets;
          }
        } else {
          // Not "LEN SP": not octet counting after all; the frame is malformed up to the next LF.
          Error(sink, "bad octet count");
          state_ = State::kSkipLine;
        }
        break;
      }
      case State::kOctets: {
        const size_t n = std::min(want_, bytes.size() - i);
        buf_.append(bytes.substr(i, n));
        i += n;
        want_ -= n;
        if (want_ == 0) {
          sink(buf_, {});
          buf_.clear();
          state_ = State::kStart;
        }
        break;
      }
      case State::kSkipOctets: {
        const size_t n = std::min(want_, bytes.size() - i);
        i += n;
        want_ -= n;
        if (want_ == 0) state_ = State::kStart;
        break;
      }
      case State::kLine: {
        const size_t end =
            std::min(bytes.find_first_of(std::string_view("\n\0", 2), i), bytes.size());
        const size_t n = end - i;
        if (buf_.size() + n > max_frame_) {
          buf_.append(bytes.substr(i, max_frame_ - buf_.size()));
          Error(sink, "frame over the size limit");
          state_ = State::kSkipLine;
          i += std::min(n, max_frame_);  // the rest is skipped in kSkipLine
          break;
        }
        buf_.append(bytes.substr(i, n));
        i = end;
        if (end < bytes.size()) {
          ++i;
          if (!buf_.empty() && buf_.back() == '\r') buf_.pop_back();
          if (!buf_.empty()) sink(buf_, {});
          buf_.clear();
          state_ = State::kStart;
        }
        break;
      }
      case State::kSkipLine: {
        const size_t end = bytes.find_first_of(std::string_view("\n\0", 2), i);
        if (end == std::string_view::npos) {
          i = bytes.size();
        } else {
          i = end + 1;
          state_ = State::kStart;
        }
        break;
      }
    }
  }
}

void SyslogFramer::Finish(const Sink& sink) {
  if (state_ == State::kLine && !buf_.empty()) {
    if (buf_.back() == '\r') buf_.pop_back();
    if (!buf_.empty()) sink(buf_, {});
  } else if (state_ == State::kOctets || state_ == State::kCount) {
    Error(sink, "connection closed inside a frame");
  }
  buf_.clear();
  state_ = State::kStart;
}

}  // namespace vigil
