#include "stream/alert_feed.h"

#include <algorithm>

namespace vigil {

void AlertFeed::Append(std::string json) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    items_.push_back(std::move(json));
    if (items_.size() > capacity_) {
      items_.pop_front();
      ++first_;
    }
  }
  cv_.notify_all();
}

uint64_t AlertFeed::last() const {
  std::lock_guard<std::mutex> lock(mu_);
  return first_ + items_.size() - 1;
}

AlertFeed::Page AlertFeed::Since(uint64_t after, size_t max, std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  auto last = [this] { return first_ + items_.size() - 1; };
  if (last() <= after && wait.count() > 0) {
    cv_.wait_for(lock, wait, [&] { return closed_ || last() > after; });
  }
  Page page;
  const uint64_t from = std::max(after + 1, first_);
  const uint64_t end = std::min(last(), from + max - 1);
  for (uint64_t n = from; n <= end && max > 0; ++n) page.items.push_back(items_[n - first_]);
  page.next = page.items.empty() ? std::max(after, from - 1) : end;
  if (page.next > last()) page.next = last();
  return page;
}

void AlertFeed::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

}  // namespace vigil
