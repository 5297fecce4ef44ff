// SQLite databases of a running app, captured without Safe Mode (issue 18), against the
// real Engine: the ledger sample stack (tests/fixtures/stacks/ledger) whose app, from an
// image without the sqlite3 program, moves money between accounts in a loop of
// transactions (sum(balance) constant) in a WAL database (books.db) and a rollback-journal
// database (journal.db) of a volume, and in a rollback-journal database of a bind mount
// (settings.db); cache.db is excluded by the service's label.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/build_paths.h"
#include "backup_support.h"
#include "sqlite/check.h"
#include "test_env.h"

namespace stacksnap::it {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

constexpr int64_t kOpening = 1000;  // ledger.c: every account opens with 1000

Status ensure_ledger_image() {
  TRY(ensure_fixture_images());
  auto r = run_script(source_path("tests/fixtures/images/ledger/build.sh"));
  if (r.exit_code != 0) return internal_error("tests/fixtures/images/ledger/build.sh failed:\n" + r.output);
  return {};
}

// The ledger stack as `project`, brought up (LEDGER_MB=size_mb) unless it runs already.
Status ensure_ledger(const std::string& project, int size_mb) {
  TRY(ensure_ledger_image());
  auto* d = engine();
  auto list = d->list_containers({.all = true, .labels = {"com.docker.compose.project=" + project}});
  if (list.ok() && list->size() == 2 &&
      std::all_of(list->begin(), list->end(), [](const auto& c) { return c.state == "running"; })) {
    return {};
  }
  auto r = run_script("LEDGER_MB=" + std::to_string(size_mb) + " " + source_path("tests/fixtures/stacks/up.sh") +
                      " ledger " + project);
  if (r.exit_code != 0) return internal_error("up.sh ledger " + project + " failed:\n" + r.output);
  return {};
}

Json read_json(const std::string& path) { return Json::parse(read_text(path)); }

// The manifest's SQLite record of `db` in `tree` (a volume name or a bind index).
Json facts_of(const Json& manifest, const std::string& section, const std::string& tree, const std::string& db) {
  for (const auto& f : manifest[section][tree].value("sqlite", Json::array())) {
    if (f.value("path", "") == db) return f;
  }
  return nullptr;
}

struct LedgerState {
  std::string integrity;
  int64_t accounts = -1, sum = -1;
  std::map<std::string, int64_t> tables;
};

// Opens an extracted database read-only, as it is (immutable: nothing beside it is used).
LedgerState read_ledger(const std::string& path) {
  LedgerState s;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(sqlite::immutable_uri(path).c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) !=
      SQLITE_OK) {
    s.integrity = std::string("open: ") + sqlite3_errmsg(db);
    sqlite3_close(db);
    return s;
  }
  auto query = [&](const std::string& sql, const std::function<void(sqlite3_stmt*)>& row) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      s.integrity += std::string(" [") + sqlite3_errmsg(db) + "]";
      return;
    }
    while (sqlite3_step(st) == SQLITE_ROW) row(st);
    sqlite3_finalize(st);
  };
  query("PRAGMA integrity_check", [&](sqlite3_stmt* st) {
    s.integrity += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  });
  query("SELECT count(*), sum(balance) FROM accounts", [&](sqlite3_stmt* st) {
    s.accounts = sqlite3_column_int64(st, 0);
    s.sum = sqlite3_column_int64(st, 1);
  });
  for (const char* t : {"accounts", "transfers"}) {
    query(std::string("SELECT count(*) FROM ") + t, [&](sqlite3_stmt* st) { s.tables[t] = sqlite3_column_int64(st, 0); });
  }
  sqlite3_close(db);
  return s;
}

// The largest max_commit_ms the ledger writer of `db` printed between two unix times.
double max_commit_ms(const std::string& container, const std::string& db, double since, double until) {
  char range[96];
  std::snprintf(range, sizeof range, "--since %.3f --until %.3f", since, until);
  auto r = run_script("docker logs " + std::string(range) + " " + container + " 2>&1");
  std::regex line("ledger (\\S+) mode=\\S+ commits=\\d+ max_commit_ms=([0-9.]+)");
  double worst = 0;
  std::istringstream in(r.output);
  std::string l;
  while (std::getline(in, l)) {
    std::smatch m;
    if (std::regex_search(l, m, line) && m[1].str().ends_with("/" + db)) worst = std::max(worst, std::stod(m[2].str()));
  }
  return worst;
}

// Commits the writer of `db` has reported so far.
int64_t commits_of(const std::string& container, const std::string& db) {
  auto r = run_script("docker logs " + container + " 2>&1 | grep '/" + db + " ' | tail -n 1");
  std::smatch m;
  std::regex commits("commits=(\\d+)");
  return std::regex_search(r.output, m, commits) ? std::stoll(m[1].str()) : -1;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Container pause/unpause events of `project` between two unix times.
std::vector<std::string> pauses_of(docker::Client* d, const std::string& project, int64_t since, int64_t until) {
  std::vector<std::string> seen;
  auto st = d->events({{"type", {"container"}}, {"event", {"pause", "unpause"}},
                       {"label", {"com.docker.compose.project=" + project}}},
                      since, until, [&](const docker::Event& e) -> Result<bool> {
                        seen.push_back(e.action + " " + e.attributes.at("name"));
                        return true;
                      });
  if (!st.ok()) seen.push_back("events failed: " + st.error().message());
  return seen;
}

void expect_consistent(const std::string& path, const Json& facts, const std::string& what) {
  ASSERT_FALSE(facts.is_null()) << what << ": no SQLite record in the manifest";
  EXPECT_EQ(facts.value("mechanism", ""), "online-backup") << what << ": " << facts.dump();
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    EXPECT_FALSE(fs::exists(path + suffix)) << what << ": " << suffix << " in the archive";
  }
  const LedgerState s = read_ledger(path);
  EXPECT_EQ(s.integrity, "ok") << what;
  EXPECT_GT(s.accounts, 0) << what;
  EXPECT_EQ(s.sum, s.accounts * kOpening) << what << ": the invariant sum(balance) is broken";
  EXPECT_EQ(Json(s.tables), facts["tables"]) << what << ": row counts differ from those counted at capture";
}

// Twenty backups without Safe Mode while the app writes; each one extracted (the database
// file alone, integrity ok, the invariant holds, the counts of the manifest) and drilled
// (StackSnap's own check of the restored files before any container starts).
TEST(SqliteCapture, TwentyLiveBackupsOfWalAndRollbackJournalDatabasesRestoreConsistent) {
  STACKSNAP_REQUIRE_ENGINE(d);
  const std::string project = stack_project("ledger");
  { auto up = ensure_ledger(project, 2); ASSERT_TRUE(up.ok()) << up.error().message(); }
  auto bed = BackupBed::create();
  ASSERT_TRUE(bed.ok());
  const std::string app = container_of(project, "ledger");
  const std::string volume = project + "_books";
  const int64_t since = static_cast<int64_t>(::time(nullptr)) - 1;
  const int64_t books_before = commits_of(app, "books.db"), journal_before = commits_of(app, "journal.db");
  int64_t last_transfers = -1;
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE("backup " + std::to_string(i + 1));
    auto r = (*bed)->backup(project);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const std::string id = r.summary["backup_id"];
    auto dir = (*bed)->extract(id);
    ASSERT_TRUE(dir.ok()) << dir.error().message();
    const Json manifest = read_json(*dir + "/stacksnap/manifest.json");
    const Json books = facts_of(manifest, "volumes", volume, "books.db");
    const Json journal = facts_of(manifest, "volumes", volume, "journal.db");
    expect_consistent(*dir + "/volumes/" + volume + "/books.db", books, "books.db (WAL)");
    expect_consistent(*dir + "/volumes/" + volume + "/journal.db", journal, "journal.db (rollback journal)");
    expect_consistent(*dir + "/binds/1/settings.db", facts_of(manifest, "binds", "1", "settings.db"),
                      "settings.db (bind mount)");
    EXPECT_EQ(books.value("journal_mode", ""), "wal");
    EXPECT_EQ(journal.value("journal_mode", ""), "rollback");
    EXPECT_GE(books["tables"].value("transfers", int64_t{0}), last_transfers);
    last_transfers = books["tables"].value("transfers", int64_t{0});

    auto drill = (*bed)->run("drill " + id + " --json");
    ASSERT_EQ(drill.exit_code, 0) << drill.out;
    ASSERT_TRUE(drill.summary["problems"].empty()) << drill.summary.dump();
    int checked = 0;
    for (const auto& db : drill.summary["sqlite"]) {
      if (!db.value("checked", false)) continue;
      ++checked;
      EXPECT_EQ(db.value("integrity", ""), "ok") << db.dump();
      EXPECT_TRUE(db["problems"].empty()) << db.dump();
    }
    EXPECT_EQ(checked, 3) << drill.summary["sqlite"].dump();
    fs::remove_all(*dir);
  }
  const int64_t until = static_cast<int64_t>(::time(nullptr)) + 1;
  EXPECT_GT(commits_of(app, "books.db"), books_before) << "the WAL writer kept committing";
  EXPECT_GT(commits_of(app, "journal.db"), journal_before) << "the rollback-journal writer kept committing";
  EXPECT_TRUE(pauses_of(d, project, since, until).empty()) << "no container of the project is ever paused";
}

// Two 50 MB databases captured while their writers run: the Engine never pauses a
// container (its events) and every copy is consistent. The timings (lock wait, read lock
// held = the longest a rollback-journal writer waits, capture, the writers' worst commit)
// are printed for docs/BENCHMARKS.md: speed is a benchmark's business, not a test's.
TEST(SqliteCapture, FiftyMegabyteDatabasesAreCapturedWithoutPausingAnything) {
  STACKSNAP_REQUIRE_ENGINE(d);
  const std::string project = stack_project("ledger50");
  { auto up = ensure_ledger(project, 50); ASSERT_TRUE(up.ok()) << up.error().message(); }
  auto bed = BackupBed::create();
  ASSERT_TRUE(bed.ok());
  const std::string app = container_of(project, "ledger");
  const std::string volume = project + "_books";
  const int64_t since = static_cast<int64_t>(::time(nullptr)) - 1;
  std::printf("%-6s %-10s %9s %9s %9s %9s %12s %12s\n", "round", "database", "MiB", "wait_ms", "lock_ms", "total_ms",
              "writer_ms", "quiet_ms");
  int64_t worst_lock = 0;
  for (int i = 0; i < 5; ++i) {
    // A quiet second first: the writers' own worst commit without a backup.
    const double q0 = now_seconds();
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    const double q1 = now_seconds();
    const double t0 = now_seconds();
    auto r = (*bed)->backup(project);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the writers' next report
    const double t1 = now_seconds();
    auto dir = (*bed)->extract(r.summary["backup_id"]);
    ASSERT_TRUE(dir.ok());
    const Json manifest = read_json(*dir + "/stacksnap/manifest.json");
    for (const char* db : {"books.db", "journal.db"}) {
      const Json f = facts_of(manifest, "volumes", volume, db);
      ASSERT_FALSE(f.is_null()) << db;
      EXPECT_GE(f.value("bytes", uint64_t{0}), 50u * 1000 * 1000) << db;
      const int64_t lock = f.value("read_lock_ms", int64_t{0});
      if (f.value("journal_mode", "") == "rollback") worst_lock = std::max(worst_lock, lock);
      std::printf("%-6d %-10s %9.1f %9lld %9lld %9lld %12.1f %12.1f\n", i + 1, db,
                  static_cast<double>(f.value("bytes", uint64_t{0})) / (1 << 20),
                  static_cast<long long>(f.value("lock_wait_ms", int64_t{0})), static_cast<long long>(lock),
                  static_cast<long long>(f.value("capture_ms", int64_t{0})), max_commit_ms(app, db, t0, t1),
                  max_commit_ms(app, db, q0, q1));
    }
    expect_consistent(*dir + "/volumes/" + volume + "/journal.db", facts_of(manifest, "volumes", volume, "journal.db"),
                      "journal.db");
    fs::remove_all(*dir);
  }
  const int64_t until = static_cast<int64_t>(::time(nullptr)) + 1;
  const auto pauses = pauses_of(d, project, since, until);
  std::printf("container pauses seen in the Engine's events during the backups: %zu\n", pauses.size());
  EXPECT_TRUE(pauses.empty()) << ::testing::PrintToString(pauses);
  std::printf("longest rollback-journal read lock: %lld ms\n", static_cast<long long>(worst_lock));
}

TEST(SqliteCapture, ProjectsListsTheDatabasesWithTheirServicesAndHowTheyAreCaptured) {
  STACKSNAP_REQUIRE_ENGINE(d);
  const std::string project = stack_project("ledger");
  { auto up = ensure_ledger(project, 2); ASSERT_TRUE(up.ok()) << up.error().message(); }
  auto r = run_script(stacksnap::build_paths::binary() + " projects " + project + " --json 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Json sqlite = Json::parse(r.output)["projects"][0]["sqlite"];
  std::map<std::string, Json> by_path;
  for (const auto& db : sqlite["databases"]) by_path[db.value("path", "")] = db;
  ASSERT_EQ(by_path.size(), 4u) << sqlite.dump(1);
  EXPECT_EQ(by_path["books.db"]["tree"], "volume");
  EXPECT_EQ(by_path["books.db"]["source"], project + "_books");
  EXPECT_EQ(by_path["books.db"]["journal_mode"], "wal");
  EXPECT_EQ(by_path["books.db"]["used_by"], Json::array({"ledger:/var/lib/ledger/books.db"}));
  EXPECT_EQ(by_path["books.db"]["capture"], "online-backup");
  EXPECT_EQ(by_path["journal.db"]["journal_mode"], "rollback");
  EXPECT_EQ(by_path["journal.db"]["capture"], "online-backup");
  EXPECT_EQ(by_path["cache.db"]["capture"], "files");
  EXPECT_NE(by_path["cache.db"].value("reason", "").find("stacksnap.sqlite.exclude"), std::string::npos);
  EXPECT_EQ(by_path["settings.db"]["tree"], "bind");
  EXPECT_EQ(by_path["settings.db"]["used_by"], Json::array({"settings:/srv/state/settings.db"}));
  EXPECT_TRUE(sqlite["notes"].empty()) << sqlite["notes"].dump();

  auto table = run_script(stacksnap::build_paths::binary() + " projects " + project + " 2>&1");
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_TRUE(contains(table.output, "SQLITE DATABASE")) << table.output;
  EXPECT_TRUE(std::regex_search(table.output, std::regex("books\\.db +volume " + project + "_books .* wal .*snapshot")))
      << table.output;
  EXPECT_TRUE(contains(table.output, "plain files: excluded by the label stacksnap.sqlite.exclude")) << table.output;
}

// A label pattern keeps a database out of the snapshots: it is captured as the live files
// were, its -wal included, and the manifest says why.
TEST(SqliteCapture, ExcludedByLabelIsCapturedAsPlainFiles) {
  STACKSNAP_REQUIRE_ENGINE(d);
  const std::string project = stack_project("ledger");
  { auto up = ensure_ledger(project, 2); ASSERT_TRUE(up.ok()) << up.error().message(); }
  auto bed = BackupBed::create();
  ASSERT_TRUE(bed.ok());
  auto r = (*bed)->backup(project);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "SQLite cache.db in volume " + project + "_books captured as plain files")) << r.out;
  auto dir = (*bed)->extract(r.summary["backup_id"]);
  ASSERT_TRUE(dir.ok());
  const std::string volume = project + "_books";
  const Json cache = facts_of(read_json(*dir + "/stacksnap/manifest.json"), "volumes", volume, "cache.db");
  EXPECT_EQ(cache.value("mechanism", ""), "files") << cache.dump();
  EXPECT_EQ(cache.value("reason", ""), "excluded by the label stacksnap.sqlite.exclude (pattern \"*cache.db\")");
  EXPECT_TRUE(fs::exists(*dir + "/volumes/" + volume + "/cache.db"));
  EXPECT_TRUE(fs::exists(*dir + "/volumes/" + volume + "/cache.db-wal")) << "plain files: the WAL comes along";
  EXPECT_FALSE(fs::exists(*dir + "/volumes/" + volume + "/books.db-wal")) << "a snapshot needs no WAL";
}

// Safe Mode as before: the app containers are paused while their trees are read (the
// Engine's events show it), the backup succeeds, and every database of the archive opens
// consistent — a snapshot when the read lock was free at the freeze, else the plain files
// of the frozen app (the database with its -wal, opened normally in a copy).
TEST(SqliteCapture, SafeModeStillPausesAndEveryDatabaseIsConsistent) {
  STACKSNAP_REQUIRE_ENGINE(d);
  const std::string project = stack_project("ledger");
  { auto up = ensure_ledger(project, 2); ASSERT_TRUE(up.ok()) << up.error().message(); }
  auto bed = BackupBed::create();
  ASSERT_TRUE(bed.ok());
  const int64_t since = static_cast<int64_t>(::time(nullptr)) - 1;
  auto r = (*bed)->backup(project, "--safe-mode");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const int64_t until = static_cast<int64_t>(::time(nullptr)) + 1;
  EXPECT_GT(r.summary.value("pause_ms", int64_t{0}), 0) << r.summary.dump();
  const auto pauses = pauses_of(d, project, since, until);
  EXPECT_FALSE(pauses.empty()) << "Safe Mode pauses the app containers";
  EXPECT_FALSE(contains(r.out, "consistent only with Safe Mode")) << r.out;
  auto dir = (*bed)->extract(r.summary["backup_id"]);
  ASSERT_TRUE(dir.ok());
  const Json manifest = read_json(*dir + "/stacksnap/manifest.json");
  const std::string volume = project + "_books";
  for (const char* db : {"books.db", "journal.db"}) {
    SCOPED_TRACE(db);
    const Json f = facts_of(manifest, "volumes", volume, db);
    ASSERT_FALSE(f.is_null());
    const std::string path = *dir + "/volumes/" + volume + "/" + db;
    if (f.value("mechanism", "") == "online-backup") {
      expect_consistent(path, f, db);
      continue;
    }
    // Plain files of a frozen app: copied aside with their companions, opened normally
    // (the -wal replayed, a hot journal rolled back).
    const std::string copy = *dir + "/safe-" + db;
    for (const char* suffix : {"", "-wal", "-journal"}) {
      if (fs::exists(path + suffix)) fs::copy_file(path + suffix, copy + suffix);
    }
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(copy.c_str(), &h), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(h, "SELECT (SELECT group_concat(integrity_check) FROM pragma_integrity_check), "
                                    "count(*), sum(balance) FROM accounts", -1, &st, nullptr), SQLITE_OK)
        << sqlite3_errmsg(h);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "ok");
    EXPECT_EQ(sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 1) * kOpening);
    sqlite3_finalize(st);
    sqlite3_close(h);
  }
  fs::remove_all(*dir);
}

// A restore over the running project: every database goes back as the file alone (checked
// before any container starts: nothing beside it, integrity ok, the counts of the capture)
// and the app carries on from it.
TEST(SqliteCapture, RestoreInPlacePutsEachDatabaseBackAloneAndTheAppCarriesOn) {
  STACKSNAP_REQUIRE_ENGINE(d);
  const std::string project = stack_project("ledger");
  { auto up = ensure_ledger(project, 2); ASSERT_TRUE(up.ok()) << up.error().message(); }
  auto bed = BackupBed::create();
  ASSERT_TRUE(bed.ok());
  auto b = (*bed)->backup(project);
  ASSERT_EQ(b.exit_code, 0) << b.out;
  auto r = (*bed)->run("restore " + b.summary["backup_id"].get<std::string>() + " --force --no-safety-backup --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_TRUE(r.summary["problems"].empty()) << r.summary.dump();
  std::set<std::string> checked;
  for (const auto& db : r.summary["sqlite"]) {
    if (!db.value("checked", false)) continue;
    checked.insert(db.value("path", ""));
    EXPECT_EQ(db.value("integrity", ""), "ok") << db.dump();
    EXPECT_TRUE(db["problems"].empty()) << db.dump();
  }
  EXPECT_EQ(checked, (std::set<std::string>{"books.db", "journal.db", "settings.db"}));
  const std::string app = container_of(project, "ledger");
  ASSERT_FALSE(app.empty());
  int64_t commits = -1;
  for (int i = 0; i < 40 && commits <= 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    commits = commits_of(app, "books.db");
  }
  EXPECT_GT(commits, 0) << "the restored app commits again";
}

// A backup whose database was damaged after the capture (re-sealed, so the archive itself
// verifies): the drill's SQLite check fails and names the database.
TEST(SqliteCapture, DrillFailsOnACorruptedDatabase) {
  STACKSNAP_REQUIRE_ENGINE(d);
  const std::string project = stack_project("ledger");
  { auto up = ensure_ledger(project, 2); ASSERT_TRUE(up.ok()) << up.error().message(); }
  auto bed = BackupBed::create();
  ASSERT_TRUE(bed.ok());
  auto r = (*bed)->backup(project);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string id = r.summary["backup_id"];
  auto broken = store_with_changed_entry(**bed, id, "volumes/" + project + "_books/books.db", [](std::string& db) -> Status {
    constexpr size_t kPage = 4096;
    if (db.size() < 12 * kPage) return failed_precondition("books.db is too small");
    for (size_t page = 4; page < 12; ++page) {
      for (size_t i = 0; i < kPage; i += 13) db[page * kPage + i] = static_cast<char>(0x5A);
    }
    return {};
  });
  ASSERT_TRUE(broken.ok()) << broken.error().message();
  auto verify = (*bed)->run("verify " + (*bed)->blob_path(*broken));
  EXPECT_EQ(verify.exit_code, 0) << "the archive itself is sound: " << verify.out;

  auto drill = (*bed)->run("drill " + *broken + " --json");
  EXPECT_NE(drill.exit_code, 0) << drill.out;
  EXPECT_TRUE(contains(drill.out, "SQLite volume drill-")) << drill.out;
  EXPECT_TRUE(std::regex_search(drill.out, std::regex("books\\.db: (integrity_check|.*malformed)"))) << drill.out;
  auto good = (*bed)->run("drill " + id + " --json");
  EXPECT_EQ(good.exit_code, 0) << good.out;
}

}  // namespace
}  // namespace stacksnap::it
