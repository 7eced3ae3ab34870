// Per-host threat levels and the actions they trigger.
//
// ThreatTracker keeps, per source host, a decayed sum of its alerts: each alert adds its weight,
// and the sum halves every `half_life_s` seconds. The sum maps to a level with hysteresis: a host
// enters a level when the sum reaches the level's threshold, and leaves it only when the sum falls
// below threshold * hysteresis, so a host hovering at a boundary does not flap. Every change of
// level is returned as a ThreatEvent. Time is the records' own time where they have one (a replay
// of old data decays in data time), else the wall clock; Sweep() advances it by the wall-clock time
// since the last update so idle hosts calm down. At most max_hosts are tracked (the least recently
// updated host is forgotten beyond that, counted in evicted()). Not thread-safe (the agent's
// scoring thread owns it).
//
// ActionRunner runs the configured action when a host enters a level: a command (run with
// /bin/sh -c; the event reaches it in environment variables VIGIL_HOST, VIGIL_LEVEL,
// VIGIL_PREVIOUS_LEVEL, VIGIL_VALUE and VIGIL_EVENT (JSON), never spliced into the command text) or
// a webhook (HTTP POST of the event JSON). Each action is rate limited per host (min_interval_s)
// and overall (max_per_minute); in dry-run mode it only logs what it would do. Actions run on the
// runner's own thread from a bounded queue, so a slow webhook never stalls scoring; an action that
// is rate limited or finds the queue full is counted and logged, not silently lost. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "net/metrics.h"

namespace vigil {

enum class ThreatLevel { kLow = 0, kElevated, kHigh, kCritical };
const char* ThreatLevelName(ThreatLevel l);
bool ParseThreatLevel(const std::string& name, ThreatLevel* l);

struct ThreatOptions {
  double half_life_s = 300;
  double elevated = 3, high = 10, critical = 30;  // decayed alert sums entering each level
  double hysteresis = 0.5;                        // leave a level below threshold * this
  size_t max_hosts = 100000;
};

struct ThreatEvent {
  std::string host;
  ThreatLevel from = ThreatLevel::kLow, to = ThreatLevel::kLow;
  double value = 0;  // the decayed sum
  double time = 0;   // seconds since the epoch
  std::string ToJson() const;
};

class ThreatTracker {
 public:
  explicit ThreatTracker(const ThreatOptions& o);

  // Adds an alert of `weight` for `host` at `time` (seconds since the epoch); appends a level
  // change to *events if there is one.
  void Alert(const std::string& host, double time, double weight, std::vector<ThreatEvent>* events);
  // Decays every host to `now` (the tracker's clock advanced by wall time); appends level drops.
  void Sweep(double wall_elapsed_s, std::vector<ThreatEvent>* events);

  ThreatLevel Level(const std::string& host) const;
  double Value(const std::string& host) const;
  size_t hosts() const { return index_.size(); }
  uint64_t evicted() const { return evicted_; }
  // Hosts by current decayed value, highest first (for the API).
  std::vector<std::pair<std::string, double>> Top(size_t n) const;

 private:
  struct Host {
    std::string name;
    double value = 0, time = 0;
    ThreatLevel level = ThreatLevel::kLow;
  };
  void Decay(Host* h, double now) const;
  ThreatLevel Relevel(const Host& h) const;

  ThreatOptions o_;
  double clock_ = 0;  // latest time seen
  std::list<Host> lru_;
  std::unordered_map<std::string, std::list<Host>::iterator> index_;
  uint64_t evicted_ = 0;
};

struct ActionConfig {
  ThreatLevel level = ThreatLevel::kHigh;  // runs when a host enters this level (from below)
  std::string command;                     // either a command ...
  std::string webhook;                     // ... or an http(s) URL
  double min_interval_s = 300;             // per host
  int max_per_minute = 10;                 // overall, for this action
  int timeout_s = 10;
};

class ActionRunner {
 public:
  ActionRunner(std::vector<ActionConfig> actions, bool dry_run, Metrics* metrics);
  ~ActionRunner();  // finishes queued actions (each bounded by its timeout)

  // Schedules the actions that `e` triggers (rate limits applied here).
  void OnEvent(const ThreatEvent& e);

 private:
  struct Job {
    size_t action;
    ThreatEvent event;
  };
  void Loop();
  void Run(const Job& job);

  std::vector<ActionConfig> actions_;
  bool dry_run_;
  Counter *ran_, *failed_, *limited_, *dropped_, *dry_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stop_ = false;
  std::unordered_map<std::string, double> last_run_;  // "action/host" -> time
  std::vector<std::deque<double>> recent_;            // per action: run times in the last minute
  std::thread thread_;
};

}  // namespace vigil
