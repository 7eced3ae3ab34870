// Test helper (header-only, used by the distributed training tests): starts a command with its
// stdout and stderr in a log file and an environment cleaned of rendezvous variables, waits for it
// with a deadline (killing it past the deadline), and reads logs and bundle metadata back.
// Not thread-safe; POSIX only.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "bundle/bundle.h"
#include "core/file.h"

extern char** environ;

namespace vigil::testing_process {

inline const std::string& VigilBinary() {
  static const std::string path = std::string(VIGIL_BINARY_DIR) + "/vigil";
  return path;
}

// Starts argv[0] with argv; stdout and stderr go to `log`. Rendezvous variables of the test's own
// environment (a test run under Slurm or torchrun) are dropped; `extra` is added.
inline pid_t Spawn(const std::vector<std::string>& argv, const std::string& log,
                   const std::map<std::string, std::string>& extra = {}) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    std::string key = kv.substr(0, kv.find('='));
    if (key == "RANK" || key == "WORLD_SIZE" || key == "MASTER_ADDR" || key == "MASTER_PORT" ||
        key == "LOCAL_WORLD_SIZE" || key == "GLOO_SOCKET_IFNAME" || key.rfind("SLURM_", 0) == 0 ||
        extra.count(key) > 0) {
      continue;
    }
    env.push_back(kv);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (auto& kv : env) envp.push_back(kv.data());
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    ::setpgid(0, 0);  // its own group: a timeout kills it and whatever it started
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

struct Exit {
  bool timed_out = false;
  int status = 0;  // waitpid status
  double seconds = 0;
  bool ok() const { return !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0; }
};

// Waits up to timeout_s; past it, kills the process group and reports timed_out.
inline Exit WaitExit(pid_t pid, double timeout_s) {
  Exit e;
  auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    pid_t r = ::waitpid(pid, &e.status, WNOHANG);
    e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r == pid) return e;
    if (e.seconds > timeout_s) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &e.status, 0);
      e.timed_out = true;
      return e;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

inline std::string ReadLog(const std::string& log) {
  auto text = ReadFile(log);
  return text.ok() ? *text : std::string();
}

// Waits until `log` contains `needle` (true) or timeout_s passes (false).
inline bool WaitForLog(const std::string& log, const std::string& needle, double timeout_s) {
  auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < timeout_s) {
    if (ReadLog(log).find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// The bundle's metadata; null when it cannot be read.
inline nlohmann::json BundleMetadata(const std::string& path) {
  auto b = ReadBundle(path);
  return b.ok() ? b->metadata : nlohmann::json();
}

// Every "sha256 <hex>" a rank printed after its weight check, by rank.
inline std::map<int, std::string> WeightDigests(const std::string& log) {
  std::map<int, std::string> out;
  const std::string text = ReadLog(log);
  const std::string tag = "vigil train: rank ";
  for (size_t at = text.find(tag); at != std::string::npos; at = text.find(tag, at + 1)) {
    size_t eol = text.find('\n', at);
    std::string line = text.substr(at, eol == std::string::npos ? std::string::npos : eol - at);
    size_t sha = line.find("(sha256 ");
    if (sha == std::string::npos) continue;
    int rank = std::stoi(line.substr(tag.size()));
    out[rank] = line.substr(sha + 8, 64);
  }
  return out;
}

}  // namespace vigil::testing_process
