#include "flow/pcap_source.h"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "flow/packet.h"

namespace vigil {

PcapSource::PcapSource(pcap* handle, std::string name, bool live)
    : handle_(handle), name_(std::move(name)), live_(live) {
  if (handle_ != nullptr) link_type_ = pcap_datalink(handle_);
}

PcapSource::~PcapSource() {
  if (filter_ != nullptr) {
    pcap_freecode(filter_);
    delete filter_;
  }
  if (handle_ != nullptr) pcap_close(handle_);
  if (map_ != nullptr) munmap(map_, map_size_);
}

Result<std::unique_ptr<PcapSource>> PcapSource::OpenMapped(const std::string& path, int fd,
                                                           size_t size, const std::string& bpf) {
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) return Status::IOError(path + ": cannot map: " + std::strerror(errno));
  madvise(map, size, MADV_SEQUENTIAL);
  std::unique_ptr<PcapSource> src(new PcapSource(nullptr, path, /*live=*/false));
  src->map_ = map;
  src->map_size_ = size;
  VIGIL_ASSIGN_OR_RETURN(PcapFileReader reader,
                         PcapFileReader::Open(path, static_cast<const uint8_t*>(map), size));
  src->link_type_ = reader.link_type();
  src->reader_ = reader;
  if (!LinkTypeSupported(src->link_type_)) {
    const char* lt = pcap_datalink_val_to_name(src->link_type_);
    return Status::Unsupported(path + ": link type " + std::to_string(src->link_type_) + " (" +
                               (lt ? lt : "unknown") +
                               ") is not supported (Ethernet, Linux cooked, raw IP, loopback)");
  }
  if (!bpf.empty()) {
    // A dead handle compiles the filter for this link type; frames are matched one by one.
    src->handle_ = pcap_open_dead(src->link_type_,
                                  static_cast<int>(std::max<uint32_t>(reader.snaplen(), 65535)));
    if (src->handle_ == nullptr) return Status::Internal("pcap_open_dead failed");
    src->filter_ = new bpf_program;
    if (pcap_compile(src->handle_, src->filter_, bpf.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      delete src->filter_;
      src->filter_ = nullptr;
      return Status::InvalidArgument("--bpf '" + bpf + "': " + pcap_geterr(src->handle_));
    }
  }
  return src;
}

Status PcapSource::ApplyFilter(const std::string& bpf) {
  if (bpf.empty()) return Status::Ok();
  bpf_program program;
  if (pcap_compile(handle_, &program, bpf.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    return Status::InvalidArgument("--bpf '" + bpf + "': " + pcap_geterr(handle_));
  }
  int rc = pcap_setfilter(handle_, &program);
  pcap_freecode(&program);
  if (rc != 0) return Status::InvalidArgument("--bpf '" + bpf + "': " + pcap_geterr(handle_));
  return Status::Ok();
}

Result<std::unique_ptr<PcapSource>> PcapSource::OpenFile(const std::string& path,
                                                         const std::string& bpf) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::NotFound(path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  uint8_t magic[4] = {0, 0, 0, 0};
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 24 &&
      pread(fd, magic, 4, 0) == 4 && !LooksLikePcapng(magic, 4)) {
    // Classic pcap (or not a capture at all, which the reader reports): the mapped fast path.
    auto mapped = OpenMapped(path, fd, static_cast<size_t>(st.st_size), bpf);
    close(fd);
    return mapped;
  }
  // pcapng, or something libpcap may know better.
  FILE* f = fdopen(fd, "rb");
  if (f == nullptr) {
    close(fd);
    return Status::IOError(path + ": cannot open: " + std::strerror(errno));
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap* handle = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
  if (handle == nullptr) {
    std::fclose(f);
    return Status::InvalidArgument(path + ": not a readable pcap or pcapng capture: " + errbuf);
  }
  std::unique_ptr<PcapSource> src(new PcapSource(handle, path, /*live=*/false));
  if (!LinkTypeSupported(src->link_type_)) {
    const char* lt = pcap_datalink_val_to_name(src->link_type_);
    return Status::Unsupported(path + ": link type " + std::to_string(src->link_type_) + " (" +
                               (lt ? lt : "unknown") +
                               ") is not supported (Ethernet, Linux cooked, raw IP, loopback)");
  }
  VIGIL_RETURN_IF_ERROR(src->ApplyFilter(bpf));
  return src;
}

Result<std::unique_ptr<PcapSource>> PcapSource::OpenLive(const std::string& interface,
                                                         const std::string& bpf, int snaplen,
                                                         int poll_ms) {
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap* handle = pcap_create(interface.c_str(), errbuf);
  if (handle == nullptr) return Status::IOError("interface " + interface + ": " + errbuf);
  std::unique_ptr<PcapSource> src;
  pcap_set_snaplen(handle, snaplen);
  pcap_set_promisc(handle, 1);
  pcap_set_timeout(handle, poll_ms);
  pcap_set_buffer_size(handle, 64 << 20);
  pcap_set_tstamp_precision(handle, PCAP_TSTAMP_PRECISION_MICRO);
  int rc = pcap_activate(handle);
  if (rc < 0) {
    std::string msg = rc == PCAP_ERROR ? pcap_geterr(handle) : pcap_statustostr(rc);
    pcap_close(handle);
    if (rc == PCAP_ERROR_PERM_DENIED) msg += " (capturing needs root or CAP_NET_RAW)";
    return Status::IOError("interface " + interface + ": " + msg);
  }
  src.reset(new PcapSource(handle, "interface " + interface, /*live=*/true));
  // Non-blocking reads and our own poll: with TPACKET_V3 a blocking read waits for the first
  // packet however long that takes, so an idle interface would never return to the caller.
  char nb_err[PCAP_ERRBUF_SIZE] = {0};
  if (pcap_setnonblock(handle, 1, nb_err) != 0) {
    return Status::IOError("interface " + interface + ": " + nb_err);
  }
  src->fd_ = pcap_get_selectable_fd(handle);
  src->poll_ms_ = poll_ms;
  if (!LinkTypeSupported(src->link_type_)) {
    return Status::Unsupported("interface " + interface + ": link type " +
                               std::to_string(src->link_type_) + " is not supported");
  }
  VIGIL_RETURN_IF_ERROR(src->ApplyFilter(bpf));
  return src;
}

Result<ReadOutcome> PcapSource::Next(RawFrame* frame) {
  if (reader_) {
    // The frames before the reader's position are done with: give their pages back every 32 MiB
    // so a large file does not count against the process's memory.
    const size_t done = reader_->position() & ~static_cast<size_t>(4095);
    if (done - map_released_ >= (32u << 20)) {
      madvise(static_cast<char*>(map_) + map_released_, done - map_released_, MADV_DONTNEED);
      map_released_ = done;
    }
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(ReadOutcome outcome, reader_->Next(frame));
      if (outcome != ReadOutcome::kFrame) return outcome;
      ++frames_;
      if (filter_ == nullptr) return outcome;
      pcap_pkthdr h;
      h.caplen = frame->caplen;
      h.len = frame->wire_len;
      h.ts.tv_sec = static_cast<time_t>(frame->ts_us / 1'000'000);
      h.ts.tv_usec = static_cast<suseconds_t>(frame->ts_us % 1'000'000);
      if (pcap_offline_filter(filter_, &h, frame->data) != 0) return outcome;
    }
  }
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  int rc = pcap_next_ex(handle_, &header, &data);
  if (rc == 0 && live_ && fd_ >= 0) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, poll_ms_) > 0) rc = pcap_next_ex(handle_, &header, &data);
  }
  switch (rc) {
    case 1:
      ++frames_;
      frame->data = data;
      frame->caplen = header->caplen;
      frame->wire_len = header->len;
      frame->ts_us = static_cast<int64_t>(header->ts.tv_sec) * 1'000'000 + header->ts.tv_usec;
      return ReadOutcome::kFrame;
    case 0:
      return ReadOutcome::kIdle;  // live: poll interval passed without packets
    case PCAP_ERROR_BREAK:
      return ReadOutcome::kEnd;  // end of file, or Stop()
    default:
      if (live_) return Status::IOError(name_ + ": " + pcap_geterr(handle_));
      return Status::Corruption(name_ + ": packet " + std::to_string(frames_ + 1) + ": " +
                                pcap_geterr(handle_));
  }
}

void PcapSource::Stop() {
  if (live_) pcap_breakloop(handle_);
}

uint64_t PcapSource::KernelDrops() const {
  if (!live_) return 0;
  pcap_stat st;
  if (pcap_stats(handle_, &st) != 0) return 0;
  return st.ps_drop;
}

}  // namespace vigil
