#include "flow/flow_writer.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <utility>

namespace vigil {
namespace {

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// One row being formatted: a fixed buffer (rows are well under 4 KB: the text fields are short and
// bounded), appended to the output once. Writes past the end are dropped, never overflow.
class RowText {
 public:
  __attribute__((always_inline)) void Char(char c) {
    if (p_ < end_) *p_++ = c;
  }
  __attribute__((always_inline)) void Text(std::string_view s) {
    size_t n = std::min(s.size(), static_cast<size_t>(end_ - p_));
    std::memcpy(p_, s.data(), n);
    p_ += n;
  }
  __attribute__((always_inline)) void Uint(uint64_t v) {
    auto r = std::to_chars(p_, end_, v);
    if (r.ec == std::errc()) p_ = r.ptr;
  }
  // Six decimals with trailing zeros dropped (microsecond resolution for times): deterministic,
  // and several times faster than the shortest round-trip form, which showed in profiles.
  void Double(double v) {
    if (!std::isfinite(v)) v = 0;
    const double a = std::fabs(v);
    if (a >= 9e12) {
      auto r = std::to_chars(p_, end_, v);
      if (r.ec == std::errc()) p_ = r.ptr;
      return;
    }
    // llround for a non-negative value below 2^63, inline: x - trunc(x) is exact.
    const double x = a * 1e6;
    int64_t scaled = static_cast<int64_t>(x);
    if (x - static_cast<double>(scaled) >= 0.5) ++scaled;
    if (scaled == 0) {
      Char('0');
      return;
    }
    if (v < 0) Char('-');
    Uint(static_cast<uint64_t>(scaled / 1'000'000));
    int64_t frac = scaled % 1'000'000;
    if (frac == 0) return;
    char digits[6];
    int n = 6;
    while (frac % 10 == 0) {
      frac /= 10;
      --n;
    }
    for (int i = n - 1; i >= 0; --i) {
      digits[i] = static_cast<char>('0' + frac % 10);
      frac /= 10;
    }
    Char('.');
    Text(std::string_view(digits, static_cast<size_t>(n)));
  }
  // Seconds since the epoch with exactly six decimals, as Argus prints times: the exact binary
  // value rounded half to even, as std::to_chars (fixed, 6) does, in integer arithmetic for the
  // usual range (1 s to 2^33 s; to_chars, which showed in profiles, for the rest).
  void Time(double seconds) {
    if (seconds >= 1.0 && seconds < 8589934592.0 && end_ - p_ >= 32) {
      uint64_t bits;
      std::memcpy(&bits, &seconds, sizeof(bits));
      const int shift = 1075 - static_cast<int>((bits >> 52) & 0x7FF);  // 20..52 here
      const uint64_t mantissa = (bits & ((uint64_t{1} << 52) - 1)) | (uint64_t{1} << 52);
      // seconds * 10^6 = mantissa * 10^6 / 2^shift exactly.
      const unsigned __int128 n = static_cast<unsigned __int128>(mantissa) * 1'000'000u;
      uint64_t q = static_cast<uint64_t>(n >> shift);
      const unsigned __int128 rem = n & ((static_cast<unsigned __int128>(1) << shift) - 1);
      const unsigned __int128 half = static_cast<unsigned __int128>(1) << (shift - 1);
      if (rem > half || (rem == half && (q & 1) != 0)) ++q;
      Uint(q / 1'000'000);
      uint32_t frac = static_cast<uint32_t>(q % 1'000'000);
      *p_++ = '.';
      for (int i = 5; i >= 0; --i) {
        p_[i] = static_cast<char>('0' + frac % 10);
        frac /= 10;
      }
      p_ += 6;
      return;
    }
    auto r = std::to_chars(p_, end_, seconds, std::chars_format::fixed, 6);
    if (r.ec == std::errc()) p_ = r.ptr;
  }
  // Overwrites the last character written (the separator after the last column).
  void ReplaceLast(char c) {
    if (p_ > buf_) p_[-1] = c;
  }
  void AppendTo(std::string* out) const { out->append(buf_, static_cast<size_t>(p_ - buf_)); }

 private:
  char buf_[4096];
  char* p_ = buf_;
  char* const end_ = buf_ + sizeof(buf_);
};

// The one list of columns: `visit(name, value)` for each, in output order. Values are uint64_t,
// double, std::string_view, or a time (Time).
struct Time {
  double seconds;
};

template <typename Visit>
inline __attribute__((always_inline)) void VisitColumns(const UnswFeatures& f, Visit&& visit) {
  visit("id", uint64_t{f.id});
  visit("dur", f.dur);
  visit("proto", std::string_view(f.proto));
  visit("service", std::string_view(f.service));
  visit("state", std::string_view(f.state));
  visit("spkts", f.spkts);
  visit("dpkts", f.dpkts);
  visit("sbytes", f.sbytes);
  visit("dbytes", f.dbytes);
  visit("rate", f.rate);
  visit("sttl", uint64_t{f.sttl});
  visit("dttl", uint64_t{f.dttl});
  visit("sload", f.sload);
  visit("dload", f.dload);
  visit("sloss", uint64_t{f.sloss});
  visit("dloss", uint64_t{f.dloss});
  visit("sinpkt", f.sinpkt);
  visit("dinpkt", f.dinpkt);
  visit("sjit", f.sjit);
  visit("djit", f.djit);
  visit("swin", uint64_t{f.swin});
  visit("stcpb", uint64_t{f.stcpb});
  visit("dtcpb", uint64_t{f.dtcpb});
  visit("dwin", uint64_t{f.dwin});
  visit("tcprtt", f.tcprtt);
  visit("synack", f.synack);
  visit("ackdat", f.ackdat);
  visit("smean", f.smean);
  visit("dmean", f.dmean);
  visit("trans_depth", uint64_t{f.trans_depth});
  visit("response_body_len", f.response_body_len);
  visit("ct_srv_src", uint64_t{f.ct_srv_src});
  visit("ct_state_ttl", uint64_t{f.ct_state_ttl});
  visit("ct_dst_ltm", uint64_t{f.ct_dst_ltm});
  visit("ct_src_dport_ltm", uint64_t{f.ct_src_dport_ltm});
  visit("ct_dst_sport_ltm", uint64_t{f.ct_dst_sport_ltm});
  visit("ct_dst_src_ltm", uint64_t{f.ct_dst_src_ltm});
  visit("is_ftp_login", uint64_t{f.is_ftp_login});
  visit("ct_ftp_cmd", uint64_t{f.ct_ftp_cmd});
  visit("ct_flw_http_mthd", uint64_t{f.ct_flw_http_mthd});
  visit("ct_src_ltm", uint64_t{f.ct_src_ltm});
  visit("ct_srv_dst", uint64_t{f.ct_srv_dst});
  visit("is_sm_ips_ports", uint64_t{f.is_sm_ips_ports});
  visit("srcip", std::string_view(f.srcip));
  visit("sport", uint64_t{f.sport});
  visit("dstip", std::string_view(f.dstip));
  visit("dsport", uint64_t{f.dsport});
  visit("stime", Time{f.stime});
  visit("ltime", Time{f.ltime});
}

inline __attribute__((always_inline)) void PutValue(uint64_t v, RowText* row) { row->Uint(v); }
inline __attribute__((always_inline)) void PutValue(double v, RowText* row) { row->Double(v); }
inline __attribute__((always_inline)) void PutValue(Time t, RowText* row) { row->Time(t.seconds); }

// The text columns come from fixed tables (protocol, service and state names) or are addresses:
// none holds a comma, quote or line break, so CSV needs no quoting (scanning for them showed in
// profiles).
inline __attribute__((always_inline)) void PutCsvText(std::string_view s, RowText* row) {
  row->Text(s);
}

void PutJsonText(std::string_view s, RowText* row) {
  row->Char('"');
  for (char c : s) {
    if (c == '"' || c == '\\') {
      row->Char('\\');
      row->Char(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      row->Text(buf);
    } else {
      row->Char(c);
    }
  }
  row->Char('"');
}

}  // namespace

Result<FlowOutputFormat> FlowOutputFormatFromPath(const std::string& path) {
  if (EndsWith(path, ".csv")) return FlowOutputFormat::kCsv;
  if (EndsWith(path, ".jsonl") || EndsWith(path, ".json") || EndsWith(path, ".ndjson")) {
    return FlowOutputFormat::kJsonLines;
  }
  return Status::InvalidArgument(path + ": output must end in .csv or .jsonl");
}

const std::vector<std::string>& FlowOutputColumns() {
  static const std::vector<std::string> columns = [] {
    std::vector<std::string> c;
    VisitColumns(UnswFeatures(), [&](const char* name, auto) { c.emplace_back(name); });
    return c;
  }();
  return columns;
}

void AppendCsvHeader(std::string* out) {
  bool first = true;
  for (const std::string& c : FlowOutputColumns()) {
    if (!first) out->push_back(',');
    out->append(c);
    first = false;
  }
  out->push_back('\n');
}

void AppendCsvRow(const UnswFeatures& f, std::string* out) {
  RowText row;
  // Everything inlined into one straight-line function, so the write position stays in a
  // register (as an out-of-line call per column it went through memory, which showed in profiles).
  VisitColumns(
      f, [&](const char*, auto v) __attribute__((always_inline)) {
        if constexpr (std::is_same_v<decltype(v), std::string_view>) {
          PutCsvText(v, &row);
        } else {
          PutValue(v, &row);
        }
        row.Char(',');
      });
  row.ReplaceLast('\n');
  row.AppendTo(out);
}

void AppendJsonRow(const UnswFeatures& f, std::string* out) {
  RowText row;
  bool first = true;
  row.Char('{');
  VisitColumns(f, [&](const char* name, auto v) {
    if (!first) row.Char(',');
    first = false;
    row.Char('"');
    row.Text(name);
    row.Text("\":");
    if constexpr (std::is_same_v<decltype(v), std::string_view>) {
      PutJsonText(v, &row);
    } else {
      PutValue(v, &row);
    }
  });
  row.Text("}\n");
  row.AppendTo(out);
}

Result<std::unique_ptr<FlowWriter>> FlowWriter::Open(const std::string& path,
                                                     FlowOutputFormat format, bool background) {
  FILE* file = nullptr;
  bool owned = path != "-";
  if (owned) {
    file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) {
      return Status::IOError(path + ": cannot open for writing: " + std::strerror(errno));
    }
  } else {
    file = stdout;
  }
  std::unique_ptr<FlowWriter> w(new FlowWriter(path, format, file, owned));
  if (format == FlowOutputFormat::kCsv) AppendCsvHeader(&w->buffer_);
  if (background) {
    w->batch_.reserve(kBatch);
    w->thread_ = std::thread([p = w.get()] { p->Run(); });
  }
  return w;
}

FlowWriter::FlowWriter(std::string path, FlowOutputFormat format, FILE* file, bool owned)
    : path_(std::move(path)), format_(format), file_(file), owned_(owned) {
  buffer_.reserve(1 << 20);
}

FlowWriter::~FlowWriter() { (void)Close(); }

Status FlowWriter::FlushBuffer() {
  if (!error_.ok()) return error_;
  if (buffer_.empty() || file_ == nullptr) return Status::Ok();
  if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
    error_ = Status::IOError(path_ + ": write failed: " + std::strerror(errno));
  }
  buffer_.clear();
  return error_;
}

void FlowWriter::Format(const UnswFeatures& f) {
  if (format_ == FlowOutputFormat::kCsv) {
    AppendCsvRow(f, &buffer_);
  } else {
    AppendJsonRow(f, &buffer_);
  }
}

void FlowWriter::Run() {
  for (;;) {
    std::vector<UnswFeatures> rows;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ready_.wait(lock, [&] { return !queue_.empty() || done_; });
      if (queue_.empty()) return;  // done_ and drained
      rows = std::move(queue_.front());
      queue_.pop_front();
    }
    space_.notify_one();
    for (const UnswFeatures& f : rows) {
      Format(f);
      if (buffer_.size() >= (1 << 20) - 4096 && !FlushBuffer().ok()) break;
    }
    if (!error_.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      thread_error_ = error_;
      queue_.clear();
      space_.notify_all();
      return;
    }
  }
}

Status FlowWriter::Write(const UnswFeatures& f) {
  ++rows_;
  if (!thread_.joinable()) {
    Format(f);
    if (buffer_.size() >= (1 << 20) - 4096) return FlushBuffer();
    return error_;
  }
  batch_.push_back(f);
  if (batch_.size() < kBatch) return Status::Ok();
  std::unique_lock<std::mutex> lock(mu_);
  space_.wait(lock, [&] { return queue_.size() < kMaxQueued || !thread_error_.ok(); });
  if (!thread_error_.ok()) return thread_error_;
  queue_.push_back(std::move(batch_));
  batch_ = std::vector<UnswFeatures>();
  batch_.reserve(kBatch);
  lock.unlock();
  ready_.notify_one();
  return Status::Ok();
}

Status FlowWriter::Close() {
  if (thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!batch_.empty() && thread_error_.ok()) queue_.push_back(std::move(batch_));
      batch_.clear();
      done_ = true;
    }
    ready_.notify_one();
    thread_.join();
    if (!thread_error_.ok()) error_ = thread_error_;
  }
  if (file_ == nullptr) return error_;
  Status s = FlushBuffer();
  if (std::fflush(file_) != 0 && s.ok()) {
    s = error_ = Status::IOError(path_ + ": write failed: " + std::strerror(errno));
  }
  if (owned_ && std::fclose(file_) != 0 && s.ok()) {
    s = error_ = Status::IOError(path_ + ": close failed: " + std::strerror(errno));
  }
  file_ = nullptr;
  return s;
}

}  // namespace vigil
