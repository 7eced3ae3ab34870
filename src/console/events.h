// EventHub: server-sent events for the console's pages. Publish() formats one event
// ("event: NAME\ndata: JSON\n\n") and hands it to every subscriber's bounded queue; a subscriber
// that falls behind by more than `max_queue` events loses the oldest (counted in `dropped`) rather
// than holding back the publisher. Next() waits for the subscriber's next event. Close() ends every
// stream (server shutdown). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace vigil {

class EventHub {
 public:
  struct Subscriber {
    std::deque<std::string> queue;
    uint64_t dropped = 0;
  };

  explicit EventHub(size_t max_queue = 4096) : max_queue_(max_queue) {}

  std::shared_ptr<Subscriber> Subscribe();
  void Unsubscribe(const std::shared_ptr<Subscriber>& s);
  // `data` must be one line of JSON.
  void Publish(const std::string& event, const std::string& data);
  // The subscriber's next formatted event; "" after `wait` with nothing new (send a keep-alive);
  // false once the hub is closed.
  bool Next(const std::shared_ptr<Subscriber>& s, std::chrono::milliseconds wait, std::string* out);
  void Close();
  size_t subscribers() const;

 private:
  const size_t max_queue_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::shared_ptr<Subscriber>> subs_;
  bool closed_ = false;
};

}  // namespace vigil
