// Backups of the sample stacks through the CLI, against the real Engine: contents,
// verification, secrets, consistency under write load.
#include <gtest/gtest.h>
#include <dirent.h>
#include <sys/stat.h>
#include <algorithm>
#include <sstream>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include "backup_support.h"

namespace stacksnap::it {
namespace {

const char* kSecrets[] = {"shop-secret-pw-4711", "redis-secret-pw-0815", "wiki-root-pw-5678", "wiki-user-pw-1234"};

std::unique_ptr<BackupBed> make_bed() {
  auto bed = BackupBed::create();
  EXPECT_TRUE(bed.ok()) << (bed.ok() ? "" : bed.error().message());
  return bed.ok() ? std::move(*bed) : nullptr;
}

std::string backup_id_of(const CliRun& r) {
  if (r.summary.is_null()) return "";
  return r.summary.value("backup_id", "");
}

void expect_no_secret(const std::string& where, const std::string& text) {
  for (const char* s : kSecrets) EXPECT_FALSE(contains(text, s)) << "secret " << s << " found in " << where;
}

TEST(Backup, ShopHasDumpsVolumesBindsConfigAndVerifies) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_sample_stacks().ok());
  auto bed = make_bed();
  ASSERT_TRUE(bed);
  const std::string shop = stack_project("shop"), shop_dir = stack_dir(shop);
  auto r = bed->backup(shop);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_EQ(r.summary.value("result", ""), "succeeded") << r.out;
  std::string id = backup_id_of(r);
  ASSERT_FALSE(id.empty());
  EXPECT_GT(r.summary.value("stored_bytes", 0), 0);

  // Every step reported, and the same event vocabulary the server streams.
  std::set<std::string> steps, types;
  for (const auto& e : r.events) {
    types.insert(e.value("type", ""));
    if (e.value("type", "") == "step_finished") steps.insert(e.value("step", ""));
  }
  for (const std::string& s : std::vector<std::string>{"plan", "dump.db", "dump.cache", "volume." + shop + "_appdata",
                                                       "config", "seal", "verify", "upload.local"}) {
    EXPECT_TRUE(steps.count(s)) << "missing step " << s << " in " << r.out;
  }
  EXPECT_TRUE(types.count("progress"));

  // Deep and shallow verification by ID.
  auto v = bed->run("verify " + id);
  EXPECT_EQ(v.exit_code, 0) << v.out;
  v = bed->run("verify " + id + " --shallow");
  EXPECT_EQ(v.exit_code, 0) << v.out;
  auto list = bed->run("backups --json");
  ASSERT_EQ(list.exit_code, 0) << list.out;
  auto arr = nlohmann::json::parse(list.out);
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(arr[0]["id"], id);
  EXPECT_EQ(arr[0]["verify_result"], "ok");

  // The archive's contents.
  auto dir = bed->extract(id);
  ASSERT_TRUE(dir.ok()) << dir.error().message();
  EXPECT_EQ(::access((*dir + "/dumps/db/globals.sql").c_str(), F_OK), 0);
  EXPECT_EQ(::access((*dir + "/dumps/db/shop.pgdump").c_str(), F_OK), 0);
  EXPECT_EQ(::access((*dir + "/dumps/cache/dump.rdb").c_str(), F_OK), 0);
  {
    const std::string appdata = *dir + "/volumes/" + shop + "_appdata";
    std::string orders = read_text(appdata + "/reports/orders.txt");
    EXPECT_EQ(std::count(orders.begin(), orders.end(), '\n'), 2000) << "orders.txt has the seeded 2000 lines";
    EXPECT_EQ(orders.substr(0, 13), "order line 1\n");
    struct stat st {};
    ASSERT_EQ(::lstat((appdata + "/reports/orders.txt").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 999u);
    EXPECT_EQ(st.st_mode & 0777, 0640u);
    ASSERT_EQ(::lstat((appdata + "/latest").c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
  }
  EXPECT_EQ(::access((*dir + "/volumes/" + shop + "_dbdata").c_str(), F_OK), -1) << "a dumped database's data volume is skipped";
  std::string readme;
  for (int i = 0; i < 8 && readme.empty(); ++i) {
    readme = read_text(*dir + "/binds/" + std::to_string(i) + "/images/readme.txt");
  }
  EXPECT_EQ(readme, "hello from shop\n");
  EXPECT_EQ(read_text(*dir + "/config" + shop_dir + "/docker-compose.yml"), read_text(shop_dir + "/docker-compose.yml"));
  EXPECT_FALSE(read_text(*dir + "/config" + shop_dir + "/.env").empty());
  EXPECT_FALSE(read_text(*dir + "/config" + shop_dir + "/app.env").empty());

  // Row counts in the manifest, for drills.
  auto manifest = nlohmann::json::parse(read_text(*dir + "/stacksnap/manifest.json"));
  auto counts = manifest["dumps"]["db"]["databases"]["shop"]["tables"];
  EXPECT_EQ(counts["public.accounts"], 100) << manifest["dumps"].dump();
  auto live_orders = run_script("docker exec " + container_of(shop, "db") + " psql -tA -U shop -d shop -c 'SELECT count(*) FROM orders'");
  EXPECT_EQ(counts["public.orders"], std::stoll(live_orders.output)) << "no writes ran: the count is the live one";
  EXPECT_EQ(manifest["dumps"]["db"]["engine"], "postgres");
  EXPECT_EQ(manifest["dumps"]["cache"]["engine"], "redis");

  // No secret in the plan, the manifest, the events or the job log in the state db.
  expect_no_secret("plan.json", read_text(*dir + "/stacksnap/plan.json"));
  std::string head = read_text(*dir + "/stacksnap/manifest.json");
  expect_no_secret("manifest.json", head);
  expect_no_secret("--json events", r.out);
  auto db = run_script("sqlite3 " + bed->data_dir() + "/state.db 'SELECT data FROM job_events' ");
  ASSERT_EQ(db.exit_code, 0) << db.output;
  EXPECT_TRUE(contains(db.output, "dump.db"));
  expect_no_secret("job_events", db.output);

  // Nothing left in the spool.
  auto spool = run_script("ls -A " + bed->data_dir() + "/spool");
  EXPECT_EQ(spool.output, "");
}

TEST(Backup, WikiAndFilesBackUpAndVerify) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_sample_stacks().ok());
  auto bed = make_bed();
  ASSERT_TRUE(bed);
  const std::string wiki_name = stack_project("wiki"), files_name = stack_project("files");
  auto wiki = bed->backup(wiki_name);
  ASSERT_EQ(wiki.exit_code, 0) << wiki.out;
  auto files = bed->backup(files_name);
  ASSERT_EQ(files.exit_code, 0) << files.out;
  for (const auto* r : {&wiki, &files}) {
    std::string id = backup_id_of(*r);
    auto v = bed->run("verify " + id);
    EXPECT_EQ(v.exit_code, 0) << v.out;
  }
  auto dir = bed->extract(backup_id_of(wiki));
  ASSERT_TRUE(dir.ok());
  auto manifest = nlohmann::json::parse(read_text(*dir + "/stacksnap/manifest.json"));
  EXPECT_EQ(manifest["dumps"]["mariadb"]["databases"]["wiki"]["tables"]["accounts"], 100) << manifest["dumps"].dump();
  auto live_pages = run_script("docker exec -e MYSQL_PWD=wiki-root-pw-5678 " + container_of(wiki_name, "mariadb") + " mariadb -uroot -N -e 'SELECT COUNT(*) FROM wiki.pages'");
  EXPECT_EQ(manifest["dumps"]["mariadb"]["databases"]["wiki"]["tables"]["pages"], std::stoll(live_pages.output));
  std::string sql = read_text(*dir + "/dumps/mariadb/all-databases.sql");
  EXPECT_TRUE(contains(sql, "CREATE TRIGGER")) << "triggers are dumped";
  EXPECT_TRUE(contains(sql, "page_count")) << "routines are dumped";
  expect_no_secret("wiki plan", read_text(*dir + "/stacksnap/plan.json"));
  expect_no_secret("wiki events", wiki.out);

  auto fdir = bed->extract(backup_id_of(files));
  ASSERT_TRUE(fdir.ok());
  const std::string archive = *fdir + "/volumes/" + files_name + "-archive";
  EXPECT_EQ(read_text(archive + "/2026/11/grüße-✓.txt"), "unicode name\n");
  EXPECT_EQ(::access((*fdir + "/volumes/" + files_name + "_scratch").c_str(), F_OK), -1) << "excluded by label";
  struct stat st {};
  ASSERT_EQ(::lstat((archive + "/sparse.img").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 50 * 1024 * 1024 + 4);
  EXPECT_LT(st.st_blocks * 512, 4 * 1024 * 1024) << "sparse files stay sparse";
  ASSERT_EQ(::lstat((archive + "/2026").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04750u);
}

TEST(Backup, SecondBackupOfTheSameProjectFailsAtOnce) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_sample_stacks().ok());
  auto bed = make_bed();
  ASSERT_TRUE(bed);
  // Hold the project lock as a running backup would.
  auto lockdir = bed->data_dir() + "/locks";
  ::mkdir(lockdir.c_str(), 0700);
  const std::string shop = stack_project("shop");
  auto holder = run_script("flock -n " + lockdir + "/" + shop + ".lock sleep 20 >/dev/null 2>&1 & echo $!");
  ::usleep(300 * 1000);
  auto r = bed->backup(shop);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.out, "a backup of " + shop + " is already running")) << r.out;
  run_script("kill " + holder.output);
}

TEST(Backup, BadInputIsNamed) {
  STACKSNAP_REQUIRE_ENGINE(d);
  auto bed = make_bed();
  ASSERT_TRUE(bed);
  auto r = bed->backup("no-such-project");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_TRUE(contains(r.out, "no-such-project")) << r.out;
  r = bed->backup(stack_project("shop"), "--target nowhere");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_TRUE(contains(r.out, "unknown storage target \"nowhere\"")) << r.out;
}

// Transfers between accounts run in a tight loop while the backup runs; the dump,
// restored into a fresh server, still sums to the invariant, and the manifest's row
// counts are those of the dump.
TEST(BackupConsistency, PostgresUnderWriteLoad) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_sample_stacks().ok());
  auto bed = make_bed();
  ASSERT_TRUE(bed);
  const std::string shop = stack_project("shop");
  const std::string db = container_of(shop, "db");
  run_script("docker exec " + db + " rm -f /tmp/stop-load");
  auto load = run_script(
      "docker exec -d " + db + " sh -c 'while [ ! -f /tmp/stop-load ]; do echo \"BEGIN; "
      "WITH a AS (SELECT (1+floor(random()*100))::int AS x, (1+floor(random()*100))::int AS y) "
      "UPDATE accounts SET balance = balance - (CASE WHEN id = a.x THEN 7 ELSE 0 END) + (CASE WHEN id = a.y THEN 7 ELSE 0 END) "
      "FROM a WHERE id IN (a.x, a.y); INSERT INTO orders (account, amount, note) VALUES (1, 7, \\$\\$load\\$\\$); COMMIT;\"; "
      "done | psql -q -U shop -d shop >/dev/null 2>&1'");
  ASSERT_EQ(load.exit_code, 0) << load.output;
  ::sleep(2);
  auto before = run_script("docker exec " + db + " psql -tA -U shop -d shop -c \"SELECT count(*) FROM orders\"");
  auto r = bed->backup(shop);
  ::sleep(1);
  auto after = run_script("docker exec " + db + " psql -tA -U shop -d shop -c \"SELECT count(*) FROM orders\"");
  run_script("docker exec " + db + " touch /tmp/stop-load");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_LT(std::stoll(before.output), std::stoll(after.output)) << "the load was running";

  auto dir = bed->extract(backup_id_of(r));
  ASSERT_TRUE(dir.ok());
  auto manifest = nlohmann::json::parse(read_text(*dir + "/stacksnap/manifest.json"));
  int64_t orders_in_manifest = manifest["dumps"]["db"]["databases"]["shop"]["tables"]["public.orders"];

  // A fresh server from the same image; the dump restored into it.
  std::string name = unique_name("pgcheck");
  auto start = run_script("docker run -d --name " + name + " --label " + kTestLabel +
                          " -e POSTGRES_USER=check -e POSTGRES_PASSWORD=check-pw stacksnap-fixture/postgres:test");
  ASSERT_EQ(start.exit_code, 0) << start.output;
  auto ready = run_script("for i in $(seq 1 120); do docker exec " + name +
                          " env PGPASSWORD=check-pw psql -h 127.0.0.1 -U check -d postgres -c 'select 1' >/dev/null 2>&1 && exit 0; sleep 0.5; done; exit 1");
  ASSERT_EQ(ready.exit_code, 0);
  auto cp = run_script("docker cp " + *dir + "/dumps/db/shop.pgdump " + name + ":/tmp/shop.pgdump && docker exec " +
                       name + " pg_restore -U check -d postgres --create --no-owner --no-acl /tmp/shop.pgdump");
  EXPECT_EQ(cp.exit_code, 0) << cp.output;
  auto sum = run_script("docker exec " + name + " psql -tA -U check -d shop -c \"SELECT sum(balance), count(*) FROM accounts\"");
  EXPECT_EQ(sum.output, "100000|100\n");
  auto orders = run_script("docker exec " + name + " psql -tA -U check -d shop -c \"SELECT count(*) FROM orders\"");
  EXPECT_EQ(std::stoll(orders.output), orders_in_manifest) << "manifest counts describe the dump itself";
  run_script("docker rm -f " + name + " >/dev/null");
}

TEST(BackupConsistency, MariadbUnderWriteLoad) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_sample_stacks().ok());
  auto bed = make_bed();
  ASSERT_TRUE(bed);
  const std::string wiki = stack_project("wiki");
  const std::string db = container_of(wiki, "mariadb");
  run_script("docker exec " + db + " rm -f /tmp/stop-load");
  auto load = run_script(
      "docker exec -d -e MYSQL_PWD=wiki-root-pw-5678 " + db + " sh -c 'while [ ! -f /tmp/stop-load ]; do "
      "echo \"START TRANSACTION; SET @x = 1 + FLOOR(RAND()*100); SET @y = 1 + FLOOR(RAND()*100); "
      "UPDATE accounts SET balance = balance - 7 WHERE id = @x; UPDATE accounts SET balance = balance + 7 WHERE id = @y; "
      "INSERT INTO pages (title, body) VALUES (\\\"load\\\", \\\"x\\\"); COMMIT;\"; done | mariadb -uroot wiki >/dev/null 2>&1'");
  ASSERT_EQ(load.exit_code, 0) << load.output;
  ::sleep(2);
  auto r = bed->backup(wiki);
  run_script("docker exec " + db + " touch /tmp/stop-load");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto dir = bed->extract(backup_id_of(r));
  ASSERT_TRUE(dir.ok());
  auto manifest = nlohmann::json::parse(read_text(*dir + "/stacksnap/manifest.json"));
  int64_t pages_in_manifest = manifest["dumps"]["mariadb"]["databases"]["wiki"]["tables"]["pages"];
  EXPECT_GT(pages_in_manifest, 3000) << "the load inserted pages before the dump";

  std::string name = unique_name("mycheck");
  auto start = run_script("docker run -d --name " + name + " --label " + kTestLabel +
                          " -e MARIADB_ROOT_PASSWORD=check-pw stacksnap-fixture/mariadb:test");
  ASSERT_EQ(start.exit_code, 0) << start.output;
  auto ready = run_script("for i in $(seq 1 120); do docker exec -e MYSQL_PWD=check-pw " + name +
                          " mariadb -h 127.0.0.1 -uroot -e 'select 1' >/dev/null 2>&1 && exit 0; sleep 0.5; done; exit 1");
  ASSERT_EQ(ready.exit_code, 0);
  auto cp = run_script("docker cp " + *dir + "/dumps/mariadb/all-databases.sql " + name + ":/tmp/all.sql && docker exec -e MYSQL_PWD=check-pw " +
                       name + " sh -c 'mariadb -h 127.0.0.1 -uroot < /tmp/all.sql'");
  EXPECT_EQ(cp.exit_code, 0) << cp.output;
  auto q = run_script("docker exec -e MYSQL_PWD=check-pw " + name +
                      " mariadb -h 127.0.0.1 -uroot -pwiki-root-pw-5678 -N -e 'SELECT SUM(balance), COUNT(*) FROM wiki.accounts; SELECT COUNT(*) FROM wiki.pages'");
  EXPECT_EQ(q.output, "100000\t100\n" + std::to_string(pages_in_manifest) + "\n");
  run_script("docker rm -f " + name + " >/dev/null");
}

TEST(BackupConsistency, RedisMultiExecUnderWriteLoad) {
  STACKSNAP_REQUIRE_ENGINE(d);
  ASSERT_TRUE(ensure_sample_stacks().ok());
  auto bed = make_bed();
  ASSERT_TRUE(bed);
  const std::string shop = stack_project("shop");
  const std::string cache = container_of(shop, "cache");
  auto auth = std::string("-e REDISCLI_AUTH=redis-secret-pw-0815 ");
  run_script("docker exec " + auth + cache + " redis-cli MSET acct:a 1000 acct:b 1000 >/dev/null; docker exec " + cache + " rm -f /tmp/stop-load");
  auto load = run_script("docker exec -d " + auth + cache + " sh -c 'while [ ! -f /tmp/stop-load ]; do "
                         "printf \"MULTI\\nDECRBY acct:a 3\\nINCRBY acct:b 3\\nEXEC\\n\"; done | redis-cli >/dev/null 2>&1'");
  ASSERT_EQ(load.exit_code, 0);
  ::sleep(1);
  auto r = bed->backup(shop);
  run_script("docker exec " + cache + " touch /tmp/stop-load");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto dir = bed->extract(backup_id_of(r));
  ASSERT_TRUE(dir.ok());
  std::string name = unique_name("rdcheck");
  ::chmod((*dir + "/dumps/cache/dump.rdb").c_str(), 0644);  // read by the redis user
  auto start = run_script("docker create --name " + name + " --label " + kTestLabel +
                          " stacksnap-fixture/redis:test && docker cp " + *dir +
                          "/dumps/cache/dump.rdb " + name + ":/data/dump.rdb && docker start " + name);
  ASSERT_EQ(start.exit_code, 0) << start.output;
  auto q = run_script("for i in $(seq 1 60); do docker exec " + name +
                      " redis-cli MGET acct:a acct:b 2>/dev/null | grep -q . && break; sleep 0.5; done; docker exec " + name +
                      " redis-cli MGET acct:a acct:b");
  std::istringstream in(q.output);
  long a = 0, b = 0;
  in >> a >> b;
  EXPECT_EQ(a + b, 2000) << q.output;
  EXPECT_NE(a, 1000) << "the load ran before the snapshot";
  run_script("docker rm -f " + name + " >/dev/null");
}

}  // namespace
}  // namespace stacksnap::it
