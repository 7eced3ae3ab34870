// AlertFeed: the agent's most recent alerts, numbered, for readers that poll (GET /v1/alerts, the
// console). Append() gives each alert the next sequence number (1, 2, ...) and keeps the last
// `capacity`; Since() returns those numbered above `after`, waiting up to `wait` for one when there
// are none yet (a long poll). A reader that fell behind by more than `capacity` gets the oldest
// kept and learns from `next` where the feed stands; it never blocks the scoring thread for longer
// than a mutex hold. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace vigil {

class AlertFeed {
 public:
  explicit AlertFeed(size_t capacity = 1000) : capacity_(capacity) {}

  void Append(std::string json);

  struct Page {
    uint64_t next = 0;               // the `after` for the next call
    std::vector<std::string> items;  // alerts numbered after..next, oldest first
  };
  // At most `max` alerts numbered above `after`; waits up to `wait` while there is none. Returns
  // at once (with what there is) after Close().
  Page Since(uint64_t after, size_t max, std::chrono::milliseconds wait);
  // Wakes every waiting reader (shutdown).
  void Close();
  uint64_t last() const;

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> items_;  // numbered first_ .. first_ + size - 1
  uint64_t first_ = 1;
  bool closed_ = false;
};

}  // namespace vigil
