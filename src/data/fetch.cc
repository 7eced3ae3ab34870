#include "data/fetch.h"

#include <curl/curl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <system_error>

#include "core/sha256.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

constexpr long kConnectTimeoutSeconds = 30;
// A transfer slower than this many bytes/s for kStallSeconds is abandoned (no total timeout: a
// large file on a slow link is fine as long as it moves).
constexpr long kStallBytesPerSecond = 1;
constexpr long kStallSeconds = 60;
constexpr long kMaxRedirects = 10;

// UNB's official NSL-KDD page (unb.ca/cic/datasets/nsl.html) hands the files out only after a
// web form, so vigil downloads them from the long-standing public mirror jmnwong/NSL-KDD-Dataset
// (2016, restored from the Wayback Machine copy of nsl.cs.unb.ca), whose files are byte-identical
// to UNB's distribution. The SHA-256 below is checked on every download, so a changed mirror is
// detected rather than trusted.
constexpr const char* kNslKddBase =
    "https://raw.githubusercontent.com/jmnwong/NSL-KDD-Dataset/master/";

std::vector<DatasetInfo> BuildCatalog() {
  std::vector<DatasetInfo> catalog;

  DatasetInfo nsl;
  nsl.name = "nsl-kdd";
  nsl.description =
      "NSL-KDD (Tavallaee et al., 2009): the KDD Cup 99 network connection records without "
      "duplicates. 41 features, attack name, difficulty. Train on KDDTrain+, report on KDDTest+ "
      "and KDDTest-21 (the hard subset).";
  nsl.license_note =
      "Canadian Institute for Cybersecurity, University of New Brunswick. No license text; "
      "research use, cite: M. Tavallaee, E. Bagheri, W. Lu, A. A. Ghorbani, \"A Detailed Analysis "
      "of the KDD CUP 99 Data Set\", IEEE CISDA 2009.";
  auto add = [&nsl](const char* file, const char* sha256, uint64_t size) {
    nsl.files.push_back({file, std::string(kNslKddBase) + file, sha256, size});
  };
  add("KDDTrain+.txt", "1b86d2f957b33082081bba410fe129b475efebcc13c9014c3f447c8271aadf95",
      19109424);
  add("KDDTest+.txt", "fa46b0935342616aa83b7c2578db355b6a7aaabbc492248172c7a1e8b7ab8f84", 3441513);
  add("KDDTest-21.txt", "746993ac9e25868827cacf09eab450050a2a1056e1ce48a1ad39f5dc801d531d",
      1814092);
  add("KDDTrain+_20Percent.txt", "7ea86479faab5ca2190b7f18b4982fb058ce5bf2b46e0e1017d0d9ef90f9c16e",
      3822033);
  catalog.push_back(std::move(nsl));

  DatasetInfo unsw;
  unsw.name = "unsw-nb15";
  unsw.description =
      "UNSW-NB15 (Moustafa and Slay, 2015), partitioned CSV set: 42 flow features (proto, service, "
      "state categorical), attack_cat (Normal + 9 attack families), label.";
  unsw.license_note =
      "UNSW Canberra (Australian Centre for Cyber Security). Free for research; cite Moustafa and "
      "Slay, MilCIS 2015 and Information Security Journal 2016. Redistribution is not granted, so "
      "vigil does not mirror it.";
  // UNSW's share needs a browser session, so there is no stable URL or hash to check.
  unsw.files = {{"UNSW_NB15_training-set.csv", "", "", 0},
                {"UNSW_NB15_testing-set.csv", "", "", 0}};
  unsw.manual_instructions =
      "UNSW-NB15 cannot be downloaded automatically: UNSW's official share needs a browser. Open "
      "https://research.unsw.edu.au/projects/unsw-nb15-dataset, follow the link to the data set "
      "files, open the folder \"Training and Testing Sets\" and download "
      "UNSW_NB15_training-set.csv "
      "(175,341 rows) and UNSW_NB15_testing-set.csv (82,332 rows). (Some third-party copies swap "
      "the "
      "two names; the row counts tell them apart.)";
  catalog.push_back(std::move(unsw));

  return catalog;
}

std::string GetEnv(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

std::string HomeDir() {
  std::string home = GetEnv("HOME");
  if (!home.empty()) return home;
  struct passwd pw;
  struct passwd* result = nullptr;
  char buf[4096];
  if (::getpwuid_r(::getuid(), &pw, buf, sizeof(buf), &result) == 0 && result != nullptr &&
      result->pw_dir != nullptr) {
    return result->pw_dir;
  }
  return ".";
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

bool IsRegularFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<uint64_t> FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status::IOError(path + ": cannot stat: " + std::strerror(errno));
  }
  return static_cast<uint64_t>(st.st_size);
}

std::string KnownNames() {
  std::string names;
  for (const DatasetInfo& d : DatasetCatalog()) {
    if (!names.empty()) names += ", ";
    names += d.name;
  }
  return names;
}

Status UnknownDataset(const std::string& name) {
  return Status::NotFound("unknown data set '" + name + "' (known: " + KnownNames() + ")");
}

std::string ManualMessage(const DatasetInfo& info, const std::string& dir) {
  std::string files;
  for (const DatasetFile& f : info.files) files += "\n  " + JoinPath(dir, f.name);
  return info.manual_instructions + "\nPut them here:" + files + "\n(or in $VIGIL_DATA/" +
         info.name + "/ and set VIGIL_DATA).";
}

// True if `path` exists with the catalog size and hash.
bool MatchesCatalog(const std::string& path, const DatasetFile& file) {
  if (!IsRegularFile(path)) return false;
  Result<uint64_t> size = FileSize(path);
  if (!size.ok() || *size != file.size) return false;
  Result<std::string> hash = Sha256FileHex(path);
  return hash.ok() && *hash == file.sha256;
}

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct TransferState {
  FILE* out = nullptr;
  const DatasetFile* file = nullptr;
  const FetchOptions* opts = nullptr;
};

size_t WriteToFile(char* data, size_t size, size_t nmemb, void* user) {
  auto* state = static_cast<TransferState*>(user);
  return fwrite(data, size, nmemb, state->out) * size;
}

int OnProgress(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t, curl_off_t) {
  auto* state = static_cast<TransferState*>(user);
  uint64_t total = dltotal > 0 ? static_cast<uint64_t>(dltotal) : state->file->size;
  state->opts->progress(state->file->name, static_cast<uint64_t>(dlnow), total);
  return 0;
}

// Downloads `url` into the open temporary file `out` (the caller deletes it on failure).
Status Download(const std::string& url, FILE* out, const DatasetFile& file,
                const FetchOptions& opts) {
  InitCurlOnce();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return Status::Internal("curl_easy_init failed");
  TransferState state{out, &file, &opts};
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, kMaxRedirects);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https,file");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutSeconds);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, kStallBytesPerSecond);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, kStallSeconds);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "vigil/" VIGIL_VERSION);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteToFile);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
  if (opts.progress) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &state);
  }
  CURLcode rc = curl_easy_perform(curl);
  long http_code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_code);
  curl_easy_cleanup(curl);
  if (rc == CURLE_HTTP_RETURNED_ERROR) {
    return Status::IOError(file.name + ": HTTP " + std::to_string(http_code) + " from " + url);
  }
  if (rc != CURLE_OK) {
    std::string detail = error[0] != '\0' ? error : curl_easy_strerror(rc);
    return Status::IOError(file.name + ": download from " + url + " failed: " + detail);
  }
  return Status::Ok();
}

// Downloads one file to a temporary file in `dir`, verifies it and renames it into place.
Status FetchFile(const DatasetFile& file, const std::string& dir, const FetchOptions& opts) {
  std::string url = file.url;
  if (!opts.mirror.empty()) {
    std::string base = opts.mirror;
    while (!base.empty() && base.back() == '/') base.pop_back();
    url = base + "/" + file.name;
  }
  std::string final_path = JoinPath(dir, file.name);
  std::string tmp_path = final_path + ".part.XXXXXX";
  int fd = ::mkstemp(tmp_path.data());
  if (fd < 0) return Status::IOError(tmp_path + ": cannot create: " + std::strerror(errno));
  FILE* out = ::fdopen(fd, "wb");
  if (out == nullptr) {
    std::string err = std::strerror(errno);
    ::close(fd);
    ::unlink(tmp_path.c_str());
    return Status::IOError(tmp_path + ": fdopen failed: " + err);
  }
  Status s = Download(url, out, file, opts);
  bool write_failed = std::ferror(out) != 0;
  if (::fflush(out) != 0 || ::fsync(::fileno(out)) != 0) write_failed = true;
  if (std::fclose(out) != 0) write_failed = true;
  if (s.ok() && write_failed) s = Status::IOError(tmp_path + ": write failed (disk full?)");
  if (!s.ok()) {
    ::unlink(tmp_path.c_str());
    return s;
  }

  Result<uint64_t> size = FileSize(tmp_path);
  Result<std::string> hash = Sha256FileHex(tmp_path);
  if (!size.ok() || !hash.ok()) {
    ::unlink(tmp_path.c_str());
    return !size.ok() ? size.status() : hash.status();
  }
  if (*size != file.size || *hash != file.sha256) {
    ::unlink(tmp_path.c_str());
    return Status::Corruption(file.name +
                              ": downloaded file does not match the catalog: expected "
                              "SHA-256 " +
                              file.sha256 + " (" + std::to_string(file.size) + " bytes), got " +
                              *hash + " (" + std::to_string(*size) + " bytes) from " + url +
                              "; nothing was kept");
  }
  ::chmod(tmp_path.c_str(), 0644);  // mkstemp makes 0600; the cache is ordinary data
  if (::rename(tmp_path.c_str(), final_path.c_str()) != 0) {
    std::string err = std::strerror(errno);
    ::unlink(tmp_path.c_str());
    return Status::IOError(final_path + ": rename failed: " + err);
  }
  return Status::Ok();
}

}  // namespace

const std::vector<DatasetInfo>& DatasetCatalog() {
  static const std::vector<DatasetInfo> catalog = BuildCatalog();
  return catalog;
}

const DatasetInfo* FindDataset(const std::string& name) {
  for (const DatasetInfo& d : DatasetCatalog()) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

std::string DefaultCacheDir() {
  std::string dir = GetEnv("VIGIL_CACHE");
  if (!dir.empty()) return dir;
  dir = GetEnv("XDG_CACHE_HOME");
  if (!dir.empty()) return JoinPath(dir, "vigil/data");
  return JoinPath(HomeDir(), ".cache/vigil/data");
}

Result<std::string> FetchDataset(const std::string& name, const FetchOptions& opts) {
  const DatasetInfo* info = FindDataset(name);
  if (info == nullptr) return UnknownDataset(name);
  std::string cache = opts.cache_dir.empty() ? DefaultCacheDir() : opts.cache_dir;
  std::string dir = JoinPath(cache, name);
  if (!info->manual_instructions.empty()) {
    return Status::Unsupported(ManualMessage(*info, dir));
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError(dir + ": cannot create directory: " + ec.message());
  for (const DatasetFile& file : info->files) {
    if (!opts.force && MatchesCatalog(JoinPath(dir, file.name), file)) continue;
    VIGIL_RETURN_IF_ERROR(FetchFile(file, dir, opts));
  }
  return dir;
}

Result<std::string> LocateDataset(const std::string& name,
                                  const std::vector<std::string>& required_files,
                                  const std::string& project_root) {
  std::vector<std::string> candidates;
  std::string env_data = GetEnv("VIGIL_DATA");
  if (!env_data.empty()) candidates.push_back(JoinPath(env_data, name));
  if (!project_root.empty()) {
    candidates.push_back(JoinPath(JoinPath(project_root, "../shared/data"), name));
  }
  std::string cache_dir = JoinPath(DefaultCacheDir(), name);
  candidates.push_back(cache_dir);

  std::string searched;
  for (const std::string& dir : candidates) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      searched += "\n  " + dir + " (no such directory)";
      continue;
    }
    std::string missing;
    for (const std::string& f : required_files) {
      if (!IsRegularFile(JoinPath(dir, f))) missing += (missing.empty() ? "" : ", ") + f;
    }
    if (missing.empty()) return dir;
    searched += "\n  " + dir + " (missing " + missing + ")";
  }

  std::string files;
  for (const std::string& f : required_files) files += (files.empty() ? "" : ", ") + f;
  std::string msg = "data set '" + name + "' not found";
  if (!files.empty()) msg += " (need " + files + ")";
  msg += "; searched:" + searched + "\n";
  const DatasetInfo* info = FindDataset(name);
  if (info != nullptr && info->manual_instructions.empty()) {
    msg += "Run `vigil data fetch " + name + "` to download it into " + cache_dir +
           ", or set VIGIL_DATA to a directory that holds " + name + "/.";
  } else if (info != nullptr) {
    msg += ManualMessage(*info, cache_dir);
  } else {
    msg += "Put the files in " + cache_dir + " or in $VIGIL_DATA/" + name + "/ and set VIGIL_DATA.";
  }
  return Status::NotFound(msg);
}

}  // namespace vigil
