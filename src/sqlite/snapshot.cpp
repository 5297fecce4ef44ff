#include "sqlite/snapshot.h"

#include <sys/stat.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/scope.h"
#include "sqlite/connection.h"
#include "sqlite/host_file.h"
#include "sqlite/scratch_vfs.h"

namespace stacksnap::sqlite {

using Json = nlohmann::json;

namespace {

// The rollback-journal copy's chunk.
constexpr size_t kFileCopyChunk = 1 << 20;
// The copy's own page cache: bounded, pages beyond it go to the scratch file at once.
constexpr int kCopyCacheKiB = 8192;

// Waiting for the read lock of a rollback-journal database: a writer in a tight loop holds
// its exclusive lock for most of each transaction (journal sync, page writes, database
// sync) and releases it only for a moment between two. SQLite's own busy handler backs
// off to 100 ms between tries and can miss those moments for seconds; this one tries
// every kLockRetry until the deadline.
constexpr auto kLockRetry = std::chrono::microseconds(200);

struct LockWait {
  std::chrono::steady_clock::time_point deadline;
  static int retry(void* self, int) {
    auto* w = static_cast<LockWait*>(self);
    if (std::chrono::steady_clock::now() >= w->deadline) return 0;
    std::this_thread::sleep_for(kLockRetry);
    return 1;
  }
};

// The scratch VFS's main file as a database of its own (the VFS ignores the name): its
// commit writes every page to the file. Exclusive locking lets it read the copy of a WAL
// database with the WAL index in heap memory (the scratch VFS has no shared memory).
Result<Connection> open_copy(ScratchVfs& vfs) {
  Connection copy = TRY(open("snapshot.db", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs.name().c_str(),
                             "the snapshot copy"));
  TRY(exec(copy.get(),
           "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=OFF; PRAGMA cache_size=-" + std::to_string(kCopyCacheKiB),
           "prepare the snapshot copy"));
  return copy;
}

// WAL mode: the database as of the read transaction is the file overlaid with the WAL's
// frames up to its read mark, which only SQLite can assemble: the online backup API, in
// steps (cancellable), inside the caller's read transaction. The app's writers go on
// appending to the WAL meanwhile.
Status copy_pages(sqlite3* live, sqlite3* copy, const SnapshotOptions& options, const StopToken& stop,
                  const std::string& shown) {
  sqlite3_backup* backup = sqlite3_backup_init(copy, "main", live, "main");
  if (backup == nullptr) return error_from(copy, sqlite3_errcode(copy), "snapshot " + shown);
  int rc = SQLITE_OK;
  while (rc == SQLITE_OK) {
    if (stop.stop_requested()) {
      sqlite3_backup_finish(backup);
      return cancelled("snapshot of " + shown + " cancelled");
    }
    rc = sqlite3_backup_step(backup, static_cast<int>(options.pages_per_step));
  }
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) return error_from(live, rc, "snapshot " + shown);
  return {};
}

// Rollback-journal mode: while the caller's read transaction holds the SHARED lock, no
// writer can change the database file (writing it takes the EXCLUSIVE lock), and a hot
// journal would have been rolled back (or refused) when the lock was taken. So the file's
// bytes are the snapshot: copied through the connection's own file handle (a descriptor
// of our own, closed, would drop the connection's POSIX locks), at memory speed, which
// keeps the app's writers waiting as briefly as possible.
Status copy_file(sqlite3* live, ScratchVfs& vfs, const StopToken& stop, const std::string& shown) {
  sqlite3_file* fh = nullptr;
  if (sqlite3_file_control(live, "main", SQLITE_FCNTL_FILE_POINTER, &fh) != SQLITE_OK || fh == nullptr ||
      fh->pMethods == nullptr) {
    return internal_error("snapshot " + shown + ": no file handle");
  }
  sqlite3_int64 size = 0;
  if (int rc = fh->pMethods->xFileSize(fh, &size); rc != SQLITE_OK) return error_from(live, rc, "size of " + shown);
  std::vector<std::byte> buf(kFileCopyChunk);
  for (sqlite3_int64 off = 0; off < size;) {
    if (stop.stop_requested()) return cancelled("snapshot of " + shown + " cancelled");
    const int n = static_cast<int>(std::min<sqlite3_int64>(size - off, static_cast<sqlite3_int64>(buf.size())));
    if (int rc = fh->pMethods->xRead(fh, buf.data(), n, off); rc != SQLITE_OK) {
      return error_from(live, rc, "read " + shown);
    }
    TRY(vfs.write_main(static_cast<uint64_t>(off), Bytes(buf.data(), static_cast<size_t>(n))));
    off += n;
  }
  return {};
}

int64_t ms_since(double t0) { return static_cast<int64_t>((monotonic_seconds() - t0) * 1000.0 + 0.5); }

// Row counts of every ordinary table of the copy.
Status count_rows(sqlite3* db, DatabaseFacts& f) {
  const std::string what = "count the rows of the copy";
  for (const auto& t : TRY(table_names(db, what))) {
    f.tables[t] = TRY(scalar(db, "SELECT count(*) FROM " + quote_identifier(t), what + " (table " + t + ")"));
  }
  return {};
}

}  // namespace

Json DatabaseFacts::to_json() const {
  Json j = {{"path", path}, {"mechanism", mechanism}};
  if (!reason.empty()) j["reason"] = reason;
  if (mechanism == kMechanismBackup) {
    j["journal_mode"] = journal_mode;
    j["page_size"] = page_size;
    j["page_count"] = page_count;
    j["bytes"] = bytes;
    j["tables"] = tables;
    if (!counts_error.empty()) j["counts_error"] = counts_error;
    j["lock_wait_ms"] = lock_wait_ms;
    j["read_lock_ms"] = read_lock_ms;
    j["capture_ms"] = capture_ms;
    j["captured_at"] = captured_at;
  }
  return j;
}

Result<DatabaseFacts> DatabaseFacts::from_json(const Json& j) {
  try {
    DatabaseFacts f;
    f.path = j.at("path").get<std::string>();
    f.mechanism = j.at("mechanism").get<std::string>();
    f.reason = j.value("reason", "");
    f.journal_mode = j.value("journal_mode", "");
    f.page_size = j.value("page_size", int64_t{0});
    f.page_count = j.value("page_count", int64_t{0});
    f.bytes = j.value("bytes", uint64_t{0});
    if (j.contains("tables")) f.tables = j["tables"].get<std::map<std::string, int64_t>>();
    f.counts_error = j.value("counts_error", "");
    f.lock_wait_ms = j.value("lock_wait_ms", int64_t{0});
    f.read_lock_ms = j.value("read_lock_ms", int64_t{0});
    f.capture_ms = j.value("capture_ms", int64_t{0});
    f.captured_at = j.value("captured_at", "");
    return f;
  } catch (const Json::exception& e) {
    return data_loss(std::string("SQLite facts in the manifest: ") + e.what());
  }
}

Snapshot::~Snapshot() = default;

Reader& Snapshot::content() { return *content_; }

Result<std::unique_ptr<Snapshot>> Snapshot::take(const std::string& root, const std::string& relative,
                                                 const SnapshotOptions& options, const StopToken& stop) {
  const double t0 = monotonic_seconds();
  const std::string shown = relative.empty() ? root : relative;
  HostFile file = TRY(resolve_beneath(root, relative));
  if (!S_ISREG(file.mode)) return failed_precondition(shown + " is not a regular file");

  std::unique_ptr<Snapshot> snap(new Snapshot());
  DatabaseFacts& f = snap->facts_;
  f.path = relative;
  f.mechanism = std::string(kMechanismBackup);

  // The copy's home first: nothing is opened on the live side when it cannot be made.
  auto vfs = TRY_CTX(ScratchVfs::create(options.scratch_dir), "snapshot " + shown);
  Connection copy;
  {
    // The live side: announced before SQLite opens it, closed before the hold ends.
    InodeHold hold(file.id);
    LockWait wait{std::chrono::steady_clock::now() + options.busy_timeout};
    Connection live = TRY(open(file.path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, nullptr, shown));
    int off = 0;
    sqlite3_db_config(live.get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, &off);  // never touch the app's WAL
    sqlite3_busy_handler(live.get(), LockWait::retry, &wait);
    // One read transaction around the whole copy: one snapshot, however it is taken.
    TRY(exec(live.get(), "BEGIN", "snapshot " + shown));
    auto end_read = on_scope_exit([&] { (void)exec(live.get(), "COMMIT", "end the read"); });
    const double asked_at = monotonic_seconds();
    TRY(scalar(live.get(), "SELECT count(*) FROM sqlite_master", "read " + shown));
    const double locked_at = monotonic_seconds();
    f.lock_wait_ms = ms_since(asked_at);
    f.captured_at = format_rfc3339(std::chrono::system_clock::now());
    const auto mode = TRY(column_text(live.get(), "PRAGMA journal_mode", "read " + shown));
    f.journal_mode = !mode.empty() && mode[0] == "wal" ? "wal" : "rollback";
    if (f.journal_mode == "wal") {
      copy = TRY(open_copy(*vfs));
      TRY(copy_pages(live.get(), copy.get(), options, stop, shown));
    } else {
      TRY(copy_file(live.get(), *vfs, stop, shown));
    }
    end_read.dismiss();
    TRY(exec(live.get(), "COMMIT", "end the read of " + shown));
    f.read_lock_ms = ms_since(locked_at);
  }
  if (!still_same(root, relative, file)) {
    return failed_precondition(shown + " was replaced while it was copied");
  }
  if (!copy) copy = TRY(open_copy(*vfs));

  f.page_size = TRY(scalar(copy.get(), "PRAGMA page_size", "read the snapshot copy"));
  f.page_count = TRY(scalar(copy.get(), "PRAGMA page_count", "read the snapshot copy"));
  if (auto st = count_rows(copy.get(), f); !st.ok()) {
    f.tables.clear();
    f.counts_error = st.error().message();
  }
  f.bytes = static_cast<uint64_t>(f.page_size) * static_cast<uint64_t>(f.page_count);
  const uint64_t written = TRY(vfs->main_file_size());
  if (written < f.bytes) {
    return internal_error("snapshot of " + shown + ": the copy holds " + std::to_string(written) + " bytes, " +
                          std::to_string(f.bytes) + " expected");
  }
  copy.reset();  // the reader keeps its own descriptor of the copy
  snap->content_ = TRY(vfs->main_file(f.bytes));
  f.capture_ms = ms_since(t0);
  return snap;
}

}  // namespace stacksnap::sqlite
