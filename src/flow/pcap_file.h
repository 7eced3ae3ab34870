// The classic pcap file format, read from bytes in memory (the fast path for capture files; pcapng
// goes through libpcap in PcapSource).
//
// PcapFileReader parses the 24-byte file header (either byte order, microsecond or nanosecond
// timestamps) and then walks the records. It never reads outside the bytes it was given: a record
// cut short, or one that claims an absurd length, is a Corruption error naming the file and the
// packet number ("cap.pcap: packet 17: record truncated: 1514 bytes captured, 200 left in the
// file"). A pure function of its input, so the fuzz target drives it directly. The bytes must
// outlive the reader; frames point into them. Not thread-safe (one reader, one thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace vigil {

struct RawFrame {
  const uint8_t* data = nullptr;
  uint32_t caplen = 0;
  uint32_t wire_len = 0;
  int64_t ts_us = 0;
};

enum class ReadOutcome { kFrame, kIdle, kEnd };

// True if the bytes start like a pcapng file (section header block).
bool LooksLikePcapng(const uint8_t* data, size_t size);

class PcapFileReader {
 public:
  // InvalidArgument if the bytes are not a classic pcap file (the message names `name`).
  static Result<PcapFileReader> Open(const std::string& name, const uint8_t* data, size_t size);

  // The next record (kFrame), kEnd after the last one, or Corruption.
  Result<ReadOutcome> Next(RawFrame* frame);

  int link_type() const { return link_type_; }
  uint32_t snaplen() const { return snaplen_; }
  uint64_t frames() const { return frames_; }
  // Bytes consumed so far (frames returned before the next call lie below).
  size_t position() const { return pos_; }

 private:
  PcapFileReader() = default;
  uint32_t Read32(size_t at) const;

  std::string name_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t pos_ = 0;
  bool swapped_ = false;
  bool nanoseconds_ = false;
  int link_type_ = 0;
  uint32_t snaplen_ = 0;
  uint64_t frames_ = 0;
};

}  // namespace vigil
