// Application-layer inspection for the UNSW-NB15 content features: the service name from ports
// and payload, HTTP request depth, methods and response body length, FTP logins and commands, and
// the data connections an FTP control session announces (so they can be named ftp-data).
//
// Inspection is per TCP/UDP segment and looks only at the captured bytes at the start of each
// segment (no stream reassembly): a request line or status line split across segments is missed.
// AppState is a small value embedded in each flow; the functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

namespace vigil {

// UNSW-NB15 service names ("-" when none applies).
enum class Service : uint8_t {
  kNone,
  kHttp,
  kFtp,
  kFtpData,
  kSmtp,
  kSsh,
  kDns,
  kPop3,
  kSsl,
  kSnmp,
  kDhcp,
  kRadius,
  kIrc,
};

const char* ServiceName(Service s);

// Service implied by a server port (TCP or UDP), kNone if none.
Service ServiceFromPort(uint8_t proto, uint16_t port);

// An FTP data endpoint announced by PORT/EPRT (client) or 227/229 replies (server). `addr` is an
// IPv4 address in network byte order (the first 4 bytes) or empty for EPSV (same host as the
// control connection's server).
struct FtpEndpoint {
  bool valid = false;
  bool same_as_server = false;  // 229 reply: the control connection's server address
  uint8_t addr[4] = {0, 0, 0, 0};
  uint16_t port = 0;
};

struct AppState {
  Service payload_service = Service::kNone;  // from payload, overrides the port guess
  uint16_t http_requests = 0;                // request lines seen from the client (trans_depth)
  uint16_t http_methods = 0;                 // requests with GET or POST (ct_flw_http_mthd)
  uint64_t response_body_len = 0;            // Content-Length sum, or body bytes seen
  bool body_until_close = false;             // a response without Content-Length is open
  uint16_t ftp_commands = 0;                 // FTP commands from the client
  uint8_t ftp_user = 0;                      // USER commands
  uint8_t ftp_pass = 0;                      // PASS commands
  uint8_t ftp_logged_in = 0;                 // 230 replies after a PASS
};

// Updates `state` with one segment: `captured` is the captured part of a payload of `payload_len`
// bytes. `from_client` is true for the flow's source side. If the segment announces an FTP data
// endpoint it is written to `*announced` (otherwise left alone).
void InspectPayload(std::string_view captured, uint32_t payload_len, bool from_client,
                    AppState* state, FtpEndpoint* announced);

}  // namespace vigil
