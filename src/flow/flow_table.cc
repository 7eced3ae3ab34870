#include "flow/flow_table.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace vigil {
namespace {

uint64_t Mix(uint64_t h, uint64_t x) {
  h ^= x;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 31;
  return h;
}

uint64_t HashBytes(uint64_t h, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i += 8) {
    uint64_t w = 0;
    std::memcpy(&w, p + i, std::min<size_t>(8, n - i));
    h = Mix(h, w);
  }
  return h;
}

uint64_t EndpointKey(Network network, const std::array<uint8_t, 16>& addr, uint16_t port) {
  uint64_t h = HashBytes(0x51ED27u + static_cast<uint64_t>(network), addr.data(), addr.size());
  return Mix(h, port);
}

}  // namespace

FlowTable::FlowTable(const FlowTableOptions& options, Sink sink)
    : options_(options), sink_(std::move(sink)) {
  if (options_.max_flows == 0) options_.max_flows = 1;
  slots_.resize(1024);
  mask_ = slots_.size() - 1;
}

size_t FlowTable::MemoryBytes() const {
  size_t bytes = pool_.capacity() * sizeof(Entry) + links_.capacity() * sizeof(Link) +
                 free_.capacity() * sizeof(uint32_t) + slots_.capacity() * sizeof(Slot);
  for (const auto& [k, f] : fragments_) {
    bytes += sizeof(FragmentEntry) + 32 + f.pending.capacity() * sizeof(PendingFragment);
  }
  bytes += ftp_data_.size() * 48;
  return bytes;
}

uint32_t FlowTable::Find(const FlowKey& key, uint64_t hash) const {
  const uint32_t tag = static_cast<uint32_t>(hash);
  for (size_t i = tag & mask_;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.index == kNone) return kNone;
    if (s.tag == tag && pool_[s.index].key == key) return s.index;
  }
}

void FlowTable::Grow() {
  decltype(slots_) old = std::move(slots_);
  slots_.assign(old.size() * 2, Slot());
  mask_ = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.index != kNone) InsertSlot(s.index);
  }
}

void FlowTable::InsertSlot(uint32_t index) {
  const uint32_t tag = static_cast<uint32_t>(pool_[index].hash);
  size_t i = tag & mask_;
  while (slots_[i].index != kNone) i = (i + 1) & mask_;
  slots_[i] = Slot{tag, index};
}

void FlowTable::EraseSlot(uint32_t index) {
  const uint32_t tag = static_cast<uint32_t>(pool_[index].hash);
  size_t i = tag & mask_;
  while (slots_[i].index != index) i = (i + 1) & mask_;
  // Backward-shift deletion keeps every probe chain unbroken without tombstones.
  size_t j = i;
  for (;;) {
    j = (j + 1) & mask_;
    if (slots_[j].index == kNone) break;
    size_t home = slots_[j].tag & mask_;
    // Move slot j into the hole at i if its home is not in (i, j] cyclically.
    bool between = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
    if (!between) {
      slots_[i] = slots_[j];
      i = j;
    }
  }
  slots_[i] = Slot();
}

void FlowTable::Unlink(uint32_t index) {
  Link& e = links_[index];
  List& l = lists_[pool_[index].list];
  if (e.prev != kNone) {
    links_[e.prev].next = e.next;
  } else {
    l.head = e.next;
  }
  if (e.next != kNone) {
    links_[e.next].prev = e.prev;
  } else {
    l.tail = e.prev;
  }
  e.prev = e.next = kNone;
}

void FlowTable::LinkTail(uint32_t index, ListId list) {
  Link& e = links_[index];
  List& l = lists_[list];
  pool_[index].list = list;
  e.next = kNone;
  e.prev = l.tail;
  if (l.tail != kNone) {
    links_[l.tail].next = index;
  } else {
    l.head = index;
  }
  l.tail = index;
}

FlowTable::ListId FlowTable::ListFor(const Entry& e) const {
  const FlowRecord& r = e.rec;
  if (r.network == Network::kArp) return kOther;
  switch (r.proto) {
    case kProtoTcp: {
      bool closed = (r.tcp_status & kSawRst) || ((r.s.flags & kTcpFin) && (r.d.flags & kTcpFin));
      return closed ? kTcpClosed : kTcpOpen;
    }
    case kProtoUdp:
      return kUdp;
    case kProtoIcmp:
    case kProtoIcmpv6:
      return kIcmp;
    default:
      return kOther;
  }
}

int64_t FlowTable::TimeoutOf(ListId list) const {
  switch (list) {
    case kTcpOpen:
      return options_.tcp_timeout_us;
    case kTcpClosed:
      return options_.tcp_closed_timeout_us;
    case kUdp:
      return options_.udp_timeout_us;
    case kIcmp:
      return options_.icmp_timeout_us;
    default:
      return options_.other_timeout_us;
  }
}

void FlowTable::End(uint32_t index, bool evicted) {
  Entry& e = pool_[index];
  Unlink(index);
  EraseSlot(index);
  free_.push_back(index);
  if (evicted) ++stats_.evicted;
  ++stats_.records;
  sink_(e.rec);
}

void FlowTable::Prefetch(uint32_t index) const {
  // For writing: ending a flow unlinks it, starting one overwrites it.
  const char* p = reinterpret_cast<const char*>(&pool_[index]);
  for (size_t off = 0; off < sizeof(Entry); off += 64) __builtin_prefetch(p + off, 1);
  __builtin_prefetch(p + sizeof(Entry) - 1, 1);
}

void FlowTable::ExpireIdle() {
  // The list is in activity order, not memory order, so each entry is a cache miss: once the
  // head has expired, the entries kAhead places further down (likely to expire too) are fetched
  // while the ones before them are ended, and the index slot of the next one.
  constexpr int kAhead = 6;
  for (int l = 0; l < kLists; ++l) {
    const int64_t timeout = TimeoutOf(static_cast<ListId>(l));
    uint32_t ahead = kNone;  // the next entry to fetch, once the sweep is under way
    int fetched = 0;         // entries fetched ahead of the head
    bool started = false;
    while (lists_[l].head != kNone) {
      uint32_t i = lists_[l].head;
      if (pool_[i].rec.last_us + timeout > now_us_) break;
      if (!started) {
        started = true;
        ahead = links_[i].next;
      } else {
        --fetched;  // i was fetched ahead
      }
      for (; fetched < kAhead && ahead != kNone; ++fetched) {
        Prefetch(ahead);
        ahead = links_[ahead].next;
      }
      const uint32_t next = links_[i].next;
      if (next != kNone) {
        __builtin_prefetch(&slots_[static_cast<uint32_t>(pool_[next].hash) & mask_]);
      }
      End(i, /*evicted=*/false);
    }
  }
}

void FlowTable::Advance(int64_t now_us) {
  if (now_us > now_us_) now_us_ = now_us;
  // Idle flows are swept once per millisecond of packet time (each sweep looks at the list heads,
  // which are cache misses); a flow that receives a packet is checked exactly in Add.
  if (now_us_ >= next_idle_sweep_us_) {
    ExpireIdle();
    next_idle_sweep_us_ = now_us_ + kIdleSweepUs;
  }
  if (now_us_ >= next_fragment_sweep_us_) {
    ExpireFragments();
    next_fragment_sweep_us_ = now_us_ + 1'000'000;
  }
}

uint32_t FlowTable::Create(const FlowKey& key, uint64_t hash, const Packet& p, bool from_lo) {
  if (active_flows() >= options_.max_flows) {
    // Evict the least recently active flow of all lists.
    uint32_t victim = kNone;
    for (const List& l : lists_) {
      if (l.head != kNone &&
          (victim == kNone || pool_[l.head].rec.last_us < pool_[victim].rec.last_us)) {
        victim = l.head;
      }
    }
    if (victim != kNone) End(victim, /*evicted=*/true);
  }
  uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
    // The entry a later flow will take: ended a while ago, likely out of the cache by then.
    if (!free_.empty()) Prefetch(free_.back());
  } else {
    index = static_cast<uint32_t>(pool_.size());
    pool_.emplace_back();
    links_.emplace_back();
  }
  Entry& e = pool_[index];
  e.key = key;
  e.hash = hash;
  e.rec = FlowRecord();
  // The record's source sent this packet unless Start reversed the orientation.
  const bool reversed = e.rec.Start(p);
  e.src_is_lo = reversed ? !from_lo : from_lo;
  if (e.rec.proto == kProtoTcp) e.rec.ftp_data = TakeFtpData(e.rec);
  if ((active_flows() + 1) * 2 > slots_.size()) Grow();
  InsertSlot(index);
  LinkTail(index, ListFor(e));
  ++stats_.flows;
  stats_.peak_flows = std::max(stats_.peak_flows, active_flows());
  return index;
}

void FlowTable::Apply(uint32_t index, const Packet& p, bool from_lo) {
  Entry* e = &pool_[index];
  if (options_.active_timeout_us > 0 && p.ts_us - e->rec.start_us >= options_.active_timeout_us) {
    // Report the record so far and continue the flow in a new one.
    ++stats_.active_splits;
    ++stats_.records;
    sink_(e->rec);
    e = &pool_[index];
    FlowRecord next;
    next.network = e->rec.network;
    next.proto = e->rec.proto;
    next.src = e->rec.src;
    next.dst = e->rec.dst;
    next.sport = e->rec.sport;
    next.dport = e->rec.dport;
    next.vlan = e->rec.vlan;
    next.tcp_status = e->rec.tcp_status;
    next.icmp_type = e->rec.icmp_type;
    next.icmp_code = e->rec.icmp_code;
    next.port_service = e->rec.port_service;
    next.ftp_data = e->rec.ftp_data;
    next.app.payload_service = e->rec.app.payload_service;
    for (auto [from, to] : {std::pair{&e->rec.s, &next.s}, std::pair{&e->rec.d, &next.d}}) {
      to->wscale = from->wscale;
      to->seq_set = from->seq_set;
      to->base_seq = from->base_seq;
      to->next_seq = from->next_seq;
      to->window = from->window;
      to->window_set = from->window_set;
    }
    next.start_us = next.last_us = p.ts_us;
    e->rec = next;
    ++stats_.flows;
  }
  if (e->rec.ReorientIfNeeded(p)) e->src_is_lo = !e->src_is_lo;
  bool from_src = from_lo == e->src_is_lo;
  FtpEndpoint announced = e->rec.Update(p, from_src);
  if (announced.valid) RememberFtpData(e->rec, announced);
  ListId list = ListFor(*e);
  Unlink(index);
  LinkTail(index, list);
}

void FlowTable::Add(const Packet& p) {
  ++stats_.packets;
  Advance(p.ts_us);
  if (p.is_fragment && !p.first_fragment) {
    HandleFragment(p);
    return;
  }
  FlowKey quoted;
  if (p.has_inner && QuotedFlowKey(p, &quoted)) {
    // Argus moves the last time of the flow an ICMP error answers.
    uint32_t q = Find(quoted, quoted.Hash());
    if (q != kNone && p.ts_us > pool_[q].rec.last_us) {
      pool_[q].rec.last_us = p.ts_us;
      Unlink(q);
      LinkTail(q, ListFor(pool_[q]));
    }
  }
  bool from_lo;
  FlowKey key = MakeFlowKey(p, &from_lo);
  uint64_t hash = key.Hash();
  uint32_t index = Find(key, hash);
  if (index == kNone) {
    index = Create(key, hash, p, from_lo);
    bool from_src = from_lo == pool_[index].src_is_lo;
    FtpEndpoint announced = pool_[index].rec.Update(p, from_src);
    if (announced.valid) RememberFtpData(pool_[index].rec, announced);
    Unlink(index);
    LinkTail(index, ListFor(pool_[index]));
  } else {
    const Entry& e = pool_[index];
    if (e.rec.last_us + TimeoutOf(e.list) <= p.ts_us) {
      // Idle past its timeout (the sweep has not come by yet): this packet starts a new flow.
      End(index, /*evicted=*/false);
      index = Create(key, hash, p, from_lo);
      bool from_src = from_lo == pool_[index].src_is_lo;
      FtpEndpoint announced = pool_[index].rec.Update(p, from_src);
      if (announced.valid) RememberFtpData(pool_[index].rec, announced);
      Unlink(index);
      LinkTail(index, ListFor(pool_[index]));
    } else {
      Apply(index, p, from_lo);
    }
  }
  if (p.is_fragment && p.first_fragment) {
    // Later fragments of this datagram join this flow, including any that came first.
    uint64_t fk = FragmentKey(p);
    auto it = fragments_.find(fk);
    if (it == fragments_.end()) {
      if (fragments_.size() >= options_.max_fragments) {
        ++stats_.fragments_dropped;
        return;
      }
      it = fragments_.emplace(fk, FragmentEntry()).first;
    }
    FragmentEntry& f = it->second;
    f.have_flow = true;
    f.key = key;
    f.from_lo = from_lo;
    f.last_us = p.ts_us;
    Entry& e = pool_[index];
    bool from_src = from_lo == e.src_is_lo;
    for (const PendingFragment& pf : f.pending) {
      Packet q;
      q.ts_us = pf.ts_us;
      q.counted_bytes = pf.counted_bytes;
      q.payload_len = pf.payload_len;
      q.ttl = pf.ttl;
      e.rec.AddFragment(q, from_src);
      ++stats_.fragments_joined;
    }
    f.pending.clear();
    f.pending.shrink_to_fit();
  }
}

uint64_t FlowTable::FragmentKey(const Packet& p) const {
  uint64_t h = HashBytes(0xF4A6u + static_cast<uint64_t>(p.network), p.src.data(), 16);
  h = HashBytes(h, p.dst.data(), 16);
  return Mix(Mix(h, p.proto), p.frag_id);
}

void FlowTable::HandleFragment(const Packet& p) {
  uint64_t fk = FragmentKey(p);
  auto it = fragments_.find(fk);
  if (it == fragments_.end()) {
    if (fragments_.size() >= options_.max_fragments) {
      ++stats_.fragments_dropped;
      return;
    }
    it = fragments_.emplace(fk, FragmentEntry()).first;
    it->second.network = p.network;
    it->second.proto = p.proto;
    it->second.src = p.src;
    it->second.dst = p.dst;
  }
  FragmentEntry& f = it->second;
  f.last_us = std::max(f.last_us, p.ts_us);
  if (!f.have_flow) {
    if (f.pending.size() < 64) {
      f.pending.push_back({p.ts_us, p.counted_bytes, p.payload_len, p.ttl});
    } else {
      ++stats_.fragments_dropped;
    }
    return;
  }
  uint32_t index = Find(f.key, f.key.Hash());
  if (index == kNone) {  // the flow ended in between
    ++stats_.fragments_orphaned;
    return;
  }
  Entry& e = pool_[index];
  e.rec.AddFragment(p, f.from_lo == e.src_is_lo);
  Unlink(index);
  LinkTail(index, ListFor(e));
  ++stats_.fragments_joined;
}

void FlowTable::ExpireFragments() {
  for (auto it = fragments_.begin(); it != fragments_.end();) {
    if (it->second.last_us + options_.fragment_timeout_us <= now_us_) {
      EmitOrphans(it->second);
      it = fragments_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = ftp_data_.begin(); it != ftp_data_.end();) {
    it = it->second <= now_us_ ? ftp_data_.erase(it) : std::next(it);
  }
}

void FlowTable::EmitOrphans(const FragmentEntry& f) {
  if (f.have_flow || f.pending.empty()) return;
  FlowRecord r;
  r.network = f.network;
  r.proto = f.proto;
  r.src = f.src;
  r.dst = f.dst;
  r.start_us = r.last_us = f.pending.front().ts_us;
  for (const PendingFragment& pf : f.pending) {
    Packet q;
    q.ts_us = pf.ts_us;
    q.counted_bytes = pf.counted_bytes;
    q.payload_len = pf.payload_len;
    q.ttl = pf.ttl;
    r.AddFragment(q, /*from_src=*/true);
  }
  stats_.fragments_orphaned += f.pending.size();
  ++stats_.flows;
  ++stats_.records;
  sink_(r);
}

void FlowTable::RememberFtpData(const FlowRecord& control, const FtpEndpoint& ep) {
  if (ftp_data_.size() >= 65'536) return;
  std::array<uint8_t, 16> addr{};
  if (ep.same_as_server) {
    addr = control.dst;
  } else if (control.network == Network::kIpv4) {
    std::memcpy(addr.data(), ep.addr, 4);
  } else {
    return;
  }
  ftp_data_[EndpointKey(control.network, addr, ep.port)] = now_us_ + 120'000'000;
}

bool FlowTable::TakeFtpData(const FlowRecord& rec) {
  if (ftp_data_.empty()) return false;
  auto it = ftp_data_.find(EndpointKey(rec.network, rec.dst, rec.dport));
  if (it == ftp_data_.end()) return false;
  ftp_data_.erase(it);
  return true;
}

void FlowTable::Flush() {
  // Oldest activity first, across all lists.
  std::vector<uint32_t> live;
  for (const List& l : lists_) {
    for (uint32_t i = l.head; i != kNone; i = links_[i].next) live.push_back(i);
  }
  std::sort(live.begin(), live.end(),
            [&](uint32_t a, uint32_t b) { return pool_[a].rec.last_us < pool_[b].rec.last_us; });
  for (uint32_t i : live) End(i, /*evicted=*/false);
  for (const auto& [key, f] : fragments_) EmitOrphans(f);
  fragments_.clear();
  ftp_data_.clear();
}

}  // namespace vigil
