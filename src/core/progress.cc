#include "core/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <ctime>

namespace vigil {

std::string UtcTimestamp() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string FormatDuration(double s) {
  char buf[32];
  if (!std::isfinite(s) || s < 0) return "?";
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s / 3600),
                  static_cast<int>(s / 60) % 60);
  }
  return buf;
}

Progress::Progress(std::string label, uint64_t total, bool quiet)
    : label_(std::move(label)),
      total_(total),
      quiet_(quiet),
      tty_(::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

double Progress::ElapsedSeconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::Update(uint64_t done, const std::string& suffix) {
  done_ = done;
  suffix_ = suffix;
  Draw(false);
}

void Progress::Draw(bool force) {
  if (quiet_ || !tty_) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  double frac = total_ ? static_cast<double>(done_) / static_cast<double>(total_) : 0;
  double elapsed = ElapsedSeconds();
  double eta = frac > 0 ? elapsed * (1 - frac) / frac : NAN;
  const int width = 30;
  int filled = static_cast<int>(frac * width);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(width, '.');
  std::fprintf(stderr, "\r%s [%s] %3d%% %s<%s %s\x1b[K", label_.c_str(), bar.c_str(),
               static_cast<int>(frac * 100), FormatDuration(elapsed).c_str(),
               FormatDuration(eta).c_str(), suffix_.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::Message(const std::string& line) {
  if (quiet_) return;
  if (tty_ && drawn_) std::fprintf(stderr, "\r\x1b[K");
  std::fprintf(stderr, "%s\n", line.c_str());
  if (tty_) Draw(true);
  std::fflush(stderr);
}

void Progress::Finish() {
  if (quiet_) return;
  if (tty_ && drawn_) std::fprintf(stderr, "\r\x1b[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace vigil
