// The SQLite snapshot pieces without Docker: the scratch cipher, recognising databases and
// their companions, snapshots of a database written by a concurrent writer (WAL and
// rollback journal), the restore check on good and damaged files, the host-path walk and
// the archive writer's entry filter.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <random>
#include <thread>

#include "archive/reader.h"
#include "archive/tar_io.h"
#include "archive/writer.h"
#include "archive_testutil.h"
#include "base/stream.h"
#include "base/fd.h"
#include "backup/sqlite_capture.h"
#include "base/temp_dir.h"
#include "seal/scratch_cipher.h"
#include "sqlite/check.h"
#include "sqlite/detect.h"
#include "sqlite/host_file.h"
#include "sqlite/scan.h"
#include "sqlite/snapshot.h"

namespace stacksnap::sqlite {
namespace {

using testutil::test_key;

constexpr int kAccounts = 200;
constexpr int64_t kOpening = 1000;

void exec_or_die(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "") << " in " << sql;
}

int64_t query_int(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  int64_t v = -1;
  if (s && sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return v;
}

// A ledger like the fixture app's: accounts whose balances always sum to
// kAccounts * kOpening, and a transfer log that grows; `pad` bytes of filler per account.
void create_ledger(const std::string& path, const std::string& journal_mode, int pad = 100) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  exec_or_die(db, "PRAGMA journal_mode=" + journal_mode);
  exec_or_die(db, "CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL, pad BLOB);"
                  "CREATE TABLE transfers(id INTEGER PRIMARY KEY, src INTEGER, dst INTEGER, amount INTEGER);"
                  "CREATE INDEX transfers_src ON transfers(src);");
  exec_or_die(db, "BEGIN");
  for (int i = 1; i <= kAccounts; ++i) {
    exec_or_die(db, "INSERT INTO accounts VALUES(" + std::to_string(i) + "," + std::to_string(kOpening) +
                        ", randomblob(" + std::to_string(pad) + "))");
  }
  exec_or_die(db, "COMMIT");
  sqlite3_close(db);
}

// Transfers in a loop of transactions until stopped.
class Writer {
 public:
  explicit Writer(std::string path) : path_(std::move(path)) {
    thread_ = std::thread([this] { run(); });
  }
  ~Writer() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int64_t commits() const { return commits_; }

 private:
  void run() {
    sqlite3* db = nullptr;
    sqlite3_open(path_.c_str(), &db);
    sqlite3_busy_timeout(db, 10000);
    std::mt19937 rng(42);
    while (!stop_) {
      const int a = 1 + static_cast<int>(rng() % kAccounts), b = 1 + static_cast<int>(rng() % kAccounts);
      const int amount = static_cast<int>(rng() % 50);
      const std::string sql = "BEGIN IMMEDIATE;"
                              "UPDATE accounts SET balance = balance - " + std::to_string(amount) + " WHERE id = " +
                              std::to_string(a) + ";UPDATE accounts SET balance = balance + " + std::to_string(amount) +
                              " WHERE id = " + std::to_string(b) + ";INSERT INTO transfers(src, dst, amount) VALUES(" +
                              std::to_string(a) + "," + std::to_string(b) + "," + std::to_string(amount) + ");COMMIT;";
      if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK) ++commits_;
      else sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    sqlite3_close(db);
  }
  std::string path_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> commits_{0};
  std::thread thread_;
};

std::string read_reader(Reader& r) {
  auto all = read_all(r, size_t{1} << 30);
  if (!all.ok()) {
    ADD_FAILURE() << "reading the snapshot failed: " << all.error().to_string();
    return {};
  }
  return std::move(*all);
}

// A temporary directory under /var/tmp; the test stops when it cannot be made.
#define TEMP_DIR(var, prefix)                                      \
  auto var = TempDir::create("/var/tmp", prefix);                  \
  ASSERT_TRUE(var.ok()) << var.error().to_string()

void write_file(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
}

TEST(ScratchCipher, AnyRangeDecryptsOnItsOwn) {
  auto c = seal::ScratchCipher::random();
  ASSERT_TRUE(c.ok());
  std::string plain = testutil::random_text(10000, 3);
  std::string data = plain;
  auto bytes = [](std::string& s, size_t off, size_t n) {
    return MutableBytes(reinterpret_cast<std::byte*>(s.data()) + off, n);
  };
  ASSERT_TRUE(c->apply(0, bytes(data, 0, data.size())).ok());
  EXPECT_NE(data, plain);
  for (auto [off, n] : {std::pair<size_t, size_t>{0, 1}, {5, 27}, {4096, 4096}, {9999, 1}, {17, 0}}) {
    std::string part = data.substr(off, n);
    ASSERT_TRUE(c->apply(off, bytes(part, 0, n)).ok());
    EXPECT_EQ(part, plain.substr(off, n)) << off;
  }
  auto other = seal::ScratchCipher::random();
  std::string again = plain;
  ASSERT_TRUE(other->apply(0, bytes(again, 0, again.size())).ok());
  EXPECT_NE(again, data);  // a key per cipher
}

TEST(SqliteDetect, HeaderCompanionsAndPatterns) {
  EXPECT_TRUE(has_header(as_bytes(std::string_view("SQLite format 3\0xyz", 19))));
  EXPECT_FALSE(has_header(as_bytes(std::string_view("SQLite format 3", 15))));
  EXPECT_FALSE(has_header(as_bytes(std::string_view("SQLite format 2\0", 16))));
  EXPECT_EQ(companion_of("db/app.db-wal"), "db/app.db");
  EXPECT_EQ(companion_of("app.db-shm"), "app.db");
  EXPECT_EQ(companion_of("app.sqlite-journal"), "app.sqlite");
  EXPECT_EQ(companion_of("app.db"), std::nullopt);
  EXPECT_EQ(companion_of("-wal"), std::nullopt);
  EXPECT_EQ(companion_of("dir/-wal"), std::nullopt);
  EXPECT_EQ(parse_patterns(" a.db, ,*/cache.db ,"), (std::vector<std::string>{"a.db", "*/cache.db"}));
  const std::vector<std::string> pats{"*cache.db", "/config/tmp/*"};
  EXPECT_EQ(matching_pattern(pats, "x/y/cache.db", {}), "*cache.db");
  EXPECT_EQ(matching_pattern(pats, "tmp/a.db", {"/config/tmp/a.db"}), "/config/tmp/*");
  EXPECT_EQ(matching_pattern(pats, "tmp/a.db", {"/data/tmp/a.db"}), std::nullopt);
  EXPECT_EQ(matching_pattern(pats, "books.db", {"/config/books.db"}), std::nullopt);
}

// Which databases of a tree get a snapshot: exclude patterns send them to plain files, an
// include pattern wins over them, an unreachable tree or a single-file bind never gets one.
TEST(SqliteCaptureDecision, ExcludeIncludeUnreachableAndSingleFileBind) {
  backup::SqliteCaptureOptions o{.tree = {"/var/lib/docker/volumes/x/_data", ""},
                                 .exclude = {"*", "/config/tmp/*"},
                                 .include = {"data/app.db", "/config/keep.db"},
                                 .container_roots = {"/config"}};
  EXPECT_EQ(backup::sqlite_fallback_reason(o, "data/app.db"), "");
  EXPECT_EQ(backup::sqlite_fallback_reason(o, "keep.db"), "") << "an include pattern on the container path";
  EXPECT_EQ(backup::sqlite_fallback_reason(o, "other.db"),
            "excluded by the label stacksnap.sqlite.exclude (pattern \"*\")");
  o.include.clear();
  EXPECT_EQ(backup::sqlite_fallback_reason(o, "data/app.db"),
            "excluded by the label stacksnap.sqlite.exclude (pattern \"*\")");
  o.exclude.clear();
  EXPECT_EQ(backup::sqlite_fallback_reason(o, "data/app.db"), "");
  o.include = {"nothing.db"};
  EXPECT_EQ(backup::sqlite_fallback_reason(o, "data/app.db"), "") << "include alone restricts nothing";
  EXPECT_NE(backup::sqlite_fallback_reason(o, "").find("the bind mount is the database file itself"), std::string::npos);
  o.tree = {"", "volume driver nfs keeps its files elsewhere"};
  EXPECT_EQ(backup::sqlite_fallback_reason(o, "data/app.db"), "volume driver nfs keeps its files elsewhere");
}

class SqliteSnapshot : public ::testing::TestWithParam<std::string> {};

// Twenty snapshots of a database a writer changes in a loop of transactions: every copy
// opens cleanly, keeps the invariant and has the row counts its facts say.
TEST_P(SqliteSnapshot, ConsistentUnderAConcurrentWriter) {
  TEMP_DIR(dir, "sqlite-snap-");
  ASSERT_TRUE(dir.ok());
  const std::string mode = GetParam();
  create_ledger(dir->path() + "/ledger.db", mode, 2000);
  TEMP_DIR(spool, "sqlite-spool-");
  Writer writer(dir->path() + "/ledger.db");
  int64_t last_transfers = -1;
  for (int i = 0; i < 20; ++i) {
    while (writer.commits() < (i + 1) * 20) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto snap = Snapshot::take(dir->path(), "ledger.db", {.scratch_dir = spool->path(), .pages_per_step = 7});
    ASSERT_TRUE(snap.ok()) << snap.error().to_string();
    const DatabaseFacts& f = (*snap)->facts();
    EXPECT_EQ(f.journal_mode, mode == "wal" ? "wal" : "rollback");
    EXPECT_EQ(f.bytes, static_cast<uint64_t>(f.page_size * f.page_count));
    const std::string copy = read_reader((*snap)->content());
    ASSERT_EQ(copy.size(), f.bytes);
    const std::string out = dir->path() + "/copy-" + std::to_string(i) + ".db";
    write_file(out, copy);
    auto check = check_restored(dir->path(), "copy-" + std::to_string(i) + ".db", f);
    ASSERT_TRUE(check.ok()) << check.error().to_string();
    EXPECT_TRUE(check->ok()) << ::testing::PrintToString(check->problems);
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(immutable_uri(out).c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr), SQLITE_OK);
    EXPECT_EQ(query_int(db, "SELECT sum(balance) FROM accounts"), kAccounts * kOpening) << "snapshot " << i;
    EXPECT_EQ(query_int(db, "SELECT count(*) FROM transfers"), f.tables.at("transfers"));
    EXPECT_GE(f.tables.at("transfers"), last_transfers);
    last_transfers = f.tables.at("transfers");
    sqlite3_close(db);
    ::unlink(out.c_str());
  }
  writer.stop();
  EXPECT_GT(last_transfers, 0);
  // Nothing of the copies is left in the spool (unnamed files).
  std::error_code ec;
  EXPECT_TRUE(std::filesystem::is_empty(spool->path(), ec));
}

INSTANTIATE_TEST_SUITE_P(JournalModes, SqliteSnapshot, ::testing::Values("wal", "delete"));

TEST(SqliteSnapshotErrors, NotADatabaseSymlinksAndMissingFiles) {
  TEMP_DIR(dir, "sqlite-err-");
  TEMP_DIR(spool, "sqlite-spool-");
  write_file(dir->path() + "/fake.db", std::string("SQLite format 3\0", 16) + std::string(4080, 'x'));
  auto bad = Snapshot::take(dir->path(), "fake.db", {.scratch_dir = spool->path()});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Code::kDataLoss) << bad.error().to_string();
  create_ledger(dir->path() + "/real.db", "wal");
  ASSERT_EQ(::mkdir((dir->path() + "/sub").c_str(), 0700), 0);
  ASSERT_EQ(::symlink(dir->path().c_str(), (dir->path() + "/sub/up").c_str()), 0);
  auto through_link = Snapshot::take(dir->path(), "sub/up/real.db", {.scratch_dir = spool->path()});
  ASSERT_FALSE(through_link.ok());
  EXPECT_EQ(through_link.error().code(), Code::kFailedPrecondition) << through_link.error().to_string();
  auto missing = Snapshot::take(dir->path(), "nope.db", {.scratch_dir = spool->path()});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
}

TEST(SqliteSnapshotErrors, AnExclusiveLockIsUnavailableAfterTheTimeout) {
  TEMP_DIR(dir, "sqlite-lock-");
  TEMP_DIR(spool, "sqlite-spool-");
  create_ledger(dir->path() + "/ledger.db", "delete");
  sqlite3* app = nullptr;
  ASSERT_EQ(sqlite3_open((dir->path() + "/ledger.db").c_str(), &app), SQLITE_OK);
  exec_or_die(app, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; UPDATE accounts SET balance = balance WHERE id = 1;");
  auto snap = Snapshot::take(dir->path(), "ledger.db",
                             {.scratch_dir = spool->path(), .busy_timeout = std::chrono::milliseconds(200)});
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.error().code(), Code::kUnavailable) << snap.error().to_string();
  sqlite3_close(app);
}

TEST(SqliteCheck, DamageStaleCompanionsAndCountsAreProblems) {
  TEMP_DIR(dir, "sqlite-check-");
  TEMP_DIR(spool, "sqlite-spool-");
  create_ledger(dir->path() + "/ledger.db", "wal", 3000);
  auto snap = Snapshot::take(dir->path(), "ledger.db", {.scratch_dir = spool->path()});
  ASSERT_TRUE(snap.ok()) << snap.error().to_string();
  const DatabaseFacts facts = (*snap)->facts();
  const std::string copy = read_reader((*snap)->content());
  write_file(dir->path() + "/good.db", copy);
  auto good = check_restored(dir->path(), "good.db", facts);
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(good->ok()) << ::testing::PrintToString(good->problems);
  EXPECT_EQ(good->integrity, "ok");
  EXPECT_EQ(good->tables.at("accounts"), kAccounts);
  // Nothing was created beside the checked file.
  EXPECT_FALSE(std::filesystem::exists(dir->path() + "/good.db-wal"));
  EXPECT_FALSE(std::filesystem::exists(dir->path() + "/good.db-shm"));

  DatabaseFacts more = facts;
  more.tables["accounts"] = kAccounts + 1;
  auto counts = check_restored(dir->path(), "good.db", more);
  ASSERT_TRUE(counts.ok());
  ASSERT_EQ(counts->problems.size(), 1u);
  EXPECT_EQ(counts->problems[0], "table accounts: 200 rows, the manifest says 201");

  write_file(dir->path() + "/good.db-wal", "stale");
  auto stale = check_restored(dir->path(), "good.db", facts);
  ASSERT_TRUE(stale.ok());
  ASSERT_EQ(stale->problems.size(), 1u);
  EXPECT_EQ(stale->problems[0], "a stale -wal file lies beside it");

  // Garbage over the middle of the accounts table's pages.
  std::string damaged = copy;
  const size_t page = static_cast<size_t>(facts.page_size);
  for (size_t p = 3; p < 6; ++p) {
    for (size_t i = 8; i < page; i += 7) damaged[p * page + i] = static_cast<char>(0xA5);
  }
  write_file(dir->path() + "/bad.db", damaged);
  auto bad = check_restored(dir->path(), "bad.db", facts);
  ASSERT_TRUE(bad.ok());
  ASSERT_FALSE(bad->ok());
  EXPECT_NE(bad->integrity, "ok");
}

TEST(SqliteHostFile, HeadIsNotReadWhileAConnectionHoldsTheInode) {
  TEMP_DIR(dir, "sqlite-hold-");
  create_ledger(dir->path() + "/a.db", "wal");
  auto f = resolve_beneath(dir->path(), "a.db");
  ASSERT_TRUE(f.ok());
  auto head = read_head(*f, 16);
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_TRUE(has_header(as_bytes(**head)));
  {
    InodeHold hold(f->id);
    auto held = read_head(*f, 16);
    ASSERT_TRUE(held.ok());
    EXPECT_FALSE(held->has_value());
  }
  EXPECT_TRUE(read_head(*f, 16)->has_value());
}

TEST(SqliteScan, FindsDatabasesWithoutFollowingLinks) {
  TEMP_DIR(dir, "sqlite-scan-");
  ASSERT_EQ(::mkdir((dir->path() + "/config").c_str(), 0700), 0);
  create_ledger(dir->path() + "/config/home.db", "wal");
  create_ledger(dir->path() + "/old.sqlite", "delete");
  write_file(dir->path() + "/config/home.db-wal", "");
  write_file(dir->path() + "/notes.txt", std::string(4096, 'n'));
  ASSERT_EQ(::symlink((dir->path() + "/config").c_str(), (dir->path() + "/link").c_str()), 0);
  auto r = scan_tree(dir->path());
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->databases.size(), 2u);
  EXPECT_EQ(r->databases[0].path, "config/home.db");
  EXPECT_EQ(r->databases[0].journal_mode, "wal");
  EXPECT_TRUE(r->databases[0].has_wal);
  EXPECT_EQ(r->databases[1].path, "old.sqlite");
  EXPECT_EQ(r->databases[1].journal_mode, "rollback");
  EXPECT_FALSE(r->truncated);
  auto small = scan_tree(dir->path(), {.max_entries = 2});
  ASSERT_TRUE(small.ok());
  EXPECT_TRUE(small->truncated);
}

// Replaces "app.db" by other bytes and drops its -wal; everything else passes as it came.
class ReplaceDb final : public archive::TarEntryFilter {
 public:
  explicit ReplaceDb(std::string replacement) : replacement_(std::move(replacement)), r_(replacement_) {}
  Result<Decision> on_file(std::string_view relative, const archive::EntryMeta&, Bytes head) override {
    seen.emplace_back(relative);
    heads.emplace_back(as_chars(head));
    if (relative == "db/app.db") return Decision{.action = Action::kReplace, .size = replacement_.size(), .content = &r_};
    if (relative == "db/app.db-wal") return Decision{.action = Action::kDrop};
    return Decision{};
  }
  std::vector<std::string> seen, heads;

 private:
  std::string replacement_;
  MemoryReader r_;
};

TEST(ArchiveEntryFilter, ReplacesAndDropsRegularFiles) {
  StringWriter tar_out;
  {
    auto tw = archive::TarWriter::create(tar_out);
    ASSERT_TRUE(tw.ok());
    auto add = [&](const std::string& path, const std::string& content, archive::EntryType type) {
      archive::EntryMeta m{.path = path, .type = type, .mode = 0640, .uid = 999, .gid = 999, .mtime_sec = 1700000000,
                           .size = type == archive::EntryType::kFile ? content.size() : 0};
      MemoryReader r(content);
      ASSERT_TRUE(archive::write_tar_entry(**tw, m, type == archive::EntryType::kFile ? &r : nullptr).ok());
    };
    add("data", "", archive::EntryType::kDirectory);
    add("data/db", "", archive::EntryType::kDirectory);
    add("data/db/app.db", "SQLite format 3" + std::string(1, '\0') + "live, torn bytes", archive::EntryType::kFile);
    add("data/db/app.db-wal", "wal frames", archive::EntryType::kFile);
    add("data/db/notes.txt", "hello", archive::EntryType::kFile);
    add("data/empty", "", archive::EntryType::kFile);
    ASSERT_TRUE((*tw)->finish().ok());
  }
  StringWriter sealed;
  auto key = test_key();
  auto w = archive::ArchiveWriter::create(sealed, key, {.segment_size = seal::kMinSegment});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->add_plan({{"project", "p"}}).ok());
  ReplaceDb filter("the consistent copy");
  MemoryReader in(tar_out.str());
  auto st = (*w)->add_tar_stream("volumes/v", in, {.strip_components = 1, .filter = &filter});
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  ASSERT_TRUE((*w)->set_bind_info("1", {{"sqlite", nlohmann::json::array()}}).ok());
  ASSERT_TRUE((*w)->finish().ok());
  EXPECT_EQ(filter.seen, (std::vector<std::string>{"db/app.db", "db/app.db-wal", "db/notes.txt", "empty"}));
  EXPECT_EQ(filter.heads[0], std::string("SQLite format 3") + std::string(1, '\0'));
  EXPECT_EQ(filter.heads[3], "");

  MemoryReader back(sealed.str());
  auto keys = seal::KeySource::from_key(test_key());
  auto r = archive::ArchiveReader::open(back, keys, {});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  std::map<std::string, std::string> files;
  std::map<std::string, archive::EntryMeta> metas;
  for (;;) {
    auto e = (*r)->next();
    ASSERT_TRUE(e.ok()) << e.error().to_string();
    if (*e == nullptr) break;
    metas[(*e)->meta.path] = (*e)->meta;
    if ((*e)->meta.type == archive::EntryType::kFile) files[(*e)->meta.path] = read_reader((*r)->content());
  }
  EXPECT_EQ(files.at("volumes/v/db/app.db"), "the consistent copy");
  EXPECT_EQ(metas.at("volumes/v/db/app.db").uid, 999u);
  EXPECT_EQ(metas.at("volumes/v/db/app.db").mode, 0640u);
  EXPECT_EQ(files.count("volumes/v/db/app.db-wal"), 0u);
  EXPECT_EQ(files.at("volumes/v/db/notes.txt"), "hello");
  EXPECT_EQ(files.at("volumes/v/empty"), "");
  const auto& m = (*r)->manifest();
  EXPECT_EQ(m.volumes.at("v").at("files"), 3);
  EXPECT_TRUE(m.binds.at("1").contains("sqlite"));
}

}  // namespace
}  // namespace stacksnap::sqlite
