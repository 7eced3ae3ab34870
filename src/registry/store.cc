#include "registry/store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "core/file.h"
#include "core/sha256.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kSchemaVersion = 1;

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS models(
  name TEXT PRIMARY KEY,
  created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS versions(
  model TEXT NOT NULL REFERENCES models(name),
  number INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  publisher TEXT NOT NULL,
  signature TEXT NOT NULL,
  key_id TEXT NOT NULL,
  summary TEXT NOT NULL,
  PRIMARY KEY(model, number),
  UNIQUE(model, sha256));
CREATE TABLE IF NOT EXISTS history(
  revision INTEGER PRIMARY KEY AUTOINCREMENT,
  model TEXT NOT NULL,
  channel TEXT NOT NULL,
  action TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  previous TEXT NOT NULL,
  actor TEXT NOT NULL,
  at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS channels(
  model TEXT NOT NULL REFERENCES models(name),
  channel TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  revision INTEGER NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY(model, channel));
CREATE TABLE IF NOT EXISTS channel_stack(
  model TEXT NOT NULL,
  channel TEXT NOT NULL,
  depth INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  PRIMARY KEY(model, channel, depth));
CREATE TABLE IF NOT EXISTS reports(
  model TEXT NOT NULL,
  agent TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  role TEXT NOT NULL,
  channel TEXT NOT NULL,
  records INTEGER NOT NULL,
  alerts INTEGER NOT NULL,
  histogram TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY(model, agent, sha256, role));
)sql";

// A prepared statement; errors are read back through the connection.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int i, const std::string& s) {
    if (rc_ == SQLITE_OK)
      rc_ = sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE, or an error code.
  int Step() {
    if (rc_ != SQLITE_OK) return rc_;
    return sqlite3_step(stmt_);
  }
  std::string Text(int col) const {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    return p == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(p),
                                      static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

Status DbError(sqlite3* db, const std::string& dir, const char* what) {
  return Status::IOError(dir + "/index.sqlite: " + what + ": " + sqlite3_errmsg(db));
}

Status Exec(sqlite3* db, const std::string& dir, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    return Status::IOError(dir + "/index.sqlite: " + msg);
  }
  return Status::Ok();
}

// BEGIN IMMEDIATE ... COMMIT; rolls back unless committed.
class Txn {
 public:
  Txn(sqlite3* db, const std::string& dir) : db_(db), dir_(dir) {
    status_ = Exec(db, dir, "BEGIN IMMEDIATE");
  }
  ~Txn() {
    if (status_.ok() && !done_) (void)Exec(db_, dir_, "ROLLBACK");
  }
  const Status& status() const { return status_; }
  Status Commit() {
    done_ = true;
    Status s = Exec(db_, dir_, "COMMIT");
    if (!s.ok()) (void)Exec(db_, dir_, "ROLLBACK");
    return s;
  }

 private:
  sqlite3* db_;
  std::string dir_;
  Status status_;
  bool done_ = false;
};

constexpr char kVersionColumns[] =
    "model, number, sha256, size, created_at, publisher, signature, key_id, summary";

VersionInfo VersionFromRow(const Stmt& st) {
  VersionInfo v;
  v.model = st.Text(0);
  v.number = st.Int(1);
  v.sha256 = st.Text(2);
  v.size = st.Int(3);
  v.created_at = st.Text(4);
  v.publisher = st.Text(5);
  v.signature = st.Text(6);
  v.key_id = st.Text(7);
  v.summary = json::parse(st.Text(8), nullptr, /*allow_exceptions=*/false);
  if (v.summary.is_discarded()) v.summary = json::object();
  return v;
}

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IOError(dir + ": cannot open: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Status::IOError(dir + ": fsync failed: " + std::strerror(err));
  return Status::Ok();
}

Status MakeDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError(dir + ": cannot create: " + ec.message());
  return Status::Ok();
}

bool AllDigits(const std::string& s) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool IsHex(const std::string& s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return !s.empty();
}

}  // namespace

Store::Store(std::string dir, StoreOptions options)
    : dir_(std::move(dir)), options_(std::move(options)) {}

Store::~Store() {
  if (db_ != nullptr) sqlite3_close(db_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

Status Store::Fault(std::string_view step) const {
  return options_.fault ? options_.fault(step) : Status::Ok();
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, StoreOptions options) {
  std::unique_ptr<Store> s(new Store(dir, std::move(options)));
  VIGIL_RETURN_IF_ERROR(s->Init());
  return s;
}

Status Store::Init() {
  VIGIL_RETURN_IF_ERROR(MakeDir(dir_ + "/blobs"));
  VIGIL_RETURN_IF_ERROR(MakeDir(dir_ + "/tmp"));
  const std::string lock_path = dir_ + "/LOCK";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) return Status::IOError(lock_path + ": cannot open: " + std::strerror(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Status::IOError(dir_ + ": the store is in use by another process (" + lock_path +
                           " is locked)");
  }
  // Half-written uploads of a process that died.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_ + "/tmp", ec)) {
    if (fs::remove(e.path(), ec)) ++report_.removed_temp_files;
  }

  const std::string db_path = dir_ + "/index.sqlite";
  if (sqlite3_open_v2(db_path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return DbError(db_, dir_, "cannot open");
  }
  sqlite3_busy_timeout(db_, 5000);
  VIGIL_RETURN_IF_ERROR(Exec(db_, dir_, "PRAGMA journal_mode=WAL"));
  VIGIL_RETURN_IF_ERROR(Exec(db_, dir_, "PRAGMA synchronous=FULL"));
  VIGIL_RETURN_IF_ERROR(Exec(db_, dir_, "PRAGMA foreign_keys=ON"));
  {
    Stmt st(db_, "PRAGMA user_version");
    if (st.Step() != SQLITE_ROW) return DbError(db_, dir_, "cannot read the schema version");
    const int64_t version = st.Int(0);
    if (version > kSchemaVersion) {
      return Status::Unsupported(dir_ + "/index.sqlite: index schema version " +
                                 std::to_string(version) +
                                 " is newer than this vigil supports; upgrade vigil");
    }
  }
  {
    Txn txn(db_, dir_);
    VIGIL_RETURN_IF_ERROR(txn.status());
    VIGIL_RETURN_IF_ERROR(Exec(db_, dir_, kSchema));
    VIGIL_RETURN_IF_ERROR(
        Exec(db_, dir_, ("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str()));
    VIGIL_RETURN_IF_ERROR(txn.Commit());
  }
  {
    Stmt st(db_, "PRAGMA quick_check");
    if (st.Step() != SQLITE_ROW || st.Text(0) != "ok") {
      return Status::Corruption(dir_ + "/index.sqlite: integrity check failed: " + st.Text(0));
    }
  }
  // Blobs renamed into place by an upload whose index transaction never committed.
  std::set<std::string> referenced;
  {
    Stmt st(db_, "SELECT DISTINCT sha256 FROM versions");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) referenced.insert(st.Text(0));
    if (rc != SQLITE_DONE) return DbError(db_, dir_, "cannot list versions");
    Stmt count(db_, "SELECT COUNT(*) FROM versions");
    if (count.Step() == SQLITE_ROW) report_.versions = static_cast<size_t>(count.Int(0));
  }
  for (const auto& fan : fs::directory_iterator(dir_ + "/blobs", ec)) {
    if (!fan.is_directory()) continue;
    for (const auto& blob : fs::directory_iterator(fan.path(), ec)) {
      if (referenced.count(blob.path().filename().string()) == 0 && fs::remove(blob.path(), ec)) {
        ++report_.removed_orphan_blobs;
      }
    }
  }
  if (ec) return Status::IOError(dir_ + ": cannot list the store: " + ec.message());
  return Status::Ok();
}

std::string Store::BlobPath(const std::string& sha256) const {
  return dir_ + "/blobs/" + sha256.substr(0, 2) + "/" + sha256;
}

Status Store::WriteBlob(const std::string& sha256, std::string_view bytes) {
  const std::string path = BlobPath(sha256);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && static_cast<size_t>(st.st_size) == bytes.size()) {
    return Status::Ok();  // already stored (it was fsynced before it was renamed there)
  }
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = dir_ + "/tmp/" + sha256 + "." + std::to_string(::getpid()) + "." +
                          std::to_string(counter.fetch_add(1));
  VIGIL_RETURN_IF_ERROR(Fault("blob.write"));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError(tmp + ": cannot create: " + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    done += static_cast<size_t>(n);
  }
  const bool ok = done == bytes.size() && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return Status::IOError(tmp + ": write failed: " + std::strerror(err));
  }
  Status fault = Fault("blob.rename");
  if (!fault.ok()) return fault;  // the temporary file stays, as after a crash here
  const std::string fan = dir_ + "/blobs/" + sha256.substr(0, 2);
  if (::mkdir(fan.c_str(), 0755) == 0) {
    VIGIL_RETURN_IF_ERROR(FsyncDir(dir_ + "/blobs"));
  } else if (errno != EEXIST) {
    ::unlink(tmp.c_str());
    return Status::IOError(fan + ": cannot create: " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int rename_err = errno;
    ::unlink(tmp.c_str());
    return Status::IOError(path + ": rename failed: " + std::strerror(rename_err));
  }
  return FsyncDir(fan);
}

Result<VersionInfo> Store::VersionBySha(const std::string& model, const std::string& sha256) {
  Stmt st(db_, (std::string("SELECT ") + kVersionColumns +
                " FROM versions WHERE model = ? AND sha256 = ?")
                   .c_str());
  st.Bind(1, model).Bind(2, sha256);
  const int rc = st.Step();
  if (rc == SQLITE_ROW) return VersionFromRow(st);
  if (rc == SQLITE_DONE) {
    return Status::NotFound("model '" + model + "' has no version " + sha256.substr(0, 12));
  }
  return DbError(db_, dir_, "cannot read a version");
}

Result<VersionInfo> Store::AddVersion(const std::string& model, std::string_view bytes,
                                      const VersionInfo& info, bool* created) {
  const std::string sha = Sha256Hex(bytes);
  // The bytes are durable under their name before the index mentions them.
  VIGIL_RETURN_IF_ERROR(WriteBlob(sha, bytes));

  std::lock_guard<std::mutex> lock(mu_);
  Txn txn(db_, dir_);
  VIGIL_RETURN_IF_ERROR(txn.status());
  const std::string now = NowRfc3339();
  {
    Stmt st(db_, "INSERT OR IGNORE INTO models(name, created_at) VALUES(?, ?)");
    st.Bind(1, model).Bind(2, now);
    if (st.Step() != SQLITE_DONE) return DbError(db_, dir_, "cannot add the model");
  }
  auto existing = VersionBySha(model, sha);
  if (existing.ok()) {
    if (created != nullptr) *created = false;
    return existing;
  }
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  int64_t number = 1;
  {
    Stmt st(db_, "SELECT COALESCE(MAX(number), 0) + 1 FROM versions WHERE model = ?");
    st.Bind(1, model);
    if (st.Step() != SQLITE_ROW) return DbError(db_, dir_, "cannot number the version");
    number = st.Int(0);
  }
  VersionInfo v = info;
  v.model = model;
  v.number = number;
  v.sha256 = sha;
  v.size = static_cast<int64_t>(bytes.size());
  v.created_at = now;
  {
    Stmt st(db_, (std::string("INSERT INTO versions(") + kVersionColumns +
                  ") VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)")
                     .c_str());
    st.Bind(1, v.model)
        .Bind(2, v.number)
        .Bind(3, v.sha256)
        .Bind(4, v.size)
        .Bind(5, v.created_at)
        .Bind(6, v.publisher)
        .Bind(7, v.signature)
        .Bind(8, v.key_id)
        .Bind(9, v.summary.dump(-1, ' ', false, json::error_handler_t::replace));
    if (st.Step() != SQLITE_DONE) return DbError(db_, dir_, "cannot add the version");
  }
  VIGIL_RETURN_IF_ERROR(Fault("index.commit"));
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  if (created != nullptr) *created = true;
  return v;
}

bool Store::HasModel(const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt st(db_, "SELECT 1 FROM models WHERE name = ?");
  st.Bind(1, model);
  return st.Step() == SQLITE_ROW;
}

Result<std::vector<ModelSummary>> Store::Models() {
  std::vector<ModelSummary> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt st(db_,
            "SELECT m.name, m.created_at, COUNT(v.number), COALESCE(MAX(v.number), 0) "
            "FROM models m LEFT JOIN versions v ON v.model = m.name "
            "GROUP BY m.name ORDER BY m.name");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      ModelSummary m;
      m.name = st.Text(0);
      m.created_at = st.Text(1);
      m.versions = st.Int(2);
      m.latest_number = st.Int(3);
      out.push_back(std::move(m));
    }
    if (rc != SQLITE_DONE) return DbError(db_, dir_, "cannot list models");
    for (ModelSummary& m : out) {
      Stmt latest(db_, "SELECT sha256, created_at FROM versions WHERE model = ? AND number = ?");
      latest.Bind(1, m.name).Bind(2, m.latest_number);
      if (latest.Step() == SQLITE_ROW) {
        m.latest_sha256 = latest.Text(0);
        m.latest_created_at = latest.Text(1);
      }
    }
  }
  for (ModelSummary& m : out) {
    VIGIL_ASSIGN_OR_RETURN(m.channels, Channels(m.name));
  }
  return out;
}

Result<std::vector<VersionInfo>> Store::Versions(const std::string& model) {
  if (!HasModel(model)) return Status::NotFound("no model named '" + model + "'");
  std::lock_guard<std::mutex> lock(mu_);
  Stmt st(db_, (std::string("SELECT ") + kVersionColumns +
                " FROM versions WHERE model = ? ORDER BY number")
                   .c_str());
  st.Bind(1, model);
  std::vector<VersionInfo> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out.push_back(VersionFromRow(st));
  if (rc != SQLITE_DONE) return DbError(db_, dir_, "cannot list versions");
  return out;
}

Result<VersionInfo> Store::FindVersion(const std::string& model, const std::string& ref) {
  if (!HasModel(model)) return Status::NotFound("no model named '" + model + "'");
  std::lock_guard<std::mutex> lock(mu_);
  if (AllDigits(ref)) {
    Stmt st(db_, (std::string("SELECT ") + kVersionColumns +
                  " FROM versions WHERE model = ? AND number = ?")
                     .c_str());
    st.Bind(1, model).Bind(2, static_cast<int64_t>(std::stoll(ref)));
    const int rc = st.Step();
    if (rc == SQLITE_ROW) return VersionFromRow(st);
    if (rc != SQLITE_DONE) return DbError(db_, dir_, "cannot read a version");
    return Status::NotFound("model '" + model + "' has no version " + ref);
  }
  if (ref.size() < 8 || ref.size() > 64 || !IsHex(ref)) {
    return Status::InvalidArgument("version '" + ref.substr(0, 80) +
                                   "': expected a version number, a SHA-256 or a prefix of at "
                                   "least 8 lowercase hex digits");
  }
  Stmt st(db_, (std::string("SELECT ") + kVersionColumns +
                " FROM versions WHERE model = ? AND substr(sha256, 1, ?) = ? LIMIT 2")
                   .c_str());
  st.Bind(1, model).Bind(2, static_cast<int64_t>(ref.size())).Bind(3, ref);
  std::vector<VersionInfo> found;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) found.push_back(VersionFromRow(st));
  if (rc != SQLITE_DONE) return DbError(db_, dir_, "cannot read a version");
  if (found.empty()) return Status::NotFound("model '" + model + "' has no version " + ref);
  if (found.size() > 1) {
    return Status::InvalidArgument("version prefix '" + ref + "' is ambiguous; give more digits");
  }
  return found[0];
}

Result<std::string> Store::ReadBlob(const std::string& sha256) const {
  if (!IsSha256Hex(sha256)) return Status::InvalidArgument("not a SHA-256: " + sha256);
  VIGIL_ASSIGN_OR_RETURN(std::string bytes, ReadFile(BlobPath(sha256)));
  if (Sha256Hex(bytes) != sha256) {
    return Status::Corruption(BlobPath(sha256) +
                              ": stored bundle does not match its SHA-256 "
                              "(disk corruption?)");
  }
  return bytes;
}

Result<ChannelState> Store::ChannelLocked(const std::string& model, const std::string& channel) {
  ChannelState c;
  c.model = model;
  c.channel = channel;
  Stmt st(db_,
          "SELECT c.sha256, c.revision, c.updated_at, v.number FROM channels c "
          "JOIN versions v ON v.model = c.model AND v.sha256 = c.sha256 "
          "WHERE c.model = ? AND c.channel = ?");
  st.Bind(1, model).Bind(2, channel);
  const int rc = st.Step();
  if (rc == SQLITE_ROW) {
    c.sha256 = st.Text(0);
    c.revision = st.Int(1);
    c.updated_at = st.Text(2);
    c.number = st.Int(3);
  } else if (rc != SQLITE_DONE) {
    return DbError(db_, dir_, "cannot read a channel");
  }
  return c;
}

Result<ChannelState> Store::Channel(const std::string& model, const std::string& channel) {
  std::lock_guard<std::mutex> lock(mu_);
  return ChannelLocked(model, channel);
}

Result<std::vector<ChannelState>> Store::Channels(const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names;
  {
    Stmt st(db_, "SELECT channel FROM channels WHERE model = ? ORDER BY channel");
    st.Bind(1, model);
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) names.push_back(st.Text(0));
    if (rc != SQLITE_DONE) return DbError(db_, dir_, "cannot list channels");
  }
  std::vector<ChannelState> out;
  for (const std::string& n : names) {
    VIGIL_ASSIGN_OR_RETURN(ChannelState c, ChannelLocked(model, n));
    out.push_back(std::move(c));
  }
  return out;
}

Result<ChannelState> Store::Promote(const std::string& model, const std::string& channel,
                                    const std::string& sha256, const std::string& actor) {
  std::lock_guard<std::mutex> lock(mu_);
  Txn txn(db_, dir_);
  VIGIL_RETURN_IF_ERROR(txn.status());
  VIGIL_RETURN_IF_ERROR(VersionBySha(model, sha256).status());
  VIGIL_ASSIGN_OR_RETURN(ChannelState current, ChannelLocked(model, channel));
  if (current.sha256 == sha256) return current;  // nothing changes; no new revision
  const std::string now = NowRfc3339();
  {
    Stmt st(db_,
            "INSERT INTO channel_stack(model, channel, depth, sha256) SELECT ?, ?, "
            "COALESCE(MAX(depth), 0) + 1, ? FROM channel_stack WHERE model = ? AND channel = ?");
    st.Bind(1, model).Bind(2, channel).Bind(3, sha256).Bind(4, model).Bind(5, channel);
    if (st.Step() != SQLITE_DONE) return DbError(db_, dir_, "cannot push on the channel");
  }
  {
    Stmt st(db_,
            "INSERT INTO history(model, channel, action, sha256, previous, actor, at) "
            "VALUES(?, ?, 'promote', ?, ?, ?, ?)");
    st.Bind(1, model).Bind(2, channel).Bind(3, sha256).Bind(4, current.sha256).Bind(5, actor);
    st.Bind(6, now);
    if (st.Step() != SQLITE_DONE) return DbError(db_, dir_, "cannot record the promotion");
  }
  const int64_t revision = sqlite3_last_insert_rowid(db_);
  {
    Stmt st(db_,
            "INSERT INTO channels(model, channel, sha256, revision, updated_at) "
            "VALUES(?, ?, ?, ?, ?) ON CONFLICT(model, channel) DO UPDATE SET "
            "sha256 = excluded.sha256, revision = excluded.revision, "
            "updated_at = excluded.updated_at");
    st.Bind(1, model).Bind(2, channel).Bind(3, sha256).Bind(4, revision).Bind(5, now);
    if (st.Step() != SQLITE_DONE) return DbError(db_, dir_, "cannot set the channel");
  }
  VIGIL_ASSIGN_OR_RETURN(ChannelState after, ChannelLocked(model, channel));
  VIGIL_RETURN_IF_ERROR(Fault("index.commit"));
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  return after;
}

Result<ChannelState> Store::Rollback(const std::string& model, const std::string& channel,
                                     const std::string& actor) {
  std::lock_guard<std::mutex> lock(mu_);
  Txn txn(db_, dir_);
  VIGIL_RETURN_IF_ERROR(txn.status());
  std::vector<std::pair<int64_t, std::string>> top;  // (depth, sha256), newest first
  {
    Stmt st(db_,
            "SELECT depth, sha256 FROM channel_stack WHERE model = ? AND channel = ? "
            "ORDER BY depth DESC LIMIT 2");
    st.Bind(1, model).Bind(2, channel);
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) top.emplace_back(st.Int(0), st.Text(1));
    if (rc != SQLITE_DONE) return DbError(db_, dir_, "cannot read the channel");
  }
  if (top.empty()) {
    return Status::NotFound("channel '" + channel + "' of model '" + model + "' is not set");
  }
  if (top.size() < 2) {
    return Status::InvalidArgument("channel '" + channel + "' of model '" + model +
                                   "' has no earlier version to roll back to");
  }
  const std::string now = NowRfc3339();
  {
    Stmt st(db_, "DELETE FROM channel_stack WHERE model = ? AND channel = ? AND depth = ?");
    st.Bind(1, model).Bind(2, channel).Bind(3, top[0].first);
    if (st.Step() != SQLITE_DONE) return DbError(db_, dir_, "cannot pop the channel");
  }
  {
    Stmt st(db_,
            "INSERT INTO history(model, channel, action, sha256, previous, actor, at) "
            "VALUES(?, ?, 'rollback', ?, ?, ?, ?)");
    st.Bind(1, model).Bind(2, channel).Bind(3, top[1].second).Bind(4, top[0].second);
    st.Bind(5, actor).Bind(6, now);
    if (st.Step() != SQLITE_DONE) return DbError(db_, dir_, "cannot record the rollback");
  }
  const int64_t revision = sqlite3_last_insert_rowid(db_);
  {
    Stmt st(db_,
            "UPDATE channels SET sha256 = ?, revision = ?, updated_at = ? "
            "WHERE model = ? AND channel = ?");
    st.Bind(1, top[1].second).Bind(2, revision).Bind(3, now).Bind(4, model).Bind(5, channel);
    if (st.Step() != SQLITE_DONE) return DbError(db_, dir_, "cannot set the channel");
  }
  VIGIL_ASSIGN_OR_RETURN(ChannelState after, ChannelLocked(model, channel));
  VIGIL_RETURN_IF_ERROR(Fault("index.commit"));
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  return after;
}

Result<std::vector<HistoryEntry>> Store::History(const std::string& model,
                                                 const std::string& channel, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt st(db_,
          "SELECT revision, action, sha256, previous, actor, at FROM history "
          "WHERE model = ? AND channel = ? ORDER BY revision DESC LIMIT ?");
  st.Bind(1, model).Bind(2, channel).Bind(3, static_cast<int64_t>(limit));
  std::vector<HistoryEntry> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    HistoryEntry h;
    h.revision = st.Int(0);
    h.model = model;
    h.channel = channel;
    h.action = st.Text(1);
    h.sha256 = st.Text(2);
    h.previous = st.Text(3);
    h.actor = st.Text(4);
    h.at = st.Text(5);
    out.push_back(std::move(h));
  }
  if (rc != SQLITE_DONE) return DbError(db_, dir_, "cannot read the history");
  return out;
}

Status Store::PutReports(const std::string& model, const std::vector<AgentReport>& rows) {
  std::lock_guard<std::mutex> lock(mu_);
  Txn txn(db_, dir_);
  VIGIL_RETURN_IF_ERROR(txn.status());
  const std::string now = NowRfc3339();
  for (const AgentReport& r : rows) {
    Stmt st(db_,
            "INSERT INTO reports(model, agent, sha256, role, channel, records, alerts, histogram, "
            "updated_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(model, agent, sha256, role) DO UPDATE SET channel = excluded.channel, "
            "records = excluded.records, alerts = excluded.alerts, "
            "histogram = excluded.histogram, updated_at = excluded.updated_at");
    st.Bind(1, model).Bind(2, r.agent).Bind(3, r.sha256).Bind(4, r.role).Bind(5, r.channel);
    st.Bind(6, r.records).Bind(7, r.alerts).Bind(8, json(r.histogram).dump()).Bind(9, now);
    if (st.Step() != SQLITE_DONE) return DbError(db_, dir_, "cannot store a report");
  }
  return txn.Commit();
}

Result<std::vector<AgentReport>> Store::Reports(const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt st(db_,
          "SELECT agent, sha256, role, channel, records, alerts, histogram, updated_at "
          "FROM reports WHERE model = ? ORDER BY updated_at, agent");
  st.Bind(1, model);
  std::vector<AgentReport> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    AgentReport r;
    r.agent = st.Text(0);
    r.sha256 = st.Text(1);
    r.role = st.Text(2);
    r.channel = st.Text(3);
    r.records = st.Int(4);
    r.alerts = st.Int(5);
    json h = json::parse(st.Text(6), nullptr, /*allow_exceptions=*/false);
    if (h.is_array()) {
      for (const json& v : h) r.histogram.push_back(v.is_number_integer() ? v.get<int64_t>() : 0);
    }
    r.updated_at = st.Text(7);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return DbError(db_, dir_, "cannot list reports");
  return out;
}

Result<std::vector<std::string>> Store::Check(bool rehash) {
  std::vector<std::string> problems;
  std::set<std::string> referenced;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt ic(db_, "PRAGMA integrity_check");
    if (ic.Step() != SQLITE_ROW || ic.Text(0) != "ok") {
      problems.push_back("index.sqlite: integrity check: " + ic.Text(0));
    }
    Stmt fk(db_, "PRAGMA foreign_key_check");
    if (fk.Step() == SQLITE_ROW) problems.push_back("index.sqlite: foreign key violation");
    Stmt st(db_, "SELECT DISTINCT sha256 FROM versions");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) referenced.insert(st.Text(0));
    if (rc != SQLITE_DONE) return DbError(db_, dir_, "cannot list versions");
    Stmt ch(db_,
            "SELECT c.model, c.channel FROM channels c LEFT JOIN versions v "
            "ON v.model = c.model AND v.sha256 = c.sha256 WHERE v.sha256 IS NULL");
    while (ch.Step() == SQLITE_ROW) {
      problems.push_back("channel " + ch.Text(0) + "/" + ch.Text(1) + " points to no version");
    }
  }
  for (const std::string& sha : referenced) {
    const std::string path = BlobPath(sha);
    if (!FileExists(path)) {
      problems.push_back(path + ": missing");
    } else if (rehash) {
      auto h = Sha256FileHex(path);
      if (!h.ok() || *h != sha) problems.push_back(path + ": content does not match its name");
    }
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_ + "/tmp", ec)) {
    problems.push_back("tmp/" + e.path().filename().string() + ": leftover temporary file");
  }
  for (const auto& fan : fs::directory_iterator(dir_ + "/blobs", ec)) {
    if (!fan.is_directory()) continue;
    for (const auto& blob : fs::directory_iterator(fan.path(), ec)) {
      if (referenced.count(blob.path().filename().string()) == 0) {
        problems.push_back("blobs/" + fan.path().filename().string() + "/" +
                           blob.path().filename().string() + ": not referenced by the index");
      }
    }
  }
  return problems;
}

}  // namespace vigil
