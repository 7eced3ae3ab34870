#include "stream/log_ingest.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/signals.h"
#include "net/http.h"
#include "stream/file_source.h"
#include "stream/forward.h"
#include "stream/syslog.h"

namespace vigil {
namespace {

constexpr int kPollMs = 200;

// A bound socket (SOCK_DGRAM or a listening SOCK_STREAM) on HOST:PORT; its port in *port.
Result<int> BindSocket(const std::string& spec, int type, const char* flag, int* port) {
  auto addr = ParseListen(spec);
  if (!addr.ok()) return addr.status().WithContext(flag);
  addrinfo hints{};
  hints.ai_socktype = type;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* ai = nullptr;
  const std::string service = std::to_string(addr->port);
  if (getaddrinfo(addr->host.c_str(), service.c_str(), &hints, &ai) != 0 || ai == nullptr) {
    return Status::InvalidArgument(std::string(flag) + " " + spec + ": cannot resolve the host");
  }
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
  int one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const bool ok = fd >= 0 && bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
                  (type != SOCK_STREAM || listen(fd, 128) == 0);
  freeaddrinfo(ai);
  if (!ok) {
    const std::string err = std::strerror(errno);
    if (fd >= 0) close(fd);
    return Status::IOError(std::string(flag) + " " + spec + ": " + err);
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  *port = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                   : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return fd;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

LogIngest::LogIngest(LogIngestOptions options)
    : options_(std::move(options)), queue_(options_.queue_lines, 256u << 20) {}

LogIngest::~LogIngest() {
  Stop();
  if (own_alerts_ && alerts_out_ != nullptr) std::fclose(alerts_out_);
  if (dead_out_ != nullptr) std::fclose(dead_out_);
}

Result<std::unique_ptr<LogIngest>> LogIngest::Create(const LogIngestOptions& options) {
  std::unique_ptr<LogIngest> in(new LogIngest(options));
  if (!options.alerts.empty()) {
    if (options.alerts == "-") {
      in->alerts_out_ = stdout;
    } else {
      in->alerts_out_ = std::fopen(options.alerts.c_str(), "w");
      if (in->alerts_out_ == nullptr) {
        return Status::IOError("--log-alerts " + options.alerts + ": " + std::strerror(errno));
      }
      in->own_alerts_ = true;
    }
  }
  if (!options.dead_letter.empty()) {
    in->dead_out_ = std::fopen(options.dead_letter.c_str(), "w");
    if (in->dead_out_ == nullptr) {
      return Status::IOError("--log-dead-letter " + options.dead_letter + ": " +
                             std::strerror(errno));
    }
  }
  LogIngest* self = in.get();
  auto pipeline = LogPipeline::Create(
      options.pipeline,
      [self](const std::string& line) { self->WriteLine(self->alerts_out_, line); },
      [self](const std::string& line) { self->WriteLine(self->dead_out_, line); });
  if (!pipeline.ok()) return pipeline.status();
  in->pipeline_ = std::move(*pipeline);
  return in;
}

void LogIngest::WriteLine(FILE* f, const std::string& text) {
  if (f == nullptr) return;
  std::fwrite(text.data(), 1, text.size(), f);
  std::fputc('\n', f);
}

void LogIngest::Push(LogLine&& line) {
  const size_t bytes = line.text.size() + 64;
  queue_.Push(std::move(line), bytes);  // false only once stopping: nothing more is taken
}

Result<LogIngestPorts> LogIngest::Start() {
  LogIngestPorts ports;
  auto add = [&](const std::string& name) {
    positions_.emplace_back(0);
    return pipeline_->AddInput(name);
  };
  std::vector<std::pair<uint32_t, std::string>> files;
  for (const std::string& f : options_.inputs) {
    if (f != "-" && access(f.c_str(), R_OK) != 0) {
      return Status::IOError("--log-input " + f + ": " + std::strerror(errno));
    }
    files.emplace_back(add(f), f);
  }
  uint32_t udp_input = 0, tcp_input = 0, forward_input = 0;
  auto fail = [&](const Status& s) {
    for (int* fd : {&udp_fd_, &tcp_fd_, &forward_fd_}) {
      if (*fd >= 0) close(*fd);
      *fd = -1;
    }
    return s;
  };
  if (!options_.syslog_udp.empty()) {
    auto fd = BindSocket(options_.syslog_udp, SOCK_DGRAM, "--syslog-udp", &ports.syslog_udp);
    if (!fd.ok()) return fail(fd.status());
    udp_fd_ = *fd;
    // A large receive buffer rides out bursts (root may exceed rmem_max), and the kernel reports
    // the datagrams it still had to drop (SO_RXQ_OVFL), which are counted.
    int size = 8 << 20, one = 1;
    if (setsockopt(udp_fd_, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
      setsockopt(udp_fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
    setsockopt(udp_fd_, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
    udp_input = add("syslog-udp");
  }
  if (!options_.syslog_tcp.empty()) {
    auto fd = BindSocket(options_.syslog_tcp, SOCK_STREAM, "--syslog-tcp", &ports.syslog_tcp);
    if (!fd.ok()) return fail(fd.status());
    tcp_fd_ = *fd;
    tcp_input = add("syslog-tcp");
  }
  if (!options_.forward.empty()) {
    auto fd = BindSocket(options_.forward, SOCK_STREAM, "--forward", &ports.forward);
    if (!fd.ok()) return fail(fd.status());
    forward_fd_ = *fd;
    forward_input = add("forward");
  }
  const bool listeners = udp_fd_ >= 0 || tcp_fd_ >= 0 || forward_fd_ >= 0;
  if (files.empty() && !listeners) {
    return Status::InvalidArgument(
        "log ingest: nothing to read: give --log-input, --syslog-udp, --syslog-tcp or --forward");
  }
  started_ = true;
  worker_ = std::thread([this] { Worker(); });
  std::lock_guard<std::mutex> lock(threads_mu_);
  files_running_ = files.size();
  for (const auto& [id, path] : files) {
    threads_.emplace_back([this, id = id, path = path, listeners] {
      RunFile(id, path);
      if (--files_running_ == 0 && !options_.follow && !listeners) {
        finished_ = true;
        queue_.Close();  // finite inputs: the worker drains, then judges every session's end
      }
    });
  }
  if (udp_fd_ >= 0) threads_.emplace_back([this, udp_input] { RunSyslogUdp(udp_input); });
  if (tcp_fd_ >= 0) {
    threads_.emplace_back([this, tcp_input] { RunAccept(tcp_fd_, tcp_input, false); });
  }
  if (forward_fd_ >= 0) {
    threads_.emplace_back([this, forward_input] { RunAccept(forward_fd_, forward_input, true); });
  }
  return ports;
}

void LogIngest::Stop() {
  if (!started_.exchange(false)) return;
  stop_ = true;
  {
    std::lock_guard<std::mutex> lock(threads_mu_);
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    threads_.clear();
  }
  while (live_connections_.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  queue_.Close();
  if (worker_.joinable()) worker_.join();
  for (int* fd : {&udp_fd_, &tcp_fd_, &forward_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

LogCounters LogIngest::counters() const {
  std::lock_guard<std::mutex> lock(counters_mu_);
  return counters_;
}

void LogIngest::Worker() {
  while (true) {
    std::vector<LogLine> batch =
        queue_.PopBatch(1024, std::chrono::microseconds(0), std::chrono::milliseconds(kPollMs));
    const double now = WallSeconds();
    for (const LogLine& l : batch) pipeline_->Process(l, now);
    const bool drained = batch.empty() && queue_.closed();
    if (drained && finished_) {
      pipeline_->CloseAll(now);
    } else {
      pipeline_->Sweep(now);
    }
    if (alerts_out_ != nullptr) std::fflush(alerts_out_);
    if (dead_out_ != nullptr) std::fflush(dead_out_);
    {
      std::lock_guard<std::mutex> lock(counters_mu_);
      counters_ = pipeline_->counters();
    }
    if (drained) break;
  }
}

void LogIngest::RunFile(uint32_t input, const std::string& path) {
  FileSourceOptions fo;
  fo.path = path;
  fo.follow = options_.follow;
  fo.max_record_bytes = options_.max_frame_bytes;
  LineSink sink = [&](uint64_t line_no, std::string&& text, uint64_t oversized) {
    LogLine l;
    l.input = input;
    l.position = line_no;
    l.text = std::move(text);
    if (oversized > 0) {
      l.error = "line of " + std::to_string(oversized) + " bytes, over the limit of " +
                std::to_string(options_.max_frame_bytes);
    }
    Push(std::move(l));
    return !stop_.load();
  };
  Status s = TailLines(
      fo, [this] { return stop_.load(); }, sink);
  if (!s.ok()) {
    LogLine l;
    l.input = input;
    l.error = s.message();
    Push(std::move(l));
    if (!options_.quiet) std::fprintf(stderr, "vigil-agent: %s\n", s.message().c_str());
  }
}

void LogIngest::RunSyslogUdp(uint32_t input) {
  std::vector<char> buf(65536);
  auto& position = positions_[input];
  while (!stop_) {
    pollfd pfd{udp_fd_, POLLIN, 0};
    if (poll(&pfd, 1, kPollMs) <= 0) continue;
    iovec iov{buf.data(), buf.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(uint32_t))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = recvmsg(udp_fd_, &msg, 0);
    if (n <= 0) continue;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
        uint32_t dropped = 0;
        std::memcpy(&dropped, CMSG_DATA(c), sizeof dropped);
        udp_dropped_ = dropped;  // the kernel's running total for this socket
      }
    }
    const std::string_view datagram(buf.data(), static_cast<size_t>(n));
    LogLine l;
    l.input = input;
    l.position = ++position;
    auto m = ParseSyslog(datagram);
    if (m.ok()) {
      l.text = std::move(m->message);
    } else {
      l.text.assign(datagram);
      l.error = m.status().message();
    }
    Push(std::move(l));
  }
}

void LogIngest::RunAccept(int listen_fd, uint32_t input, bool forward) {
  while (!stop_) {
    pollfd pfd{listen_fd, POLLIN, 0};
    if (poll(&pfd, 1, kPollMs) <= 0) continue;
    const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    if (live_connections_.load() >= options_.max_connections) {
      ++refused_;
      close(fd);
      continue;
    }
    ++live_connections_;
    std::thread([this, fd, input, forward] {
      if (forward) {
        RunForwardConnection(fd, input);
      } else {
        RunSyslogConnection(fd, input);
      }
      close(fd);
      --live_connections_;
    }).detach();
  }
}

void LogIngest::RunSyslogConnection(int fd, uint32_t input) {
  SyslogFramer framer(options_.max_frame_bytes);
  auto& position = positions_[input];
  SyslogFramer::Sink sink = [&](std::string_view frame, std::string_view error) {
    LogLine l;
    l.input = input;
    l.position = ++position;
    if (!error.empty()) {
      l.text.assign(frame);
      l.error = "syslog: " + std::string(error);
    } else if (auto m = ParseSyslog(frame); m.ok()) {
      l.text = std::move(m->message);
    } else {
      l.text.assign(frame);
      l.error = m.status().message();
    }
    Push(std::move(l));
  };
  std::vector<char> buf(65536);
  while (!stop_) {
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, kPollMs) <= 0) continue;
    const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    framer.Feed(std::string_view(buf.data(), static_cast<size_t>(n)), sink);
  }
  framer.Finish(sink);
}

void LogIngest::RunForwardConnection(int fd, uint32_t input) {
  ForwardLimits limits;
  ForwardDecoder decoder(limits);
  auto& position = positions_[input];
  ForwardDecoder::EventSink events = [&](ForwardEvent&& ev) {
    LogLine l;
    l.input = input;
    l.position = ++position;
    l.time = ev.time;
    l.text = std::move(ev.line);
    Push(std::move(l));
  };
  ForwardDecoder::ErrorSink errors = [&](std::string_view error, std::string_view raw) {
    LogLine l;
    l.input = input;
    l.position = ++position;
    l.text.assign(raw);
    l.error.assign(error);
    Push(std::move(l));
  };
  std::vector<char> buf(65536);
  std::string reply;
  while (!stop_) {
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, kPollMs) <= 0) continue;
    const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.clear();
    const bool ok =
        decoder.Feed(std::string_view(buf.data(), static_cast<size_t>(n)), events, errors, &reply);
    if (!reply.empty() && !SendAll(fd, reply)) break;
    if (!ok) break;
  }
}

int RunLogAgent(const LogIngestOptions& options) {
  const sigset_t signals = BlockStopSignals();
  auto fail = [](const Status& s) {
    std::fprintf(stderr, "vigil-agent: error: %s\n", s.message().c_str());
    return 1;
  };
  const auto t0 = std::chrono::steady_clock::now();
  auto ingest = LogIngest::Create(options);
  if (!ingest.ok()) return fail(ingest.status());
  auto ports = (*ingest)->Start();
  if (!ports.ok()) return fail(ports.status());
  if (!options.quiet) {
    std::string where;
    if (ports->syslog_udp) where += " syslog-udp:" + std::to_string(ports->syslog_udp);
    if (ports->syslog_tcp) where += " syslog-tcp:" + std::to_string(ports->syslog_tcp);
    if (ports->forward) where += " forward:" + std::to_string(ports->forward);
    std::fprintf(stderr, "vigil-agent: logs ready (format '%s', %zu file(s))%s\n",
                 (*ingest)->format_spec().c_str(), options.inputs.size(), where.c_str());
  }
  int sig = 0;
  const timespec tick{0, kPollMs * 1000000L};
  while (!(*ingest)->Finished()) {
    sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig > 0) break;
  }
  (*ingest)->Stop();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!options.quiet) {
    nlohmann::json summary = (*ingest)->counters().ToJson();
    summary["connections_refused"] = (*ingest)->connections_refused();
    summary["udp_dropped"] = (*ingest)->udp_dropped();
    summary["seconds"] = secs;
    std::fprintf(stderr, "vigil-agent: logs: %s\n", summary.dump().c_str());
  }
  return 0;
}

}  // namespace vigil
