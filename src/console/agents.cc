#include "console/agents.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>

namespace vigil {
using json = nlohmann::json;

namespace {
constexpr size_t kKeptAlerts = 1000;

// GET url+path as JSON; false with *error set on any failure.
bool GetJson(httplib::Client& c, const std::string& path, json* out, std::string* error) {
  auto res = c.Get(path);
  if (!res) {
    *error = httplib::to_string(res.error());
    return false;
  }
  if (res->status != 200) {
    *error = path + " answered " + std::to_string(res->status);
    return false;
  }
  *out = json::parse(res->body, nullptr, false);
  if (out->is_discarded()) {
    *error = path + " answered with invalid JSON";
    return false;
  }
  return true;
}
}  // namespace

AgentWatch::AgentWatch(std::vector<std::string> urls, EventHub* events)
    : urls_(std::move(urls)), events_(events) {
  for (const std::string& u : urls_) {
    State s;
    s.url = u;
    states_.push_back(std::move(s));
  }
}

AgentWatch::~AgentWatch() { Stop(); }

void AgentWatch::Start() {
  for (size_t i = 0; i < urls_.size(); ++i) threads_.emplace_back([this, i] { FollowAlerts(i); });
  if (!urls_.empty()) threads_.emplace_back([this] { PollStats(); });
}

void AgentWatch::Stop() {
  stop_.store(true);
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void AgentWatch::FollowAlerts(size_t i) {
  const std::string url = urls_[i];
  httplib::Client c(url);
  c.set_connection_timeout(2);
  c.set_read_timeout(10);
  uint64_t after = 0;
  bool first = true;
  while (!stop_.load()) {
    // A short wait keeps Stop() prompt; an alert still returns the poll at once.
    const std::string path =
        "/v1/alerts?after=" + std::to_string(after) + "&wait=" + (first ? "0" : "2") + "&n=1000";
    json page;
    std::string error;
    if (!GetJson(c, path, &page, &error) || !page.contains("next") || !page.contains("alerts")) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    first = false;
    const uint64_t next = page["next"].get<uint64_t>();
    for (json& a : page["alerts"]) {
      a["agent"] = url;
      events_->Publish("alert", a.dump(-1, ' ', false, json::error_handler_t::replace));
      std::lock_guard<std::mutex> lock(mu_);
      alerts_.push_back(std::move(a));
      if (alerts_.size() > kKeptAlerts) alerts_.pop_front();
    }
    after = next;  // also when the agent restarted and its numbers went back
  }
}

bool AgentWatch::Knows(const std::string& url) const {
  return std::find(urls_.begin(), urls_.end(), url) != urls_.end();
}

void AgentWatch::PollStats() {
  std::vector<std::unique_ptr<httplib::Client>> clients;
  for (const std::string& u : urls_) {
    clients.push_back(std::make_unique<httplib::Client>(u));
    clients.back()->set_connection_timeout(1);
    clients.back()->set_read_timeout(2);
  }
  while (!stop_.load()) {
    const auto tick = std::chrono::steady_clock::now();
    for (size_t i = 0; i < urls_.size(); ++i) {
      json stats, model, hosts;
      std::string error, optional_error;
      const bool ok = GetJson(*clients[i], "/v1/stats", &stats, &error);
      // A metrics-only agent has no model and no hosts.
      if (ok && !GetJson(*clients[i], "/v1/model", &model, &optional_error)) model = nullptr;
      if (ok && !GetJson(*clients[i], "/v1/hosts?n=20", &hosts, &optional_error)) {
        hosts = json::object();
      }
      std::lock_guard<std::mutex> lock(mu_);
      State& s = states_[i];
      s.up = ok;
      if (!ok) {
        s.error = error;
        s.records_per_s = s.alerts_per_s = 0;
        s.have_last = false;
        continue;
      }
      s.error.clear();
      const auto now = std::chrono::steady_clock::now();
      const uint64_t records = stats.value("records", uint64_t{0});
      const uint64_t alerts = stats.value("alerts", uint64_t{0});
      if (s.have_last) {
        const double dt = std::chrono::duration<double>(now - s.last_at).count();
        if (dt > 0 && records >= s.last_records && alerts >= s.last_alerts) {
          s.records_per_s = static_cast<double>(records - s.last_records) / dt;
          s.alerts_per_s = static_cast<double>(alerts - s.last_alerts) / dt;
        }
      }
      s.last_records = records;
      s.last_alerts = alerts;
      s.last_at = now;
      s.have_last = true;
      s.stats = std::move(stats);
      s.model = std::move(model);
      s.hosts = hosts.contains("hosts") ? hosts["hosts"] : json::array();
    }
    std::string snapshot;
    {
      std::lock_guard<std::mutex> lock(mu_);
      snapshot = AgentsLocked().dump(-1, ' ', false, json::error_handler_t::replace);
    }
    events_->Publish("agents", snapshot);
    while (!stop_.load() && std::chrono::steady_clock::now() - tick < std::chrono::seconds(1)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

json AgentWatch::AgentsLocked() const {
  json list = json::array();
  for (const State& s : states_) {
    json a = {{"url", s.url},
              {"up", s.up},
              {"error", s.error.empty() ? json(nullptr) : json(s.error)},
              {"model", s.model.is_null() ? json(nullptr) : s.model},
              {"records", s.stats.value("records", uint64_t{0})},
              {"alerts", s.stats.value("alerts", uint64_t{0})},
              {"malformed", s.stats.value("malformed", uint64_t{0})},
              {"uptime_s", s.stats.value("uptime_s", 0.0)},
              {"records_per_s", s.records_per_s},
              {"alerts_per_s", s.alerts_per_s},
              {"mix", s.stats.contains("mix")
                          ? s.stats["mix"]
                          : json{{"proto", json::object()}, {"service", json::object()}}},
              {"hosts", s.hosts}};
    list.push_back(std::move(a));
  }
  return {{"agents", list}};
}

json AgentWatch::Agents() const {
  std::lock_guard<std::mutex> lock(mu_);
  return AgentsLocked();
}

json AgentWatch::Alerts(size_t n) const {
  std::lock_guard<std::mutex> lock(mu_);
  json list = json::array();
  const size_t from = alerts_.size() > n ? alerts_.size() - n : 0;
  for (size_t i = from; i < alerts_.size(); ++i) list.push_back(alerts_[i]);
  return {{"alerts", list}};
}

}  // namespace vigil
