// StaticAssets: the built front-end (web/dist), read into memory at start and served from there:
// every file once compressed with gzip (level 9), so a request costs a copy, not a compression;
// hashed asset names (assets/*) are cacheable forever, index.html must be revalidated. Only files
// found at load time exist: no request reaches the file system, so no path can escape the
// directory. Immutable after Load; thread-safe.
#pragma once

#include <httplib.h>

#include <map>
#include <string>

#include "core/status.h"

namespace vigil {

class StaticAssets {
 public:
  // Reads every regular file under `dir` (at most 4,096 files, 64 MiB in all).
  Status Load(const std::string& dir);
  bool empty() const { return files_.empty(); }
  // Answers GET `path` ("/" is /index.html); false when there is no such file.
  bool Serve(const httplib::Request& req, httplib::Response& res) const;

 private:
  struct File {
    std::string type, raw, gzip;
    bool immutable = false;
  };
  std::map<std::string, File> files_;  // by URL path ("/index.html", "/assets/x.js")
};

}  // namespace vigil
