// Syslog messages (RFC 5424, RFC 3164 as relays and logger(1) write them) and TCP framing
// (octet counting, newline framing, any split of the stream, oversized and broken frames).
#include "stream/syslog.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace vigil {
namespace {

TEST(Syslog, Rfc5424) {
  auto m = ParseSyslog(
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 77 ID47 "
      "[exampleSDID@32473 iut=\"3\" eventSource=\"App\\\"li]cation\"][x@1 a=\"b\"] \xEF\xBB\xBF"
      "An application event log entry...");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->version, 1);
  EXPECT_EQ(m->facility(), 20);
  EXPECT_EQ(m->severity(), 5);
  EXPECT_EQ(m->timestamp, "2003-10-11T22:14:15.003Z");
  EXPECT_EQ(m->hostname, "mymachine.example.com");
  EXPECT_EQ(m->app_name, "evntslog");
  EXPECT_EQ(m->procid, "77");
  EXPECT_EQ(m->msgid, "ID47");
  EXPECT_EQ(m->structured_data.substr(0, 18), "[exampleSDID@32473");
  EXPECT_EQ(m->structured_data.back(), ']');
  EXPECT_EQ(m->message, "An application event log entry...");

  auto nil = ParseSyslog("<13>1 - - - - - -\n");
  ASSERT_TRUE(nil.ok()) << nil.status().message();
  EXPECT_EQ(nil->message, "");
  EXPECT_EQ(nil->structured_data, "-");
}

TEST(Syslog, Rfc3164Variants) {
  auto m = ParseSyslog("<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed on /dev/pts/8");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->version, 0);
  EXPECT_EQ(m->priority, 34);
  EXPECT_EQ(m->timestamp, "Oct 11 22:14:15");
  EXPECT_EQ(m->hostname, "mymachine");
  EXPECT_EQ(m->app_name, "su");
  EXPECT_EQ(m->procid, "230");
  EXPECT_EQ(m->message, "'su root' failed on /dev/pts/8");

  // Space-padded day, no hostname (the first token is the tag).
  m = ParseSyslog("<13>Nov  9 08:01:02 kernel: eth0 up");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->hostname, "");
  EXPECT_EQ(m->app_name, "kernel");
  EXPECT_EQ(m->message, "eth0 up");

  // No tag: the rest is the message, colons and all.
  m = ParseSyslog("<13>Nov 29 12:00:00 host 081109 203615 148 INFO dfs.DataNode: x");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->hostname, "host");
  EXPECT_EQ(m->message, "081109 203615 148 INFO dfs.DataNode: x");

  // No timestamp at all.
  m = ParseSyslog("<6>just a message");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->message, "just a message");
}

TEST(Syslog, MalformedMessagesAreErrorsNotCrashes) {
  for (const char* bad : {"", "no pri", "<>x", "<1000>x", "<192>x", "<12", "<1a>x",
                          "<13>1 2003-10-11T22:14:15Z host app", "<13>1 - - - - - [unterminated",
                          "<13>1 - - - - - x"}) {
    auto m = ParseSyslog(bad);
    EXPECT_FALSE(m.ok()) << bad;
    if (!m.ok()) EXPECT_NE(m.status().message().find("syslog"), std::string::npos);
  }
}

struct Collected {
  std::vector<std::string> frames, errors;
  SyslogFramer::Sink Sink() {
    return [this](std::string_view f, std::string_view e) {
      if (e.empty()) {
        frames.emplace_back(f);
      } else {
        errors.emplace_back(e);
      }
    };
  }
};

TEST(SyslogFramer, OctetCountingAndNewlinesInAnySplit) {
  const std::string a = "<13>1 - h app - - - first message\nwith a newline";
  const std::string b = "<13>Nov 29 12:00:00 h app: second";
  const std::string stream = std::to_string(a.size()) + " " + a + b + "\r\n" +
                             std::to_string(b.size()) + " " + b + "<14>third\n";
  std::mt19937 rng(3);
  for (int trial = 0; trial < 50; ++trial) {
    SyslogFramer framer(1024);
    Collected c;
    size_t i = 0;
    while (i < stream.size()) {
      const size_t n = std::min<size_t>(1 + rng() % 9, stream.size() - i);
      framer.Feed(std::string_view(stream).substr(i, n), c.Sink());
      i += n;
    }
    framer.Finish(c.Sink());
    ASSERT_EQ(c.frames.size(), 4u);
    EXPECT_EQ(c.frames[0], a);  // the newline inside stays: octet counting
    EXPECT_EQ(c.frames[1], b);
    EXPECT_EQ(c.frames[2], b);
    EXPECT_EQ(c.frames[3], "<14>third");
    EXPECT_TRUE(c.errors.empty());
  }
}

TEST(SyslogFramer, OversizedAndBrokenFramesAreReportedAndSkipped) {
  SyslogFramer framer(16);
  Collected c;
  framer.Feed("99999 " + std::string(99999, 'x'), c.Sink());  // count over the limit: skipped
  framer.Feed("<13>ok\n", c.Sink());
  framer.Feed(std::string(100, 'y') + "\n<13>after\n", c.Sink());  // long line: cut, skipped
  framer.Feed("12x bad count\n<13>again\n", c.Sink());
  framer.Feed("10 <13>short", c.Sink());  // closed inside a frame
  framer.Finish(c.Sink());
  EXPECT_EQ(c.frames, (std::vector<std::string>{"<13>ok", "<13>after", "<13>again"}));
  ASSERT_EQ(c.errors.size(), 4u);
  EXPECT_EQ(c.errors[0], "octet count over the frame limit");
  EXPECT_EQ(c.errors[1], "frame over the size limit");
  EXPECT_EQ(c.errors[2], "bad octet count");
  EXPECT_EQ(c.errors[3], "connection closed inside a frame");
}

TEST(SyslogFramer, UnterminatedLastLineIsAFrame) {
  SyslogFramer framer;
  Collected c;
  framer.Feed("<13>one\n<13>two", c.Sink());
  EXPECT_EQ(c.frames.size(), 1u);
  framer.Finish(c.Sink());
  EXPECT_EQ(c.frames, (std::vector<std::string>{"<13>one", "<13>two"}));
}

}  // namespace
}  // namespace vigil
