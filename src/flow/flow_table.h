// The bidirectional flow table: decoded packets in, finished flow records out.
//
// Flows are keyed by their unordered endpoint pair and protocol (FlowKey). A flow ends, and its
// record goes to the sink, when it has been idle longer than its protocol's timeout (TCP, closed
// TCP after a RST or a FIN exchange, UDP, ICMP, other), at Flush, or when the table is full and it
// is the least recently active flow (an eviction, counted). A flow that stays active longer than
// the active timeout is reported in pieces, like Argus's status records: the record so far goes to
// the sink and a continuation with the same orientation and TCP state carries on.
//
// Later IP fragments have no ports: they join the flow of their datagram's first fragment through
// (addresses, protocol, fragment id); fragments that arrive before the first are held until it
// comes. If it never does they are orphans: reported as a flow of their own without ports, as
// Argus does, and counted.
//
// Memory is bounded by max_flows records (plus a hash index of at most 4 slots per flow) and
// max_fragments fragment entries. Time is the packets' own clock (the largest timestamp seen),
// so offline and live input behave the same; Advance() moves it on when no packets come.
// Not thread-safe: one thread owns a table. The sink is called synchronously.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "flow/flow_record.h"
#include "flow/huge_pages.h"
#include "flow/packet.h"

namespace vigil {

// Defaults are Argus's (argus.conf: TCP 60 s, IP 30 s, ICMP 5 s, status interval 60 s).
struct FlowTableOptions {
  int64_t tcp_timeout_us = 60'000'000;         // idle TCP connection
  int64_t tcp_closed_timeout_us = 10'000'000;  // after a RST, or FINs from both sides
  int64_t udp_timeout_us = 30'000'000;
  int64_t icmp_timeout_us = 5'000'000;
  int64_t other_timeout_us = 30'000'000;   // other IP protocols and ARP
  int64_t active_timeout_us = 60'000'000;  // report long flows in pieces; 0: never
  size_t max_flows = 1'000'000;            // concurrent flows before eviction
  int64_t fragment_timeout_us = 5'000'000;
  size_t max_fragments = 65'536;  // pending datagrams with fragments
};

struct FlowTableStats {
  uint64_t packets = 0;             // packets given to Add
  uint64_t flows = 0;               // flow records started (continuations included)
  uint64_t records = 0;             // records given to the sink
  uint64_t evicted = 0;             // flows ended early because the table was full
  uint64_t active_splits = 0;       // records cut by the active timeout
  uint64_t fragments_joined = 0;    // later fragments added to their datagram's flow
  uint64_t fragments_orphaned = 0;  // later fragments whose first fragment never came
  uint64_t fragments_dropped = 0;   // fragments not tracked because the fragment table was full
  size_t peak_flows = 0;            // most concurrent flows
};

class FlowTable {
 public:
  using Sink = std::function<void(const FlowRecord&)>;

  FlowTable(const FlowTableOptions& options, Sink sink);

  // Applies one decoded packet (DecodePacket returned kOk). Flows idle at the packet's time end
  // first.
  void Add(const Packet& p);
  // Moves the clock to `now_us` (if later) and ends the flows idle by then (swept at most once per
  // millisecond of packet time, so a record may reach the sink up to 1 ms after its timeout).
  void Advance(int64_t now_us);
  // Ends every flow, oldest activity first (end of input).
  void Flush();

  size_t active_flows() const { return pool_.size() - free_.size(); }
  const FlowTableStats& stats() const { return stats_; }
  // Bytes held by the table's structures (records, index, fragment and FTP maps); an estimate.
  size_t MemoryBytes() const;

 private:
  static constexpr uint32_t kNone = 0xFFFFFFFFu;
  enum ListId : uint8_t { kTcpOpen, kTcpClosed, kUdp, kIcmp, kOther, kLists };

  // The fields every lookup reads come first, next to the key, then the record.
  struct Entry {
    uint64_t hash = 0;
    ListId list = kOther;
    bool src_is_lo = true;  // the record's source is the key's lo endpoint
    FlowKey key;
    FlowRecord rec;
  };
  // An entry's neighbours in its activity list, kept apart from the entries (8 bytes a flow, so
  // walking a list mostly hits the cache and the idle sweep can fetch the entries it will end
  // ahead of time).
  struct Link {
    uint32_t prev = kNone;
    uint32_t next = kNone;
  };
  struct Slot {
    uint32_t tag = 0;  // low 32 bits of the key hash
    uint32_t index = kNone;
  };
  struct List {
    uint32_t head = kNone;  // least recently active
    uint32_t tail = kNone;
  };
  struct PendingFragment {
    int64_t ts_us;
    uint32_t counted_bytes;
    uint32_t payload_len;
    uint8_t ttl;
  };
  struct FragmentEntry {
    Network network = Network::kIpv4;
    uint8_t proto = 0;
    std::array<uint8_t, 16> src{};
    std::array<uint8_t, 16> dst{};
    bool have_flow = false;  // the first fragment was seen
    FlowKey key;
    bool from_lo = true;
    int64_t last_us = 0;
    std::vector<PendingFragment> pending;
  };

  uint32_t Find(const FlowKey& key, uint64_t hash) const;
  uint32_t Create(const FlowKey& key, uint64_t hash, const Packet& p, bool from_lo);
  void Apply(uint32_t index, const Packet& p, bool from_lo);
  void End(uint32_t index, bool evicted);
  void InsertSlot(uint32_t index);
  void EraseSlot(uint32_t index);
  void Grow();
  void Unlink(uint32_t index);
  void LinkTail(uint32_t index, ListId list);
  ListId ListFor(const Entry& e) const;
  int64_t TimeoutOf(ListId list) const;
  void ExpireIdle();
  void Prefetch(uint32_t index) const;
  void HandleFragment(const Packet& p);
  void ExpireFragments();
  void EmitOrphans(const FragmentEntry& f);
  uint64_t FragmentKey(const Packet& p) const;
  void RememberFtpData(const FlowRecord& control, const FtpEndpoint& ep);
  bool TakeFtpData(const FlowRecord& rec);

  FlowTableOptions options_;
  Sink sink_;
  FlowTableStats stats_;
  int64_t now_us_ = 0;
  std::vector<Entry, HugePageAllocator<Entry>> pool_;
  std::vector<Link> links_;  // parallel to pool_
  std::vector<uint32_t> free_;
  std::vector<Slot, HugePageAllocator<Slot>> slots_;
  size_t mask_ = 0;
  List lists_[kLists];
  std::unordered_map<uint64_t, FragmentEntry> fragments_;
  int64_t next_fragment_sweep_us_ = 0;
  static constexpr int64_t kIdleSweepUs = 1000;
  int64_t next_idle_sweep_us_ = 0;
  std::unordered_map<uint64_t, int64_t> ftp_data_;  // announced endpoint -> expiry time
};

}  // namespace vigil
