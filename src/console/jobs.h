// Jobs: the console's training runs and evaluations, each a `vigil-train` process in a directory
// of its own under the runs directory (DIR/r0001/, DIR/e0001/), so the console never loads
// LibTorch and a crash of one run touches nothing else.
//
//   run          vigil-train train ... --out model.vigil --history history.jsonl; train.log holds
//                its output. When it ends well, an evaluation of its bundle on the data set's
//                first test file starts by itself.
//   evaluation   vigil-train eval --model BUNDLE --test FILE --report report.json
//
// Each job's state is kept in its directory's job.json (rewritten atomically on every change), so
// the console lists past jobs after a restart; jobs that were running when the console stopped
// are marked failed. One watcher thread polls the running processes every 200 ms: new history
// lines and endings become EventHub events ("run", "evaluation"). Stop() sends SIGTERM to the
// job's process group and SIGKILL 5 s later. Parameters are checked before anything starts: an
// error names the field. Thread-safe.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "console/events.h"
#include "core/status.h"

namespace vigil {

struct DatasetSpec {
  std::string id;                                          // "nsl-kdd"
  std::string format;                                      // vigil train --format
  std::string train;                                       // path
  std::vector<std::pair<std::string, std::string>> tests;  // (id, path)
};

// Writes the bundle of registry model `name`, version `version`, to `dest`, acting with `token`.
using BundleFetcher = std::function<Status(const std::string& name, const std::string& version,
                                           const std::string& token, const std::string& dest)>;

struct JobsOptions {
  std::string dir;           // the runs directory (created)
  std::string train_binary;  // vigil-train
  std::vector<DatasetSpec> datasets;
  BundleFetcher fetch_bundle;  // may be empty: no registry
};

class Jobs {
 public:
  Jobs(JobsOptions options, EventHub* events);
  ~Jobs();  // stops the watcher and every running job
  // Creates the directory and reads the jobs already there.
  Status Load();

  nlohmann::json Datasets() const;

  // params: see docs/api.md (POST /api/runs). Returns the run id.
  Result<std::string> StartRun(const nlohmann::json& params, const std::string& user);
  nlohmann::json ListRuns() const;
  Result<nlohmann::json> GetRun(const std::string& id) const;
  // Unsupported when the run is not running.
  Status StopRun(const std::string& id);

  // params: {"bundle": "run:ID" | "registry:NAME:VERSION", "dataset", "test"}.
  Result<std::string> StartEvaluation(const nlohmann::json& params, const std::string& user,
                                      const std::string& registry_token);
  nlohmann::json ListEvaluations() const;
  Result<nlohmann::json> GetEvaluation(const std::string& id) const;

 private:
  struct Job {
    std::string id, dir;
    nlohmann::json info;  // what job.json holds
    std::vector<nlohmann::json> history;
    uint64_t history_offset = 0;
    pid_t pid = -1;
    bool stop_requested = false;
    std::chrono::steady_clock::time_point stop_at;
  };

  const DatasetSpec* FindDataset(const std::string& id) const;
  std::string NextId(char prefix);
  Status Spawn(Job* job, const std::vector<std::string>& args, const std::string& log);
  // Starts evaluation `id` (from NextId('e'); its directory may exist already). mu_ held.
  Result<std::string> StartEvaluationLocked(const std::string& id, const std::string& bundle_ref,
                                            const std::string& bundle_path, const DatasetSpec& ds,
                                            const std::string& test_id,
                                            const std::string& test_path, const std::string& user);
  void Save(const Job& job) const;
  void Watch();
  void Poll(Job* job);
  void Finish(Job* job, int wait_status);
  nlohmann::json RunSummary(const Job& job) const;

  JobsOptions o_;
  EventHub* events_;
  mutable std::mutex mu_;
  std::map<std::string, Job> jobs_;  // by id
  int next_run_ = 1, next_eval_ = 1;
  std::atomic<bool> stop_{false};
  std::thread watcher_;
};

}  // namespace vigil
