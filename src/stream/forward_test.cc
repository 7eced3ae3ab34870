// Fluent Forward decoding: the four modes as fluentd and fluent-bit send them (encoded here with
// msgpack-cxx), EventTime, chunk acknowledgements, byte-by-byte delivery, and malformed input that
// is reported (never dropped silently) without stopping the rest.
#ifndef MSGPACK_NO_BOOST
#define MSGPACK_NO_BOOST 1
#endif
#include "stream/forward.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <map>
#include <msgpack.hpp>

namespace vigil {
namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

void Str(Packer& p, std::string_view s) {
  p.pack_str(static_cast<uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

void EventTime(Packer& p, uint32_t sec, uint32_t nsec) {
  char b[8];
  for (int i = 0; i < 4; ++i) {
    b[i] = static_cast<char>(sec >> (24 - 8 * i));
    b[4 + i] = static_cast<char>(nsec >> (24 - 8 * i));
  }
  p.pack_ext(8, 0);
  p.pack_ext_body(b, 8);
}

void Record(Packer& p, std::string_view key, std::string_view line) {
  p.pack_map(2);
  Str(p, key);
  Str(p, line);
  Str(p, "host");
  Str(p, "h1");
}

void Entry(Packer& p, uint32_t t, std::string_view line) {
  p.pack_array(2);
  EventTime(p, t, 500000000);
  Record(p, "log", line);
}

void Option(Packer& p, std::string_view chunk, bool gzip) {
  p.pack_map(gzip ? 2 : 1);
  Str(p, "chunk");
  Str(p, chunk);
  if (gzip) {
    Str(p, "compressed");
    Str(p, "gzip");
  }
}

std::string Gzip(std::string_view in) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

struct Got {
  std::vector<ForwardEvent> events;
  std::vector<std::string> errors;
  std::string reply;
  ForwardDecoder::EventSink Events() {
    return [this](ForwardEvent&& e) { events.push_back(std::move(e)); };
  }
  ForwardDecoder::ErrorSink Errors() {
    return [this](std::string_view e, std::string_view) { errors.emplace_back(e); };
  }
};

// One stream holding every mode: Message, Forward, PackedForward, CompressedPackedForward.
std::string AllModes() {
  msgpack::sbuffer buf;
  Packer p(buf);
  p.pack_array(3);  // Message, integer time, no option
  Str(p, "app.a");
  p.pack_uint32(1700000000);
  Record(p, "message", "one");
  p.pack_array(3);  // Forward with a chunk
  Str(p, "app.b");
  p.pack_array(2);
  Entry(p, 1700000001, "two");
  Entry(p, 1700000002, "three");
  Option(p, "c1", false);
  msgpack::sbuffer packed;
  Packer pp(packed);
  Entry(pp, 1700000003, "four");
  Entry(pp, 1700000004, "five");
  p.pack_array(3);  // PackedForward (bin)
  Str(p, "app.c");
  p.pack_bin(static_cast<uint32_t>(packed.size()));
  p.pack_bin_body(packed.data(), static_cast<uint32_t>(packed.size()));
  Option(p, "c2", false);
  const std::string gz = Gzip(std::string_view(packed.data(), packed.size())) +
                         Gzip(std::string_view(packed.data(), packed.size()));  // two members
  p.pack_array(3);  // CompressedPackedForward
  Str(p, "app.d");
  p.pack_bin(static_cast<uint32_t>(gz.size()));
  p.pack_bin_body(gz.data(), static_cast<uint32_t>(gz.size()));
  Option(p, "c3", true);
  return std::string(buf.data(), buf.size());
}

TEST(Forward, EveryModeWholeAndByteByByte) {
  const std::string stream = AllModes();
  for (size_t step : {stream.size(), size_t{1}, size_t{7}}) {
    ForwardDecoder d;
    Got g;
    for (size_t i = 0; i < stream.size(); i += step) {
      ASSERT_TRUE(
          d.Feed(std::string_view(stream).substr(i, step), g.Events(), g.Errors(), &g.reply));
    }
    ASSERT_TRUE(g.errors.empty()) << g.errors[0];
    std::vector<std::string> lines;
    for (const auto& e : g.events) lines.push_back(e.line);
    EXPECT_EQ(lines, (std::vector<std::string>{"one", "two", "three", "four", "five", "four",
                                               "five", "four", "five"}));
    EXPECT_EQ(g.events[0].tag, "app.a");
    EXPECT_EQ(g.events[0].time, 1700000000.0);
    EXPECT_EQ(g.events[1].tag, "app.b");
    EXPECT_NEAR(g.events[1].time, 1700000001.5, 1e-6);
    EXPECT_EQ(g.events.back().tag, "app.d");
    EXPECT_EQ(g.reply, ForwardAck("c1") + ForwardAck("c2") + ForwardAck("c3"));
  }
  // The ack is the map {"ack": chunk}.
  msgpack::object_handle oh = msgpack::unpack(ForwardAck("abc").data(), ForwardAck("abc").size());
  std::map<std::string, std::string> ack;
  oh.get().convert(ack);
  EXPECT_EQ(ack["ack"], "abc");
}

TEST(Forward, MalformedEntriesAreReportedAndTheRestGoesThrough) {
  msgpack::sbuffer buf;
  Packer p(buf);
  p.pack_array(3);  // Forward: a good entry, a bad one, a record without a line, a bad time
  Str(p, "t");
  p.pack_array(4);
  Entry(p, 1, "good");
  p.pack_uint8(7);
  p.pack_array(2);
  p.pack_uint8(1);
  p.pack_map(1);
  Str(p, "other");
  Str(p, "x");
  p.pack_array(2);
  Str(p, "yesterday");
  Record(p, "log", "bad time");
  Option(p, "c9", false);
  p.pack_uint32(42);  // not [tag, ...]
  p.pack_array(3);    // compressed but not gzip
  Str(p, "t");
  p.pack_bin(4);
  p.pack_bin_body("nope", 4);
  Option(p, "c10", true);
  ForwardDecoder d;
  Got g;
  ASSERT_TRUE(d.Feed(std::string_view(buf.data(), buf.size()), g.Events(), g.Errors(), &g.reply));
  ASSERT_EQ(g.events.size(), 1u);
  EXPECT_EQ(g.events[0].line, "good");
  ASSERT_EQ(g.errors.size(), 5u);
  EXPECT_NE(g.errors[0].find("not [time, record]"), std::string::npos);
  EXPECT_NE(g.errors[1].find("no log line"), std::string::npos);
  EXPECT_NE(g.errors[2].find("time"), std::string::npos);
  EXPECT_NE(g.errors[3].find("not [tag"), std::string::npos);
  EXPECT_NE(g.errors[4].find("gzip"), std::string::npos);
  // Malformed chunks are still acknowledged (resending them would not make them valid).
  EXPECT_EQ(g.reply, ForwardAck("c9") + ForwardAck("c10"));
}

TEST(Forward, BytesThatAreNotMsgpackBreakTheStream) {
  ForwardDecoder d;
  Got g;
  // 0xc1 is never used in msgpack.
  EXPECT_FALSE(d.Feed(std::string("\x93\xc1\x01\x02", 4), g.Events(), g.Errors(), &g.reply));
  ASSERT_EQ(g.errors.size(), 1u);
  EXPECT_NE(g.errors[0].find("not msgpack"), std::string::npos);
}

TEST(Forward, HugeDeclaredSizesAreRefusedBeforeAllocating) {
  ForwardLimits limits;
  limits.max_message = 1024;
  ForwardDecoder d(limits);
  Got g;
  // An array header claiming 2^32-1 entries: refused at its header.
  EXPECT_FALSE(d.Feed(std::string("\xdd\xff\xff\xff\xff", 5), g.Events(), g.Errors(), &g.reply));
  // A string claiming 4 GiB waits for its bytes (nothing is reserved for it) until the message
  // passes max_message.
  ForwardDecoder d2(limits);
  EXPECT_TRUE(
      d2.Feed(std::string("\x92\xdb\xff\xff\xff\xff", 6), g.Events(), g.Errors(), &g.reply));
  EXPECT_FALSE(d2.Feed(std::string(2000, 'x'), g.Events(), g.Errors(), &g.reply));
  // A message that never ends beyond max_message.
  ForwardDecoder d3(limits);
  std::string start("\x93\xa1t\xdb\x00\x00\x08\x00", 8);  // [ "t", str of 2048 bytes...
  bool ok = d3.Feed(start, g.Events(), g.Errors(), &g.reply);
  ok = ok && d3.Feed(std::string(1500, 'x'), g.Events(), g.Errors(), &g.reply);
  EXPECT_FALSE(ok);
  EXPECT_TRUE(g.events.empty());
}

}  // namespace
}  // namespace vigil
