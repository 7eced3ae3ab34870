// A console progress bar with ETA for long work (training epochs, downloads).
//
// Writes to stderr. On a terminal it redraws one line ("\r"); otherwise (CI logs, pipes) it prints
// a line only when Message() is called or at Finish(), so logs stay readable. Quiet mode prints
// nothing. Not thread-safe: one owner updates it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace vigil {

// The current time, UTC, as ISO 8601 to the second ("2026-11-29T11:42:00Z"): provenance stamps.
std::string UtcTimestamp();

class Progress {
 public:
  Progress(std::string label, uint64_t total, bool quiet = false);

  // Sets the number of completed steps and an optional suffix ("loss 0.0312"); redraws at most
  // ~10 times a second on a terminal.
  void Update(uint64_t done, const std::string& suffix = "");
  // Prints a full line (e.g. an epoch summary) above the bar.
  void Message(const std::string& line);
  // Clears the bar.
  void Finish();

  double ElapsedSeconds() const;

 private:
  void Draw(bool force);

  std::string label_;
  uint64_t total_;
  uint64_t done_ = 0;
  std::string suffix_;
  bool quiet_;
  bool tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// "1m05s", "3.2s", "2h04m".
std::string FormatDuration(double seconds);

}  // namespace vigil
