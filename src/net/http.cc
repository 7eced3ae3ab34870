#include "net/http.h"

#include <charconv>

#include "core/json_text.h"

namespace vigil {

Result<ListenAddress> ParseListen(const std::string& spec) {
  const size_t colon = spec.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument("listen address '" + spec + "': expected HOST:PORT");
  }
  ListenAddress a;
  a.host = spec.substr(0, colon);
  if (a.host.size() >= 2 && a.host.front() == '[' && a.host.back() == ']') {
    a.host = a.host.substr(1, a.host.size() - 2);
  }
  if (a.host.empty()) a.host = "127.0.0.1";
  const std::string port = spec.substr(colon + 1);
  auto r = std::from_chars(port.data(), port.data() + port.size(), a.port);
  if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || a.port < 0 ||
      a.port > 65535) {
    return Status::InvalidArgument("listen address '" + spec + "': port '" + port +
                                   "' is not a number from 0 to 65535");
  }
  return a;
}

void HardenServer(httplib::Server* server, const ServerLimits& limits) {
  server->set_payload_max_length(limits.max_body_bytes);
  server->set_read_timeout(limits.read_timeout_s, 0);
  server->set_write_timeout(limits.write_timeout_s, 0);
  server->set_keep_alive_max_count(1000);
  const size_t threads = limits.threads;
  server->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
}

void JsonReply(httplib::Response& res, int code, const nlohmann::json& body) {
  res.status = code;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

bool IntParam(const httplib::Request& req, httplib::Response& res, const char* name, int64_t lo,
              int64_t hi, int64_t* out) {
  if (!req.has_param(name)) return true;
  const std::string v = req.get_param_value(name);
  try {
    size_t used = 0;
    const long long n = std::stoll(v, &used);
    if (used == v.size() && n >= lo && n <= hi) {
      *out = n;
      return true;
    }
  } catch (const std::exception&) {
  }
  JsonError(res, 400,
            std::string("query parameter '") + name + "' must be an integer from " +
                std::to_string(lo) + " to " + std::to_string(hi));
  return false;
}

void JsonError(httplib::Response& res, int code, const std::string& message) {
  std::string body = "{\"error\":";
  AppendJsonString(&body, message);
  body += "}";
  res.status = code;
  res.set_content(body, "application/json");
}

Result<int> Bind(httplib::Server* server, const ListenAddress& addr) {
  int port = addr.port;
  if (port == 0) {
    port = server->bind_to_any_port(addr.host);
  } else if (!server->bind_to_port(addr.host, port)) {
    port = -1;
  }
  if (port < 0) {
    return Status::IOError("cannot listen on " + addr.host + ":" + std::to_string(addr.port) +
                           " (address in use, or not an address of this machine)");
  }
  return port;
}

}  // namespace vigil
