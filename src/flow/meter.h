// The flow meter: frames in, UNSW-NB15 feature rows out (decode -> flow table -> features).
//
// FlowMeter owns a FlowTable and a UnswFeatureBuilder and counts what it could not use: truncated
// and malformed frames, frames that are not IP or ARP. Rows come out through the callback in
// order of their flows' last packet. RunCapture drives a meter from a PcapSource until the end of
// the file, Stop(), or a failed read; for live sources it moves the clock on while idle so flows
// still end on time.
//
// Threads: one thread calls a meter's methods. With `threaded` set, finished flow records go in
// batches to a worker thread of the meter's own, which computes the features and runs the
// callback there (decoding and the flow table keep the calling thread; a capture then uses two
// cores). Rows then arrive with a delay of up to one batch (Advance sends a partial batch, so a
// live capture still reports idle flows), and `stats().rows` is final after Finish.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "flow/flow_table.h"
#include "flow/pcap_source.h"
#include "flow/unsw_features.h"

namespace vigil {

struct MeterStats {
  uint64_t frames = 0;  // frames given to the meter
  uint64_t wire_bytes = 0;
  uint64_t decoded = 0;    // frames that became packets of a flow
  uint64_t truncated = 0;  // headers cut short by the capture length
  uint64_t malformed = 0;  // impossible header fields
  uint64_t not_ip = 0;     // neither IP nor ARP
  uint64_t unsupported_link = 0;
  uint64_t rows = 0;  // feature rows produced
};

class FlowMeter {
 public:
  FlowMeter(const FlowTableOptions& options, UnswFeatureBuilder::Callback on_row,
            bool threaded = false);
  ~FlowMeter();
  FlowMeter(const FlowMeter&) = delete;
  FlowMeter& operator=(const FlowMeter&) = delete;

  void AddFrame(int link_type, const uint8_t* data, size_t caplen, uint32_t wire_len,
                int64_t ts_us);
  // Moves the clock on without a packet (live capture while idle).
  void Advance(int64_t now_us);
  // Ends every flow and releases every row (and, threaded, waits for the worker).
  void Finish();

  const MeterStats& stats() const { return stats_; }
  const FlowTable& table() const { return table_; }
  // Multi-line summary for humans.
  std::string Summary() const;

 private:
  static int64_t LongestTimeout(const FlowTableOptions& o);
  void OnRecord(const FlowRecord& r);
  void Release(int64_t now_us);
  // Threaded mode: hands the current batch to the worker, with the clock to release rows at.
  void SendBatch(int64_t release_us, bool last);
  void RunWorker();

  struct Batch {
    std::vector<FlowRecord> records;
    int64_t release_us = 0;
    bool last = false;
  };
  static constexpr size_t kBatchRecords = 512;
  static constexpr size_t kMaxQueued = 16;

  MeterStats stats_;
  UnswFeatureBuilder builder_;
  FlowTable table_;
  Packet packet_;
  uint64_t since_release_ = 0;
  int64_t clock_us_ = 0;

  bool threaded_ = false;
  bool finished_ = false;
  Batch batch_;
  std::thread worker_;
  std::mutex mu_;
  std::condition_variable ready_;  // a batch was queued
  std::condition_variable space_;  // a batch was taken
  std::deque<Batch> queue_;        // guarded by mu_
};

// Feeds every frame of `source` to `meter`, then calls meter->Finish(). `stop` (may be null) ends
// a live capture when set; `max_seconds` > 0 ends it after that much wall time.
Status RunCapture(PcapSource* source, FlowMeter* meter, const std::atomic<bool>* stop,
                  double max_seconds = 0);

}  // namespace vigil
