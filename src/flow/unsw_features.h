// UNSW-NB15 features of finished flows (docs/flow-features.md defines every column).
//
// UnswFeatureBuilder receives flow records in the order the flow table ends them, puts them back
// in order of their last packet time (the data set's "according to the last time"), computes the
// per-flow columns and the ct_* counters over the last 100 connections, and hands each row to a
// callback. A record is released once no record with an earlier last time can still arrive: when
// the table's clock has passed its last time by the longest idle timeout (Release), or at Flush.
// Not thread-safe; the callback runs synchronously.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <vector>

#include "flow/flow_record.h"
#include "flow/huge_pages.h"

namespace vigil {

struct UnswFeatures {
  uint64_t id = 0;
  double dur = 0;
  const char* proto = "";
  const char* service = "-";
  char state[8] = {0};
  uint64_t spkts = 0, dpkts = 0, sbytes = 0, dbytes = 0;
  double rate = 0;
  uint32_t sttl = 0, dttl = 0;
  double sload = 0, dload = 0;
  uint32_t sloss = 0, dloss = 0;
  double sinpkt = 0, dinpkt = 0, sjit = 0, djit = 0;
  uint32_t swin = 0, dwin = 0;
  uint32_t stcpb = 0, dtcpb = 0;
  double tcprtt = 0, synack = 0, ackdat = 0;
  uint64_t smean = 0, dmean = 0;
  uint32_t trans_depth = 0;
  uint64_t response_body_len = 0;
  uint32_t ct_srv_src = 0, ct_state_ttl = 0, ct_dst_ltm = 0, ct_src_dport_ltm = 0;
  uint32_t ct_dst_sport_ltm = 0, ct_dst_src_ltm = 0, is_ftp_login = 0, ct_ftp_cmd = 0;
  uint32_t ct_flw_http_mthd = 0, ct_src_ltm = 0, ct_srv_dst = 0, is_sm_ips_ports = 0;
  // Identity columns (not model features).
  std::string srcip, dstip;
  uint32_t sport = 0, dsport = 0;
  double stime = 0, ltime = 0;
};

// Argus's load: bits per second over the flow's duration, leaving out one packet's worth of bytes
// (bytes / packets, integer division; the first packet opens the interval). 0 when dur is 0.
double LoadBitsPerSecond(const DirectionStats& d, double dur);
// Population standard deviation of the inter-arrival times, milliseconds (0 without intervals).
double JitterMs(const DirectionStats& d);

// The per-flow columns (everything but id and the ct_* window counters).
void ComputeFlowColumns(const FlowRecord& r, UnswFeatures* f);

// ct_state_ttl: the data set's code for a (state, sttl, dttl) combination (0 for the rest).
uint32_t CtStateTtl(const char* state, uint32_t sttl, uint32_t dttl);

// Counts, for each new connection, how many of the last 100 connections (itself included) share
// its service and source, service and destination, destination, source, source and destination
// port, destination and source port, and source and destination.
class ConnectionWindow {
 public:
  static constexpr int kSize = 100;  // the window, the new connection included
  void Add(const FlowRecord& r, UnswFeatures* f);

 private:
  static constexpr int kPrevious = kSize - 1;
  enum { kSrvSrc, kSrvDst, kDst, kSrc, kSrcDport, kDstSport, kDstSrc, kKeys };
  uint32_t keys_[kKeys][kPrevious] = {};  // rings of the previous connections' key hashes
  int count_ = 0;                         // filled entries (up to kPrevious)
  int next_ = 0;                          // ring position of the next entry
};

class UnswFeatureBuilder {
 public:
  using Callback = std::function<void(const FlowRecord&, const UnswFeatures&)>;

  // `reorder_us`: how long after a record's last packet an earlier one can still arrive (the flow
  // table's longest idle timeout). 0 keeps arrival order.
  UnswFeatureBuilder(int64_t reorder_us, Callback callback);

  void Add(const FlowRecord& r);
  // Releases the records whose last packet is older than now_us - reorder_us.
  void Release(int64_t now_us);
  void Flush();
  uint64_t rows() const { return next_id_ - 1; }
  size_t pending() const { return heap_.size(); }

 private:
  struct Pending {
    int64_t last_us;
    uint64_t seq;   // arrival order, breaks ties
    uint32_t slot;  // the record's place in pool_
  };
  struct Later {
    bool operator()(const Pending& a, const Pending& b) const {
      return a.last_us != b.last_us ? a.last_us > b.last_us : a.seq > b.seq;
    }
  };
  void Emit(const FlowRecord& r);
  void PopAndEmit();

  int64_t reorder_us_;
  Callback callback_;
  std::priority_queue<Pending, std::vector<Pending, HugePageAllocator<Pending>>, Later> heap_;
  std::vector<FlowRecord, HugePageAllocator<FlowRecord>> pool_;
  std::vector<uint32_t> free_;
  uint64_t arrivals_ = 0;
  uint64_t next_id_ = 1;
  ConnectionWindow window_;
  UnswFeatures row_;
};

}  // namespace vigil
