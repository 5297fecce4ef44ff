// Restore and drills against the real Engine with the sample stacks, through the CLI
// binary as a user runs it: backup → restore --as (beside the original), restore
// --force over the original, drills of shop and wiki, a tampered archive, a missing
// image.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/damage.h"
#include "common/build_paths.h"
#include "backup_support.h"
#include "test_env.h"

namespace stacksnap::it {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

std::string bin() { return stacksnap::build_paths::binary(); }

// Output of a command inside a container (docker exec), trimmed.
std::string in_container(const std::string& container, const std::string& command) {
  auto r = run_script("docker exec " + container + " sh -c " + sh_quote(command));
  std::string out = r.output;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return r.exit_code == 0 ? out : "<exit " + std::to_string(r.exit_code) + ": " + out + ">";
}

class RestoreTest : public ::testing::Test {
 protected:
  static inline std::string data_dir_;
  // The lane's sample projects ("ssit-shop", …) and their backups.
  static inline std::string shop_, wiki_, files_;
  static inline std::string shop_backup_, wiki_backup_, files_backup_;
  static inline int64_t shop_marker_rows_ = 0;
  static inline bool ready_ = false;

  static CliRun cli(const std::string& args) { return run_stacksnap(data_dir_, args + " --json"); }

  static void SetUpTestSuite() {
    if (!engine() || !ensure_sample_stacks().ok()) return;
    shop_ = stack_project("shop");
    wiki_ = stack_project("wiki");
    files_ = stack_project("files");
    data_dir_ = "/var/tmp/stacksnap-it-restore-" + std::to_string(::getpid());
    fs::remove_all(data_dir_);
    fs::create_directories(data_dir_);
    auto k = run_script(bin() + " --data-dir " + data_dir_ + " key init");
    auto t = run_script(bin() + " --data-dir " + data_dir_ + " target add local t1 --path " + data_dir_ + "/target");
    if (k.exit_code != 0 || t.exit_code != 0) {
      std::fprintf(stderr, "setup failed: %s\n%s\n", k.output.c_str(), t.output.c_str());
      return;
    }
    // Data the fresh initdb of a restored database would not have.
    shop_marker_rows_ = 123;
    in_container(container_of(shop_, "db"), "psql -U shop -d shop -qc \"DELETE FROM orders WHERE note = 'it-marker'; INSERT INTO orders "
                              "(account, amount, note) SELECT 1, g, 'it-marker' FROM generate_series(1,123) g\"");
    in_container(container_of(shop_, "cache"), "REDISCLI_AUTH=redis-secret-pw-0815 redis-cli set it:marker restored-ok");
    auto b = cli("backup " + shop_);
    if (b.exit_code != 0) {
      std::fprintf(stderr, "backup shop failed: %s\n", describe(b).c_str());
      return;
    }
    shop_backup_ = b.summary.value("backup_id", "");
    auto w = cli("backup " + wiki_);
    if (w.exit_code == 0) wiki_backup_ = w.summary.value("backup_id", "");
    else std::fprintf(stderr, "backup wiki failed: %s\n", describe(w).c_str());
    auto fl = cli("backup " + files_);
    if (fl.exit_code == 0) files_backup_ = fl.summary.value("backup_id", "");
    else std::fprintf(stderr, "backup files failed: %s\n", describe(fl).c_str());
    std::fprintf(stderr, "[restore_test] backups: shop %s (%.1f s), wiki %s (%.1f s)\n", shop_backup_.c_str(), b.seconds,
                 wiki_backup_.c_str(), w.seconds);
    ready_ = !shop_backup_.empty();
  }

  static void TearDownTestSuite() {
    if (!data_dir_.empty()) fs::remove_all(data_dir_);
  }

  void SetUp() override {
    STACKSNAP_REQUIRE_ENGINE(d);
    ASSERT_TRUE(ready_) << "suite setup (key, target, backup of shop) failed; see stderr";
  }

  static std::vector<std::string> names_with_prefix(const std::string& what, const std::string& prefix) {
    auto r = run_script("docker " + what + " ls " + (what == "container" ? "-a " : "") + "--format '{{.Name}}' 2>/dev/null || "
                        "docker " + what + " ls -a --format '{{.Names}}'");
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < r.output.size()) {
      size_t nl = r.output.find('\n', pos);
      std::string line = r.output.substr(pos, nl - pos);
      if (line.rfind(prefix, 0) == 0) out.push_back(line);
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }
    return out;
  }
};

std::string container_ids(const std::string& project) {
  return run_script("docker ps -aq --no-trunc --filter label=com.docker.compose.project=" + project + " | sort").output;
}
std::string volume_state(const std::string& project) {
  return run_script("for v in $(docker volume ls -q --filter label=com.docker.compose.project=" + project +
                    " | sort); do docker volume inspect -f '{{.Name}} {{.CreatedAt}}' $v; done")
      .output;
}

TEST_F(RestoreTest, AsNewProjectBesideTheOriginal) {
  const std::string copy = stack_project("shopcopy" + std::to_string(::getpid()));
  const std::string dir = data_dir_ + "/copy";
  const std::string before = container_ids(shop_);
  auto r = cli("restore " + shop_backup_ + " --as " + copy + " --to " + dir);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::fprintf(stderr, "[restore_test] restore --as: %.1f s (job says %lld ms)\n", r.seconds,
               static_cast<long long>(r.summary.value("duration_ms", int64_t{0})));
  EXPECT_EQ(r.summary["result"], "succeeded");
  EXPECT_EQ(r.summary["row_count_differences"], 0) << r.summary.dump();
  EXPECT_TRUE(r.summary["problems"].empty()) << r.summary.dump();
  // t1 is a repository (the default format): its snapshot was checked and applied in
  // place, nothing written to the spool.
  bool in_place = false;
  for (const auto& e : r.events) {
    in_place |= contains(e.value("message", ""), "read in place from the repository on target t1");
  }
  EXPECT_TRUE(in_place) << describe(r);
  EXPECT_EQ(run_script("ls -A " + data_dir_ + "/spool").output, "");

  // The original is untouched.
  EXPECT_EQ(container_ids(shop_), before);

  // Volumes carry exactly Compose's labels.
  auto labels = run_script("docker volume inspect -f '{{json .Labels}}' " + copy + "_appdata");
  ASSERT_EQ(labels.exit_code, 0) << labels.output;
  auto lj = Json::parse(labels.output);
  EXPECT_EQ(lj["com.docker.compose.project"], copy);
  EXPECT_EQ(lj["com.docker.compose.volume"], "appdata");
  EXPECT_FALSE(lj.contains("com.docker.compose.config-hash"));

  // Files, ownership, modes, symlinks, hardlinks in the volume; the bind mount.
  const std::string web = container_of(copy, "web"), db = container_of(copy, "db"), cache = container_of(copy, "cache");
  // Compose names the copy's containers as it names any: project-service-1 (v2), project_service_1 (v1).
  EXPECT_EQ(web, compose_v1_lane() ? copy + "_web_1" : copy + "-web-1");
  EXPECT_EQ(in_container(web, "sha256sum < /srv/data/blob.bin"),
            in_container(container_of(shop_, "web"), "sha256sum < /srv/data/blob.bin"));
  EXPECT_EQ(in_container(web, "stat -c '%u:%g %a' /srv/data/reports/orders.txt"), "999:999 640");
  EXPECT_EQ(in_container(web, "readlink /srv/data/latest"), "reports/orders.txt");
  EXPECT_EQ(in_container(web, "stat -c %i /srv/data/blob.bin"), in_container(web, "stat -c %i /srv/data/blob-hardlink.bin"));
  EXPECT_EQ(in_container(web, "cat /srv/uploads/images/readme.txt"), "hello from shop");
  EXPECT_EQ(in_container(web, "stat -c '%u:%g' /srv/uploads/images/photo.jpg"), "999:999");
  EXPECT_TRUE(fs::exists(dir + "/uploads/images/photo.jpg"));
  EXPECT_TRUE(fs::exists(dir + "/docker-compose.yml"));
  EXPECT_TRUE(fs::exists(dir + "/.env"));
  // The copy's compose and env files hold the stack's secrets: 0600 in a 0700 directory.
  auto mode = [](const std::string& p) { return fs::status(p).permissions() & fs::perms::all; };
  EXPECT_EQ(mode(dir + "/docker-compose.yml"), fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(mode(dir + "/.env"), fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(mode(dir), fs::perms::owner_all);

  // Databases: the dump's rows, not a fresh initdb.
  EXPECT_EQ(in_container(db, "psql -U shop -d shop -tAc \"SELECT count(*) FROM orders WHERE note = 'it-marker'\""),
            std::to_string(shop_marker_rows_));
  EXPECT_EQ(in_container(db, "psql -U shop -d shop -tAc 'SELECT count(*) FROM orders'"),
            in_container(container_of(shop_, "db"), "psql -U shop -d shop -tAc 'SELECT count(*) FROM orders'"));
  EXPECT_EQ(in_container(cache, "REDISCLI_AUTH=redis-secret-pw-0815 redis-cli get it:marker"), "restored-ok");

  // Without --force a second restore under the same name is refused, and changes nothing.
  const std::string copy_ids = container_ids(copy);
  auto again = cli("restore " + shop_backup_ + " --as " + copy + " --to " + dir + "-2");
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.message().find("already exists"), std::string::npos) << describe(again);
  EXPECT_EQ(container_ids(copy), copy_ids);
  EXPECT_FALSE(fs::exists(dir + "-2"));

  compose_in(dir, copy, "-f docker-compose.stacksnap.yml down -v");
  fs::remove_all(dir);
}

TEST_F(RestoreTest, ForceOverTheExistingProject) {
  // Drift after the backup: rows deleted, a file removed, a file added.
  const std::string db = container_of(shop_, "db");
  in_container(db, "psql -U shop -d shop -qc \"DELETE FROM orders WHERE note = 'it-marker'\"");
  in_container(container_of(shop_, "web"), "rm -f /srv/data/blob.bin && echo new > /srv/data/added-later.txt");
  auto refused = cli("restore " + shop_backup_);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.message().find("--force"), std::string::npos) << describe(refused);

  auto r = cli("restore " + shop_backup_ + " --force");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::fprintf(stderr, "[restore_test] restore --force (with safety backup): %.1f s\n", r.seconds);
  EXPECT_FALSE(r.summary.value("safety_backup_id", "").empty()) << r.summary.dump();
  EXPECT_EQ(r.summary["row_count_differences"], 0) << r.summary.dump();
  // The containers were recreated: look them up again.
  const std::string db_now = container_of(shop_, "db"), web_now = container_of(shop_, "web");
  EXPECT_EQ(in_container(db_now, "psql -U shop -d shop -tAc \"SELECT count(*) FROM orders WHERE note = 'it-marker'\""),
            std::to_string(shop_marker_rows_));
  EXPECT_EQ(in_container(web_now, "test -f /srv/data/blob.bin && echo yes"), "yes");
  EXPECT_EQ(in_container(web_now, "test -e /srv/data/added-later.txt && echo yes || echo no"), "no");
  EXPECT_EQ(in_container(web_now, "stat -c '%u:%g %a' /srv/data/reports/orders.txt"), "999:999 640");
  // The safety backup is in the catalog.
  auto list = run_script(bin() + " --data-dir " + data_dir_ + " backups --json 2>/dev/null");
  EXPECT_NE(list.output.find(r.summary.value("safety_backup_id", "?")), std::string::npos);
  // Existing bind-mount contents were moved aside (<path>.pre-restore-<stamp>); drop them.
  for (const auto& e : fs::directory_iterator(stack_dir(shop_))) {
    if (e.path().filename().string().find(".pre-restore-") != std::string::npos) fs::remove_all(e.path());
  }
}

TEST_F(RestoreTest, DrillOfShopPassesAndLeavesNothing) {
  auto r = cli("drill " + shop_backup_);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::fprintf(stderr, "[restore_test] drill shop: %.1f s\n", r.seconds);
  EXPECT_EQ(r.summary["result"], "succeeded");
  const std::string drill = "drill-" + shop_ + "-";
  EXPECT_TRUE(names_with_prefix("container", drill).empty());
  EXPECT_TRUE(run_script("docker volume ls -q | grep '^" + drill + "'").output.empty());
  EXPECT_TRUE(run_script("docker network ls --format '{{.Name}}' | grep '^" + drill + "'").output.empty());
  EXPECT_TRUE(fs::is_empty(data_dir_ + "/drills"));
  auto list = run_script(bin() + " --data-dir " + data_dir_ + " backups --json 2>/dev/null");
  EXPECT_NE(list.output.find("\"drill_result\":\"passed\""), std::string::npos) << list.output;
}

TEST_F(RestoreTest, DrillOfWikiPasses) {
  ASSERT_FALSE(wiki_backup_.empty()) << "backup of wiki failed in the suite setup";
  auto r = cli("drill " + wiki_backup_);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::fprintf(stderr, "[restore_test] drill wiki: %.1f s\n", r.seconds);
  EXPECT_TRUE(run_script("docker ps -a --format '{{.Names}}' | grep '^drill-" + wiki_ + "-'").output.empty());
  EXPECT_TRUE(run_script("docker volume ls -q | grep '^drill-" + wiki_ + "-'").output.empty());
}

TEST_F(RestoreTest, DrillOfFilesPasses) {
  // A `name:` volume (<project>-archive) must become the drill's own; sparse, setuid,
  // non-ASCII names and absolute symlinks must read back identical.
  ASSERT_FALSE(files_backup_.empty()) << "backup of files failed in the suite setup";
  const std::string before = volume_state(files_);
  auto r = cli("drill " + files_backup_);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::fprintf(stderr, "[restore_test] drill files: %.1f s\n", r.seconds);
  EXPECT_EQ(volume_state(files_), before);
  EXPECT_EQ(run_script("docker volume inspect -f '{{.CreatedAt}}' " + files_ + "-archive").exit_code, 0);
  EXPECT_TRUE(run_script("docker volume ls -q | grep '^drill-" + files_ + "-'").output.empty());
}

TEST_F(RestoreTest, TamperedArchiveChangesNothing) {
  // Flip one byte in the middle of the stored blob (an archive target), or of every pack
  // of the repository (a repository target: one of them holds the backup's chunks).
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(data_dir_ + "/target")) {
    const std::string p = e.path().string();
    if (!e.is_regular_file()) continue;
    if ((p.find(shop_backup_) != std::string::npos && e.path().extension() == ".stsnap") ||
        p.find("/target/data/") != std::string::npos) {
      files.push_back(p);
    }
  }
  ASSERT_FALSE(files.empty());
  auto flip = [&] {
    for (const auto& blob : files) testing_damage::flip_middle_byte(blob);
  };
  flip();
  const std::string ids = container_ids(shop_), vols = volume_state(shop_);
  auto r = cli("restore " + shop_backup_ + " --force --no-safety-backup");
  flip();  // back to the original for later tests
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.message().find("nothing was changed"), std::string::npos) << describe(r);
  EXPECT_EQ(container_ids(shop_), ids);
  EXPECT_EQ(volume_state(shop_), vols);
  EXPECT_EQ(in_container(container_of(shop_, "web"), "echo up"), "up");
}

TEST_F(RestoreTest, MissingImageFailsBeforeAnyChange) {
  const std::string project = stack_project("missing" + std::to_string(::getpid()));
  const std::string image = "stacksnap-it/missing-" + std::to_string(::getpid()) + ":1";
  const std::string dir = data_dir_ + "/" + project;
  fs::create_directories(dir);
  {
    std::ofstream f(dir + "/docker-compose.yml");
    f << "services:\n  app:\n    image: " << image
      << "\n    command: [\"sh\", \"-c\", \"echo hi > /data/hi.txt; exec sleep infinity\"]\n"
         "    volumes:\n      - data:/data\nvolumes:\n  data:\n";
  }
  ASSERT_EQ(run_script(std::string("docker tag ") + kFixtureApp + " " + image).exit_code, 0);
  auto up = compose_in(dir, project, "up -d");
  ASSERT_EQ(up.exit_code, 0) << up.output;
  auto b = cli("backup " + project);
  ASSERT_EQ(b.exit_code, 0) << describe(b);
  const std::string id = b.summary.value("backup_id", "");
  compose_in(dir, project, "down -v");
  run_script("docker rmi " + image);
  fs::remove_all(dir);

  auto r = cli("restore " + id);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.message().find(image), std::string::npos) << describe(r);
  EXPECT_NE(r.message().find("nothing was changed"), std::string::npos) << describe(r);
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_NE(run_script("docker volume inspect " + project + "_data").exit_code, 0);
}

TEST_F(RestoreTest, CopyBesideAnOriginalWithPublishedPortsNeedsNoPorts) {
  const std::string project = stack_project("ports" + std::to_string(::getpid()));
  const std::string dir = data_dir_ + "/" + project;
  const int port = 20000 + static_cast<int>(::getpid() % 20000);
  fs::create_directories(dir);
  {
    std::ofstream f(dir + "/docker-compose.yml");
    f << "services:\n  app:\n    image: " << kFixtureApp
      << "\n    command: [\"sh\", \"-c\", \"echo hi > /data/hi.txt; exec sleep infinity\"]\n"
         "    ports:\n      - \"127.0.0.1:"
      << port << ":8080\"\n    volumes:\n      - data:/data\nvolumes:\n  data:\n";
  }
  auto up = compose_in(dir, project, "up -d");
  ASSERT_EQ(up.exit_code, 0) << up.output;
  auto down = [&](const std::string& p, const std::string& d, const std::string& file) {
    compose_in(d, p, "-f " + file + " down -v");
  };
  auto b = cli("backup " + project);
  ASSERT_EQ(b.exit_code, 0) << describe(b);
  const std::string id = b.summary.value("backup_id", "");
  const std::string before = container_ids(project);

  // Without --no-ports the copy cannot start (the original holds the port), and says why.
  auto taken = cli("restore " + id + " --as " + project + "a --to " + dir + "-a");
  EXPECT_NE(taken.exit_code, 0);
  EXPECT_NE(taken.message().find("--no-ports"), std::string::npos) << describe(taken);
  down(project + "a", dir + "-a", "docker-compose.stacksnap.yml");

  auto r = cli("restore " + id + " --as " + project + "b --to " + dir + "-b --no-ports");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(in_container(container_of(project + "b", "app"), "cat /data/hi.txt"), "hi");
  EXPECT_EQ(run_script("docker port " + container_of(project + "b", "app")).output, "");
  EXPECT_EQ(container_ids(project), before);
  EXPECT_NE(run_script("docker port " + container_of(project, "app")).output.find(std::to_string(port)), std::string::npos);

  // --no-ports is for copies only.
  auto in_place = cli("restore " + id + " --no-ports --force");
  EXPECT_NE(in_place.exit_code, 0);
  EXPECT_NE(in_place.message().find("--as"), std::string::npos) << describe(in_place);

  down(project + "b", dir + "-b", "docker-compose.stacksnap.yml");
  down(project, dir, "docker-compose.yml");
  for (const auto& d : {dir, dir + "-a", dir + "-b"}) fs::remove_all(d);
}

}  // namespace
}  // namespace stacksnap::it
