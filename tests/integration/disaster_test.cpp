// Disaster recovery and a drill of a broken backup, against the real Engine, on
// private copies of the sample stacks (never the lane's shared shop/wiki/files projects):
//
//  - Disaster/<stack>: back up under write load; `compose down -v`; delete the working
//    dir (config files and bind mounts) and the StackSnap data dir; from a fresh data
//    dir with only the key and the target, `backups` rebuilds the catalog and
//    `restore ID` brings the stack back. The stack runs, the databases hold the dump's
//    snapshot (the transfer invariant holds, row counts are the manifest's), Redis keys
//    are back, every file of the volumes and bind mounts matches by SHA-256, owner,
//    mode, size, link count, mtime and symlink target.
//  - BrokenDumpDrill: a backup whose Postgres dump is truncated but which is sealed
//    with the user's key (rewritten through the archive library and stored with its
//    sidecar as the backup pipeline does) verifies, and its drill fails naming the
//    dump, leaving no container, volume, network or temp dir, recorded as failed.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fcntl.h>

#include <nlohmann/json.hpp>

#include "archive/reader.h"
#include "archive/writer.h"
#include "backup_support.h"
#include "base/clock.h"
#include "base/fd.h"
#include "base/stream.h"
#include "base/temp_dir.h"
#include "repo/repo.h"
#include "seal/key.h"
#include "storage/target.h"
#include "test_env.h"

namespace stacksnap::it {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

// `command` run by sh in `container` (docker exec, with `env` flags like "-e A=b").
ScriptResult exec_in(const std::string& container, const std::string& command, const std::string& env = "") {
  auto r = run_script("docker exec " + env + " " + container + " sh -c " + sh_quote(command));
  r.output = trimmed(r.output);
  return r;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// ---- a private copy of a sample stack ---------------------------------------------------

// A sample stack brought up by tests/fixtures/stacks/up.sh (in this lane's Compose) as a
// project of its own in <root>/work (the `files` stack's `name:` volume is made the
// project's own by up.sh). Destruction takes everything down: down.sh (compose down -v,
// containers, volumes and networks by label), the network, the archive volume, the root.
class OwnStack {
 public:
  static Result<std::unique_ptr<OwnStack>> up(const std::string& stack) {
    TRY(ensure_fixture_images());
    static std::atomic<int> n{0};
    const std::string project = stack_project("dis" + std::to_string(::getpid()) + "x" + std::to_string(++n) + stack);
    auto root = TRY(TempDir::create("/var/tmp", "stacksnap-it-disaster-"));
    std::unique_ptr<OwnStack> s(new OwnStack(stack, project, std::move(root)));
    auto upr = stack_up(stack, project, s->work_dir());
    if (upr.exit_code != 0) return internal_error("up.sh " + stack + " " + project + " failed:\n" + upr.output);
    return s;
  }

  ~OwnStack() {
    stack_down(stack_, project_, work_dir());
    run_script("docker network rm " + project_ + "_default >/dev/null 2>&1");
    if (stack_ == "files") run_script("docker volume rm -f " + archive_volume() + " >/dev/null 2>&1");
  }

  const std::string& stack() const { return stack_; }
  const std::string& project() const { return project_; }
  const std::string& root() const { return root_.path(); }
  std::string work_dir() const { return root() + "/work"; }
  std::string container(const std::string& service) const { return container_of(project_, service); }
  std::string archive_volume() const { return project_ + "-archive"; }
  // `<compose> -p P -f … ARGS` run in the working dir.
  ScriptResult compose(const std::string& args) const {
    std::string files = "-f docker-compose.yml";
    if (fs::exists(work_dir() + "/docker-compose.override.yml")) files += " -f docker-compose.override.yml";
    return compose_in(work_dir(), project_, files + " " + args);
  }

 private:
  OwnStack(std::string stack, std::string project, TempDir root)
      : stack_(std::move(stack)), project_(std::move(project)), root_(std::move(root)) {}
  std::string stack_, project_;
  TempDir root_;
};

// ---- write load -------------------------------------------------------------------------

// A loop of transactions in a container (docker exec -d) until /tmp/stop-load exists,
// a few hundred per second at most (the machine is shared).
class WriteLoad {
 public:
  WriteLoad(std::string container, std::string env, const std::string& loop)
      : container_(std::move(container)), env_(std::move(env)) {
    run_script("docker exec " + container_ + " rm -f /tmp/stop-load");
    started_ = run_script("docker exec -d " + env_ + " " + container_ + " sh -c " +
                          sh_quote("while [ ! -f /tmp/stop-load ]; do sleep 0.005; " + loop))
                   .exit_code == 0;
  }
  ~WriteLoad() { stop(); }
  bool started() const { return started_; }
  void stop() {
    if (started_) run_script("docker exec " + container_ + " touch /tmp/stop-load");
    started_ = false;
  }

  // Moves 7 between two random accounts (the sum stays 100000) and adds an order.
  static std::string postgres(const std::string& user, const std::string& db) {
    return "echo \"BEGIN; WITH a AS (SELECT (1+floor(random()*100))::int AS x, (1+floor(random()*100))::int AS y) "
           "UPDATE accounts SET balance = balance - (CASE WHEN id = a.x THEN 7 ELSE 0 END) + "
           "(CASE WHEN id = a.y THEN 7 ELSE 0 END) FROM a WHERE id IN (a.x, a.y); "
           "INSERT INTO orders (account, amount, note) VALUES (1, 7, 'load'); COMMIT;\"; done | psql -q -U " +
           user + " -d " + db + " >/dev/null 2>&1";
  }
  static std::string mariadb(const std::string& db) {
    return "echo \"START TRANSACTION; SET @x = 1 + FLOOR(RAND()*100); SET @y = 1 + FLOOR(RAND()*100); "
           "UPDATE accounts SET balance = balance - 7 WHERE id = @x; UPDATE accounts SET balance = balance + 7 "
           "WHERE id = @y; INSERT INTO pages (title, body) VALUES ('load', 'x'); COMMIT;\"; done | mariadb -uroot " +
           db + " >/dev/null 2>&1";
  }
  // MULTI/EXEC moving 3 from acct:a to acct:b (the sum stays 2000).
  static std::string redis() {
    return "printf 'MULTI\\nDECRBY acct:a 3\\nINCRBY acct:b 3\\nEXEC\\n'; done | redis-cli >/dev/null 2>&1";
  }

 private:
  std::string container_, env_;
  bool started_ = false;
};

// ---- file trees -------------------------------------------------------------------------

// Everything under `path` (in `container`, or on the host when it is empty): path →
// "type owner mode" plus, for regular files, size, link count, mtime (seconds) and
// SHA-256, for symlinks the target. Directory sizes and mtimes are left out (they
// depend on the file system and on the order entries were created in).
Result<std::map<std::string, std::string>> tree(const std::string& container, const std::string& path,
                                                const std::set<std::string>& ignore = {}) {
  const std::string cmd = "find " + sh_quote(path) + " -xdev -printf '%y|%p|%U:%G|%m|%s|%n|%T@|%l\\n' && find " +
                          sh_quote(path) + " -xdev -type f -exec sha256sum {} +";
  ScriptResult r = container.empty() ? run_script(cmd) : exec_in(container, cmd);
  if (r.exit_code != 0) return internal_error("list " + container + ":" + path + ": " + r.output);
  std::map<std::string, std::string> out, sums;
  for (const auto& line : lines_of(r.output)) {
    if (line.size() > 66 && line.find('|') == std::string::npos && line.substr(64, 2) == "  ") {
      sums[line.substr(66)] = line.substr(0, 64);
      continue;
    }
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string part;
    while (std::getline(ss, part, '|')) f.push_back(part);
    if (f.size() == 7) f.push_back("");  // empty symlink target field
    if (f.size() != 8) return internal_error("unexpected find output: " + line);
    const std::string& type = f[0];
    const std::string& p = f[1];
    if (ignore.count(p)) continue;
    std::string v = type + " " + f[2];
    if (type == "l") v += " -> " + f[7];
    else v += " " + f[3];
    if (type == "f") v += " size=" + f[4] + " nlink=" + f[5] + " mtime=" + f[6].substr(0, f[6].find('.'));
    out[p] = v;
  }
  for (auto& [p, v] : out) {
    if (v[0] != 'f') continue;
    if (!sums.count(p)) return internal_error("no SHA-256 of " + p + " in: " + r.output);
    v += " sha256=" + sums[p];
  }
  return out;
}

// Differences between two trees, one line each (empty when equal).
std::string tree_diff(const std::map<std::string, std::string>& want, const std::map<std::string, std::string>& got) {
  std::string out;
  for (const auto& [p, v] : want) {
    auto it = got.find(p);
    if (it == got.end()) out += "  missing " + p + " (" + v + ")\n";
    else if (it->second != v) out += "  " + p + ": want " + v + "\n" + std::string(p.size() + 4, ' ') + "got  " + it->second + "\n";
  }
  for (const auto& [p, v] : got) {
    if (!want.count(p)) out += "  extra " + p + " (" + v + ")\n";
  }
  return out;
}

// ---- the disaster scenario --------------------------------------------------------------

struct Mount {
  std::string service;  // container of this service; "" = a host path under the working dir
  std::string path;
  std::set<std::string> ignore;
};

struct DisasterCase {
  std::string stack;
  size_t services = 0;
  std::vector<Mount> mounts;
};

std::ostream& operator<<(std::ostream& os, const DisasterCase& c) { return os << c.stack; }

const char* kRedisAuth = "-e REDISCLI_AUTH=redis-secret-pw-0815";
const char* kMariaAuth = "-e MYSQL_PWD=wiki-root-pw-5678";

int64_t to_int(const std::string& s) {
  try {
    return std::stoll(s);
  } catch (...) {
    return -1;
  }
}

class Disaster : public ::testing::TestWithParam<DisasterCase> {};

TEST_P(Disaster, RestoresFromAFreshDataDirWithOnlyKeyAndTarget) {
  STACKSNAP_REQUIRE_ENGINE(d);
  const DisasterCase& c = GetParam();
  const double t0 = monotonic_seconds();
  auto made = OwnStack::up(c.stack);
  ASSERT_TRUE(made.ok()) << made.error().message();
  const OwnStack& s = **made;
  const double t_up = monotonic_seconds();
  auto bed_r = BackupBed::create(s.root(), "repository");
  ASSERT_TRUE(bed_r.ok()) << bed_r.error().message();
  auto& bed = **bed_r;
  const std::string key_text = read_text(bed.data_dir() + "/key");
  ASSERT_FALSE(key_text.empty());
  const std::string store = bed.store_dir() + "/backups-root";

  // The state before the disaster: files of volumes and bind mounts, Redis keys.
  std::map<std::string, std::map<std::string, std::string>> trees;
  auto where = [&](const Mount& m) { return m.service.empty() ? "" : s.container(m.service); };
  auto path_of = [&](const Mount& m) { return m.service.empty() ? s.work_dir() + "/" + m.path : m.path; };
  bool has_uid_999 = false;
  for (const auto& m : c.mounts) {
    auto t = tree(where(m), path_of(m), m.ignore);
    ASSERT_TRUE(t.ok()) << t.error().message();
    ASSERT_FALSE(t->empty()) << path_of(m);
    for (const auto& [p, v] : *t) has_uid_999 = has_uid_999 || contains(v, " 999:999 ");
    trees[m.service + ":" + m.path] = std::move(*t);
  }
  if (c.stack != "wiki") {
    EXPECT_TRUE(has_uid_999) << "the fixture has files of uid 999 to check ownership with";
  }
  const bool shop = c.stack == "shop", wiki = c.stack == "wiki";
  std::string redis_keys;
  if (shop) {
    auto set = exec_in(s.container("cache"),
                       "redis-cli MSET acct:a 1000 acct:b 1000 it:plain v1 'it:with space' v2 && "
                       "redis-cli HSET it:hash f1 a f2 b && redis-cli RPUSH it:list x y z",
                       kRedisAuth);
    ASSERT_EQ(set.exit_code, 0) << set.output;
    redis_keys = exec_in(s.container("cache"), "redis-cli --scan | sort", kRedisAuth).output;
    ASSERT_TRUE(contains(redis_keys, "it:hash")) << redis_keys;
  }

  // Back up under write load.
  std::vector<std::unique_ptr<WriteLoad>> loads;
  if (shop) {
    loads.push_back(std::make_unique<WriteLoad>(s.container("db"), "", WriteLoad::postgres("shop", "shop")));
    loads.push_back(std::make_unique<WriteLoad>(s.container("cache"), kRedisAuth, WriteLoad::redis()));
  } else if (wiki) {
    loads.push_back(std::make_unique<WriteLoad>(s.container("mariadb"), kMariaAuth, WriteLoad::mariadb("wiki")));
  }
  for (const auto& l : loads) ASSERT_TRUE(l->started());
  auto count = [&](const std::string& container) -> int64_t {
    if (shop) return to_int(exec_in(container, "psql -U shop -d shop -tAc 'SELECT count(*) FROM orders'").output);
    return to_int(exec_in(container, "mariadb -uroot -N -e 'SELECT COUNT(*) FROM wiki.pages'", kMariaAuth).output);
  };
  const std::string db_service = shop ? "db" : "mariadb";
  int64_t before = 0, after = 0;
  if (!loads.empty()) {
    ::sleep(2);
    before = count(s.container(db_service));
  }
  auto b = bed.backup(s.project());
  if (!loads.empty()) {
    ::sleep(1);
    after = count(s.container(db_service));
  }
  for (auto& l : loads) l->stop();
  ASSERT_EQ(b.exit_code, 0) << b.out;
  const std::string id = b.summary.value("backup_id", "");
  ASSERT_FALSE(id.empty());
  if (!loads.empty()) {
    EXPECT_LT(before, after) << "the load ran during the backup";
  }
  const double t_backup = monotonic_seconds();

  // The disaster: the project with its volumes, its working dir (config files, bind
  // mounts) and the data dir (catalog, key) are gone.
  auto down = s.compose("down -v");
  ASSERT_EQ(down.exit_code, 0) << down.output;
  ASSERT_TRUE(run_script("docker volume ls -q --filter label=com.docker.compose.project=" + s.project()).output.empty());
  fs::remove_all(s.work_dir());
  fs::remove_all(bed.data_dir());
  ASSERT_FALSE(fs::exists(bed.data_dir()));

  // A fresh data dir with the key (kept elsewhere by the user) and the same target.
  const std::string fresh = s.root() + "/fresh-data";
  ASSERT_TRUE(fs::create_directories(fresh));
  {
    std::ofstream k(fresh + "/key");
    k << key_text;
  }
  ::chmod((fresh + "/key").c_str(), 0600);
  auto add = run_stacksnap(fresh, "target add local local --path " + store);
  ASSERT_EQ(add.exit_code, 0) << describe(add);
  // Plain `backups` on the empty catalog reads every target (what a user types first).
  auto list = run_stacksnap(fresh, "backups --json");
  ASSERT_EQ(list.exit_code, 0) << describe(list);
  const Json listed = Json::parse(list.out, nullptr, false);
  EXPECT_NE(list.err.find("read target local: 1 backup(s) added"), std::string::npos) << list.err;
  ASSERT_TRUE(listed.is_array()) << listed.dump();
  ASSERT_EQ(listed.size(), 1u) << listed.dump();
  EXPECT_EQ(listed[0]["id"], id);
  const Json dumps = listed[0]["summary"].value("dumps", Json::object());

  auto r = run_stacksnap(fresh, "restore " + id + " --json");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const double t_restore = monotonic_seconds();
  EXPECT_EQ(r.summary["result"], "succeeded");
  EXPECT_EQ(r.summary["mode"], "in-place");
  EXPECT_EQ(r.summary["working_dir"], s.work_dir());
  EXPECT_EQ(r.summary["row_count_differences"], 0) << r.summary.dump();
  EXPECT_TRUE(r.summary["problems"].empty()) << r.summary.dump();
  for (const auto& db : r.summary["databases"]) EXPECT_EQ(db["rows_match"], true) << db.dump();

  // The stack runs.
  auto running = run_script("docker ps -q --filter label=com.docker.compose.project=" + s.project() +
                            " --filter status=running");
  EXPECT_EQ(lines_of(running.output).size(), c.services) << s.compose("ps").output;

  // Databases: the dump's snapshot, taken inside the load window, transfers whole.
  if (shop) {
    const std::string db = s.container("db");
    EXPECT_EQ(exec_in(db, "psql -U shop -d shop -tAc 'SELECT sum(balance), count(*) FROM accounts'").output, "100000|100");
    const int64_t orders = count(db);
    EXPECT_EQ(orders, dumps["db"]["databases"]["shop"]["tables"].value("public.orders", int64_t{-2})) << dumps.dump();
    EXPECT_GE(orders, before);
    EXPECT_LE(orders, after);
    EXPECT_GT(orders, 5000) << "rows written by the load before the dump are there, not a fresh initdb";
    const std::string cache = s.container("cache");
    EXPECT_EQ(exec_in(cache, "redis-cli --scan | sort", kRedisAuth).output, redis_keys);
    auto ab = exec_in(cache, "redis-cli MGET acct:a acct:b", kRedisAuth);
    auto v = lines_of(ab.output);
    ASSERT_EQ(v.size(), 2u) << ab.output;
    EXPECT_EQ(to_int(v[0]) + to_int(v[1]), 2000) << ab.output;
    EXPECT_NE(to_int(v[0]), 1000) << "the MULTI/EXEC load ran before the snapshot";
    EXPECT_EQ(exec_in(cache, "redis-cli GET 'it:with space'; redis-cli HGET it:hash f2; redis-cli LRANGE it:list 0 -1",
                      kRedisAuth).output,
              "v2\nb\nx\ny\nz");
  } else if (wiki) {
    const std::string db = s.container("mariadb");
    EXPECT_EQ(exec_in(db, "mariadb -uroot -N -e 'SELECT SUM(balance), COUNT(*) FROM wiki.accounts'", kMariaAuth).output,
              "100000\t100");
    const int64_t pages = count(db);
    EXPECT_EQ(pages, dumps["mariadb"]["databases"]["wiki"]["tables"].value("pages", int64_t{-2})) << dumps.dump();
    EXPECT_GE(pages, before);
    EXPECT_LE(pages, after);
    EXPECT_GT(pages, 3000);
    EXPECT_EQ(exec_in(db, "mariadb -uroot -N -e 'SHOW TRIGGERS FROM wiki' | cut -f1", kMariaAuth).output, "pages_title");
  }

  // Files of volumes and bind mounts, config files: content, owner, mode, mtime, links.
  for (const auto& m : c.mounts) {
    auto t = tree(where(m), path_of(m), m.ignore);
    ASSERT_TRUE(t.ok()) << t.error().message();
    EXPECT_EQ(tree_diff(trees[m.service + ":" + m.path], *t), "") << (m.service.empty() ? "host" : m.service) << ":"
                                                                   << path_of(m);
  }
  std::fprintf(stderr, "[disaster_test] %s: up %.1f s, backup under load %.1f s, down+restore %.1f s, total %.1f s\n",
               c.stack.c_str(), t_up - t0, t_backup - t_up, t_restore - t_backup, monotonic_seconds() - t0);
}

INSTANTIATE_TEST_SUITE_P(
    SampleStacks, Disaster,
    ::testing::Values(
        // The pre-backup hook's marker is in the backup (written before the capture, removed after).
        DisasterCase{"shop", 3,
                     {{"web", "/srv/data", {"/srv/data/.maintenance"}},
                      {"", "uploads", {}},
                      {"", "initdb", {}},
                      {"", "docker-compose.yml", {}},
                      {"", "docker-compose.override.yml", {}},
                      {"", ".env", {}},
                      {"", "app.env", {}}}},
        DisasterCase{"wiki", 2,
                     {{"app", "/var/www/images", {}},
                      {"", "initdb", {}},
                      {"", "secrets/root_pw", {}},
                      {"", "docker-compose.yml", {}},
                      {"", ".env", {}}}},
        DisasterCase{"files", 1, {{"worker", "/archive", {}}, {"", "docker-compose.yml", {}}, {"", ".env", {}}}}),
    [](const ::testing::TestParamInfo<DisasterCase>& i) { return i.param.stack; });

// ---- a drill of a backup with a broken dump ---------------------------------------------

TEST(BrokenDumpDrill, FailsNamingTheDumpAndLeavesNothingBehind) {
  STACKSNAP_REQUIRE_ENGINE(d);
  const double t0 = monotonic_seconds();
  auto made = OwnStack::up("shop");
  ASSERT_TRUE(made.ok()) << made.error().message();
  const OwnStack& s = **made;
  auto bed_r = BackupBed::create(s.root());
  ASSERT_TRUE(bed_r.ok()) << bed_r.error().message();
  auto& bed = **bed_r;
  auto b = bed.backup(s.project());
  ASSERT_EQ(b.exit_code, 0) << b.out;
  const std::string id = b.summary.value("backup_id", "");

  auto broken = store_with_broken_dump(bed, id, "dumps/db/shop.pgdump");
  ASSERT_TRUE(broken.ok()) << broken.error().message();
  // The catalog learns it from the target, and it authenticates whole with the key.
  auto list = bed.run("backups --target local --json");
  ASSERT_EQ(list.exit_code, 0) << list.out;
  ASSERT_EQ(list.events.size(), 1u) << list.out;
  EXPECT_EQ(list.events[0]["rebuild"]["added_backups"], Json::array({*broken})) << list.out;
  auto v = bed.run("verify " + *broken);
  ASSERT_EQ(v.exit_code, 0) << "the broken backup is sealed with the right key and verifies:\n" << v.out;

  const double t_drill = monotonic_seconds();
  auto r = run_stacksnap(bed.data_dir(), "drill " + *broken + " --json");
  const double drill_s = monotonic_seconds() - t_drill;
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.summary.value("result", ""), "failed") << describe(r);
  // The reason names the service, the database and the tool that refused the dump.
  const std::string msg = r.message();
  EXPECT_TRUE(contains(msg, "dump of db")) << msg;
  EXPECT_TRUE(contains(msg, "pg_restore of shop")) << msg;
  EXPECT_FALSE(contains(msg, "applied before the failure")) << "the sandbox is torn down: " << msg;
  Json result;
  for (const auto& e : r.events) {
    if (e.value("type", "") == "drill_result") result = e;
  }
  ASSERT_FALSE(result.is_null()) << describe(r);
  EXPECT_EQ(result["result"], "failed");
  ASSERT_FALSE(result["problems"].empty());
  EXPECT_TRUE(contains(result["problems"][0].get<std::string>(), "pg_restore of shop")) << result.dump();

  // Nothing of the drill is left: containers, volumes, networks, the sandbox dir, the spool.
  const std::string drill = result.value("drill_project", "");
  ASSERT_EQ(drill.rfind("drill-", 0), 0u) << result.dump();
  EXPECT_EQ(run_script("docker ps -a --format '{{.Names}}' | grep -F -- " + drill).output, "");
  EXPECT_EQ(run_script("docker ps -aq --filter label=com.docker.compose.project=" + drill).output, "");
  EXPECT_EQ(run_script("docker volume ls -q | grep -F -- " + drill).output, "");
  EXPECT_EQ(run_script("docker network ls --format '{{.Name}}' | grep -F -- " + drill).output, "");
  EXPECT_TRUE(fs::is_empty(bed.data_dir() + "/drills"));
  EXPECT_EQ(run_script("ls -A " + bed.data_dir() + "/spool").output, "");

  // The catalog records the failed drill with the broken backup, and only with it.
  auto after = run_stacksnap(bed.data_dir(), "backups --json");
  ASSERT_EQ(after.exit_code, 0) << describe(after);
  auto arr = Json::parse(after.out, nullptr, false);
  ASSERT_TRUE(arr.is_array()) << after.out;
  std::map<std::string, std::string> drills;
  for (const auto& e : arr) drills[e["id"]] = e.value("drill_result", "");
  EXPECT_EQ(drills[*broken], "failed") << arr.dump();
  EXPECT_EQ(drills[id], "") << arr.dump();

  // The original project was never touched.
  EXPECT_EQ(lines_of(run_script("docker ps -q --filter label=com.docker.compose.project=" + s.project() +
                                " --filter status=running")
                         .output)
                .size(),
            3u);
  std::fprintf(stderr, "[disaster_test] broken-dump drill: %.1f s (whole test %.1f s); reason: %s\n", drill_s,
               monotonic_seconds() - t0, r.summary.value("message", "").c_str());
}

}  // namespace
}  // namespace stacksnap::it
