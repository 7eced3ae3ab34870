// Reads a file line by line in 1 MiB chunks, so that logs of any size parse in bounded memory.
//
// Lines end at LF; a CR before the LF is dropped; the last line needs no line end (as SplitLines
// in parser.h). An optional hook sees every chunk of raw bytes as it is read (for hashing).
// Not thread-safe; the view Next returns is valid until the next call.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vigil {

class LineReader {
 public:
  using ChunkHook = std::function<void(std::string_view bytes)>;

  // Opens `path` and seeks to byte `offset`. NotFound / IOError name the file.
  static Result<LineReader> Open(const std::string& path, uint64_t offset, ChunkHook hook = {});
  LineReader(LineReader&& o) noexcept;
  LineReader& operator=(LineReader&&) = delete;
  ~LineReader();

  // False at the end of the file or after a read error (see status()).
  bool Next(std::string_view* line);
  const Status& status() const { return status_; }
  // Bytes read from the offset on (the whole file past the offset once Next returned false).
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  LineReader(std::string path, std::FILE* file, ChunkHook hook)
      : path_(std::move(path)), file_(file), hook_(std::move(hook)) {}

  std::string path_;
  std::FILE* file_ = nullptr;
  ChunkHook hook_;
  std::string buffer_;
  size_t pos_ = 0;
  bool eof_ = false;
  uint64_t bytes_read_ = 0;
  Status status_;
};

}  // namespace vigil
