// End to end: vigil-agent --log-model on loghub's HDFS_2k.log. `vigil logs parse` + `vigil logs
// sessions` + `vigil train --model deeplog` (a small model, seconds) and `vigil predict` give the
// verdict of every session in the training plane. The agent then receives the same lines, each
// session through one of five inputs: syslog over UDP (RFC 3164, sent by logger(1)), syslog over
// TCP (RFC 5424 with octet counting, and RFC 3164 with newline framing, by logger), Fluent Forward
// (PackedForward and Message modes encoded here, with chunk acknowledgements) and a tailed file
// that grows while the agent runs. Checked: the sessions the agent alerts are exactly those
// `vigil predict` flags, at the same key, with the expected top-g and the raw lines; a line of a
// template the state does not know raises a new-template alert and its session's; malformed
// frames and lines are counted and dead-lettered; the agent stops cleanly on SIGTERM. Skipped
// (saying so) without the loghub sample or logger.
#ifndef MSGPACK_NO_BOOST
#define MSGPACK_NO_BOOST 1
#endif
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <filesystem>
#include <functional>
#include <map>
#include <msgpack.hpp>
#include <nlohmann/json.hpp>
#include <numeric>
#include <regex>
#include <set>

#include "cli/test_util.h"

namespace {

using namespace vigil::testutil;  // NOLINT(google-build-using-namespace)
namespace fs = std::filesystem;

const std::string kHdfsLog = kData + "/loghub-2k/HDFS/HDFS_2k.log";
const std::string kAgent = kBin + "/vigil-agent";
const std::string kFormat = "<Date> <Time> <Pid> <Level> <Component>: <Content>";

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void SendAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

using Packer = msgpack::packer<msgpack::sbuffer>;
void Str(Packer& p, const std::string& s) {
  p.pack_str(static_cast<uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}
void Record(Packer& p, const std::string& line) {
  p.pack_map(2);
  Str(p, "log");
  Str(p, line);
  Str(p, "source");
  Str(p, "hdfs");
}

// Groups line indices so that lines naming the same block are in one group (union-find).
std::vector<int> SessionGroups(const std::vector<std::string>& lines) {
  std::vector<int> parent(lines.size());
  std::iota(parent.begin(), parent.end(), 0);
  std::function<int(int)> find = [&](int x) {
    return parent[x] == x ? x : parent[x] = find(parent[x]);
  };
  std::map<std::string, int> first;
  const std::regex blk("blk_-?[0-9]+");
  for (size_t i = 0; i < lines.size(); ++i) {
    for (std::sregex_iterator m(lines[i].begin(), lines[i].end(), blk), end; m != end; ++m) {
      auto [it, added] = first.emplace(m->str(), static_cast<int>(i));
      if (!added) parent[find(static_cast<int>(i))] = find(it->second);
    }
  }
  std::vector<int> group(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) group[i] = find(static_cast<int>(i));
  return group;
}

TEST(LogAgent, SyslogForwardAndFileSessionsAlertAsPredictDoes) {
  if (!fs::exists(kHdfsLog)) GTEST_SKIP() << "loghub HDFS_2k.log not found at " << kHdfsLog;
  if (Sh("command -v logger").code != 0) GTEST_SKIP() << "logger (bsdutils) not installed";
  const fs::path dir = fs::temp_directory_path() / ("vigil_log_agent_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string d = dir.string();

  // Training plane: templates, sessions, a small model, and its verdict on every session.
  CmdResult r = Vigil("logs parse --format '" + kFormat + "' --input " + kHdfsLog + " --state " +
                      d + "/state.json --out " + d + "/parsed");
  ASSERT_EQ(r.code, 0) << r.out;
  r = Vigil("logs sessions --input " + d + "/parsed/HDFS_2k.log_structured.csv --id-pattern hdfs " +
            "--out " + d + "/sessions.csv");
  ASSERT_EQ(r.code, 0) << r.out;
  r = Vigil("train --model deeplog --format sessions-csv --train " + d + "/sessions.csv " +
            "--epochs 8 --lstm-hidden 32 --threads 1 --quiet --out " + d + "/m.vigil");
  ASSERT_EQ(r.code, 0) << r.out;
  r = Vigil("predict --model " + d + "/m.vigil --input " + d + "/sessions.csv -o " + d +
            "/verdicts.jsonl");
  ASSERT_EQ(r.code, 0) << r.out;
  std::vector<std::string> session_ids;
  for (const std::string& l : Lines(d + "/sessions.csv")) {
    if (l.rfind("SessionId,", 0) != 0) session_ids.push_back(l.substr(0, l.find(',')));
  }
  std::map<std::string, nlohmann::json> flagged;  // session -> predict's verdict
  for (const std::string& l : Lines(d + "/verdicts.jsonl")) {
    auto v = nlohmann::json::parse(l);
    if (v["class"] == "anomaly") flagged[session_ids.at(v["row"].get<size_t>() - 1)] = v;
  }
  ASSERT_GT(flagged.size(), 0u);
  ASSERT_LT(flagged.size(), session_ids.size());

  // Each group of sessions goes through one of five inputs, in file order; the file's groups are
  // split into those written before the agent starts and those appended while it runs (a session
  // never straddles the two, so no session idles out between its lines).
  std::vector<std::string> lines = Lines(kHdfsLog);
  ASSERT_EQ(lines.size(), 2000u);
  std::vector<int> group = SessionGroups(lines);
  std::vector<std::string> part[6];
  for (size_t i = 0; i < lines.size(); ++i)
    part[std::hash<int>{}(group[i]) % 6].push_back(lines[i]);
  // A template the state does not know, in a session of its own.
  const std::string novel =
      "081111 120000 19 INFO dfs.DataNode: Disk array on fire near blk_4242 "
      "with status meltdown";
  part[5].push_back(novel);
  auto join = [](const std::vector<std::string>& v) {
    return std::accumulate(v.begin(), v.end(), std::string(),
                           [](std::string a, const std::string& b) { return a + b + "\n"; });
  };
  for (int k = 0; k < 3; ++k)
    std::ofstream(d + "/part" + std::to_string(k) + ".txt") << join(part[k]);
  // A malformed line (counted, dead-lettered, still parsed) in the file.
  std::ofstream(d + "/tail.log") << join(part[4]) << "not an hdfs line at all\n";

  Proc agent = Proc::Start({kAgent,
                            "--log-model",
                            d + "/m.vigil",
                            "--log-state",
                            d + "/state.json",
                            "--log-input",
                            d + "/tail.log",
                            "--syslog-udp",
                            "127.0.0.1:0",
                            "--syslog-tcp",
                            "127.0.0.1:0",
                            "--forward",
                            "127.0.0.1:0",
                            "--session-pattern",
                            "hdfs",
                            "--session-idle",
                            "2",
                            "--log-alerts",
                            d + "/alerts.jsonl",
                            "--log-dead-letter",
                            d + "/dead.jsonl"},
                           d + "/agent.out", d + "/agent.err");
  std::smatch m;
  std::string err;
  ASSERT_TRUE(WaitFor(
      [&] {
        err = Slurp(d + "/agent.err");
        return std::regex_search(err, m,
                                 std::regex("syslog-udp:([0-9]+) syslog-tcp:([0-9]+) "
                                            "forward:([0-9]+)"));
      },
      std::chrono::seconds(10)))
      << err;
  const std::string udp = m[1], tcp = m[2];
  const int forward = std::stoi(m[3]);

  // --size: logger splits longer messages (HDFS_2k has lines over its default of 1 KiB).
  const std::string logger = "logger --server 127.0.0.1 -t hdfs --size 8192 ";
  r = Sh(logger + "--port " + udp + " --udp --rfc3164 -f " + d + "/part0.txt");
  ASSERT_EQ(r.code, 0) << r.out;
  r = Sh(logger + "--port " + tcp + " --tcp --rfc5424 --octet-count -f " + d + "/part1.txt");
  ASSERT_EQ(r.code, 0) << r.out;
  r = Sh(logger + "--port " + tcp + " --tcp --rfc3164 -f " + d + "/part2.txt");
  ASSERT_EQ(r.code, 0) << r.out;
  // Malformed frames: a datagram without PRI, a TCP frame with a bad octet count.
  {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(std::stoi(udp)));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const std::string datagram = "no priority here";
    ASSERT_EQ(
        sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a),
        static_cast<ssize_t>(datagram.size()));
    close(fd);
  }
  {
    int fd = Connect(std::stoi(tcp));
    ASSERT_GE(fd, 0);
    SendAll(fd, "12x garbage\n");
    close(fd);
  }

  // Fluent Forward: PackedForward chunks of 50 entries and single Message-mode events, each
  // chunk acknowledged; then a Forward message with a malformed entry.
  {
    int fd = Connect(forward);
    ASSERT_GE(fd, 0);
    int chunks = 0, acks = 0;
    for (size_t i = 0; i < part[3].size(); i += 50) {
      msgpack::sbuffer entries;
      Packer ep(entries);
      const size_t end = std::min(part[3].size(), i + 50);
      for (size_t k = i; k < end; ++k) {
        ep.pack_array(2);
        ep.pack_uint32(1700000000);
        Record(ep, part[3][k]);
      }
      msgpack::sbuffer msg;
      Packer p(msg);
      if (chunks % 2 == 0) {
        p.pack_array(3);
        Str(p, "hdfs.packed");
        p.pack_bin(static_cast<uint32_t>(entries.size()));
        p.pack_bin_body(entries.data(), static_cast<uint32_t>(entries.size()));
      } else {  // the same entries as Message-mode events, then a chunked empty Forward message
        for (size_t k = i; k < end; ++k) {
          msgpack::sbuffer one;
          Packer op(one);
          op.pack_array(3);
          Str(op, "hdfs.msg");
          op.pack_uint32(1700000000);
          Record(op, part[3][k]);
          SendAll(fd, std::string(one.data(), one.size()));
        }
        p.pack_array(3);
        Str(p, "hdfs.forward");
        p.pack_array(0);
      }
      p.pack_map(1);
      Str(p, "chunk");
      Str(p, "chunk-" + std::to_string(chunks));
      SendAll(fd, std::string(msg.data(), msg.size()));
      // The ack: {"ack": "chunk-N"}.
      const std::string chunk = "chunk-" + std::to_string(chunks);
      std::string reply;
      char buf[256];
      while (reply.size() < 6 + chunk.size()) {  // fixmap, "ack", fixstr chunk
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        reply.append(buf, static_cast<size_t>(n));
      }
      msgpack::object_handle oh = msgpack::unpack(reply.data(), reply.size());
      std::map<std::string, std::string> ack;
      oh.get().convert(ack);
      acks += ack["ack"] == chunk;
      ++chunks;
    }
    EXPECT_EQ(acks, chunks);
    msgpack::sbuffer bad;
    Packer p(bad);
    p.pack_array(2);
    Str(p, "hdfs.bad");
    p.pack_array(1);
    p.pack_uint8(7);  // not [time, record]
    SendAll(fd, std::string(bad.data(), bad.size()));
    close(fd);
  }
  std::ofstream(d + "/tail.log", std::ios::app) << join(part[5]);  // the file grows while tailed

  // Every session's end is judged once it has been idle for 2 s.
  // + the novel line's template and session, + the malformed line's template (it names no
  // session).
  const size_t want_alerts = flagged.size() + 3;
  WaitFor([&] { return Lines(d + "/alerts.jsonl").size() >= want_alerts; },
          std::chrono::seconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  agent.Signal(SIGTERM);
  ASSERT_EQ(agent.Wait(std::chrono::seconds(20)), 0) << Slurp(d + "/agent.err");
  err = Slurp(d + "/agent.err");
  ASSERT_TRUE(std::regex_search(err, m, std::regex("vigil-agent: logs: (\\{.*\\})"))) << err;
  const nlohmann::json counters = nlohmann::json::parse(m[1].str());

  std::map<std::string, nlohmann::json> alerted;
  std::vector<nlohmann::json> templates;
  for (const std::string& l : Lines(d + "/alerts.jsonl")) {
    auto a = nlohmann::json::parse(l);
    if (a["type"] == "new_template") templates.push_back(a);
    if (a["type"] == "log_session") alerted[a["session"].get<std::string>()] = a;
  }
  // The novel line: a new template and an alert for its session, with the key unknown.
  ASSERT_EQ(templates.size(), 2u);  // and the malformed line's whole text, a template of its own
  ASSERT_TRUE(alerted.count("blk_4242"));
  EXPECT_TRUE(alerted["blk_4242"]["unknown_key"].get<bool>());
  EXPECT_TRUE(alerted["blk_4242"]["new_template"].get<bool>());
  EXPECT_EQ(alerted["blk_4242"]["lines"][0]["text"], novel);
  alerted.erase("blk_4242");

  // Exactly the sessions predict flags, at the same symbol.
  size_t same = 0, missing = 0, extra = 0;
  for (const auto& [id, v] : flagged) {
    auto it = alerted.find(id);
    if (it == alerted.end()) {
      ++missing;
      continue;
    }
    const nlohmann::json& a = it->second;
    same += a["position"] == v["position"] && a["key"] == v["key"];
    EXPECT_LE(a["top_g"].size(), 9u);
    EXPECT_GE(a["top_g"].size(), 1u);
    for (const auto& e : a["expected"]) EXPECT_GT(e["probability"].get<double>(), 0.0);
    ASSERT_GE(a["lines"].size(), 1u);
    const std::string last = a["lines"].back()["text"];
    EXPECT_NE(last.find(id), std::string::npos) << last;
    EXPECT_TRUE(
        a["lines"].back()["input"] == "syslog-udp" || a["lines"].back()["input"] == "syslog-tcp" ||
        a["lines"].back()["input"] == "forward" || a["lines"].back()["input"] == d + "/tail.log");
  }
  for (const auto& [id, a] : alerted) extra += flagged.count(id) == 0;
  std::printf(
      "log agent: %zu sessions, %zu flagged by predict, %zu alerted at the same key, %zu "
      "missing, %zu extra; counters %s\n",
      session_ids.size(), flagged.size(), same, missing, extra, counters.dump().c_str());
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(same, flagged.size());
  EXPECT_EQ(extra, 0u);

  // Counted and kept: every line, the malformed ones, the bad frames.
  EXPECT_EQ(counters["lines"], 2000 + 2);
  EXPECT_EQ(counters["malformed_lines"], 1);
  EXPECT_EQ(counters["malformed_frames"], 3);  // no PRI, bad octet count, bad forward entry
  EXPECT_EQ(counters["dead_letters"], 4);
  EXPECT_EQ(counters["sessions_closed"], session_ids.size() + 1);
  EXPECT_EQ(counters["sessions_evicted"], 0);
  EXPECT_EQ(counters["udp_dropped"], 0);
  std::vector<std::string> dead = Lines(d + "/dead.jsonl");
  ASSERT_EQ(dead.size(), 4u);
  std::set<std::string> inputs;
  for (const auto& l : dead) inputs.insert(nlohmann::json::parse(l)["input"].get<std::string>());
  EXPECT_EQ(inputs,
            (std::set<std::string>{"syslog-udp", "syslog-tcp", "forward", d + "/tail.log"}));
  fs::remove_all(dir);
}

}  // namespace
