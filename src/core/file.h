// Whole-file helpers with errors as values.
//
// ReadFile reads a file into memory. WriteFileAtomic writes to a temporary file next to the target,
// fsyncs it and renames it over the target, so a reader sees the old file or the new one, never a
// half-written one. Both are thread-safe (no shared state).
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace vigil {

Result<std::string> ReadFile(const std::string& path);
Status WriteFileAtomic(const std::string& path, std::string_view contents);
bool FileExists(const std::string& path);

}  // namespace vigil
