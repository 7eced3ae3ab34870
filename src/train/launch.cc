#include "train/launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>

#include "core/file.h"

extern char** environ;

namespace vigil {
namespace {

// The ranks a signal to the launcher is passed on to (read by the handler).
constexpr int kMaxRanks = 1024;
volatile pid_t g_children[kMaxRanks];
volatile sig_atomic_t g_child_count = 0;

void ForwardSignal(int sig) {
  for (int i = 0; i < g_child_count; ++i) {
    if (g_children[i] > 0) ::kill(g_children[i], sig);
  }
}

std::string Describe(int rank, pid_t pid, int status) {
  std::string who = "rank " + std::to_string(rank) + " (pid " + std::to_string(pid) + ")";
  if (WIFSIGNALED(status)) {
    return who + " was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  }
  return who + " exited with status " + std::to_string(WEXITSTATUS(status));
}

bool Failed(int status) { return !WIFEXITED(status) || WEXITSTATUS(status) != 0; }

}  // namespace

Result<int> FreeTcpPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Status::IOError(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::string err = std::strerror(errno);
    ::close(fd);
    return Status::IOError("cannot pick a free TCP port: " + err);
  }
  ::close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

Result<std::vector<std::string>> OwnArgumentsWithout(const std::string& name) {
  VIGIL_ASSIGN_OR_RETURN(std::string raw, ReadFile("/proc/self/cmdline"));
  std::vector<std::string> argv;
  size_t start = 0;
  while (start < raw.size()) {
    size_t end = raw.find('\0', start);
    if (end == std::string::npos) end = raw.size();
    argv.push_back(raw.substr(start, end - start));
    start = end + 1;
  }
  std::vector<std::string> out;
  for (size_t i = 1; i < argv.size(); ++i) {
    if (argv[i] == name) {
      ++i;  // and its value
      continue;
    }
    if (argv[i].rfind(name + "=", 0) == 0) continue;
    out.push_back(argv[i]);
  }
  return out;
}

Status LaunchLocalRanks(int nproc, const std::string& exe, const std::vector<std::string>& args,
                        double grace_s) {
  if (nproc < 1 || nproc > kMaxRanks)
    return Status::InvalidArgument("--nproc must be in 1.." + std::to_string(kMaxRanks));
  VIGIL_ASSIGN_OR_RETURN(int port, FreeTcpPort());

  // Everything the children need is built before fork(): after it, only exec.
  std::vector<std::string> inherited;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    std::string key = kv.substr(0, kv.find('='));
    if (key == "RANK" || key == "WORLD_SIZE" || key == "LOCAL_RANK" || key == "LOCAL_WORLD_SIZE" ||
        key == "MASTER_ADDR" || key == "MASTER_PORT") {
      continue;
    }
    inherited.push_back(kv);
  }
  std::vector<std::vector<std::string>> envs(static_cast<size_t>(nproc), inherited);
  for (int r = 0; r < nproc; ++r) {
    auto& env = envs[static_cast<size_t>(r)];
    env.push_back("RANK=" + std::to_string(r));
    env.push_back("LOCAL_RANK=" + std::to_string(r));
    env.push_back("WORLD_SIZE=" + std::to_string(nproc));
    env.push_back("LOCAL_WORLD_SIZE=" + std::to_string(nproc));
    env.push_back("MASTER_ADDR=127.0.0.1");
    env.push_back("MASTER_PORT=" + std::to_string(port));
  }
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(exe.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  struct sigaction forward {
  }, old_int{}, old_term{};
  forward.sa_handler = ForwardSignal;
  sigemptyset(&forward.sa_mask);
  forward.sa_flags = SA_RESTART;
  sigaction(SIGINT, &forward, &old_int);
  sigaction(SIGTERM, &forward, &old_term);

  std::vector<pid_t> pids(static_cast<size_t>(nproc), -1);
  g_child_count = 0;
  std::string failure;
  for (int r = 0; r < nproc && failure.empty(); ++r) {
    std::vector<char*> envp;
    for (auto& kv : envs[static_cast<size_t>(r)]) envp.push_back(kv.data());
    envp.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
      failure = std::string("cannot start rank ") + std::to_string(r) + ": " + std::strerror(errno);
      break;
    }
    if (pid == 0) {
      ::execve(exe.c_str(), argv.data(), envp.data());
      const char msg[] = "vigil train: cannot exec the rank's command\n";
      ssize_t ignored = ::write(2, msg, sizeof msg - 1);
      (void)ignored;
      ::_exit(127);
    }
    pids[static_cast<size_t>(r)] = pid;
    g_children[r] = pid;
    g_child_count = r + 1;
  }

  int running = g_child_count;
  while (running > 0 && failure.empty()) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int r = 0; r < nproc; ++r) {
      if (pids[static_cast<size_t>(r)] != pid) continue;
      pids[static_cast<size_t>(r)] = -1;
      g_children[r] = -1;
      --running;
      if (Failed(status)) failure = Describe(r, pid, status);
    }
  }
  if (!failure.empty() && running > 0) {
    std::fprintf(stderr, "vigil train: %s; stopping the other ranks\n", failure.c_str());
    for (pid_t p : pids) {
      if (p > 0) ::kill(p, SIGTERM);
    }
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(static_cast<int64_t>(grace_s * 1000));
    bool killed = false;
    while (running > 0) {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid > 0) {
        for (auto& p : pids) {
          if (p == pid) {
            p = -1;
            --running;
          }
        }
        continue;
      }
      if (pid < 0 && errno != EINTR) break;
      if (!killed && std::chrono::steady_clock::now() >= deadline) {
        for (pid_t p : pids) {
          if (p > 0) ::kill(p, SIGKILL);
        }
        killed = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  g_child_count = 0;
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (!failure.empty())
    return Status::IOError("local launch of " + std::to_string(nproc) +
                           " ranks failed: " + failure);
  return Status::Ok();
}

}  // namespace vigil
