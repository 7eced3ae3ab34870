#include "logs/line_reader.h"

#include <cerrno>
#include <cstring>

namespace vigil {
namespace {

constexpr size_t kChunk = 1 << 20;

}  // namespace

Result<LineReader> LineReader::Open(const std::string& path, uint64_t offset, ChunkHook hook) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return Status::NotFound(path + ": cannot open: " + std::strerror(errno));
  if (offset > 0 && ::fseeko(f, static_cast<off_t>(offset), SEEK_SET) != 0) {
    std::fclose(f);
    return Status::IOError(path + ": cannot seek to byte " + std::to_string(offset));
  }
  return LineReader(path, f, std::move(hook));
}

LineReader::LineReader(LineReader&& o) noexcept
    : path_(std::move(o.path_)),
      file_(o.file_),
      hook_(std::move(o.hook_)),
      buffer_(std::move(o.buffer_)),
      pos_(o.pos_),
      eof_(o.eof_),
      bytes_read_(o.bytes_read_),
      status_(std::move(o.status_)) {
  o.file_ = nullptr;
}

LineReader::~LineReader() {
  if (file_ != nullptr) std::fclose(file_);
}

bool LineReader::Next(std::string_view* line) {
  for (;;) {
    size_t nl = buffer_.find('\n', pos_);
    if (nl != std::string::npos || (eof_ && pos_ < buffer_.size())) {
      size_t end = nl == std::string::npos ? buffer_.size() : nl;
      std::string_view l(buffer_.data() + pos_, end - pos_);
      if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
      pos_ = nl == std::string::npos ? buffer_.size() : nl + 1;
      *line = l;
      return true;
    }
    if (eof_ || !status_.ok()) return false;
    buffer_.erase(0, pos_);
    pos_ = 0;
    size_t old = buffer_.size();
    buffer_.resize(old + kChunk);
    size_t n = std::fread(buffer_.data() + old, 1, kChunk, file_);
    buffer_.resize(old + n);
    if (n > 0) {
      bytes_read_ += n;
      if (hook_) hook_(std::string_view(buffer_.data() + old, n));
    }
    if (n < kChunk) {
      if (std::ferror(file_)) {
        status_ = Status::IOError(path_ + ": read failed");
        return false;
      }
      eof_ = true;
    }
  }
}

}  // namespace vigil
