// Packet sources: a capture file (pcap or pcapng, any timestamp precision) or a live interface,
// with an optional BPF filter. Classic pcap files are memory-mapped and walked by PcapFileReader
// (the fast path); pcapng files and live interfaces go through libpcap.
//
// Next() returns one frame at a time; the frame's bytes stay valid until the next call. Errors are
// values that name the file (or interface) and, for a damaged file, the number of the packet that
// could not be read ("cap.pcap: packet 17: truncated dump file; ..."). A live source returns
// kIdle when no packet came within its poll interval, so the caller can move its clock on.
// Not thread-safe, except Stop(), which may be called from another thread or a signal handler to
// make a live read return kEnd.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/status.h"
#include "flow/pcap_file.h"

struct pcap;         // libpcap's handle (pcap_t)
struct bpf_program;  // a compiled BPF filter

namespace vigil {

class PcapSource {
 public:
  static Result<std::unique_ptr<PcapSource>> OpenFile(const std::string& path,
                                                      const std::string& bpf = "");
  // `poll_ms`: how long a read waits before returning kIdle.
  static Result<std::unique_ptr<PcapSource>> OpenLive(const std::string& interface,
                                                      const std::string& bpf = "",
                                                      int snaplen = 262144, int poll_ms = 200);
  ~PcapSource();
  PcapSource(const PcapSource&) = delete;
  PcapSource& operator=(const PcapSource&) = delete;

  Result<ReadOutcome> Next(RawFrame* frame);
  void Stop();

  int link_type() const { return link_type_; }
  const std::string& name() const { return name_; }
  uint64_t frames() const { return frames_; }
  // Live capture: packets the kernel dropped (0 for files or if unknown).
  uint64_t KernelDrops() const;

 private:
  PcapSource(pcap* handle, std::string name, bool live);
  Status ApplyFilter(const std::string& bpf);
  static Result<std::unique_ptr<PcapSource>> OpenMapped(const std::string& path, int fd,
                                                        size_t size, const std::string& bpf);

  pcap* handle_;  // libpcap reads (pcapng, live); for mapped files a dead handle for BPF, or null
  std::string name_;
  bool live_;
  int fd_ = -1;        // live: the descriptor to poll
  int poll_ms_ = 200;  // live: how long one Next() waits
  int link_type_ = 0;
  uint64_t frames_ = 0;
  // Mapped classic pcap files.
  void* map_ = nullptr;
  size_t map_size_ = 0;
  size_t map_released_ = 0;  // pages below this were given back (keeps RSS flat)
  std::optional<PcapFileReader> reader_;
  bpf_program* filter_ = nullptr;  // for mapped files with --bpf
};

}  // namespace vigil
