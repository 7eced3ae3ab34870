#include "stream/file_source.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace vigil {
namespace {

using Clock = std::chrono::steady_clock;

class LineReader {
 public:
  LineReader(const FileSourceOptions& o, const LineSink& sink) : o_(o), sink_(sink) {}

  // Consumes a chunk; returns false when the consumer stopped taking lines.
  bool Feed(const char* p, size_t n) {
    for (size_t i = 0; i < n;) {
      const char* nl = static_cast<const char*>(std::memchr(p + i, '\n', n - i));
      const size_t end = nl ? static_cast<size_t>(nl - p) : n;
      Append(p + i, end - i);
      i = end;
      if (nl) {
        ++i;
        if (!EndLine()) return false;
      }
    }
    return true;
  }

  // The input ended: a last line without '\n' is still a record.
  bool Finish() { return (line_.empty() && line_bytes_ == 0) || EndLine(); }

 private:
  void Append(const char* p, size_t n) {
    constexpr size_t kKeep = 64 << 10;  // of an oversized line, for the dead-letter output
    const uint64_t before = line_bytes_;
    line_bytes_ += n;
    if (before < o_.max_record_bytes)
      line_.append(p, std::min<uint64_t>(n, o_.max_record_bytes - before));
    if (line_bytes_ > o_.max_record_bytes && line_.size() > kKeep) line_.resize(kKeep);
  }

  bool EndLine() {
    ++line_no_;
    const uint64_t bytes = line_bytes_;
    std::string text = std::move(line_);
    line_.clear();
    line_bytes_ = 0;
    if (line_no_ == 1 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
    if (bytes <= o_.max_record_bytes && !text.empty() && text.back() == '\r') text.pop_back();
    if (text.empty()) return true;
    if (o_.rate > 0) {
      const auto due = start_ + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(sent_ / o_.rate));
      std::this_thread::sleep_until(due);
    }
    ++sent_;
    return sink_(line_no_, std::move(text), bytes > o_.max_record_bytes ? bytes : 0);
  }

  const FileSourceOptions& o_;
  const LineSink& sink_;
  std::string line_;
  uint64_t line_bytes_ = 0, line_no_ = 0, sent_ = 0;
  Clock::time_point start_ = Clock::now();
};

}  // namespace

Status RunFileSource(Agent* agent, uint32_t input, const FileSourceOptions& o,
                     const std::atomic<bool>* stop, std::atomic<uint64_t>* lines) {
  LineSink sink = [&](uint64_t line_no, std::string&& text, uint64_t oversized) {
    Item item;
    item.kind = o.kind;
    item.input = input;
    item.position = line_no;
    item.oversized = oversized;
    item.text = std::move(text);
    if (lines != nullptr) lines->fetch_add(1);
    return agent->Submit(std::move(item));
  };
  return TailLines(o, [&] { return stop->load() || agent->stopping(); }, sink);
}

Status TailLines(const FileSourceOptions& o, const std::function<bool()>& stopped,
                 const LineSink& sink) {
  const bool is_stdin = o.path == "-";
  int fd = is_stdin ? 0 : ::open(o.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError(o.path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  fstat(fd, &st);
  ino_t inode = st.st_ino;
  off_t offset = 0;
  LineReader reader(o, sink);
  std::vector<char> buf(1 << 16);
  Status result;
  while (!stopped()) {
    pollfd p{fd, POLLIN, 0};
    if (is_stdin && ::poll(&p, 1, 200) == 0) continue;  // re-check stop while a pipe is idle
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      result = Status::IOError(o.path + ": read failed: " + std::strerror(errno));
      break;
    }
    if (n > 0) {
      offset += n;
      if (!reader.Feed(buf.data(), static_cast<size_t>(n))) break;
      continue;
    }
    // End of file.
    if (!o.follow || is_stdin) {
      reader.Finish();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    struct stat now {};
    if (::stat(o.path.c_str(), &now) == 0) {
      if (now.st_ino != inode) {  // rotated: the old file is read to its end; switch
        int next = ::open(o.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (next >= 0) {
          reader.Finish();
          ::close(fd);
          fd = next;
          inode = now.st_ino;
          offset = 0;
        }
      } else if (now.st_size < offset) {  // truncated: start over
        ::lseek(fd, 0, SEEK_SET);
        offset = 0;
      }
    }
  }
  if (!is_stdin) ::close(fd);
  return result;
}

}  // namespace vigil
