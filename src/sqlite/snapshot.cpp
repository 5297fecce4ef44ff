#include "sqlite/snapshot.h"

#include <sys/stat.h>

#include <thread>

#include "base/clock.h"
#include "base/scope.h"
#include "sqlite/connection.h"
#include "sqlite/host_file.h"
#include "sqlite/scratch_vfs.h"

namespace stacksnap::sqlite {

using Json = nlohmann::json;

namespace {

// Offset of the "file format write version" byte in the database header: 2 = WAL.
constexpr size_t kWriteVersionOffset = 18;
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
  // A database of its own (the scratch VFS ignores the name): its commit writes every page
  // to the file. Exclusive locking lets it read the copy of a WAL database afterwards
  // with the WAL index in heap memory (the scratch VFS has no shared memory).
  Connection copy = TRY(open("snapshot.db", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs->name().c_str(),
                             "the snapshot copy"));
  TRY(exec(copy.get(),
           "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=OFF; PRAGMA cache_size=-" +
               std::to_string(kCopyCacheKiB),
           "prepare the snapshot copy"));
  {
    // The live side: announced before SQLite opens it, closed before the hold ends.
    InodeHold hold(file.id);
    LockWait wait{std::chrono::steady_clock::now() + options.busy_timeout};
    Connection live = TRY(open(file.path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, nullptr, shown));
    int off = 0;
    sqlite3_db_config(live.get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, &off);  // never touch the app's WAL
    sqlite3_busy_handler(live.get(), LockWait::retry, &wait);
    // One read transaction around every step: the copy is one snapshot even though it
    // is taken in chunks.
    TRY(exec(live.get(), "BEGIN", "snapshot " + shown));
    auto end_read = on_scope_exit([&] { (void)exec(live.get(), "COMMIT", "end the read"); });
    const double asked_at = monotonic_seconds();
    TRY(scalar(live.get(), "SELECT count(*) FROM sqlite_master", "read " + shown));
    const double locked_at = monotonic_seconds();
    f.lock_wait_ms = ms_since(asked_at);
    f.captured_at = format_rfc3339(std::chrono::system_clock::now());
    sqlite3_backup* backup = sqlite3_backup_init(copy.get(), "main", live.get(), "main");
    if (backup == nullptr) return error_from(copy.get(), sqlite3_errcode(copy.get()), "snapshot " + shown);
    int rc = SQLITE_OK;
    while (rc == SQLITE_OK) {
      if (stop.stop_requested()) {
        sqlite3_backup_finish(backup);
        return cancelled("snapshot of " + shown + " cancelled");
      }
      rc = sqlite3_backup_step(backup, static_cast<int>(options.pages_per_step));
    }
    sqlite3_backup_finish(backup);
    if (rc != SQLITE_DONE) return error_from(live.get(), rc, "snapshot " + shown);
    end_read.dismiss();
    TRY(exec(live.get(), "COMMIT", "end the read of " + shown));
    f.read_lock_ms = ms_since(locked_at);
  }
  if (!still_same(root, relative, file)) {
    return failed_precondition(shown + " was replaced while it was copied");
  }

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
  auto reader = TRY(vfs->main_file(f.bytes));
  if (f.bytes > kWriteVersionOffset) {
    std::array<std::byte, kWriteVersionOffset + 1> head{};
    TRY(read_exact(*reader, head));
    f.journal_mode = head[kWriteVersionOffset] == std::byte{2} ? "wal" : "rollback";
    reader->rewind();
  }
  copy.reset();  // the reader keeps its own descriptor of the copy
  snap->content_ = std::move(reader);
  f.capture_ms = ms_since(t0);
  return snap;
}

}  // namespace stacksnap::sqlite
