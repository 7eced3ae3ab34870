#include "console/events.h"

namespace vigil {

std::shared_ptr<EventHub::Subscriber> EventHub::Subscribe() {
  auto s = std::make_shared<Subscriber>();
  std::lock_guard<std::mutex> lock(mu_);
  subs_.insert(s);
  return s;
}

void EventHub::Unsubscribe(const std::shared_ptr<Subscriber>& s) {
  std::lock_guard<std::mutex> lock(mu_);
  subs_.erase(s);
}

void EventHub::Publish(const std::string& event, const std::string& data) {
  std::string text = "event: " + event + "\ndata: " + data + "\n\n";
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& s : subs_) {
      s->queue.push_back(text);
      if (s->queue.size() > max_queue_) {
        s->queue.pop_front();
        ++s->dropped;
      }
    }
  }
  cv_.notify_all();
}

bool EventHub::Next(const std::shared_ptr<Subscriber>& s, std::chrono::milliseconds wait,
                    std::string* out) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, wait, [&] { return closed_ || !s->queue.empty(); });
  if (closed_) return false;
  out->clear();
  // Hand over everything queued at once (one write for a burst).
  while (!s->queue.empty()) {
    *out += s->queue.front();
    s->queue.pop_front();
  }
  return true;
}

void EventHub::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

size_t EventHub::subscribers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return subs_.size();
}

}  // namespace vigil
