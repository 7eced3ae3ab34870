// Writes UNSW-NB15 feature rows as CSV (with a header) or JSON lines.
//
// Columns: the training CSV's columns in its order (id dur proto service state spkts ...
// is_sm_ips_ports; no attack_cat/label), then the identity columns srcip sport dstip dsport stime
// ltime, which vigil's unsw-nb15 reader ignores. So `vigil predict --format unsw-nb15` scores the
// file with a model trained on UNSW-NB15. JSON lines carry the same names.
//
// The writer streams to the file (or stdout for "-") through its own buffer; an I/O error is
// returned by the Write or Close that meets it (or, with a background thread, by a later Write or
// by Close), naming the path. With `background` set, rows are formatted and written by a thread
// of the writer's own, in batches, so a capture uses a second core; Write then only copies the
// row. The FlowWriter object itself is not thread-safe: one thread calls Write and Close.
#pragma once

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/status.h"
#include "flow/unsw_features.h"

namespace vigil {

enum class FlowOutputFormat { kCsv, kJsonLines };

// ".csv" -> kCsv, ".jsonl"/".json"/".ndjson" -> kJsonLines; InvalidArgument otherwise.
Result<FlowOutputFormat> FlowOutputFormatFromPath(const std::string& path);

// Column names in output order.
const std::vector<std::string>& FlowOutputColumns();

// Appends one row (no newline for CSV headers) to `out`.
void AppendCsvHeader(std::string* out);
void AppendCsvRow(const UnswFeatures& f, std::string* out);
void AppendJsonRow(const UnswFeatures& f, std::string* out);

class FlowWriter {
 public:
  static Result<std::unique_ptr<FlowWriter>> Open(const std::string& path, FlowOutputFormat format,
                                                  bool background = false);
  ~FlowWriter();
  FlowWriter(const FlowWriter&) = delete;
  FlowWriter& operator=(const FlowWriter&) = delete;

  Status Write(const UnswFeatures& f);
  Status Close();
  uint64_t rows() const { return rows_; }

 private:
  FlowWriter(std::string path, FlowOutputFormat format, FILE* file, bool owned);
  Status FlushBuffer();
  void Format(const UnswFeatures& f);
  void Run();  // the background thread

  std::string path_;
  FlowOutputFormat format_;
  FILE* file_;
  bool owned_;
  std::string buffer_;
  uint64_t rows_ = 0;
  Status error_;

  // Background mode: batches of rows go to the thread through a bounded queue.
  static constexpr size_t kBatch = 1024;
  static constexpr size_t kMaxQueued = 8;
  std::thread thread_;
  std::vector<UnswFeatures> batch_;
  std::mutex mu_;
  std::condition_variable ready_;                // a batch was queued, or done_
  std::condition_variable space_;                // a batch was taken
  std::deque<std::vector<UnswFeatures>> queue_;  // guarded by mu_
  bool done_ = false;                            // guarded by mu_
  Status thread_error_;                          // guarded by mu_
};

}  // namespace vigil
