// HTTP glue shared by the agent and the registry: listen addresses and a hardened cpp-httplib
// server configuration.
//
// ParseListen accepts "HOST:PORT", "[V6]:PORT" and ":PORT" (meaning 127.0.0.1: vigil binds to the
// loopback unless told otherwise); port 0 asks the system for a free port. HardenServer sets the
// limits every vigil server runs with: a maximum body size (larger requests get 413), read and
// write timeouts (a slow client cannot hold a thread), and a bounded worker pool. Stateless.
#pragma once

#include <httplib.h>

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"

namespace vigil {

struct ListenAddress {
  std::string host;
  int port = 0;
};

Result<ListenAddress> ParseListen(const std::string& spec);

struct ServerLimits {
  size_t max_body_bytes = 64u << 20;
  int read_timeout_s = 10;
  int write_timeout_s = 10;
  size_t threads = 8;
};

void HardenServer(httplib::Server* server, const ServerLimits& limits);

// JSON answers every vigil server gives: `body` with status `code`, or {"error": message}.
void JsonReply(httplib::Response& res, int code, const nlohmann::json& body);
void JsonError(httplib::Response& res, int code, const std::string& message);

// Reads the integer query parameter `name` into `*out` (left as is when absent). A value that is
// not an integer, or lies outside [lo, hi], answers 400 naming the parameter and the range, and
// returns false.
bool IntParam(const httplib::Request& req, httplib::Response& res, const char* name, int64_t lo,
              int64_t hi, int64_t* out);

// Binds `server` to the address; on success returns the bound port (useful with port 0).
Result<int> Bind(httplib::Server* server, const ListenAddress& addr);

}  // namespace vigil
