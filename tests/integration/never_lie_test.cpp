// Issue 13, "backups that never lie", against the real Engine, on a private copy of the
// `tricky` sample stack: Redis 7 with appendonly yes (keys with a TTL of a day, keys in db
// 1), Postgres databases whose names need quoting (`my db` beside `my_db`, `=`, quotes, a
// backslash, unicode, a leading postgres://, two differing only in case), healthchecks,
// a published host port, and an app that writes files into its volume and its bind
// mount, rows into Postgres and keys into Redis every second, all the time.
//
//  - TrickyStack.*: one backup under that load, then a drill, a copy restore refused for
//    the port the original holds (nothing left of it) and retried with --no-ports, and a
//    disaster restore from a fresh data dir that never ran `backups`.
//  - TamperedFile.DrillFailsNamingTheFile: one file's bytes changed inside a correctly
//    sealed archive (decrypted, patched, re-sealed with the user's key).
//  - ProjectLock.RestoreWhileABackupRunsIsRefused: the documented behaviour (fail at once,
//    exit code 5, naming the running job) while a backup of the project is held mid-way.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <fcntl.h>

#include <nlohmann/json.hpp>

#include "common/build_paths.h"
#include "backup_support.h"
#include "base/clock.h"
#include "base/fd.h"
#include "base/temp_dir.h"
#include "codec/zstd.h"
#include "dbengine/postgres.h"
#include "repo/repo.h"
#include "seal/key.h"
#include "seal/stream.h"
#include "storage/target.h"
#include "test_env.h"

namespace stacksnap::it {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kDbPassword = "tricky-secret-pw-1357";
constexpr const char* kRedisPassword = "tricky-redis-pw-9753";

// The databases of the fixture (tests/fixtures/stacks/tricky/initdb) with the rows of
// their table `t`: the n-th name has n * 10 + 3.
const std::vector<std::pair<std::string, int>>& hostile_databases() {
  static const std::vector<std::pair<std::string, int>> dbs = [] {
    std::vector<std::string> names = {"my db",       "my_db",       "host=evil.example port=1",
                                      "it's \"quoted\"", "back\\slash", "grüße ✓ 数据",
                                      "postgres://evil.example/x", "MixedCase", "mixedcase"};
    std::vector<std::pair<std::string, int>> out;
    for (size_t i = 0; i < names.size(); ++i) out.push_back({names[i], static_cast<int>((i + 1) * 10 + 3)});
    return out;
  }();
  return dbs;
}

std::string exec_in(const std::string& container, const std::string& command) {
  return trimmed(run_script("docker exec " + container + " sh -c " + sh_quote(command)).output);
}

std::string rows_of(const std::string& container, const std::string& db, const std::string& table) {
  return exec_in(container, "PGPASSWORD=" + std::string(kDbPassword) + " psql -h 127.0.0.1 -U tricky -tA -d " +
                                sh_quote(dbengine::pg_dbname_conninfo(db)) + " -c 'SELECT count(*) FROM " + table + "'");
}

std::string redis(const std::string& container, const std::string& args) {
  return exec_in(container, "REDISCLI_AUTH=" + std::string(kRedisPassword) + " redis-cli " + args);
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}


Json event_of(const CliRun& r, const std::string& type) {
  for (const auto& e : r.events) {
    if (e.value("type", "") == type) return e;
  }
  return nullptr;
}

// Everything that carries a Compose project label: containers, volumes, networks.
std::string leftovers_of(const std::string& project) {
  const std::string f = " --filter label=com.docker.compose.project=" + project;
  return trimmed(run_script("docker ps -aq" + f + "; docker volume ls -q" + f + "; docker network ls -q" + f).output);
}

// The tricky stack under its own project name, working dir and published port.
class TrickyStack : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    if (engine() == nullptr) return;
    auto root = TempDir::create("/var/tmp", "stacksnap-it-tricky-");
    ASSERT_TRUE(root.ok()) << root.error().message();
    root_ = new TempDir(std::move(*root));
    project_ = stack_project("tricky") + "-" + std::to_string(::getpid());
    port_ = free_port();
    // A copy of the fixture whose .env publishes a port free on this host.
    const std::string fixtures = root_->path() + "/fixtures";
    auto cp = run_script("mkdir -p " + fixtures + " && cp -a " + source_path("tests/fixtures/stacks/up.sh") + " " +
                         source_path("tests/fixtures/stacks/down.sh") + " " +
                         source_path("tests/fixtures/stacks/compose.sh") + " " +
                         source_path("tests/fixtures/stacks/tricky") + " " + fixtures + "/ && sed -i " +
                         sh_quote("s/^TRICKY_PORT=.*/TRICKY_PORT=" + std::to_string(port_) + "/") + " " + fixtures +
                         "/tricky/.env");
    ASSERT_EQ(cp.exit_code, 0) << cp.output;
    ASSERT_TRUE(ensure_fixture_images().ok());
    auto up = run_script(fixtures + "/up.sh tricky " + project_ + " " + work_dir());
    ASSERT_EQ(up.exit_code, 0) << up.output;
    auto bed = BackupBed::create(root_->path());
    ASSERT_TRUE(bed.ok()) << bed.error().message();
    bed_ = bed->release();
    // The app writes every second: let it have written a few times before the backup.
    std::this_thread::sleep_for(std::chrono::seconds(3));
    backup_ = new CliRun(bed_->backup(project_));
  }

  static void TearDownTestSuite() {
    if (root_ == nullptr) return;
    run_script(root_->path() + "/fixtures/down.sh tricky " + project_ + " " + work_dir() + " >/dev/null 2>&1");
    for (const auto& copy : copies_) run_script(root_->path() + "/fixtures/down.sh tricky " + copy + " /nonexistent >/dev/null 2>&1");
    delete backup_;
    delete bed_;
    delete root_;
    backup_ = nullptr;
    bed_ = nullptr;
    root_ = nullptr;
  }

 protected:
  void SetUp() override {
    STACKSNAP_REQUIRE_ENGINE(d);
    ASSERT_NE(backup_, nullptr);
    ASSERT_EQ(backup_->exit_code, 0) << describe(*backup_);
  }
  static std::string work_dir() { return root_->path() + "/work"; }
  static std::string backup_id() { return backup_->summary.value("backup_id", ""); }
  // The backup's record as `backups --json` gives it.
  static Json record() {
    std::string err;
    auto r = bed_->run("backups --json", &err);
    auto arr = Json::parse(r.out, nullptr, false);
    for (const auto& b : arr) {
      if (b.value("id", "") == backup_id()) return b;
    }
    return nullptr;
  }
  static std::string container(const std::string& project, const std::string& service) {
    return container_of(project, service);
  }

  static TempDir* root_;
  static std::string project_;
  static int port_;
  static BackupBed* bed_;
  static CliRun* backup_;
  static std::vector<std::string> copies_;
};
TempDir* TrickyStack::root_ = nullptr;
std::string TrickyStack::project_;
int TrickyStack::port_ = 0;
BackupBed* TrickyStack::bed_ = nullptr;
CliRun* TrickyStack::backup_ = nullptr;
std::vector<std::string> TrickyStack::copies_;

TEST_F(TrickyStack, BackupUnderLoadDumpsEveryDatabaseAndEveryRedisDatabase) {
  Json rec = record();
  ASSERT_FALSE(rec.is_null()) << "no record of " << backup_id();
  const Json& dumps = rec["summary"]["dumps"];
  // Postgres: every database, each its own dump file, names reversible.
  std::set<std::string> databases, files;
  const Json& pg = dumps["db"].contains("info") ? dumps["db"]["info"] : dumps["db"];
  for (const auto& f : pg["files"]) {
    if (f.value("kind", "") == "pg_custom") {
      databases.insert(f.value("database", ""));
      files.insert(f.value("name", ""));
    }
  }
  for (const auto& [db, rows] : hostile_databases()) {
    EXPECT_TRUE(databases.count(db)) << db << " was not dumped: " << pg.dump();
  }
  EXPECT_EQ(files.size(), databases.size()) << "one dump file per database: " << pg.dump();
  EXPECT_TRUE(files.count("my%20db.pgdump")) << pg.dump();
  EXPECT_TRUE(files.count("my_db.pgdump")) << pg.dump();
  // Redis: db0 (with its 30 TTL keys as the tolerance) and db1, exact from the RDB.
  const Json& rd = dumps["cache"].contains("info") ? dumps["cache"]["info"] : dumps["cache"];
  EXPECT_TRUE(rd.value("counts_exact", false)) << rd.dump();
  std::map<std::string, Json> counts;
  for (const auto& c : rd["row_counts"]) counts[c.value("database", "")] = c;
  ASSERT_TRUE(counts.count("db0") && counts.count("db1")) << rd.dump();
  EXPECT_GE(counts["db0"].value("rows", 0), 233) << rd.dump();
  EXPECT_EQ(counts["db0"].value("may_expire", 0), 30) << rd.dump();
  EXPECT_EQ(counts["db1"].value("rows", 0), 51) << rd.dump();
  // The replication snapshot did not wait for repl-diskless-sync-delay, which is back.
  EXPECT_EQ(redis(container(project_, "cache"), "config get repl-diskless-sync-delay"), "repl-diskless-sync-delay\n5");
  for (const auto& e : backup_->events) {
    if (e.value("type", "") == "step_finished" && e.value("step", "") == "dump:" + container(project_, "cache")) {
      std::printf("[ measure ] redis dump step: %lld ms\n", static_cast<long long>(e.value("duration_ms", int64_t{0})));
    }
  }
}

TEST_F(TrickyStack, DrillPassesWhileTheAppKeepsWriting) {
  auto r = bed_->run("drill " + backup_id() + " --json");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  Json result = event_of(r, "drill_result");
  ASSERT_FALSE(result.is_null()) << describe(r);
  EXPECT_EQ(result.value("result", ""), "passed");
  EXPECT_TRUE(result["problems"].empty()) << result.dump();
  std::map<std::string, Json> dbs;
  for (const auto& d : result["databases"]) dbs[d.value("service", "")] = d;
  ASSERT_TRUE(dbs.count("db") && dbs.count("cache")) << result.dump();
  EXPECT_TRUE(dbs["db"].value("rows_match", false)) << dbs["db"].dump();
  EXPECT_TRUE(dbs["cache"].value("rows_match", false)) << dbs["cache"].dump();
  EXPECT_EQ(dbs["cache"].value("tables", 0), 2) << "db0 and db1 compared: " << dbs["cache"].dump();
  // The bind mount the app writes into was checked file by file before it started.
  bool uploads = false;
  for (const auto& b : result["binds"]) {
    if (contains(b.value("host_path", ""), "/uploads")) uploads = b.value("matches", false);
  }
  EXPECT_TRUE(uploads) << result["binds"].dump();
  EXPECT_EQ(leftovers_of(result.value("drill_project", "-")), "");
}

TEST_F(TrickyStack, CopyRefusedForAPortConflictLeavesNothingAndNoPortsSucceeds) {
  const std::string copy = project_ + "-copy";
  copies_.push_back(copy);
  const std::string dir = bed_->data_dir() + "/restores/" + copy;
  auto refused = bed_->run("restore " + backup_id() + " --as " + copy + " --json");
  ASSERT_NE(refused.exit_code, 0) << describe(refused);
  EXPECT_TRUE(contains(refused.message(), "--no-ports")) << describe(refused);
  EXPECT_TRUE(contains(refused.message(), "was removed again")) << describe(refused);
  EXPECT_FALSE(event_of(refused, "restore_cleanup").is_null()) << describe(refused);
  EXPECT_EQ(leftovers_of(copy), "") << "no container, volume or network of the refused copy";
  EXPECT_FALSE(fs::exists(dir)) << dir;

  auto ok = bed_->run("restore " + backup_id() + " --as " + copy + " --no-ports --json");
  ASSERT_EQ(ok.exit_code, 0) << describe(ok);
  EXPECT_TRUE(ok.summary["problems"].empty()) << ok.summary.dump();
  EXPECT_EQ(ok.summary.value("row_count_differences", -1), 0) << ok.summary.dump();
  const std::string cache = container(copy, "cache");
  EXPECT_EQ(redis(cache, "config get appendonly"), "appendonly\nyes");
  EXPECT_EQ(redis(cache, "-n 1 dbsize"), "51");
  EXPECT_EQ(rows_of(container(copy, "db"), "my_db", "t"), "23");
  // The original still runs and still holds its port.
  EXPECT_EQ(trimmed(run_script("docker port " + container(project_, "app") + " 8080").output),
            "127.0.0.1:" + std::to_string(port_));
  run_script(root_->path() + "/fixtures/down.sh tricky " + copy + " " + dir + " >/dev/null 2>&1");
}

// ---- a file changed inside a correctly sealed archive ------------------------------------

// Decrypts and decompresses `blob`, lets `patch` change the plaintext tar (same length),
// and seals it again with `key`: the archive authenticates, but an entry no longer has
// the content its manifest records.
Status reseal_patched(const std::string& blob, const std::string& out_path, const seal::MasterKey& key,
                      const std::function<bool(std::string&)>& patch) {
  auto keys = seal::KeySource::from_key(TRY(key.clone()));
  std::string tar;
  {
    auto fd = TRY(open_file(blob, O_RDONLY));
    FdReader in(fd.get(), blob);
    auto opened = TRY(seal::SealReader::open(in, keys));
    auto z = TRY(codec::ZstdReader::create(*opened));
    tar = TRY(read_all(*z, 256 << 20));
  }
  if (!patch(tar)) return not_found("the patch found nothing to change");
  auto fd = TRY(open_file(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600));
  FdWriter out(fd.get(), out_path);
  auto sealed = TRY(seal::SealWriter::create(out, key));
  auto z = TRY(codec::ZstdWriter::create(*sealed));
  TRY(z->write(as_bytes(tar)));
  TRY(z->close());
  TRY(sealed->close());
  return {};
}

TEST_F(TrickyStack, TamperedFileInACorrectlySealedArchiveFailsTheDrillNamingIt) {
  auto key = seal::read_key_file(seal::key_file_path(bed_->data_dir()));
  ASSERT_TRUE(key.ok()) << key.error().message();
  const std::string forged = bed_->store_dir() + "/forged.stsnap";
  // base.txt in the app's volume: "line 1\nline 2\n…"; one digit changes.
  auto st = reseal_patched(bed_->blob_path(backup_id()), forged, *key, [](std::string& tar) {
    size_t at = tar.find("line 250\n");
    if (at == std::string::npos) return false;
    tar[at + 5] = '9';
    return true;
  });
  ASSERT_TRUE(st.ok()) << st.error().message();
  // The forged blob replaces the stored one; the catalog learns its new size and SHA-256
  // (as if the copy had always been this file): only the drill can tell.
  auto sha = trimmed(run_script("sha256sum " + forged + " | cut -d' ' -f1").output);
  const uint64_t size = fs::file_size(forged);
  const std::string id = backup_id();
  auto saved = run_script("cp " + bed_->blob_path(id) + " " + forged + ".orig && cp " + forged + " " +
                          bed_->blob_path(id));
  ASSERT_EQ(saved.exit_code, 0) << saved.output;
  auto db = run_script("sqlite3 " + bed_->data_dir() + "/state.db \"UPDATE backup_copies SET size=" +
                       std::to_string(size) + ", sha256='" + sha + "' WHERE backup_id='" + id +
                       "'; UPDATE backups SET stored_bytes=" + std::to_string(size) + ", sha256='" + sha +
                       "' WHERE id='" + id + "'\"");
  ASSERT_EQ(db.exit_code, 0) << db.output;

  auto r = bed_->run("drill " + id + " --json");
  // Put the real archive back whatever happened (later tests use it).
  run_script("cp " + forged + ".orig " + bed_->blob_path(id));
  EXPECT_NE(r.exit_code, 0) << describe(r);
  Json result = event_of(r, "drill_result");
  ASSERT_FALSE(result.is_null()) << describe(r);
  EXPECT_EQ(result.value("result", ""), "failed");
  EXPECT_TRUE(contains(result["problems"].dump(), "base.txt")) << result.dump();
  EXPECT_EQ(leftovers_of(result.value("drill_project", "-")), "");
}

// ---- one job per project --------------------------------------------------------------

TEST_F(TrickyStack, RestoreWhileABackupOfTheProjectRunsIsRefusedAtOnce) {
  // A backup held mid-way (SIGSTOP once it has started) keeps the project's lock.
  const std::string log = root_->path() + "/held-backup.log";
  auto started = run_script("(" + stacksnap::build_paths::binary() + " --data-dir " + bed_->data_dir() + " backup " +
                            project_ + " --json > " + log + " 2>&1 & echo $!)");
  const pid_t pid = static_cast<pid_t>(std::stoi(trimmed(started.output)));
  bool running = false;
  for (int i = 0; i < 200 && !running; ++i) {
    running = contains(read_text(log), "step_started");
    if (!running) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(running) << read_text(log);
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);
  auto r = bed_->run("restore " + backup_id() + " --force --json");
  const std::string drill = trimmed(bed_->run("drill " + backup_id()).out);
  ::kill(pid, SIGCONT);
  EXPECT_EQ(r.exit_code, 5) << describe(r);
  EXPECT_TRUE(contains(r.message(), "a backup of " + project_ + " is already running")) << describe(r);
  EXPECT_TRUE(contains(r.message(), "pid " + std::to_string(pid))) << describe(r);
  EXPECT_TRUE(contains(drill, "already running")) << drill;
  // The held backup goes on and succeeds.
  int status = 0;
  for (int i = 0; i < 600 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  (void)status;
  EXPECT_TRUE(contains(read_text(log), "\"result\":\"succeeded\"")) << read_text(log);
}

// ---- a failed in-place restore says what it applied and how to undo it --------------------

TEST_F(TrickyStack, FailedInPlaceRestoreListsWhatItAppliedAndTheCommandThatUndoesIt) {
  // A backup that verifies but whose dump of "my db" cannot be replayed.
  auto broken = store_with_broken_dump(*bed_, backup_id(), "dumps/db/my%20db.pgdump");
  ASSERT_TRUE(broken.ok()) << broken.error().message();
  auto r = bed_->run("restore " + *broken + " --force --json");
  ASSERT_NE(r.exit_code, 0) << describe(r);
  const std::string msg = r.message();
  EXPECT_TRUE(contains(msg, "applied before the failure")) << msg;
  EXPECT_TRUE(contains(msg, "removed the containers of " + project_)) << msg;
  Json applied = event_of(r, "restore_applied");
  ASSERT_FALSE(applied.is_null()) << describe(r);
  const std::string undo = applied.value("undo", "");
  ASSERT_EQ(undo.rfind("stacksnap restore ", 0), 0u) << applied.dump();
  EXPECT_TRUE(contains(msg, undo)) << "the message carries the command: " << msg;
  EXPECT_TRUE(contains(undo, "--force --no-safety-backup")) << undo;

  // The one command puts the project back as it was before the failed restore.
  auto back = bed_->run(undo.substr(std::string("stacksnap ").size()) + " --json");
  ASSERT_EQ(back.exit_code, 0) << describe(back);
  EXPECT_TRUE(back.summary["problems"].empty()) << back.summary.dump();
  EXPECT_EQ(rows_of(container(project_, "db"), "my db", "t"), "13");
  EXPECT_EQ(redis(container(project_, "cache"), "-n 1 dbsize"), "51");
  EXPECT_EQ(trimmed(run_script("docker port " + container(project_, "app") + " 8080").output),
            "127.0.0.1:" + std::to_string(port_));
}

// Last: it takes the original stack down.
TEST_F(TrickyStack, DisasterRestoreFromAFreshDataDirRestoresEveryDatabaseAndKey) {
  Json rec = record();
  ASSERT_FALSE(rec.is_null());
  // The host dies: the stack, its volumes, its working dir and StackSnap's data dir are gone.
  auto down = run_script(root_->path() + "/fixtures/down.sh tricky " + project_ + " " + work_dir());
  ASSERT_EQ(down.exit_code, 0) << down.output;
  ASSERT_EQ(leftovers_of(project_), "");
  auto fresh = TempDir::create(root_->path(), "fresh-data-");
  ASSERT_TRUE(fresh.ok());
  ASSERT_EQ(run_script("install -m 0600 " + bed_->data_dir() + "/key " + fresh->path() + "/key").exit_code, 0);
  auto add = run_stacksnap(fresh->path(), "target add local local --path " + bed_->store_dir() + "/backups-root");
  ASSERT_EQ(add.exit_code, 0) << add.out << add.err;

  // `restore ID` without `backups` first: the ID is looked up on the targets.
  auto r = run_stacksnap(fresh->path(), "restore " + backup_id() + " --json");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(r.summary["problems"].empty()) << r.summary.dump();
  EXPECT_EQ(r.summary.value("row_count_differences", -1), 0) << "every database has its exact row count";

  const std::string db = container(project_, "db"), cache = container(project_, "cache");
  for (const auto& [name, rows] : hostile_databases()) {
    EXPECT_EQ(rows_of(db, name, "t"), std::to_string(rows)) << name;
  }
  // Redis: every key of both databases, the TTLs kept, and all of it in the AOF: it
  // survives a restart of the container, which still runs with appendonly yes.
  const int db0 = [&] {
    for (const auto& c : rec["summary"]["dumps"]["cache"]["info"]["row_counts"]) {
      if (c.value("database", "") == "db0") return c.value("rows", 0);
    }
    return -1;
  }();
  ASSERT_GT(db0, 0) << rec.dump();
  ASSERT_EQ(run_script("docker restart " + cache).exit_code, 0);
  std::string pong;
  for (int i = 0; i < 60 && pong != "PONG"; ++i) {
    pong = redis(cache, "ping");
    if (pong != "PONG") std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_EQ(pong, "PONG");
  EXPECT_GE(std::stoi("0" + redis(cache, "dbsize")), db0) << "db0 after a restart";
  EXPECT_EQ(redis(cache, "-n 1 dbsize"), "51");
  EXPECT_EQ(redis(cache, "get k:200"), "v200");
  EXPECT_GT(std::stoi("0" + redis(cache, "ttl ttl:7")), 80000) << "keys keep their TTL";
  EXPECT_EQ(redis(cache, "config get appendonly"), "appendonly\nyes");
  EXPECT_EQ(redis(cache, "info persistence | grep '^aof_enabled'"), "aof_enabled:1");
}

}  // namespace
}  // namespace stacksnap::it
