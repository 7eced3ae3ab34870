// RecordQueue: the bounded queue between the agent's inputs and its scoring thread.
//
// Producers (file readers, HTTP handlers, the NATS fetch loop) Push records; Push blocks while the
// queue holds max_items records or max_bytes bytes of record text, so a fast input is slowed to the
// scorer's pace (backpressure) and nothing is dropped. The scoring thread takes micro-batches with
// PopBatch: it waits for a first record, then gathers up to `max` records or until `wait` has
// passed since the first one arrived, whichever comes first, so one agent serves low latency (a
// lone record waits at most `wait`) and high throughput (full batches under load). Close() wakes
// everyone: Push then refuses new records, and PopBatch drains what is queued before returning
// empty. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

namespace vigil {

template <typename T>
class RecordQueue {
 public:
  RecordQueue(size_t max_items, size_t max_bytes) : max_items_(max_items), max_bytes_(max_bytes) {}

  // Blocks while full. Returns false (and drops nothing: the caller keeps `item`) once closed.
  bool Push(T&& item, size_t bytes) {
    std::unique_lock<std::mutex> lock(mu_);
    not_full_.wait(lock, [&] {
      return closed_ || items_.empty() ||
             (items_.size() < max_items_ && bytes_ + bytes <= max_bytes_);
    });
    if (closed_) return false;
    items_.push_back({std::move(item), bytes});
    bytes_ += bytes;
    not_empty_.notify_one();
    return true;
  }

  // Up to `max` records; waits at most `idle` for a first one (returns empty on timeout, so the
  // caller can do periodic work) and at most `wait` after it for more. Empty with closed() true
  // means drained.
  std::vector<T> PopBatch(size_t max, std::chrono::microseconds wait,
                          std::chrono::milliseconds idle) {
    std::vector<T> out;
    std::unique_lock<std::mutex> lock(mu_);
    if (!not_empty_.wait_for(lock, idle, [&] { return closed_ || !items_.empty(); })) return out;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (out.size() < max) {
      if (items_.empty()) {
        if (closed_ || wait.count() == 0) break;
        if (!not_empty_.wait_until(lock, deadline, [&] { return closed_ || !items_.empty(); }))
          break;
        if (items_.empty()) break;
      }
      bytes_ -= items_.front().bytes;
      out.push_back(std::move(items_.front().item));
      items_.pop_front();
      not_full_.notify_all();
    }
    return out;
  }

  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    not_full_.notify_all();
    not_empty_.notify_all();
  }
  bool closed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return items_.size();
  }

 private:
  struct Entry {
    T item;
    size_t bytes;
  };
  const size_t max_items_, max_bytes_;
  mutable std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Entry> items_;
  size_t bytes_ = 0;
  bool closed_ = false;
};

}  // namespace vigil
