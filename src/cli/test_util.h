// Helpers shared by the end-to-end tests of the binaries (src/cli/*_test.cc): run a shell command
// or `vigil` and capture its output, read files, run a background process with its output in
// files, wait for a condition, find the port a server reports. Header-only, for tests only.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace vigil::testutil {

inline const std::string kBin = VIGIL_BINARY_DIR;
inline const std::string kVigil = kBin + "/vigil";
inline const std::string kData = std::string(VIGIL_SOURCE_DIR) + "/../shared/data";

struct CmdResult {
  int code = -1;    // exit status; -1 when the command could not run or was killed
  std::string out;  // stdout and stderr together
};

// Runs `cmd` with /bin/sh, stderr merged into stdout.
inline CmdResult Sh(const std::string& cmd) {
  CmdResult r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Runs the built `vigil` with `args` (shell syntax).
inline CmdResult Vigil(const std::string& args) { return Sh(kVigil + " " + args); }

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The non-empty lines of a file.
inline std::vector<std::string> Lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

// A background process with stdout and stderr in files; killed when destroyed.
struct Proc {
  pid_t pid = -1;
  std::string out, err;

  static Proc Start(const std::vector<std::string>& argv, const std::string& out,
                    const std::string& err, const std::string& stdin_path = "/dev/null") {
    Proc p;
    p.out = out;
    p.err = err;
    p.pid = fork();
    if (p.pid == 0) {
      if (!freopen(stdin_path.c_str(), "r", stdin) || !freopen(out.c_str(), "w", stdout) ||
          !freopen(err.c_str(), "w", stderr)) {
        _exit(126);
      }
      std::vector<char*> args;
      args.reserve(argv.size() + 1);
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    return p;
  }
  // Exit code, or -signal; -1000 on timeout (the process is killed).
  int Wait(std::chrono::seconds timeout = std::chrono::seconds(120)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        pid = -1;
        return -1000;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }
  void Signal(int sig) const {
    if (pid > 0) kill(pid, sig);
  }
  ~Proc() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  Proc() = default;
  Proc(Proc&& o) noexcept : pid(o.pid), out(std::move(o.out)), err(std::move(o.err)) { o.pid = -1; }
  Proc& operator=(Proc&& o) noexcept {
    std::swap(pid, o.pid);
    out = std::move(o.out);
    err = std::move(o.err);
    return *this;
  }
};

// Waits until `pred` holds (polling every 20 ms), up to `timeout`; returns the last answer.
template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

// The port a server reports on stderr ("listening on 127.0.0.1:PORT"), or -1 after 10 s.
inline int ListeningPort(const std::string& err_path) {
  int port = -1;
  WaitFor(
      [&] {
        std::smatch m;
        const std::string err = Slurp(err_path);
        if (std::regex_search(err, m, std::regex("listening on [0-9.]+:([0-9]+)"))) {
          port = std::stoi(m[1]);
          return true;
        }
        return false;
      },
      std::chrono::seconds(10));
  return port;
}

// `vigil registry serve` in the background; the port from its log.
struct RegistryProc {
  Proc proc;
  int port = -1;
  std::string log;
  bool Start(const std::string& dir, const std::string& store) {
    log = store + ".log";
    proc = Proc::Start({"/bin/sh", "-c",
                        "exec " + kVigil + " registry serve --listen 127.0.0.1:0 --store " + store +
                            " --tokens " + dir + "/tokens.toml"},
                       store + ".out", log);
    WaitFor(
        [&] {
          const std::string log_text = Slurp(log) + Slurp(store + ".out");
          const size_t at = log_text.find("listening on http://127.0.0.1:");
          if (at == std::string::npos) return false;
          port = std::atoi(log_text.c_str() + at + std::strlen("listening on http://127.0.0.1:"));
          return port > 0;
        },
        std::chrono::seconds(20));
    return port > 0;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

}  // namespace vigil::testutil
