#include "logs/parse_file.h"

#include <openssl/evp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include "core/file.h"
#include "core/json_text.h"
#include "core/sha256.h"
#include "logs/detect.h"
#include "logs/line_reader.h"
#include "logs/parser.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

constexpr char kStateKind[] = "vigil-logs-state";
constexpr int kStateVersion = 1;
constexpr size_t kDetectLines = 2000;

// SHA-256 over bytes fed in pieces; Hex() does not end the stream.
class Sha256Stream {
 public:
  Sha256Stream() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
  }
  void Update(std::string_view bytes) { EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()); }
  std::string Hex() const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> copy(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_MD_CTX_copy_ex(copy.get(), ctx_.get());
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(copy.get(), digest, &n);
    return ToHex(digest, n);
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

// Hashes the first `bytes` bytes of `path` into `hash`; false if the file is shorter.
Result<bool> HashPrefix(const std::string& path, uint64_t bytes, Sha256Stream* hash) {
  std::unique_ptr<std::FILE, decltype(&std::fclose)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f) return Status::NotFound(path + ": cannot open");
  std::string buf(1 << 20, '\0');
  while (bytes > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(bytes, buf.size()));
    size_t n = std::fread(buf.data(), 1, want, f.get());
    hash->Update(std::string_view(buf.data(), n));
    bytes -= n;
    if (n < want)
      return !std::ferror(f.get()) ? Result<bool>(false)
                                   : Result<bool>(Status::IOError(path + ": read failed"));
  }
  return true;
}

void AppendCsvField(std::string* out, std::string_view f) {
  if (f.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(f);
    return;
  }
  out->push_back('"');
  for (char c : f) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

// Buffered writer that reports the first failure as a Status.
class CsvFile {
 public:
  explicit CsvFile(std::string path) : path_(std::move(path)) {
    file_ = std::fopen(path_.c_str(), "wb");
  }
  ~CsvFile() {
    if (file_) std::fclose(file_);
  }
  std::string& buffer() { return buffer_; }
  void MaybeFlush() {
    if (buffer_.size() >= (1u << 20)) Flush();
  }
  Status Close() {
    if (!file_) return Status::IOError(path_ + ": cannot create");
    Flush();
    bool ok = !failed_ && std::fclose(file_) == 0;
    file_ = nullptr;
    return ok ? Status::Ok() : Status::IOError(path_ + ": write failed");
  }

 private:
  void Flush() {
    if (file_ && !buffer_.empty() &&
        std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
      failed_ = true;
    }
    buffer_.clear();
  }
  std::string path_;
  std::FILE* file_ = nullptr;
  std::string buffer_;
  bool failed_ = false;
};

Result<nlohmann::json> ReadState(const std::string& path) {
  VIGIL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(path + ": not a JSON state file: " + e.what());
  }
  if (!j.is_object() || j.value("kind", "") != kStateKind) {
    return Status::Corruption(path + ": not a vigil logs state file");
  }
  if (j.value("version", 0) != kStateVersion) {
    return Status::Unsupported(path + ": state version " + std::to_string(j.value("version", 0)) +
                               " (this vigil reads " + std::to_string(kStateVersion) + ")");
  }
  return j;
}

// Second pass over the lines parsed in this run: their final template ids and parameters.
Status WriteStructured(const std::string& path, const std::string& input, uint64_t offset,
                       const LogParser& parser, const std::vector<int>& ids, size_t first_line) {
  VIGIL_ASSIGN_OR_RETURN(LineReader reader, LineReader::Open(input, offset));
  CsvFile out(path);
  std::string& b = out.buffer();
  const std::vector<std::string>& names = parser.format().field_names();
  b += "LineId";
  for (const std::string& n : names) b += "," + n;
  b += ",EventId,EventTemplate,ParameterList\n";
  std::vector<std::string_view> fields;
  std::string_view line, content;
  MaskedLine masked;
  for (size_t i = 0; i < ids.size() && reader.Next(&line); ++i) {
    bool ok = parser.Split(line, &fields, &content);
    parser.masker().MaskLine(content, &masked);
    const LogTemplate& t = parser.miner().Get(parser.miner().Resolve(ids[i]));
    b += std::to_string(first_line + i);
    for (size_t f = 0; f < names.size(); ++f) {
      b.push_back(',');
      if (f == parser.format().content_index()) {
        AppendCsvField(&b, content);
      } else if (ok) {
        AppendCsvField(&b, fields[f]);
      }
    }
    b.append(",E").append(std::to_string(t.id)).push_back(',');
    AppendCsvField(&b, t.Text());
    std::string params = "[";
    for (std::string_view p : ExtractParameters(t, content, masked)) {
      if (params.size() > 1) params.push_back(',');
      AppendJsonString(&params, p);
    }
    params.push_back(']');
    b.push_back(',');
    AppendCsvField(&b, params);
    b.push_back('\n');
    out.MaybeFlush();
  }
  VIGIL_RETURN_IF_ERROR(reader.status());
  return out.Close();
}

Status WriteTemplates(const std::string& path, const TemplateMiner& miner) {
  CsvFile out(path);
  std::string& b = out.buffer();
  b += "EventId,EventTemplate,Occurrences\n";
  for (int id = 1; id <= static_cast<int>(miner.size()); ++id) {
    const LogTemplate& t = miner.Get(id);
    if (t.alias != t.id) continue;
    b.append("E").append(std::to_string(t.id)).push_back(',');
    AppendCsvField(&b, t.Text());
    b.append(",").append(std::to_string(t.count)).push_back('\n');
    out.MaybeFlush();
  }
  return out.Close();
}

}  // namespace

Result<ParseFileSummary> ParseLogFile(const ParseFileOptions& o) {
  ParseFileSummary sum;
  std::error_code ec;
  const std::string input_key = fs::absolute(o.input, ec).lexically_normal().string();

  std::optional<nlohmann::json> state;
  if (!o.state_path.empty() && FileExists(o.state_path)) {
    VIGIL_ASSIGN_OR_RETURN(state, ReadState(o.state_path));
  }
  std::optional<MaskOptions> flag_masks;
  if (!o.masks_path.empty()) {
    VIGIL_ASSIGN_OR_RETURN(flag_masks, LoadMaskOptions(o.masks_path));
  }

  // Where this run starts: after the bytes an earlier run consumed, if they are unchanged. The
  // hash of everything consumed so far goes on into the new state.
  uint64_t offset = 0;
  Sha256Stream hash;
  nlohmann::json inputs = nlohmann::json::array();
  if (state) {
    try {
      inputs = state->value("inputs", nlohmann::json::array());
      for (const auto& in : inputs) {
        if (in.at("path").get<std::string>() != input_key) continue;
        uint64_t bytes = in.at("bytes").get<uint64_t>();
        VIGIL_ASSIGN_OR_RETURN(bool whole, HashPrefix(o.input, bytes, &hash));
        if (whole && hash.Hex() == in.at("sha256").get<std::string>()) {
          offset = bytes;
          sum.first_line = in.at("lines").get<size_t>() + 1;
          sum.resumed = bytes > 0;
        } else {
          hash = Sha256Stream();
        }
      }
    } catch (const nlohmann::json::exception& e) {
      return Status::Corruption(o.state_path + ": bad 'inputs': " + e.what());
    }
  }

  sum.format = o.format;
  if (sum.format.empty() && state && state->contains("format")) {
    sum.format = (*state)["format"].get<std::string>();
  }
  if (sum.format.empty()) {
    VIGIL_ASSIGN_OR_RETURN(LineReader head, LineReader::Open(o.input, 0));
    std::vector<std::string> sample;
    std::string_view line;
    while (sample.size() < kDetectLines && head.Next(&line)) sample.emplace_back(line);
    VIGIL_RETURN_IF_ERROR(head.status());
    sum.format = DetectFormatSpec(std::vector<std::string_view>(sample.begin(), sample.end()));
    sum.format_detected = true;
  }
  VIGIL_ASSIGN_OR_RETURN(LogFormat format, LogFormat::Parse(sum.format));

  std::optional<LogParser> parser;
  if (state) {
    VIGIL_ASSIGN_OR_RETURN(parser, LogParser::FromState(format, (*state)["parser"]));
    if (flag_masks && *flag_masks != parser->masker().options()) {
      return Status::InvalidArgument(o.masks_path + ": differs from the masks stored in " +
                                     o.state_path +
                                     " (template ids depend on them; use a new state file)");
    }
  } else {
    VIGIL_ASSIGN_OR_RETURN(parser,
                           LogParser::Create(format, flag_masks.value_or(MaskOptions{}), o.miner));
  }

  // First pass: mine. Only the template id of each line is kept.
  const size_t ids_before = parser->miner().size();
  std::vector<int> ids;
  std::vector<std::pair<size_t, std::string>> malformed;
  LineReader::ChunkHook hook;
  if (!o.state_path.empty()) hook = [&hash](std::string_view b) { hash.Update(b); };
  VIGIL_ASSIGN_OR_RETURN(LineReader reader, LineReader::Open(o.input, offset, std::move(hook)));
  std::string_view line;
  auto start = std::chrono::steady_clock::now();
  while (reader.Next(&line)) {
    ParsedLine p = parser->Parse(line);
    if (p.malformed) malformed.emplace_back(ids.size(), std::string(line));
    ids.push_back(p.template_id);
  }
  VIGIL_RETURN_IF_ERROR(reader.status());
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  sum.lines = ids.size();
  sum.malformed = malformed.size();
  sum.templates = parser->miner().live_count();
  sum.new_templates = parser->miner().size() - ids_before;

  fs::create_directories(o.out_dir, ec);
  if (ec) return Status::IOError(o.out_dir + ": cannot create: " + ec.message());
  const std::string name = fs::path(o.input).filename().string();
  sum.structured_path = (fs::path(o.out_dir) / (name + "_structured.csv")).string();
  sum.templates_path = (fs::path(o.out_dir) / (name + "_templates.csv")).string();
  VIGIL_RETURN_IF_ERROR(
      WriteStructured(sum.structured_path, o.input, offset, *parser, ids, sum.first_line));
  VIGIL_RETURN_IF_ERROR(WriteTemplates(sum.templates_path, parser->miner()));
  if (!malformed.empty()) {
    sum.malformed_path = (fs::path(o.out_dir) / (name + "_malformed.csv")).string();
    CsvFile out(sum.malformed_path);
    out.buffer() += "LineId,Line\n";
    for (const auto& [index, text] : malformed) {
      out.buffer().append(std::to_string(sum.first_line + index)).push_back(',');
      AppendCsvField(&out.buffer(), text);
      out.buffer().push_back('\n');
      out.MaybeFlush();
    }
    VIGIL_RETURN_IF_ERROR(out.Close());
  }

  if (!o.state_path.empty()) {
    nlohmann::json record = {{"path", input_key},
                             {"bytes", offset + reader.bytes_read()},
                             {"lines", sum.first_line - 1 + ids.size()},
                             {"sha256", hash.Hex()}};
    nlohmann::json kept = nlohmann::json::array();
    for (const auto& in : inputs) {
      if (in.value("path", "") != input_key) kept.push_back(in);
    }
    kept.push_back(record);
    nlohmann::json out = {{"kind", kStateKind},
                          {"version", kStateVersion},
                          {"format", sum.format},
                          {"parser", parser->StateJson()},
                          {"inputs", kept}};
    std::string dumped = out.dump(1, ' ', false, nlohmann::json::error_handler_t::replace);
    VIGIL_RETURN_IF_ERROR(WriteFileAtomic(o.state_path, dumped + "\n"));
  }
  return sum;
}

}  // namespace vigil
