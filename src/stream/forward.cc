#ifndef MSGPACK_NO_BOOST
#define MSGPACK_NO_BOOST 1  // msgpack-cxx without Boost: the object API is all this needs
#endif
#include "stream/forward.h"

#include <zlib.h>

#include <cstring>
#include <msgpack.hpp>
#include <sstream>

namespace vigil {
namespace {

constexpr size_t kRawKeep = 4096;

msgpack::unpack_limit Limits(const ForwardLimits& l) {
  // Arrays and maps are allocated when their header is read: keep them small enough to be cheap.
  const size_t entries = std::min<size_t>(l.max_entries, 1u << 14);
  return msgpack::unpack_limit(entries, 4096, l.max_message, l.max_message, 1024, 16);
}

std::string Render(const msgpack::object& o) {
  std::ostringstream out;
  out << o;
  std::string s = out.str();
  if (s.size() > kRawKeep) s.resize(kRawKeep);
  return s;
}

bool IsText(const msgpack::object& o) {
  return o.type == msgpack::type::STR || o.type == msgpack::type::BIN;
}

std::string_view Text(const msgpack::object& o) {
  if (o.type == msgpack::type::STR) return {o.via.str.ptr, o.via.str.size};
  return {o.via.bin.ptr, o.via.bin.size};
}

uint32_t Be32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}

bool Time(const msgpack::object& o, double* out) {
  switch (o.type) {
    case msgpack::type::POSITIVE_INTEGER:
      *out = static_cast<double>(o.via.u64);
      return true;
    case msgpack::type::NEGATIVE_INTEGER:
      *out = static_cast<double>(o.via.i64);
      return true;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      *out = o.via.f64;
      return true;
    case msgpack::type::EXT:
      if (o.via.ext.type() != 0 || o.via.ext.size != 8) return false;
      *out = Be32(o.via.ext.data()) + Be32(o.via.ext.data() + 4) * 1e-9;
      return true;
    default:
      return false;
  }
}

// gzip members (one or several, concatenated) inflated up to `limit` bytes.
Status Gunzip(std::string_view in, size_t limit, std::string* out) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return Status::Internal("zlib: inflateInit2");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  char buf[64 << 10];
  Status s;
  while (true) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    out->append(buf, sizeof buf - zs.avail_out);
    if (out->size() > limit) {
      s = Status::InvalidArgument("gzip payload inflates past the limit");
      break;
    }
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      inflateReset(&zs);  // another member follows
      continue;
    }
    if (rc != Z_OK) {
      s = Status::InvalidArgument(std::string("bad gzip payload: ") + (zs.msg ? zs.msg : "error"));
      break;
    }
    if (zs.avail_in == 0 && zs.avail_out != 0) {
      s = Status::InvalidArgument("truncated gzip payload");
      break;
    }
  }
  inflateEnd(&zs);
  return s;
}

class MessageDecoder {
 public:
  MessageDecoder(const ForwardLimits& limits, const ForwardDecoder::EventSink& events,
                 const ForwardDecoder::ErrorSink& errors, std::string* reply)
      : limits_(limits), events_(events), errors_(errors), reply_(reply) {}

  void Decode(const msgpack::object& msg) {
    if (msg.type != msgpack::type::ARRAY || msg.via.array.size < 2 || msg.via.array.size > 4 ||
        !IsText(msg.via.array.ptr[0])) {
      errors_("forward: not [tag, ...] (a msgpack array of 2-4 items starting with a string)",
              Render(msg));
      return;
    }
    const msgpack::object* a = msg.via.array.ptr;
    const uint32_t n = msg.via.array.size;
    tag_.assign(Text(a[0]));
    const msgpack::object& second = a[1];
    const msgpack::object* option = nullptr;
    if (second.type == msgpack::type::ARRAY) {  // Forward
      if (n == 4) return errors_("forward: Forward mode takes [tag, entries, option]", Render(msg));
      option = n == 3 ? &a[2] : nullptr;
      Options(option);
      const msgpack::object_array& entries = second.via.array;
      for (uint32_t i = 0; i < entries.size; ++i) Entry(entries.ptr[i]);
    } else if (IsText(second)) {  // PackedForward / CompressedPackedForward
      if (n == 4)
        return errors_("forward: PackedForward takes [tag, entries, option]", Render(msg));
      option = n == 3 ? &a[2] : nullptr;
      Options(option);
      std::string inflated;
      std::string_view packed = Text(second);
      if (compressed_) {
        Status s = Gunzip(packed, limits_.max_inflated, &inflated);
        if (!s.ok()) {
          errors_("forward: CompressedPackedForward: " + s.message(),
                  std::string_view(tag_).substr(0, kRawKeep));
          return Ack();
        }
        packed = inflated;
      }
      size_t off = 0, count = 0;
      while (off < packed.size() && count++ < limits_.max_entries) {
        try {
          msgpack::object_handle oh =
              msgpack::unpack(packed.data(), packed.size(), off, nullptr, nullptr, Limits(limits_));
          Entry(oh.get());
        } catch (const std::exception& e) {
          errors_(std::string("forward: bad PackedForward entries: ") + e.what(),
                  packed.substr(off, std::min(packed.size() - off, kRawKeep)));
          break;
        }
      }
    } else {  // Message: [tag, time, record(, option)]
      if (n < 3) return errors_("forward: Message mode takes [tag, time, record]", Render(msg));
      option = n == 4 ? &a[3] : nullptr;
      Options(option);
      Record(a[1], a[2]);
    }
    Ack();
  }

 private:
  void Options(const msgpack::object* option) {
    chunk_.clear();
    compressed_ = false;
    if (option == nullptr || option->type != msgpack::type::MAP) return;
    const msgpack::object_map& m = option->via.map;
    for (uint32_t i = 0; i < m.size; ++i) {
      if (!IsText(m.ptr[i].key)) continue;
      const std::string_view key = Text(m.ptr[i].key);
      const msgpack::object& val = m.ptr[i].val;
      if (key == "chunk" && IsText(val)) chunk_.assign(Text(val));
      if (key == "compressed" && IsText(val) && Text(val) == "gzip") compressed_ = true;
    }
  }

  void Ack() {
    if (!chunk_.empty() && reply_ != nullptr) *reply_ += ForwardAck(chunk_);
    chunk_.clear();
  }

  void Entry(const msgpack::object& e) {
    if (e.type != msgpack::type::ARRAY || e.via.array.size != 2) {
      errors_("forward: entry is not [time, record]", Render(e));
      return;
    }
    Record(e.via.array.ptr[0], e.via.array.ptr[1]);
  }

  void Record(const msgpack::object& time, const msgpack::object& record) {
    ForwardEvent ev;
    if (!Time(time, &ev.time)) {
      errors_("forward: time is not an integer, a float or an EventTime", Render(time));
      return;
    }
    if (record.type != msgpack::type::MAP) {
      errors_("forward: record is not a map", Render(record));
      return;
    }
    const msgpack::object_map& m = record.via.map;
    const msgpack::object* line = nullptr;
    size_t best = limits_.line_keys.size();
    for (uint32_t i = 0; i < m.size; ++i) {
      if (!IsText(m.ptr[i].key) || !IsText(m.ptr[i].val)) continue;
      const std::string_view key = Text(m.ptr[i].key);
      for (size_t k = 0; k < best; ++k) {
        if (key == limits_.line_keys[k]) {
          best = k;
          line = &m.ptr[i].val;
          break;
        }
      }
    }
    if (line == nullptr) {
      errors_("forward: record has no log line (a string under one of the line keys)",
              Render(record));
      return;
    }
    ev.tag = tag_;
    ev.line.assign(Text(*line));
    events_(std::move(ev));
  }

  const ForwardLimits& limits_;
  const ForwardDecoder::EventSink& events_;
  const ForwardDecoder::ErrorSink& errors_;
  std::string* reply_;
  std::string tag_, chunk_;
  bool compressed_ = false;
};

}  // namespace

struct ForwardDecoder::Impl {
  ForwardLimits limits;
  msgpack::unpacker unpacker;
  explicit Impl(ForwardLimits l)
      : limits(std::move(l)),
        unpacker(nullptr, nullptr, 8192, Limits(limits)) {}
};

ForwardDecoder::ForwardDecoder(ForwardLimits limits)
    : impl_(std::make_unique<Impl>(std::move(limits))) {}
ForwardDecoder::~ForwardDecoder() = default;
ForwardDecoder::ForwardDecoder(ForwardDecoder&&) noexcept = default;

bool ForwardDecoder::Feed(std::string_view bytes, const EventSink& events, const ErrorSink& errors,
                          std::string* reply) {
  msgpack::unpacker& u = impl_->unpacker;
  try {
    u.reserve_buffer(bytes.size());
    std::memcpy(u.buffer(), bytes.data(), bytes.size());
    u.buffer_consumed(bytes.size());
    msgpack::object_handle oh;
    while (u.next(oh)) {
      MessageDecoder d(impl_->limits, events, errors, reply);
      d.Decode(oh.get());
    }
  } catch (const std::exception& e) {
    errors(std::string("forward: not msgpack (connection closed): ") + e.what(),
           bytes.substr(0, std::min(bytes.size(), kRawKeep)));
    return false;
  }
  if (u.nonparsed_size() > impl_->limits.max_message) {
    errors("forward: message over the size limit (connection closed)", {});
    return false;
  }
  return true;
}

void ForwardDecoder::DecodeMessage(std::string_view message, const ForwardLimits& limits,
                                   const EventSink& events, const ErrorSink& errors,
                                   std::string* reply) {
  size_t off = 0;
  while (off < message.size()) {
    try {
      msgpack::object_handle oh =
          msgpack::unpack(message.data(), message.size(), off, nullptr, nullptr, Limits(limits));
      MessageDecoder d(limits, events, errors, reply);
      d.Decode(oh.get());
    } catch (const std::exception& e) {
      errors(std::string("forward: not msgpack: ") + e.what(),
             message.substr(off, std::min(message.size() - off, kRawKeep)));
      return;
    }
  }
}

std::string ForwardAck(std::string_view chunk) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(1);
  pk.pack_str(3);
  pk.pack_str_body("ack", 3);
  pk.pack_str(static_cast<uint32_t>(chunk.size()));
  pk.pack_str_body(chunk.data(), static_cast<uint32_t>(chunk.size()));
  return std::string(buf.data(), buf.size());
}

}  // namespace vigil
