// AgentWatch: the console's view of the detection agents it was given (--agent URL). For each
// agent one thread long-polls GET /v1/alerts (so an alert reaches the pages as soon as the agent
// has it), and one thread reads every agent's /v1/stats, /v1/model and /v1/hosts each second,
// derives records/s and alerts/s, and publishes the snapshot as an "agents" event. Alerts are
// published one by one as "alert" events, with "agent" added, and the last 1,000 are kept for
// GET /api/alerts. An agent that is down is shown as down (with the error) and retried every
// second; an agent that restarts (its alert numbers start again) is followed from its new start.
// Thread-safe.
#pragma once

#include <atomic>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "console/events.h"

namespace vigil {

class AgentWatch {
 public:
  AgentWatch(std::vector<std::string> urls, EventHub* events);
  ~AgentWatch();
  void Start();
  void Stop();

  nlohmann::json Agents() const;          // {"agents": [...]} (docs/api.md)
  nlohmann::json Alerts(size_t n) const;  // {"alerts": [...]}, newest last
  // True if `url` is one of the agents given (the console forwards only to those).
  bool Knows(const std::string& url) const;

 private:
  struct State {
    std::string url;
    bool up = false;
    std::string error = "not contacted yet";
    nlohmann::json model, stats = nlohmann::json::object(), hosts = nlohmann::json::array();
    double records_per_s = 0, alerts_per_s = 0;
    uint64_t last_records = 0, last_alerts = 0;
    std::chrono::steady_clock::time_point last_at;
    bool have_last = false;
  };
  void FollowAlerts(size_t i);
  void PollStats();
  nlohmann::json AgentsLocked() const;

  std::vector<std::string> urls_;
  EventHub* events_;
  mutable std::mutex mu_;
  std::vector<State> states_;
  std::deque<nlohmann::json> alerts_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace vigil
