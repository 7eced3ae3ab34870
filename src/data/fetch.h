// Public data sets: a catalog, a verified downloader and a locator (`vigil data fetch NAME`).
//
// The catalog names each data set vigil knows, its files with their SHA-256 and size, and where
// they come from. FetchDataset downloads a data set's files into a cache directory
// (CACHE/NAME/FILE): each file goes to a temporary file next to its final path, is checked against
// the catalog's size and SHA-256, and only then renamed into place, so the cache never holds a
// partial or wrong file under a catalog name. A file already in the cache with the right hash is
// not downloaded again (unless `force`). Data sets that cannot be downloaded automatically (their
// owners require a browser or a form) carry `manual_instructions`, and fetching them returns
// Unsupported with those instructions and the directory to put the files in.
//
// LocateDataset finds a directory that already holds a data set's files, for tools and demos that
// must not download anything.
//
// Failure: errors are values. Unknown data set: NotFound. Network, HTTP (status >= 400) or file
// system failure: IOError. A downloaded file whose size or hash does not match: Corruption naming
// the file and both hashes; the downloaded bytes are deleted.
//
// Thread safety: the catalog is immutable. FetchDataset may run concurrently in threads or
// processes, even on the same cache: temporary files have unique names and the final rename is
// atomic. The progress callback is called on the calling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace vigil {

struct DatasetFile {
  std::string name;    // file name inside the data set directory
  std::string url;     // empty when the file cannot be downloaded automatically
  std::string sha256;  // lowercase hex; empty when unknown (manual data sets)
  uint64_t size = 0;   // bytes; 0 when unknown
};

struct DatasetInfo {
  std::string name;  // "nsl-kdd"
  std::string description;
  std::string license_note;
  std::vector<DatasetFile> files;
  // Non-empty if the data set cannot be downloaded automatically: what to download, from where.
  std::string manual_instructions;
};

// All known data sets, in a fixed order.
const std::vector<DatasetInfo>& DatasetCatalog();
// The catalog entry named `name`, or nullptr.
const DatasetInfo* FindDataset(const std::string& name);

// $VIGIL_CACHE, else $XDG_CACHE_HOME/vigil/data, else ~/.cache/vigil/data (empty variables count
// as unset). Data set NAME lives in DefaultCacheDir()/NAME.
std::string DefaultCacheDir();

struct FetchOptions {
  std::string cache_dir;  // empty: DefaultCacheDir()
  // If set, replaces the base of every URL: a file is fetched from mirror + "/" + its name (e.g.
  // "http://10.0.0.5:8000/nsl-kdd" or "file:///srv/mirror/nsl-kdd"). Hashes are still checked.
  std::string mirror;
  bool force = false;  // download even files already in the cache with the right hash
  // Called while a file downloads; `total` is the server's length, else the catalog size.
  std::function<void(const std::string& file, uint64_t done, uint64_t total)> progress;
};

// Downloads every file of data set `name` that is not already in the cache with the right hash,
// verifying each. Returns the data set directory (cache_dir/name).
Result<std::string> FetchDataset(const std::string& name, const FetchOptions& opts);

// Finds a directory holding all `required_files` (by name) of data set `name`, trying in order:
// $VIGIL_DATA/NAME, <project_root>/../shared/data/NAME (skipped if project_root is empty),
// DefaultCacheDir()/NAME. NotFound names the directories searched, the files missing and what to
// run ("vigil data fetch nsl-kdd") or, for a manual data set, where to get the files and put them.
Result<std::string> LocateDataset(const std::string& name,
                                  const std::vector<std::string>& required_files,
                                  const std::string& project_root);

}  // namespace vigil
