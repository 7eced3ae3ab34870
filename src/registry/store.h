// The registry's storage: content-addressed bundle files plus an SQLite index of models, versions,
// channels and channel history. Knows nothing of HTTP or of the bundle format (the Registry above
// it checks bundles before they get here).
//
// Layout of a store directory (docs/registry.md):
//   index.sqlite (+ -wal, -shm)   the index (and agents' reports); WAL journal, synchronous=FULL
//   blobs/<2 hex>/<64 hex>        one file per distinct bundle, named by its SHA-256
//   tmp/                          uploads being written; emptied when the store opens
//   LOCK                          flock()ed while open: one process per store
//
// Durability: a version is added in two steps. The bytes go to tmp/, are fsynced and renamed into
// blobs/ (then the directory is fsynced); only then does one SQLite transaction add the index
// rows. A crash before the commit leaves at most a temporary file or an unreferenced blob, both
// removed by the next Open; a committed version always has its blob. Channel changes are single
// transactions. Nothing acknowledged is lost by a crash (SIGKILL or power loss).
//
// Channels: promote pushes a version on the channel's stack, rollback pops it, and each change
// appends a history row whose id is the store-wide revision (strictly increasing, never reused).
//
// Thread safety: every method may be called from any thread; index access is serialised by an
// internal mutex, blob writes and reads run outside it.
// Failure: errors as values; SQLite and file-system errors name the store directory.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "registry/types.h"

struct sqlite3;

namespace vigil {

struct StoreOptions {
  // Fault-injection seam for tests: called before each durability step ("blob.write",
  // "blob.rename", "index.commit"); a non-ok Status aborts the operation at that point, leaving
  // what a crash there would leave.
  std::function<Status(std::string_view step)> fault;
};

// What Open found and repaired.
struct StoreOpenReport {
  size_t removed_temp_files = 0;    // half-written uploads
  size_t removed_orphan_blobs = 0;  // blobs renamed in place but never committed to the index
  size_t versions = 0;
};

class Store {
 public:
  // Creates the directory if needed, takes its lock (refusing a store another process holds),
  // removes leftovers of interrupted uploads and opens (or creates) the index.
  static Result<std::unique_ptr<Store>> Open(const std::string& dir, StoreOptions options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& dir() const { return dir_; }
  const StoreOpenReport& open_report() const { return report_; }

  // Stores `bytes` as a new version of `model` (created on first use). From `info` the store
  // takes publisher, signature, key_id and summary, and sets the rest. The same bytes already
  // under `model` give the existing version and *created = false.
  Result<VersionInfo> AddVersion(const std::string& model, std::string_view bytes,
                                 const VersionInfo& info, bool* created);

  Result<std::vector<ModelSummary>> Models();
  bool HasModel(const std::string& model);
  Result<std::vector<VersionInfo>> Versions(const std::string& model);  // oldest first
  // `ref`: a version number ("3"), a full SHA-256, or a unique prefix of at least 8 hex digits.
  Result<VersionInfo> FindVersion(const std::string& model, const std::string& ref);
  // The blob's bytes, checked against its name (kCorruption if the disk changed them).
  Result<std::string> ReadBlob(const std::string& sha256) const;

  // Revision 0 and an empty sha256 when the channel was never set.
  Result<ChannelState> Channel(const std::string& model, const std::string& channel);
  Result<std::vector<ChannelState>> Channels(const std::string& model);
  // Points the channel at a version of the model (pushes it). No change, and no new revision,
  // when it already points there.
  Result<ChannelState> Promote(const std::string& model, const std::string& channel,
                               const std::string& sha256, const std::string& actor);
  // Pops the channel's current version: it points to the one before. kInvalidArgument when
  // there is none.
  Result<ChannelState> Rollback(const std::string& model, const std::string& channel,
                                const std::string& actor);
  Result<std::vector<HistoryEntry>> History(const std::string& model, const std::string& channel,
                                            int limit);  // newest first

  // Problems found (empty: consistent): SQLite's integrity check, every version's blob present
  // (and, with `rehash`, hashing to its name), no file left in tmp/, no unreferenced blob.
  Result<std::vector<std::string>> Check(bool rehash);

  // Canary reports: replaces `agent`'s rows for the versions in `rows` (one transaction), and
  // lists every row of a model, oldest report first.
  Status PutReports(const std::string& model, const std::vector<AgentReport>& rows);
  Result<std::vector<AgentReport>> Reports(const std::string& model);

 private:
  Store(std::string dir, StoreOptions options);
  Status Init();
  Status WriteBlob(const std::string& sha256, std::string_view bytes);
  std::string BlobPath(const std::string& sha256) const;
  Result<ChannelState> ChannelLocked(const std::string& model, const std::string& channel);
  Result<VersionInfo> VersionBySha(const std::string& model, const std::string& sha256);
  Status Fault(std::string_view step) const;

  const std::string dir_;
  const StoreOptions options_;
  StoreOpenReport report_;
  int lock_fd_ = -1;
  std::mutex mu_;  // guards db_
  sqlite3* db_ = nullptr;
};

}  // namespace vigil
