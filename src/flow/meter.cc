#include "flow/meter.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace vigil {

int64_t FlowMeter::LongestTimeout(const FlowTableOptions& o) {
  // Plus a margin for the table's idle sweep interval and the every-64-frames release.
  return std::max({o.tcp_timeout_us, o.tcp_closed_timeout_us, o.udp_timeout_us, o.icmp_timeout_us,
                   o.other_timeout_us, o.fragment_timeout_us}) +
         1'000'000;
}

FlowMeter::FlowMeter(const FlowTableOptions& options, UnswFeatureBuilder::Callback on_row,
                     bool threaded)
    : builder_(LongestTimeout(options),
               [this, on_row = std::move(on_row)](const FlowRecord& r, const UnswFeatures& f) {
                 ++stats_.rows;
                 on_row(r, f);
               }),
      table_(options, [this](const FlowRecord& r) { OnRecord(r); }),
      threaded_(threaded) {
  if (threaded_) {
    batch_.records.reserve(kBatchRecords);
    worker_ = std::thread([this] { RunWorker(); });
  }
}

FlowMeter::~FlowMeter() {
  if (worker_.joinable()) {
    SendBatch(clock_us_, /*last=*/true);
    worker_.join();
  }
}

void FlowMeter::OnRecord(const FlowRecord& r) {
  if (!threaded_) {
    builder_.Add(r);
    return;
  }
  batch_.records.push_back(r);
  if (batch_.records.size() >= kBatchRecords) SendBatch(clock_us_, /*last=*/false);
}

void FlowMeter::Release(int64_t now_us) {
  if (now_us > clock_us_) clock_us_ = now_us;
  if (!threaded_) builder_.Release(clock_us_);
  // Threaded: each batch carries the clock; the worker releases when it takes the batch.
}

void FlowMeter::SendBatch(int64_t release_us, bool last) {
  batch_.release_us = release_us;
  batch_.last = last;
  {
    std::unique_lock<std::mutex> lock(mu_);
    space_.wait(lock, [&] { return queue_.size() < kMaxQueued; });
    queue_.push_back(std::move(batch_));
  }
  ready_.notify_one();
  batch_ = Batch();
  if (!last) batch_.records.reserve(kBatchRecords);
}

void FlowMeter::RunWorker() {
  for (;;) {
    Batch b;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ready_.wait(lock, [&] { return !queue_.empty(); });
      b = std::move(queue_.front());
      queue_.pop_front();
    }
    space_.notify_one();
    for (const FlowRecord& r : b.records) builder_.Add(r);
    if (b.last) {
      builder_.Flush();
      return;
    }
    builder_.Release(b.release_us);
  }
}

void FlowMeter::AddFrame(int link_type, const uint8_t* data, size_t caplen, uint32_t wire_len,
                         int64_t ts_us) {
  ++stats_.frames;
  stats_.wire_bytes += wire_len;
  switch (DecodePacket(link_type, data, caplen, wire_len, ts_us, &packet_)) {
    case DecodeStatus::kOk:
      ++stats_.decoded;
      table_.Add(packet_);
      break;
    case DecodeStatus::kTruncated:
      ++stats_.truncated;
      table_.Advance(ts_us);
      break;
    case DecodeStatus::kMalformed:
      ++stats_.malformed;
      table_.Advance(ts_us);
      break;
    case DecodeStatus::kNotIp:
      ++stats_.not_ip;
      table_.Advance(ts_us);
      break;
    case DecodeStatus::kUnsupportedLink:
      ++stats_.unsupported_link;
      break;
  }
  // Releasing rows needs only the heap top; doing it every 64 frames keeps the cost out of the
  // per-packet path.
  if (++since_release_ >= 64) {
    since_release_ = 0;
    Release(ts_us);
  }
}

void FlowMeter::Advance(int64_t now_us) {
  table_.Advance(now_us);
  Release(now_us);
  if (threaded_ && !batch_.records.empty()) SendBatch(clock_us_, /*last=*/false);
}

void FlowMeter::Finish() {
  if (finished_) return;
  finished_ = true;
  table_.Flush();
  if (!threaded_) {
    builder_.Flush();
    return;
  }
  SendBatch(clock_us_, /*last=*/true);
  worker_.join();
}

std::string FlowMeter::Summary() const {
  const FlowTableStats& t = table_.stats();
  std::string s;
  s += "frames " + std::to_string(stats_.frames) + " (" + std::to_string(stats_.decoded) +
       " in flows, " + std::to_string(stats_.truncated) + " truncated, " +
       std::to_string(stats_.malformed) + " malformed, " + std::to_string(stats_.not_ip) +
       " not IP)\n";
  s += "flows " + std::to_string(stats_.rows) + " rows (" + std::to_string(t.active_splits) +
       " active-timeout splits, " + std::to_string(t.evicted) + " evicted, peak " +
       std::to_string(t.peak_flows) + " concurrent)\n";
  s += "fragments " + std::to_string(t.fragments_joined) + " joined, " +
       std::to_string(t.fragments_orphaned) + " orphaned, " + std::to_string(t.fragments_dropped) +
       " dropped\n";
  return s;
}

Status RunCapture(PcapSource* source, FlowMeter* meter, const std::atomic<bool>* stop,
                  double max_seconds) {
  RawFrame frame;
  const int link = source->link_type();
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) break;
    if (max_seconds > 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >=
            max_seconds) {
      break;
    }
    auto outcome = source->Next(&frame);
    if (!outcome.ok()) {
      meter->Finish();
      return outcome.status();
    }
    if (*outcome == ReadOutcome::kEnd) break;
    if (*outcome == ReadOutcome::kIdle) {
      auto now = std::chrono::system_clock::now().time_since_epoch();
      meter->Advance(std::chrono::duration_cast<std::chrono::microseconds>(now).count());
      continue;
    }
    meter->AddFrame(link, frame.data, frame.caplen, frame.wire_len, frame.ts_us);
  }
  meter->Finish();
  return Status::Ok();
}

}  // namespace vigil
