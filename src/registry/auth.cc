#include "registry/auth.h"

#include <sodium.h>
#include <toml++/toml.h>

#include "core/file.h"

namespace vigil {
namespace {

constexpr size_t kMinTokenLength = 16;

std::string At(const std::string& file, const toml::node& n) {
  return file + ":" + std::to_string(n.source().begin.line) + ": ";
}

}  // namespace

const char* RoleName(Role r) { return r == Role::kPublisher ? "publisher" : "reader"; }

Result<TokenSet> TokenSet::Load(const std::string& path) {
  VIGIL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return Parse(text, path);
}

Result<TokenSet> TokenSet::Parse(std::string_view toml_text, const std::string& file) {
  toml::table root;
  try {
    root = toml::parse(toml_text, file);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(file + ":" + std::to_string(e.source().begin.line) + ":" +
                                   std::to_string(e.source().begin.column) + ": " +
                                   std::string(e.description()));
  }
  TokenSet set;
  for (const auto& [key, node] : root) {
    if (key != "tokens") {
      return Status::InvalidArgument(At(file, node) + "unknown key '" + std::string(key.str()) +
                                     "' (expected [[tokens]] tables)");
    }
  }
  const toml::array* tokens = root["tokens"].as_array();
  if (tokens == nullptr || tokens->empty()) {
    return Status::InvalidArgument(file + ": no [[tokens]] table: give at least one token");
  }
  for (const toml::node& item : *tokens) {
    const toml::table* t = item.as_table();
    if (t == nullptr) return Status::InvalidArgument(At(file, item) + "tokens must be tables");
    Entry e;
    std::string token, role;
    for (const auto& [key, node] : *t) {
      const std::string k(key.str());
      auto value = node.value<std::string>();
      if (k != "name" && k != "token" && k != "role") {
        return Status::InvalidArgument(At(file, node) + "unknown key '" + k +
                                       "' in [[tokens]] (name, token, role)");
      }
      if (!value) return Status::InvalidArgument(At(file, node) + "'" + k + "' must be a string");
      (k == "name" ? e.name : k == "token" ? token : role) = *value;
    }
    if (token.size() < kMinTokenLength) {
      return Status::InvalidArgument(At(file, item) + "token is missing or shorter than " +
                                     std::to_string(kMinTokenLength) + " characters");
    }
    if (role == "publisher") {
      e.role = Role::kPublisher;
    } else if (role == "reader") {
      e.role = Role::kReader;
    } else {
      return Status::InvalidArgument(At(file, item) + "role '" + role +
                                     "' must be \"publisher\" or \"reader\"");
    }
    if (e.name.empty()) e.name = "token-" + std::to_string(set.tokens_.size() + 1);
    e.digest = Sha256(token);
    sodium_memzero(token.data(), token.size());
    for (const Entry& other : set.tokens_) {
      if (other.digest == e.digest) {
        return Status::InvalidArgument(At(file, item) + "the same token appears twice");
      }
    }
    set.tokens_.push_back(std::move(e));
  }
  return set;
}

TokenSet TokenSet::AllowEveryone() {
  TokenSet set;
  set.allow_everyone_ = true;
  return set;
}

AuthDecision TokenSet::Authorize(std::string_view authorization, Role needed,
                                 std::string* actor) const {
  if (allow_everyone_) {
    *actor = "anonymous";
    return AuthDecision::kAllow;
  }
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() ||
      authorization.substr(0, kBearer.size()) != kBearer) {
    return AuthDecision::kUnauthenticated;
  }
  const Sha256Digest digest = Sha256(authorization.substr(kBearer.size()));
  const Entry* match = nullptr;
  for (const Entry& e : tokens_) {  // every entry is compared: the time does not depend on which
    if (sodium_memcmp(e.digest.data(), digest.data(), digest.size()) == 0) match = &e;
  }
  if (match == nullptr) return AuthDecision::kUnauthenticated;
  if (static_cast<int>(match->role) < static_cast<int>(needed)) return AuthDecision::kForbidden;
  *actor = match->name;
  return AuthDecision::kAllow;
}

}  // namespace vigil
