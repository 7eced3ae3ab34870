// LogIngest: vigil-agent's log inputs around a LogPipeline (stream/log_pipeline.h).
//
// Sources, each on its own thread(s), hand lines to one bounded queue (backpressure: a TCP sender
// or a file reader waits while it is full; a UDP datagram waits in the socket buffer):
//   files      tailed like `tail -F` with the agent's file reader (stream/file_source.h: rotation
//              and truncation safe, oversized lines cut and dead-lettered); with follow off, read
//              once, and when every input is finite the agent stops after them;
//   syslog     RFC 5424 and RFC 3164 over UDP (a datagram is a message) and TCP (octet counting or
//              newline framing, stream/syslog.h); the MSG part is the log line;
//   forward    Fluent Forward over TCP (stream/forward.h): Message, Forward, PackedForward and
//              CompressedPackedForward; `chunk` options are acknowledged once the entries are
//              queued.
// One worker thread takes the lines in order, runs the pipeline, sweeps idle sessions every
// 200 ms, and writes alerts and dead letters (JSON lines, flushed per batch). TCP listeners
// accept at most max_connections at once (more are closed at once and counted); an idle
// connection is kept until the peer closes it or the ingest stops.
//
// Start() binds every listener (so a port taken is an error at start) and starts the threads;
// ports() reports the bound ports (tests bind port 0). Stop() closes the listeners, lets the
// worker drain the queue, and joins everything; safe from any thread, idempotent.
// counters() is a snapshot safe from any thread.
#pragma once

#include <atomic>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "stream/log_pipeline.h"
#include "stream/queue.h"

namespace vigil {

struct LogIngestOptions {
  LogPipelineOptions pipeline;
  std::vector<std::string> inputs;              // files to tail
  bool follow = true;                           // keep tailing files (tail -F)
  std::string syslog_udp, syslog_tcp, forward;  // HOST:PORT listeners ("": none)
  std::string alerts = "-";                     // JSON lines; "-": stdout; "": none
  std::string dead_letter;  // JSON lines of malformed lines and frames ("": none)
  size_t max_connections = 256;
  size_t max_frame_bytes = 64 << 10;  // a syslog frame
  size_t queue_lines = 65536;
  bool quiet = false;
  bool any() const {
    return !pipeline.model.empty() || !inputs.empty() || !syslog_udp.empty() ||
           !syslog_tcp.empty() || !forward.empty();
  }
};

struct LogIngestPorts {
  int syslog_udp = 0, syslog_tcp = 0, forward = 0;
};

class LogIngest {
 public:
  static Result<std::unique_ptr<LogIngest>> Create(const LogIngestOptions& options);
  ~LogIngest();

  Result<LogIngestPorts> Start();
  void Stop();
  // True once every source is finite and has ended (files without follow, no listeners).
  bool Finished() const { return finished_.load(); }

  LogCounters counters() const;
  uint64_t connections_refused() const { return refused_.load(); }
  // Syslog datagrams the kernel dropped because the socket buffer was full (SO_RXQ_OVFL).
  uint64_t udp_dropped() const { return udp_dropped_.load(); }
  std::string format_spec() const { return pipeline_->format_spec(); }

 private:
  explicit LogIngest(LogIngestOptions options);
  void Push(LogLine&& line);
  void Worker();
  void RunFile(uint32_t input, const std::string& path);
  void RunSyslogUdp(uint32_t input);
  void RunAccept(int fd, uint32_t input, bool forward);
  void RunSyslogConnection(int fd, uint32_t input);
  void RunForwardConnection(int fd, uint32_t input);
  void WriteLine(FILE* f, const std::string& text);

  LogIngestOptions options_;
  std::unique_ptr<LogPipeline> pipeline_;
  RecordQueue<LogLine> queue_;
  std::atomic<bool> stop_{false}, started_{false}, finished_{false};
  std::atomic<size_t> live_connections_{0}, files_running_{0};
  std::atomic<uint64_t> refused_{0}, udp_dropped_{0};
  int udp_fd_ = -1, tcp_fd_ = -1, forward_fd_ = -1;
  FILE* alerts_out_ = nullptr;
  FILE* dead_out_ = nullptr;
  bool own_alerts_ = false;
  std::thread worker_;
  std::mutex threads_mu_;
  std::vector<std::thread> threads_;  // sources and connections (guarded by threads_mu_)
  mutable std::mutex counters_mu_;
  LogCounters counters_;  // the worker's, copied after each batch (guarded by counters_mu_)
  std::deque<std::atomic<uint64_t>> positions_;  // per input; fixed once started
};

// vigil-agent with --log-model: the log ingest alone, until SIGINT/SIGTERM (blocked by the caller
// or here, taken with sigwait) or, when every input is finite, until they are read (every open
// session's end is then judged). Prints a JSON summary of the counters to stderr unless quiet.
// Exit code: 0, or 1 with a message for a failure to start.
int RunLogAgent(const LogIngestOptions& options);

}  // namespace vigil
