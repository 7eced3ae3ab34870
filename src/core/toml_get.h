// Typed reads of toml++ values for the config-file loaders (train, agent). Stateless.
#pragma once

#include <toml++/toml.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>

namespace vigil {

// Stores the node's value in *out when it has T's type (any integer for integral T); false if not.
template <typename T>
bool TomlGet(const toml::node& n, T* out) {
  if constexpr (std::is_same_v<T, double>) {
    if (auto v = n.value<double>()) return *out = *v, true;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (auto v = n.value<bool>()) return *out = *v, true;
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (auto v = n.value<std::string>()) return *out = *v, true;
  } else {
    if (auto v = n.value<int64_t>()) return *out = static_cast<T>(*v), true;
  }
  return false;
}

// "batch-max" and "batch_max" name the same key.
inline std::string TomlKey(std::string key) {
  std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

}  // namespace vigil
