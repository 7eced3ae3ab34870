#include "console/assets.h"

#include <zlib.h>

#include <filesystem>

#include "core/file.h"

namespace vigil {
namespace fs = std::filesystem;

namespace {

std::string TypeOf(const std::string& ext) {
  static const std::map<std::string, std::string> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".json", "application/json"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
      {".woff2", "font/woff2"},
      {".map", "application/json"}};
  auto it = kTypes.find(ext);
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

std::string Gzip(const std::string& in) {
  z_stream z{};
  if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) return "";
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return rc == Z_STREAM_END ? out : "";
}

bool AcceptsGzip(const httplib::Request& req) {
  const std::string accept = req.get_header_value("Accept-Encoding");
  return accept.find("gzip") != std::string::npos;
}

}  // namespace

Status StaticAssets::Load(const std::string& dir) {
  std::error_code ec;
  size_t total = 0;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    if (files_.size() >= 4096) return Status::InvalidArgument(dir + ": over 4,096 files");
    VIGIL_ASSIGN_OR_RETURN(std::string raw, ReadFile(it->path().string()));
    total += raw.size();
    if (total > (64u << 20)) return Status::InvalidArgument(dir + ": over 64 MiB of assets");
    const std::string rel = "/" + fs::relative(it->path(), dir).generic_string();
    File f;
    f.type = TypeOf(it->path().extension().string());
    f.immutable = rel.rfind("/assets/", 0) == 0;  // Vite's content-hashed names
    if (f.type.rfind("image/png", 0) != 0 && f.type != "font/woff2" && raw.size() > 256) {
      f.gzip = Gzip(raw);
      if (f.gzip.size() >= raw.size()) f.gzip.clear();
    }
    f.raw = std::move(raw);
    files_[rel] = std::move(f);
  }
  if (ec) return Status::IOError(dir + ": " + ec.message());
  return Status::Ok();
}

bool StaticAssets::Serve(const httplib::Request& req, httplib::Response& res) const {
  auto it = files_.find(req.path == "/" ? "/index.html" : req.path);
  if (it == files_.end()) return false;
  const File& f = it->second;
  res.set_header("Cache-Control", f.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  res.set_header("Vary", "Accept-Encoding");
  if (!f.gzip.empty() && AcceptsGzip(req)) {
    res.set_header("Content-Encoding", "gzip");
    res.set_content(f.gzip, f.type);
    // cpp-httplib would compress the body again for a client that accepts gzip or br: the
    // request it passes is its own (non-const) object, and without the header it leaves the
    // already-compressed body alone.
    const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");
  } else {
    res.set_content(f.raw, f.type);
  }
  return true;
}

}  // namespace vigil
