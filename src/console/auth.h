// ConsoleAuth: who may use the console, and their sessions.
//
// Secrets: the configured password, else a one-time token made at start (printed by the caller
// in the URL it tells the user to open); and, with a registry, the registry's tokens, asked of its
// /v1/whoami (cached 30 s; an open registry, which calls everyone "anonymous", grants nothing).
// The password and the one-time token give the role "admin"; a registry token the registry's role
// ("publisher" or "reader"). Readers may only read.
//
// Sessions: an unguessable id (the cookie) mapping to the principal, a CSRF token that every
// non-GET request made with the cookie must echo in X-CSRF-Token, and the registry token to act
// with. Sessions expire after 12 hours idle. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/status.h"

namespace vigil {

struct Principal {
  std::string user;
  std::string role;            // admin, publisher, reader
  std::string registry_token;  // the token to forward to the registry ("" for admin: the
                               // console's own --registry-token-file)
  bool can_write() const { return role == "admin" || role == "publisher"; }
};

struct Session {
  Principal who;
  std::string csrf;
  std::chrono::steady_clock::time_point last_used;
};

class ConsoleAuth {
 public:
  ConsoleAuth(std::string password, std::string registry_url);

  // The one-time token ("" when a password is configured).
  const std::string& one_time_token() const { return one_time_; }
  // Checks a password or token. kUnauthenticated (as InvalidArgument "wrong password or token")
  // when nothing matches; IOError when the registry cannot be asked.
  Result<Principal> Check(const std::string& secret);

  // A new session for `who`: returns its id.
  std::string Open(const Principal& who);
  std::optional<Session> Find(const std::string& id);
  void Close(const std::string& id);

 private:
  std::string password_, one_time_, registry_url_;
  std::mutex mu_;
  std::map<std::string, Session> sessions_;
  struct Cached {
    Principal who;
    bool ok = false;
    std::chrono::steady_clock::time_point at;
  };
  std::map<std::string, Cached> registry_cache_;  // by SHA-256 of the token
};

// n random bytes as lowercase hex (libsodium's generator).
std::string RandomHex(size_t n);
// Compares in time independent of where they differ.
bool SecretEquals(const std::string& a, const std::string& b);

}  // namespace vigil
