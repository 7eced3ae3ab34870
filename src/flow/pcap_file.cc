#include "flow/pcap_file.h"

#include <cstring>

namespace vigil {
namespace {

constexpr uint32_t kMagicMicro = 0xA1B2C3D4;
constexpr uint32_t kMagicNano = 0xA1B23C4D;
constexpr size_t kFileHeader = 24;
constexpr size_t kRecordHeader = 16;
// Larger than any real frame (jumbo, TSO super-packets are <= 256 KiB); a bigger length means
// the file is damaged.
constexpr uint32_t kMaxRecord = 16u << 20;

uint32_t Swap32(uint32_t v) {
  return (v >> 24) | ((v >> 8) & 0xFF00) | ((v << 8) & 0xFF0000) | (v << 24);
}

}  // namespace

bool LooksLikePcapng(const uint8_t* data, size_t size) {
  return size >= 4 && data[0] == 0x0A && data[1] == 0x0D && data[2] == 0x0D && data[3] == 0x0A;
}

uint32_t PcapFileReader::Read32(size_t at) const {
  uint32_t v;
  std::memcpy(&v, data_ + at, 4);
  return swapped_ ? Swap32(v) : v;
}

Result<PcapFileReader> PcapFileReader::Open(const std::string& name, const uint8_t* data,
                                            size_t size) {
  if (size < kFileHeader) {
    return Status::InvalidArgument(name + ": not a pcap file (" + std::to_string(size) +
                                   " bytes, shorter than a file header)");
  }
  PcapFileReader r;
  r.name_ = name;
  r.data_ = data;
  r.size_ = size;
  uint32_t magic;
  std::memcpy(&magic, data, 4);
  if (magic == kMagicMicro || magic == kMagicNano) {
    r.swapped_ = false;
  } else if (Swap32(magic) == kMagicMicro || Swap32(magic) == kMagicNano) {
    r.swapped_ = true;
    magic = Swap32(magic);
  } else {
    return Status::InvalidArgument(name + ": not a pcap file (bad magic number)");
  }
  r.nanoseconds_ = magic == kMagicNano;
  r.snaplen_ = r.Read32(16);
  // The link type is the low 16 bits; the upper ones may carry FCS information.
  r.link_type_ = static_cast<int>(r.Read32(20) & 0xFFFF);
  r.pos_ = kFileHeader;
  return r;
}

Result<ReadOutcome> PcapFileReader::Next(RawFrame* frame) {
  if (pos_ == size_) return ReadOutcome::kEnd;
  const uint64_t number = frames_ + 1;
  auto where = [&] { return name_ + ": packet " + std::to_string(number) + ": "; };
  if (size_ - pos_ < kRecordHeader) {
    return Status::Corruption(where() + "record header truncated (" + std::to_string(size_ - pos_) +
                              " of 16 bytes left in the file)");
  }
  const uint32_t sec = Read32(pos_);
  const uint32_t frac = Read32(pos_ + 4);
  const uint32_t caplen = Read32(pos_ + 8);
  const uint32_t wire_len = Read32(pos_ + 12);
  if (caplen > kMaxRecord) {
    return Status::Corruption(where() + "captured length " + std::to_string(caplen) +
                              " is not plausible (damaged file)");
  }
  if (size_ - pos_ - kRecordHeader < caplen) {
    return Status::Corruption(where() + "record truncated: " + std::to_string(caplen) +
                              " bytes captured, " + std::to_string(size_ - pos_ - kRecordHeader) +
                              " left in the file");
  }
  frame->data = data_ + pos_ + kRecordHeader;
  frame->caplen = caplen;
  frame->wire_len = wire_len < caplen ? caplen : wire_len;
  frame->ts_us = static_cast<int64_t>(sec) * 1'000'000 + (nanoseconds_ ? frac / 1000 : frac);
  pos_ += kRecordHeader + caplen;
  // The records are read in file order: ask for the bytes a few records ahead now, so the next
  // header is not a cache miss (the hardware prefetchers stop at page boundaries).
  if (size_ - pos_ > 1024) __builtin_prefetch(data_ + pos_ + 1024);
  ++frames_;
  return ReadOutcome::kFrame;
}

}  // namespace vigil
