#include "console/auth.h"

#include <httplib.h>
#include <sodium.h>

#include <nlohmann/json.hpp>

#include "core/sha256.h"

namespace vigil {

std::string RandomHex(size_t n) {
  if (sodium_init() < 0) std::abort();
  std::string bytes(n, '\0');
  randombytes_buf(bytes.data(), n);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

bool SecretEquals(const std::string& a, const std::string& b) {
  // Compare digests: equal length, constant time.
  const Sha256Digest da = Sha256(a), db = Sha256(b);
  return sodium_memcmp(da.data(), db.data(), da.size()) == 0;
}

ConsoleAuth::ConsoleAuth(std::string password, std::string registry_url)
    : password_(std::move(password)), registry_url_(std::move(registry_url)) {
  if (password_.empty()) one_time_ = RandomHex(24);
}

Result<Principal> ConsoleAuth::Check(const std::string& secret) {
  if (secret.empty()) return Status::InvalidArgument("wrong password or token");
  if (!password_.empty() && SecretEquals(secret, password_)) return Principal{"admin", "admin", ""};
  if (!one_time_.empty() && SecretEquals(secret, one_time_)) return Principal{"admin", "admin", ""};
  if (registry_url_.empty()) return Status::InvalidArgument("wrong password or token");

  const std::string key = Sha256Hex(secret);
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = registry_cache_.find(key);
    if (it != registry_cache_.end() && now - it->second.at < std::chrono::seconds(30)) {
      if (!it->second.ok) return Status::InvalidArgument("wrong password or token");
      return it->second.who;
    }
  }
  httplib::Client client(registry_url_);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  auto res = client.Get("/v1/whoami", {{"Authorization", "Bearer " + secret}});
  if (!res) {
    return Status::IOError(registry_url_ + ": cannot ask the registry who this token is (" +
                           httplib::to_string(res.error()) + ")");
  }
  Cached c;
  c.at = now;
  if (res->status == 200) {
    nlohmann::json j = nlohmann::json::parse(res->body, nullptr, false);
    const std::string name = j.is_object() ? j.value("name", "") : "";
    if (!name.empty() && name != "anonymous") {
      c.ok = true;
      c.who = Principal{name, j.value("role", "reader"), secret};
    }
  } else if (res->status >= 500) {
    return Status::IOError(registry_url_ + ": the registry answered " +
                           std::to_string(res->status));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (registry_cache_.size() > 10000) registry_cache_.clear();
    registry_cache_[key] = c;
  }
  if (!c.ok) return Status::InvalidArgument("wrong password or token");
  return c.who;
}

std::string ConsoleAuth::Open(const Principal& who) {
  std::string id = RandomHex(32);
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  for (auto it = sessions_.begin(); it != sessions_.end();) {  // drop expired sessions
    it = now - it->second.last_used > std::chrono::hours(12) ? sessions_.erase(it) : std::next(it);
  }
  sessions_[id] = Session{who, RandomHex(16), now};
  return id;
}

std::optional<Session> ConsoleAuth::Find(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  const auto now = std::chrono::steady_clock::now();
  if (now - it->second.last_used > std::chrono::hours(12)) {
    sessions_.erase(it);
    return std::nullopt;
  }
  it->second.last_used = now;
  return it->second;
}

void ConsoleAuth::Close(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(id);
}

}  // namespace vigil
