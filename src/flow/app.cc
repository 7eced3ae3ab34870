#include "flow/app.h"

#include <cstddef>

#include "flow/packet.h"

namespace vigil {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (Lower(s[i]) != Lower(prefix[i])) return false;
  }
  return true;
}

// Position of `needle` in `s` ignoring ASCII case, or npos.
size_t FindNoCase(std::string_view s, std::string_view needle) {
  if (needle.empty() || s.size() < needle.size()) return std::string_view::npos;
  for (size_t i = 0; i + needle.size() <= s.size(); ++i) {
    if (StartsWithNoCase(s.substr(i), needle)) return i;
  }
  return std::string_view::npos;
}

// Reads a decimal number at the start of `s` (after spaces); false if there is none or it is
// absurdly long.
bool LeadingNumber(std::string_view s, uint64_t* value) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  size_t digits = 0;
  uint64_t v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9' && digits < 18) {
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
    ++i;
    ++digits;
  }
  if (digits == 0) return false;
  *value = v;
  return true;
}

// "GET / HTTP/1.1": a known method token followed by a space.
bool HttpRequestLine(std::string_view s, bool* get_or_post) {
  static constexpr std::string_view kMethods[] = {
      "GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "TRACE ", "CONNECT ", "PATCH "};
  for (std::string_view m : kMethods) {
    if (StartsWith(s, m)) {
      *get_or_post = m == "GET " || m == "POST ";
      return true;
    }
  }
  return false;
}

void InspectHttpResponse(std::string_view s, uint32_t payload_len, AppState* st) {
  st->payload_service = Service::kHttp;
  st->body_until_close = false;
  size_t header_end = s.find("\r\n\r\n");
  size_t cl = FindNoCase(s.substr(0, header_end), "\r\nContent-Length:");
  uint64_t length = 0;
  if (cl != std::string_view::npos &&
      LeadingNumber(s.substr(cl + sizeof("\r\nContent-Length:") - 1), &length)) {
    st->response_body_len += length;
    return;
  }
  if (header_end == std::string_view::npos) return;
  // No length: count the body bytes as they come.
  size_t body_start = header_end + 4;
  if (payload_len > body_start) st->response_body_len += payload_len - body_start;
  st->body_until_close = true;
}

// Parses "h1,h2,h3,h4,p1,p2" (PORT argument and 227 reply).
bool ParseHostPort(std::string_view s, FtpEndpoint* ep) {
  uint64_t v[6];
  size_t i = 0;
  for (int k = 0; k < 6; ++k) {
    uint64_t x = 0;
    size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && digits < 4) {
      x = x * 10 + static_cast<uint64_t>(s[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || x > 255) return false;
    v[k] = x;
    if (k < 5) {
      if (i >= s.size() || s[i] != ',') return false;
      ++i;
    }
  }
  for (int k = 0; k < 4; ++k) ep->addr[k] = static_cast<uint8_t>(v[k]);
  ep->port = static_cast<uint16_t>(v[4] * 256 + v[5]);
  ep->valid = ep->port != 0;
  return ep->valid;
}

bool IsFtpCommandChar(char c) { return c >= 'A' && c <= 'Z'; }

void InspectFtpClient(std::string_view s, AppState* st, FtpEndpoint* announced) {
  // A command is 3 or 4 upper-case letters then a space or CRLF.
  size_t n = 0;
  while (n < s.size() && n < 5 && IsFtpCommandChar(s[n])) ++n;
  if (n < 3 || n > 4 || n >= s.size() || (s[n] != ' ' && s[n] != '\r')) return;
  std::string_view cmd = s.substr(0, n);
  if (st->ftp_commands < UINT16_MAX) ++st->ftp_commands;
  if (cmd == "USER" && st->ftp_user < UINT8_MAX) ++st->ftp_user;
  if (cmd == "PASS" && st->ftp_pass < UINT8_MAX) ++st->ftp_pass;
  if (cmd == "PORT") {
    FtpEndpoint ep;
    if (ParseHostPort(s.substr(n + 1), &ep)) *announced = ep;
  }
}

void InspectFtpServer(std::string_view s, AppState* st, FtpEndpoint* announced) {
  if (StartsWith(s, "230") && st->ftp_pass > st->ftp_logged_in && st->ftp_logged_in < UINT8_MAX) {
    ++st->ftp_logged_in;
  } else if (StartsWith(s, "227")) {
    size_t open = s.find('(');
    FtpEndpoint ep;
    if (open != std::string_view::npos && ParseHostPort(s.substr(open + 1), &ep)) *announced = ep;
  } else if (StartsWith(s, "229")) {
    size_t open = s.find("(|||");
    uint64_t port = 0;
    if (open != std::string_view::npos && LeadingNumber(s.substr(open + 4), &port) && port > 0 &&
        port <= 65535) {
      FtpEndpoint ep;
      ep.valid = true;
      ep.same_as_server = true;
      ep.port = static_cast<uint16_t>(port);
      *announced = ep;
    }
  } else if (StartsWith(s, "220 ") &&
             FindNoCase(s.substr(0, 128), "ftp") != std::string_view::npos) {
    if (st->payload_service == Service::kNone) st->payload_service = Service::kFtp;
  }
}

}  // namespace

const char* ServiceName(Service s) {
  switch (s) {
    case Service::kNone:
      return "-";
    case Service::kHttp:
      return "http";
    case Service::kFtp:
      return "ftp";
    case Service::kFtpData:
      return "ftp-data";
    case Service::kSmtp:
      return "smtp";
    case Service::kSsh:
      return "ssh";
    case Service::kDns:
      return "dns";
    case Service::kPop3:
      return "pop3";
    case Service::kSsl:
      return "ssl";
    case Service::kSnmp:
      return "snmp";
    case Service::kDhcp:
      return "dhcp";
    case Service::kRadius:
      return "radius";
    case Service::kIrc:
      return "irc";
  }
  return "-";
}

Service ServiceFromPort(uint8_t proto, uint16_t port) {
  if (proto == kProtoTcp) {
    switch (port) {
      case 80:
      case 8080:
        return Service::kHttp;
      case 21:
        return Service::kFtp;
      case 20:
        return Service::kFtpData;
      case 25:
      case 587:
        return Service::kSmtp;
      case 22:
        return Service::kSsh;
      case 53:
        return Service::kDns;
      case 110:
        return Service::kPop3;
      case 443:
        return Service::kSsl;
      case 194:
      case 6667:
        return Service::kIrc;
      default:
        return Service::kNone;
    }
  }
  if (proto == kProtoUdp) {
    switch (port) {
      case 53:
        return Service::kDns;
      case 161:
      case 162:
        return Service::kSnmp;
      case 67:
      case 68:
        return Service::kDhcp;
      case 1812:
      case 1813:
        return Service::kRadius;
      default:
        return Service::kNone;
    }
  }
  return Service::kNone;
}

void InspectPayload(std::string_view captured, uint32_t payload_len, bool from_client,
                    AppState* state, FtpEndpoint* announced) {
  if (payload_len == 0) return;
  if (from_client) {
    bool get_or_post = false;
    if (HttpRequestLine(captured, &get_or_post)) {
      state->payload_service = Service::kHttp;
      if (state->http_requests < UINT16_MAX) ++state->http_requests;
      if (get_or_post && state->http_methods < UINT16_MAX) ++state->http_methods;
      return;
    }
    InspectFtpClient(captured, state, announced);
    return;
  }
  if (StartsWith(captured, "HTTP/1.")) {
    InspectHttpResponse(captured, payload_len, state);
    return;
  }
  if (state->body_until_close) {
    state->response_body_len += payload_len;
    return;
  }
  InspectFtpServer(captured, state, announced);
}

}  // namespace vigil
