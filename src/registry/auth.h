// Bearer-token access control for the registry: a TOML file of tokens, each with a role.
//
//   [[tokens]]
//   name = "ci"              # optional: recorded as the publisher / actor (default token-N)
//   token = "..."            # at least 16 characters
//   role = "publisher"       # or "reader"; a publisher may also read
//
// Requests carry `Authorization: Bearer TOKEN`. Authorize answers kUnauthenticated (HTTP 401)
// for a missing or unknown token and kForbidden (403) for a known token whose role is too weak.
// Tokens are kept as SHA-256 digests and compared in constant time. A TokenSet built by
// AllowEveryone (`--insecure-no-auth`) lets every request through as a publisher.
//
// Thread safety: immutable after construction; Authorize may be called from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/sha256.h"
#include "core/status.h"

namespace vigil {

enum class Role { kReader = 1, kPublisher = 2 };
const char* RoleName(Role r);

enum class AuthDecision { kAllow, kUnauthenticated, kForbidden };

class TokenSet {
 public:
  // Errors name the file and the line (unknown keys, bad roles, short or duplicate tokens).
  static Result<TokenSet> Load(const std::string& path);
  static Result<TokenSet> Parse(std::string_view toml_text, const std::string& name_for_errors);
  static TokenSet AllowEveryone();

  // `authorization` is the request's Authorization header ("" when absent). On kAllow, *actor
  // receives the token's name ("anonymous" with AllowEveryone).
  AuthDecision Authorize(std::string_view authorization, Role needed, std::string* actor) const;

  bool allow_everyone() const { return allow_everyone_; }
  size_t size() const { return tokens_.size(); }

 private:
  struct Entry {
    std::string name;
    Role role;
    Sha256Digest digest;
  };
  bool allow_everyone_ = false;
  std::vector<Entry> tokens_;
};

}  // namespace vigil
