#include "console/jobs.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/file.h"

extern char** environ;

namespace vigil {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string Now() {
  char buf[32];
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The last `n` bytes of a file ("" when missing).
std::string Tail(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const auto size = static_cast<size_t>(in.tellg());
  const size_t from = size > n ? size - n : 0;
  in.seekg(static_cast<std::streamoff>(from));
  std::string s(size - from, '\0');
  in.read(s.data(), static_cast<std::streamsize>(s.size()));
  return s;
}

// The last non-empty line of a log, without progress-bar carriage returns.
std::string LastLine(const std::string& text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  const size_t nl = t.find_last_of("\r\n");
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

bool IsInt(const json& j) { return j.is_number_integer() || j.is_number_unsigned(); }

}  // namespace

Jobs::Jobs(JobsOptions options, EventHub* events) : o_(std::move(options)), events_(events) {}

Jobs::~Jobs() {
  stop_.store(true);
  if (watcher_.joinable()) watcher_.join();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, job] : jobs_) {
    if (job.pid > 0) {
      kill(-job.pid, SIGTERM);
      int st = 0;
      for (int i = 0; i < 50 && waitpid(job.pid, &st, WNOHANG) == 0; ++i) usleep(100000);
      if (waitpid(job.pid, &st, WNOHANG) == 0) {
        kill(-job.pid, SIGKILL);
        waitpid(job.pid, &st, 0);
      }
      job.info["status"] = "stopped";
      job.info["error"] = "the console stopped";
      job.info["finished"] = Now();
      job.pid = -1;
      Save(job);
    }
  }
}

Status Jobs::Load() {
  std::error_code ec;
  fs::create_directories(o_.dir, ec);
  if (ec) return Status::IOError(o_.dir + ": cannot create the runs directory: " + ec.message());
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& entry : fs::directory_iterator(o_.dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != 5 || (name[0] != 'r' && name[0] != 'e')) continue;
    auto text = ReadFile((entry.path() / "job.json").string());
    if (!text.ok()) continue;
    json info = json::parse(*text, nullptr, false);
    if (!info.is_object()) continue;
    Job job;
    job.id = name;
    job.dir = entry.path().string();
    if (info.value("status", "") == "running") {  // the console stopped while it ran
      info["status"] = "failed";
      info["error"] = "the console stopped while it ran";
    }
    job.info = std::move(info);
    std::ifstream h(job.dir + "/history.jsonl");
    for (std::string line; std::getline(h, line);) {
      json row = json::parse(line, nullptr, false);
      if (row.is_object()) job.history.push_back(std::move(row));
    }
    const int n = std::atoi(name.c_str() + 1);
    int& next = name[0] == 'r' ? next_run_ : next_eval_;
    next = std::max(next, n + 1);
    Save(job);
    jobs_[name] = std::move(job);
  }
  watcher_ = std::thread([this] { Watch(); });
  return Status::Ok();
}

json Jobs::Datasets() const {
  json list = json::array();
  for (const DatasetSpec& d : o_.datasets) {
    json tests = json::array();
    for (const auto& [id, path] : d.tests) tests.push_back({{"id", id}, {"path", path}});
    list.push_back({{"id", d.id}, {"format", d.format}, {"train", d.train}, {"tests", tests}});
  }
  return {{"datasets", list}};
}

const DatasetSpec* Jobs::FindDataset(const std::string& id) const {
  for (const DatasetSpec& d : o_.datasets) {
    if (d.id == id) return &d;
  }
  return nullptr;
}

std::string Jobs::NextId(char prefix) {
  int& n = prefix == 'r' ? next_run_ : next_eval_;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%c%04d", prefix, n++ % 10000);
  return buf;
}

void Jobs::Save(const Job& job) const {
  Status s = WriteFileAtomic(job.dir + "/job.json", job.info.dump(2) + "\n");
  if (!s.ok()) std::fprintf(stderr, "vigil console: %s\n", s.message().c_str());
}

Status Jobs::Spawn(Job* job, const std::vector<std::string>& args, const std::string& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group (Stop signals the whole job), an empty signal mask and default
  // handlers: the console blocks SIGINT/SIGTERM for its signal thread and ignores SIGPIPE, and
  // both would otherwise pass to the child.
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none, defaults;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0].c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::IOError(args[0] + ": cannot start: " + std::strerror(rc));
  job->pid = pid;
  std::string cmd;
  for (const std::string& a : args) cmd += (cmd.empty() ? "" : " ") + a;
  job->info["command"] = cmd;
  return Status::Ok();
}

Result<std::string> Jobs::StartRun(const json& p, const std::string& user) {
  if (!p.is_object()) return Status::InvalidArgument("the body must be a JSON object");
  static const std::set<std::string> kKnown = {"dataset", "model",      "task",       "epochs",
                                               "lr",      "hidden",     "batch_size", "max_rows",
                                               "threads", "config_toml"};
  for (const auto& [k, v] : p.items()) {
    if (!kKnown.count(k)) return Status::InvalidArgument("unknown field '" + k + "'");
  }
  if (!p.contains("dataset") || !p["dataset"].is_string()) {
    return Status::InvalidArgument("dataset: required, one of the data sets of GET /api/datasets");
  }
  const DatasetSpec* ds = FindDataset(p["dataset"].get<std::string>());
  if (ds == nullptr) {
    return Status::InvalidArgument("dataset: '" + p["dataset"].get<std::string>() +
                                   "' is not available here (GET /api/datasets lists them)");
  }
  std::vector<std::string> args = {o_.train_binary, "train",   "--format",
                                   ds->format,      "--train", ds->train};
  json params = {{"dataset", ds->id}};
  auto choice = [&](const char* key, const std::set<std::string>& allowed) -> Status {
    if (!p.contains(key)) return Status::Ok();
    if (!p[key].is_string() || !allowed.count(p[key].get<std::string>())) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return Status::InvalidArgument(std::string(key) + ": must be one of " + list);
    }
    args.push_back(std::string("--") + key);
    args.push_back(p[key].get<std::string>());
    params[key] = p[key];
    return Status::Ok();
  };
  VIGIL_RETURN_IF_ERROR(choice("model", {"mlp", "autoencoder", "mlp-ae"}));
  VIGIL_RETURN_IF_ERROR(choice("task", {"binary", "multiclass"}));
  auto integer = [&](const char* key, const char* flag, int64_t lo, int64_t hi) -> Status {
    if (!p.contains(key)) return Status::Ok();
    if (!IsInt(p[key]) || p[key].get<int64_t>() < lo || p[key].get<int64_t>() > hi) {
      return Status::InvalidArgument(std::string(key) + ": must be an integer in [" +
                                     std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    args.push_back(flag);
    args.push_back(std::to_string(p[key].get<int64_t>()));
    params[key] = p[key];
    return Status::Ok();
  };
  VIGIL_RETURN_IF_ERROR(integer("epochs", "--epochs", 1, 1000));
  VIGIL_RETURN_IF_ERROR(integer("batch_size", "--batch-size", 1, 65536));
  VIGIL_RETURN_IF_ERROR(integer("max_rows", "--max-rows", 0, 1000000000));
  // One thread unless asked: the console's machine also serves pages and agents, and OpenMP
  // threads that must share cores with other work slow training down many times over.
  VIGIL_RETURN_IF_ERROR(integer("threads", "--threads", 0, 256));
  if (!p.contains("threads")) args.insert(args.end(), {"--threads", "1"});
  if (p.contains("lr")) {
    if (!p["lr"].is_number() || !(p["lr"].get<double>() > 0) || p["lr"].get<double>() > 1) {
      return Status::InvalidArgument("lr: must be a number in (0, 1]");
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", p["lr"].get<double>());
    args.insert(args.end(), {"--lr", buf});
    params["lr"] = p["lr"];
  }
  if (p.contains("hidden")) {
    const json& h = p["hidden"];
    bool ok = h.is_array() && !h.empty() && h.size() <= 8;
    for (size_t i = 0; ok && i < h.size(); ++i) {
      ok = IsInt(h[i]) && h[i].get<int64_t>() >= 1 && h[i].get<int64_t>() <= 4096;
    }
    if (!ok) return Status::InvalidArgument("hidden: must be 1 to 8 layer widths in [1, 4096]");
    args.push_back("--hidden");
    for (const json& w : h) args.push_back(std::to_string(w.get<int64_t>()));
    params["hidden"] = h;
  }
  std::string config;
  if (p.contains("config_toml")) {
    if (!p["config_toml"].is_string()) {
      return Status::InvalidArgument("config_toml: must be a string (the TOML file's text)");
    }
    config = p["config_toml"].get<std::string>();
    if (config.size() > (64u << 10)) return Status::InvalidArgument("config_toml: over 64 KiB");
    try {
      (void)toml::parse(config);
    } catch (const toml::parse_error& e) {
      std::ostringstream where;
      where << "config_toml: line " << e.source().begin.line << ": " << e.description();
      return Status::InvalidArgument(where.str());
    }
    params["config"] = true;
  }

  std::lock_guard<std::mutex> lock(mu_);
  Job job;
  job.id = NextId('r');
  job.dir = o_.dir + "/" + job.id;
  std::error_code ec;
  fs::remove_all(job.dir, ec);
  fs::create_directories(job.dir, ec);
  if (ec) return Status::IOError(job.dir + ": " + ec.message());
  if (!config.empty()) {
    VIGIL_RETURN_IF_ERROR(WriteFileAtomic(job.dir + "/config.toml", config));
    args.insert(args.begin() + 2, {"--config", job.dir + "/config.toml"});
  }
  args.insert(args.end(), {"--out", job.dir + "/model.vigil", "--history",
                           job.dir + "/history.jsonl", "--checkpoint", job.dir + "/ckpt"});
  job.info = {{"id", job.id},
              {"kind", "run"},
              {"status", "running"},
              {"dataset", ds->id},
              {"model", params.value("model", "mlp")},
              {"task", params.value("task", "binary")},
              {"params", params},
              {"user", user},
              {"started", Now()},
              {"finished", nullptr},
              {"epochs_total", params.value("epochs", 0)},
              {"error", nullptr},
              {"evaluation", nullptr}};
  VIGIL_RETURN_IF_ERROR(Spawn(&job, args, job.dir + "/train.log"));
  Save(job);
  const std::string id = job.id;
  jobs_[id] = std::move(job);
  events_->Publish("run", json{{"id", id}, {"status", "running"}, {"row", nullptr}}.dump());
  return id;
}

json Jobs::RunSummary(const Job& job) const {
  json j = job.info;
  j["last"] = job.history.empty() ? json(nullptr) : job.history.back();
  double best = NAN;
  for (const json& row : job.history) {
    const double v = row.value("valid_loss", NAN);
    if (std::isnan(best) || v < best) best = v;
  }
  j["best_valid_loss"] = std::isnan(best) ? json(nullptr) : json(best);
  j["epochs_done"] = job.history.size();
  return j;
}

json Jobs::ListRuns() const {
  std::lock_guard<std::mutex> lock(mu_);
  json list = json::array();
  for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) {
    if (it->second.info.value("kind", "") == "run") list.push_back(RunSummary(it->second));
  }
  return {{"runs", list}};
}

Result<json> Jobs::GetRun(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second.info.value("kind", "") != "run") {
    return Status::NotFound("no run '" + id + "'");
  }
  json j = RunSummary(it->second);
  j["history"] = it->second.history;
  j["log_tail"] = Tail(it->second.dir + "/train.log", 4096);
  const std::string bundle = it->second.dir + "/model.vigil";
  j["bundle"] = fs::exists(bundle) ? json(bundle) : json(nullptr);
  return j;
}

Status Jobs::StopRun(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second.info.value("kind", "") != "run") {
    return Status::NotFound("no run '" + id + "'");
  }
  Job& job = it->second;
  if (job.pid <= 0) {
    return Status::Unsupported("run " + id + " is not running (" + job.info.value("status", "") +
                               ")");
  }
  if (!job.stop_requested) {
    job.stop_requested = true;
    job.stop_at = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    kill(-job.pid, SIGTERM);
  }
  return Status::Ok();
}

Result<std::string> Jobs::StartEvaluation(const json& p, const std::string& user,
                                          const std::string& registry_token) {
  if (!p.is_object() || !p.contains("bundle") || !p["bundle"].is_string()) {
    return Status::InvalidArgument("bundle: required, \"run:ID\" or \"registry:NAME:VERSION\"");
  }
  const std::string ref = p["bundle"].get<std::string>();
  const std::string ds_id =
      p.contains("dataset") && p["dataset"].is_string() ? p["dataset"].get<std::string>() : "";
  const DatasetSpec* ds = FindDataset(ds_id);
  if (ds == nullptr) return Status::InvalidArgument("dataset: '" + ds_id + "' is not available");
  std::string test_id =
      p.contains("test") && p["test"].is_string() ? p["test"].get<std::string>() : "";
  std::string test_path;
  for (const auto& [tid, path] : ds->tests) {
    if (test_id.empty() || tid == test_id) {
      test_id = tid;
      test_path = path;
      break;
    }
  }
  if (test_path.empty()) return Status::InvalidArgument("test: '" + test_id + "' is not known");

  std::string bundle_path;
  if (ref.rfind("run:", 0) == 0) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = jobs_.find(ref.substr(4));
    if (it == jobs_.end() || it->second.info.value("kind", "") != "run") {
      return Status::InvalidArgument("bundle: no run '" + ref.substr(4) + "'");
    }
    bundle_path = it->second.dir + "/model.vigil";
    if (!fs::exists(bundle_path)) {
      return Status::InvalidArgument("bundle: run " + ref.substr(4) + " has no bundle (yet)");
    }
    return StartEvaluationLocked(NextId('e'), ref, bundle_path, *ds, test_id, test_path, user);
  }
  if (ref.rfind("registry:", 0) == 0) {
    const std::string rest = ref.substr(9);
    const size_t colon = rest.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size()) {
      return Status::InvalidArgument("bundle: expected registry:NAME:VERSION");
    }
    if (!o_.fetch_bundle) return Status::InvalidArgument("bundle: the console has no registry");
    std::lock_guard<std::mutex> lock(mu_);
    const std::string id = NextId('e');
    const std::string dir = o_.dir + "/" + id;
    std::error_code ec;
    fs::create_directories(dir, ec);
    VIGIL_RETURN_IF_ERROR(o_.fetch_bundle(rest.substr(0, colon), rest.substr(colon + 1),
                                          registry_token, dir + "/bundle.vigil"));
    return StartEvaluationLocked(id, ref, dir + "/bundle.vigil", *ds, test_id, test_path, user);
  }
  return Status::InvalidArgument("bundle: expected \"run:ID\" or \"registry:NAME:VERSION\"");
}

Result<std::string> Jobs::StartEvaluationLocked(const std::string& id,
                                                const std::string& bundle_ref,
                                                const std::string& bundle_path,
                                                const DatasetSpec& ds, const std::string& test_id,
                                                const std::string& test_path,
                                                const std::string& user) {
  Job job;
  job.id = id;
  job.dir = o_.dir + "/" + job.id;
  std::error_code ec;
  fs::create_directories(job.dir, ec);
  if (ec) return Status::IOError(job.dir + ": " + ec.message());
  job.info = {{"id", job.id},         {"kind", "evaluation"}, {"status", "running"},
              {"bundle", bundle_ref}, {"dataset", ds.id},     {"test", test_id},
              {"user", user},         {"started", Now()},     {"finished", nullptr},
              {"error", nullptr}};
  VIGIL_RETURN_IF_ERROR(
      Spawn(&job,
            {o_.train_binary, "eval", "--model", bundle_path, "--format", ds.format, "--test",
             test_path, "--report", job.dir + "/report.json"},
            job.dir + "/eval.log"));
  Save(job);
  jobs_[id] = std::move(job);
  return id;
}

json Jobs::ListEvaluations() const {
  std::lock_guard<std::mutex> lock(mu_);
  json list = json::array();
  for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) {
    if (it->second.info.value("kind", "") == "evaluation") list.push_back(it->second.info);
  }
  return {{"evaluations", list}};
}

Result<json> Jobs::GetEvaluation(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second.info.value("kind", "") != "evaluation") {
    return Status::NotFound("no evaluation '" + id + "'");
  }
  json j = it->second.info;
  j["report"] = nullptr;
  if (j.value("status", "") == "done") {
    auto text = ReadFile(it->second.dir + "/report.json");
    if (text.ok()) j["report"] = json::parse(*text, nullptr, false);
  }
  return j;
}

void Jobs::Watch() {
  while (!stop_.load()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [id, job] : jobs_) {
        if (job.pid > 0) Poll(&job);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

void Jobs::Poll(Job* job) {
  // New history lines (whole lines only).
  if (job->info.value("kind", "") == "run") {
    std::ifstream h(job->dir + "/history.jsonl", std::ios::binary);
    if (h) {
      h.seekg(static_cast<std::streamoff>(job->history_offset));
      std::string line;
      while (std::getline(h, line)) {
        if (h.eof()) break;  // no newline yet: a partial line, read it next time
        job->history_offset += line.size() + 1;
        json row = json::parse(line, nullptr, false);
        if (!row.is_object()) continue;
        job->history.push_back(row);
        events_->Publish("run", json{{"id", job->id}, {"status", "running"}, {"row", row}}.dump());
      }
    }
  }
  if (job->stop_requested && std::chrono::steady_clock::now() > job->stop_at) {
    kill(-job->pid, SIGKILL);
  }
  int st = 0;
  const pid_t r = waitpid(job->pid, &st, WNOHANG);
  if (r == job->pid) Finish(job, st);
}

void Jobs::Finish(Job* job, int st) {
  job->pid = -1;
  const bool run = job->info.value("kind", "") == "run";
  const std::string log = job->dir + (run ? "/train.log" : "/eval.log");
  std::string status;
  if (job->stop_requested) {
    status = "stopped";
  } else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
    status = "done";
  } else {
    status = "failed";
    std::string why = LastLine(Tail(log, 4096));
    if (why.empty()) {
      why = WIFSIGNALED(st) ? "killed by signal " + std::to_string(WTERMSIG(st))
                            : "exit status " + std::to_string(WEXITSTATUS(st));
    }
    job->info["error"] = why;
  }
  job->info["status"] = status;
  job->info["finished"] = Now();
  if (run && status == "done") {
    const DatasetSpec* ds = FindDataset(job->info.value("dataset", ""));
    if (ds != nullptr && !ds->tests.empty()) {
      auto e = StartEvaluationLocked(NextId('e'), "run:" + job->id, job->dir + "/model.vigil", *ds,
                                     ds->tests[0].first, ds->tests[0].second,
                                     job->info.value("user", ""));
      if (e.ok()) job->info["evaluation"] = *e;
    }
  }
  Save(*job);
  events_->Publish(run ? "run" : "evaluation",
                   json{{"id", job->id}, {"status", status}, {"row", nullptr}}.dump());
}

}  // namespace vigil
