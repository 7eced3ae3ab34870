#include "stream/threat.h"

#include <curl/curl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/json_text.h"

namespace vigil {
namespace {

double WallSeconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

const char* ThreatLevelName(ThreatLevel l) {
  switch (l) {
    case ThreatLevel::kLow:
      return "low";
    case ThreatLevel::kElevated:
      return "elevated";
    case ThreatLevel::kHigh:
      return "high";
    case ThreatLevel::kCritical:
      return "critical";
  }
  return "low";
}

bool ParseThreatLevel(const std::string& name, ThreatLevel* l) {
  for (ThreatLevel v :
       {ThreatLevel::kLow, ThreatLevel::kElevated, ThreatLevel::kHigh, ThreatLevel::kCritical}) {
    if (name == ThreatLevelName(v)) return *l = v, true;
  }
  return false;
}

std::string ThreatEvent::ToJson() const {
  std::string s = "{\"event\":\"threat_level\",\"host\":";
  AppendJsonString(&s, host);
  s += ",\"level\":\"";
  s += ThreatLevelName(to);
  s += "\",\"previous\":\"";
  s += ThreatLevelName(from);
  s += "\",\"value\":";
  AppendJsonNumber(&s, value);
  s += ",\"time\":";
  AppendJsonNumber(&s, time);
  s += "}";
  return s;
}

ThreatTracker::ThreatTracker(const ThreatOptions& o) : o_(o) {}

void ThreatTracker::Decay(Host* h, double now) const {
  if (now > h->time) {
    h->value *= std::exp2(-(now - h->time) / o_.half_life_s);
    h->time = now;
  }
}

ThreatLevel ThreatTracker::Relevel(const Host& h) const {
  const double enter[] = {0, o_.elevated, o_.high, o_.critical};
  int level = static_cast<int>(h.level);
  while (level < 3 && h.value >= enter[level + 1]) ++level;
  while (level > 0 && h.value < enter[level] * o_.hysteresis) --level;
  return static_cast<ThreatLevel>(level);
}

void ThreatTracker::Alert(const std::string& host, double time, double weight,
                          std::vector<ThreatEvent>* events) {
  clock_ = std::max(clock_, time);
  auto it = index_.find(host);
  if (it == index_.end()) {
    if (index_.size() >= std::max<size_t>(1, o_.max_hosts)) {
      index_.erase(lru_.back().name);
      lru_.pop_back();
      ++evicted_;
    }
    lru_.push_front(Host{host, 0, time, ThreatLevel::kLow});
    it = index_.emplace(host, lru_.begin()).first;
  } else if (it->second != lru_.begin()) {
    lru_.splice(lru_.begin(), lru_, it->second);
  }
  Host& h = *lru_.begin();
  Decay(&h, time);
  h.value += weight;
  ThreatLevel next = Relevel(h);
  if (next != h.level) {
    events->push_back({h.name, h.level, next, h.value, time});
    h.level = next;
  }
}

void ThreatTracker::Sweep(double wall_elapsed_s, std::vector<ThreatEvent>* events) {
  clock_ += wall_elapsed_s;
  for (Host& h : lru_) {
    if (h.level == ThreatLevel::kLow) continue;
    Decay(&h, clock_);
    ThreatLevel next = Relevel(h);
    if (next != h.level) {
      events->push_back({h.name, h.level, next, h.value, clock_});
      h.level = next;
    }
  }
}

ThreatLevel ThreatTracker::Level(const std::string& host) const {
  auto it = index_.find(host);
  return it == index_.end() ? ThreatLevel::kLow : it->second->level;
}

double ThreatTracker::Value(const std::string& host) const {
  auto it = index_.find(host);
  if (it == index_.end()) return 0;
  Host h = *it->second;
  Decay(&h, clock_);
  return h.value;
}

std::vector<std::pair<std::string, double>> ThreatTracker::Top(size_t n) const {
  std::vector<std::pair<std::string, double>> all;
  for (const Host& h : lru_) {
    Host c = h;
    Decay(&c, clock_);
    all.emplace_back(c.name, c.value);
  }
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  if (all.size() > n) all.resize(n);
  return all;
}

// ---- ActionRunner -------------------------------------------------------------------------------

ActionRunner::ActionRunner(std::vector<ActionConfig> actions, bool dry_run, Metrics* metrics)
    : actions_(std::move(actions)), dry_run_(dry_run), recent_(actions_.size()) {
  ran_ =
      metrics->AddCounter("vigil_agent_actions_total", "Actions run, by result.", "result=\"ok\"");
  failed_ = metrics->AddCounter("vigil_agent_actions_total", "Actions run, by result.",
                                "result=\"failed\"");
  limited_ = metrics->AddCounter("vigil_agent_actions_total", "Actions run, by result.",
                                 "result=\"rate_limited\"");
  dropped_ = metrics->AddCounter("vigil_agent_actions_total", "Actions run, by result.",
                                 "result=\"queue_full\"");
  dry_ = metrics->AddCounter("vigil_agent_actions_total", "Actions run, by result.",
                             "result=\"dry_run\"");
  if (!actions_.empty()) thread_ = std::thread([this] { Loop(); });
}

ActionRunner::~ActionRunner() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ActionRunner::OnEvent(const ThreatEvent& e) {
  if (e.to <= e.from) return;  // actions run on the way up only
  const double now = WallSeconds();
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < actions_.size(); ++i) {
    const ActionConfig& a = actions_[i];
    if (!(e.from < a.level && e.to >= a.level)) continue;
    const std::string key = std::to_string(i) + "/" + e.host;
    auto last = last_run_.find(key);
    auto& recent = recent_[i];
    while (!recent.empty() && recent.front() < now - 60) recent.pop_front();
    if ((last != last_run_.end() && now - last->second < a.min_interval_s) ||
        static_cast<int>(recent.size()) >= a.max_per_minute) {
      limited_->Add();
      std::fprintf(stderr, "vigil-agent: action %zu for host %s rate limited\n", i + 1,
                   e.host.c_str());
      continue;
    }
    if (queue_.size() >= 1000) {
      dropped_->Add();
      std::fprintf(stderr, "vigil-agent: action %zu for host %s not run: action queue full\n",
                   i + 1, e.host.c_str());
      continue;
    }
    last_run_[key] = now;
    recent.push_back(now);
    queue_.push_back({i, e});
  }
  cv_.notify_one();
}

void ActionRunner::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ and drained
    Job job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    Run(job);
    lock.lock();
  }
}

void ActionRunner::Run(const Job& job) {
  const ActionConfig& a = actions_[job.action];
  const std::string event = job.event.ToJson();
  const std::string what = a.command.empty() ? "POST " + a.webhook : "run `" + a.command + "`";
  if (dry_run_) {
    dry_->Add();
    std::fprintf(stderr, "vigil-agent: dry run: would %s for %s entering %s\n", what.c_str(),
                 job.event.host.c_str(), ThreatLevelName(job.event.to));
    return;
  }
  bool ok = false;
  if (!a.command.empty()) {
    pid_t pid = fork();
    if (pid == 0) {
      setenv("VIGIL_HOST", job.event.host.c_str(), 1);
      setenv("VIGIL_LEVEL", ThreatLevelName(job.event.to), 1);
      setenv("VIGIL_PREVIOUS_LEVEL", ThreatLevelName(job.event.from), 1);
      setenv("VIGIL_VALUE", std::to_string(job.event.value).c_str(), 1);
      setenv("VIGIL_EVENT", event.c_str(), 1);
      execl("/bin/sh", "sh", "-c", a.command.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    if (pid > 0) {
      int status = 0;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(a.timeout_s);
      while (waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          kill(pid, SIGKILL);
          waitpid(pid, &status, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
  } else {
    CURL* curl = curl_easy_init();
    if (curl != nullptr) {
      curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
      curl_easy_setopt(curl, CURLOPT_URL, a.webhook.c_str());
      curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, event.c_str());
      curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(a.timeout_s));
      curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
      ok = curl_easy_perform(curl) == CURLE_OK;
      curl_slist_free_all(headers);
      curl_easy_cleanup(curl);
    }
  }
  (ok ? ran_ : failed_)->Add();
  std::fprintf(stderr, "vigil-agent: action: %s for %s entering %s: %s\n", what.c_str(),
               job.event.host.c_str(), ThreatLevelName(job.event.to), ok ? "ok" : "failed");
}

}  // namespace vigil
