// Upgrades keep the data: the data dir written by the previous release (catalog schema v2,
// tests/fixtures/datadir-v2, made with the binary of commit d2230a1; its README says how)
// is opened by this build. Its catalog is migrated forward on the first command, with the
// old file kept beside it; the backup lists, verifies and restores (a Redis dump, a named
// volume, a bind mount, owners and modes); the schedule, the retention policy, the admin
// password and the job history are still there, also through the new server. A catalog
// newer than this build is refused with a clear error and left byte for byte as it was.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "backup_support.h"
#include "base/build_info.h"
#include "base/fd.h"
#include "base/temp_dir.h"
#include "catalog/catalog.h"
#include "catalog/catalog_admin.h"
#include "integration/server_process.h"
#include "test_env.h"

namespace stacksnap::it {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFixtureBackup = "20261206T203241Z-5f5e6e14";
constexpr const char* kFixtureProject = "ss20-tiny";
constexpr const char* kFixturePassword = "fixture-password-2";

int64_t user_version(const std::string& db_path) {
  auto db = catalog::Db::open(db_path);
  if (!db.ok()) return -1;
  auto s = (*db)->prepare("PRAGMA user_version");
  if (!s.ok() || !s->step().ok()) return -1;
  return s->col_int(0);
}

// A copy of the fixture as a user's machine has it: the data dir 0700, its files 0600 (git
// keeps no modes), the local target moved to `root`/target (the catalog told so, as after
// moving a backup disk: the only change made to the old file).
Status install_fixture(const std::string& root) {
  const std::string data = root + "/data", target = root + "/target";
  std::error_code ec;
  fs::copy(source_path("tests/fixtures/datadir-v2/data"), data, fs::copy_options::recursive, ec);
  if (!ec) fs::copy(source_path("tests/fixtures/datadir-v2/target"), target, fs::copy_options::recursive, ec);
  if (ec) return internal_error("copy the fixture: " + ec.message());
  ::chmod(data.c_str(), 0700);
  for (const auto& e : fs::directory_iterator(data)) ::chmod(e.path().c_str(), 0600);
  auto db = TRY(catalog::Db::open(data + "/state.db"));
  auto s = TRY(db->prepare("UPDATE targets SET config = json_set(config, '$.path', ?) WHERE name = 'local'"));
  s.bind(1, target);
  TRY(s.exec());
  return {};
}

// Containers, volumes and networks of a Compose project (what a copy restore made).
void remove_project(const std::string& project) {
  const std::string label = "label=com.docker.compose.project=" + project;
  run_script("ids=$(docker ps -aq --filter " + label + "); [ -n \"$ids\" ] && docker rm -f $ids >/dev/null; "
             "vols=$(docker volume ls -q --filter " + label + "); [ -n \"$vols\" ] && docker volume rm -f $vols >/dev/null; "
             "nets=$(docker network ls -q --filter " + label + "); [ -n \"$nets\" ] && docker network rm $nets >/dev/null; true");
}

std::string exec_out(const std::string& container, const std::string& command) {
  auto r = run_script("docker exec " + container + " sh -c '" + command + "'");
  while (!r.output.empty() && r.output.back() == '\n') r.output.pop_back();
  return r.output;
}

TEST(Upgrade, PreviousReleaseDataDirMigratesListsVerifiesAndRestores) {
  STACKSNAP_REQUIRE_ENGINE(docker);
  ASSERT_TRUE(ensure_fixture_images().ok());
  auto root = TempDir::create("/var/tmp", "stacksnap-it-upgrade-");
  ASSERT_TRUE(root.ok());
  ASSERT_TRUE(install_fixture(root->path()).ok());
  const std::string data = root->path() + "/data", db_path = data + "/state.db";
  ASSERT_EQ(user_version(db_path), 2) << "the fixture is the schema v2 data dir";

  // The first command of the new build migrates, keeping the old file.
  CliRun list = run_stacksnap(data, "backups --json");
  ASSERT_EQ(list.exit_code, 0) << list.out << list.err;
  auto backups = nlohmann::json::parse(list.out, nullptr, false);
  ASSERT_TRUE(backups.is_array() && backups.size() == 1) << list.out;
  EXPECT_EQ(backups[0]["id"], kFixtureBackup);
  EXPECT_EQ(backups[0]["project"], kFixtureProject);
  ASSERT_EQ(backups[0]["copies"].size(), 1u);
  EXPECT_EQ(backups[0]["copies"][0]["target"], "local");
  EXPECT_EQ(user_version(db_path), catalog::schema_version());
  const std::string kept = db_path + ".schema-2.bak";
  EXPECT_EQ(user_version(kept), 2);
  struct stat st {};
  ASSERT_EQ(::stat(kept.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // What the appliance had besides backups.
  {
    auto cat = catalog::Catalog::open(db_path);
    ASSERT_TRUE(cat.ok()) << cat.error().message();
    EXPECT_FALSE((*cat)->schema().migrated()) << "migrated once, by the first command";
    auto schedule = catalog::get_schedule(**cat, kFixtureProject);
    ASSERT_TRUE(schedule.ok() && schedule->has_value());
    EXPECT_EQ((*schedule)->cron, "0 3 * * *");
    EXPECT_EQ((*schedule)->timezone, "Europe/Berlin");
    EXPECT_EQ((*schedule)->jitter_s, 60);
    auto retention = catalog::list_retention(**cat, kFixtureProject);
    ASSERT_TRUE(retention.ok());
    ASSERT_EQ(retention->size(), 1u);
    EXPECT_EQ((*retention)[0].policy.value("keep_last", 0), 5);
    auto jobs = catalog::find_jobs(**cat, {.project = kFixtureProject});
    ASSERT_TRUE(jobs.ok());
    ASSERT_FALSE(jobs->empty());
    EXPECT_EQ(jobs->back().kind, "backup");
    EXPECT_EQ(jobs->back().state, catalog::JobState::kSucceeded);
  }

  CliRun verify = run_stacksnap(data, std::string("verify ") + kFixtureBackup);
  ASSERT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  // The old archive restores beside everything else.
  const std::string project = stack_project("upgrade-" + std::to_string(::getpid()));
  remove_project(project);
  CliRun restore = run_stacksnap(data, std::string("restore ") + kFixtureBackup + " --as " + project + " --to " +
                                           root->path() + "/restored --json");
  struct Cleanup {
    std::string project;
    ~Cleanup() { remove_project(project); }
  } cleanup{project};
  ASSERT_EQ(restore.exit_code, 0) << restore.message();
  const std::string app = container_of(project, "app"), cache = container_of(project, "cache");
  ASSERT_FALSE(app.empty());
  ASSERT_FALSE(cache.empty());
  EXPECT_EQ(exec_out(app, "cat /srv/notes/hello.txt"), "written by the release before schema v3");
  EXPECT_EQ(exec_out(app, "stat -c \"%u %a\" /srv/notes/list.txt; wc -l < /srv/notes/list.txt"), "999 640\n50");
  EXPECT_EQ(exec_out(app, "cat /srv/files/readme.txt"), "bind mount content");
  EXPECT_EQ(exec_out(cache, "redis-cli mget fixture:a fixture:b fixture:c"), "1\ntwo\nthree");

  // The new server over the migrated data dir: build identity, the old password, the
  // schedule, and the doctor.
  ServerProcess server(data, root->path() + "/serve.log");
  uint16_t port = server.start();
  ASSERT_NE(port, 0) << server.log();
  Api api{.port = port};
  Reply health = call({.url = api.url("/api/health")});
  ASSERT_EQ(health.status, 200);
  EXPECT_EQ(health.json()["status"], "ok");
  EXPECT_EQ(health.json()["version"], std::string(build_info().version));
  EXPECT_EQ(health.json()["commit"], std::string(build_info().commit));
  EXPECT_EQ(health.json()["build_date"], std::string(build_info().date));
  ASSERT_TRUE(api.login(kFixturePassword)) << "the admin password set with the previous release";
  Reply schedule = api.req("GET", std::string("/api/projects/") + kFixtureProject + "/schedule");
  ASSERT_EQ(schedule.status, 200) << schedule.body;
  EXPECT_EQ(schedule.json()["cron"], "0 3 * * *");
  Reply doctor = api.req("GET", "/api/doctor");
  ASSERT_EQ(doctor.status, 200) << doctor.body;
  const nlohmann::json report = doctor.json();
  std::map<std::string, std::string> states;
  for (const auto& c : report["checks"]) states[c["id"].get<std::string>()] = c["state"].get<std::string>();
  EXPECT_EQ(states["engine"], "ok") << doctor.body;
  EXPECT_EQ(states["key"], "ok") << doctor.body;
  EXPECT_EQ(states["target:local"], "ok") << doctor.body;
  EXPECT_EQ(states["data-dir"], "ok") << doctor.body;
  EXPECT_EQ(report["version"], std::string(build_info().version));
  EXPECT_EQ(call({.url = api.url("/api/doctor")}).status, 401) << "the doctor is for signed-in users";
  EXPECT_EQ(server.stop(), 0);
}

TEST(Upgrade, NewerSchemaIsRefusedAndLeftAlone) {
  auto root = TempDir::create("/var/tmp", "stacksnap-it-downgrade-");
  ASSERT_TRUE(root.ok());
  ASSERT_TRUE(install_fixture(root->path()).ok());
  const std::string data = root->path() + "/data", db_path = data + "/state.db";
  {
    auto db = catalog::Db::open(db_path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->exec("PRAGMA user_version = " + std::to_string(catalog::schema_version() + 1)).ok());
    ASSERT_TRUE((*db)->exec("PRAGMA wal_checkpoint(TRUNCATE)").ok());
  }
  auto before = read_small_file(db_path);
  ASSERT_TRUE(before.ok());
  for (const char* command : {"backups", "doctor"}) {
    CliRun r = run_stacksnap(data, command);
    EXPECT_EQ(r.exit_code, 5) << command << ": " << r.out << r.err;
    EXPECT_TRUE(contains(r.out + r.err, "newer than this stacksnap understands")) << command << ": " << r.out << r.err;
  }
  ServerProcess server(data, root->path() + "/serve.log");
  EXPECT_EQ(server.start(), 0) << "the server must not start on a newer catalog";
  EXPECT_TRUE(contains(server.log(), "newer than this stacksnap understands")) << server.log();
  auto after = read_small_file(db_path);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(*before == *after) << "the newer catalog was changed";
  EXPECT_FALSE(fs::exists(db_path + ".schema-" + std::to_string(catalog::schema_version() + 1) + ".bak"));
}

}  // namespace
}  // namespace stacksnap::it
