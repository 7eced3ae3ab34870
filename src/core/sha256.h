// SHA-256 (OpenSSL EVP) over memory or a file, as raw bytes or lowercase hex.
// Stateless and thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vigil {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(std::string_view data);
std::string ToHex(const uint8_t* bytes, size_t n);
inline std::string Sha256Hex(std::string_view data) {
  auto d = Sha256(data);
  return ToHex(d.data(), d.size());
}
// Streams the file in chunks; lowercase hex.
Result<std::string> Sha256FileHex(const std::string& path);

}  // namespace vigil
