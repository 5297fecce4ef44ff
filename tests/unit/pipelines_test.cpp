// The backup and restore pipelines (backup::run_backup, restore::run_restore) with a fake
// Docker Engine (fake_docker.h). Backup: its step order, and what a failure or a cancel at
// each stage leaves behind — nothing paused, no helper container, no spool file, no record,
// no copy. Restore: nothing on the host changes before every precondition holds, and a
// failure after the first change says what was applied and the command that undoes it
// (Compose is a script here; what it brings up is the integration tests' part). The same
// pipelines against a real dockerd are in tests/integration.
//
// The stack looks like one people run: an app with an uploads volume, a config bind mount,
// pre/post-backup hooks and Safe Mode; a Redis cache (AOF on) whose dump is `redis-cli
// --rdb -`, scripted here with a real RDB file of two keys, one with a TTL.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "archive/reader.h"
#include "archive_testutil.h"
#include "backup/pipeline.h"
#include "base/fd.h"
#include "base/temp_dir.h"
#include "catalog/catalog.h"
#include "catalog/sqlite.h"
#include "docker/helper_container.h"
#include "common/damage.h"
#include "fake_docker.h"
#include "job/events.h"
#include "repo/repo.h"
#include "repo/snapshot.h"
#include "restore/restore.h"

namespace stacksnap::backup {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr const char* kProject = "shop-floor";

// An RDB file (version 11): db 0 with "greeting" → "hello" and "session:1" → "alice"
// expiring in the future; no checksum (Redis writes zeros when rdbchecksum is off).
std::string rdb_file() {
  std::string r = "REDIS0011";
  auto str = [&](const std::string& s) {
    r.push_back(static_cast<char>(s.size()));
    r += s;
  };
  r += "\xFE\x00";      // SELECTDB 0
  r += "\xFB\x02\x01";  // RESIZEDB: 2 keys, 1 with an expiry
  r += "\x00";          // string
  str("greeting");
  str("hello");
  r += "\xFC";  // EXPIRETIME_MS, 8 bytes little endian: 2100-01-01
  const uint64_t ms = 4102444800000ull;
  for (int i = 0; i < 8; ++i) r.push_back(static_cast<char>((ms >> (8 * i)) & 0xFF));
  r += "\x00";
  str("session:1");
  str("alice");
  r += "\xFF";
  r += std::string(8, '\0');
  return r;
}

void write_file(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

class BackupPipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("/tmp", "stacksnap-pipeline-");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    const std::string root = dir_->path();
    docker_ = std::make_unique<fake::FakeDocker>(root + "/engine");
    auto c = catalog::Catalog::open(root + "/state.db");
    ASSERT_TRUE(c.ok());
    cat_ = std::move(*c);
    ASSERT_TRUE(cat_->add_target({"nas", "local", {{"path", root + "/nas"}}, 1}).ok());
    fs::create_directories(root + "/data");

    // The project's directory, as Compose left it.
    const std::string work = root + "/shop floor";  // a path that needs quoting
    write_file(work + "/compose.yaml",
               "services:\n"
               "  app:\n"
               "    image: stacksnap-fixture/app:test\n"
               "    volumes: [\"uploads:/srv/uploads\", \"./config:/etc/app:ro\"]\n"
               "    labels:\n"
               "      stacksnap.hook.pre-backup: \"app-ctl flush\"\n"
               "      stacksnap.hook.post-backup: \"app-ctl resume\"\n"
               "  cache:\n"
               "    image: redis:7.2\n"
               "    command: [\"redis-server\", \"--appendonly\", \"yes\"]\n"
               "    volumes: [\"redis-data:/data\"]\n"
               "volumes:\n"
               "  uploads: {}\n"
               "  redis-data: {}\n");
    write_file(work + "/config/app.ini", "[app]\nname = shop floor\n");
    auto uploads = docker_->add_volume("shop-floor_uploads", kProject);
    write_file(uploads.mountpoint + "/a.txt", "alpha\n");
    write_file(uploads.mountpoint + "/photos/b c\nd \"é\".jpg", std::string(300000, 'j'));
    auto redis_data = docker_->add_volume("shop-floor_redis-data", kProject);
    write_file(redis_data.mountpoint + "/appendonly.aof", "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n");

    docker_->add_container(fake::ComposeContainer(kProject, "app", "stacksnap-fixture/app:test")
                               .volume(uploads, "/srv/uploads")
                               .bind(work + "/config", "/etc/app", true)
                               .working_dir(work, {work + "/compose.yaml"})
                               .label("stacksnap.hook.pre-backup", "app-ctl flush")
                               .label("stacksnap.hook.post-backup", "app-ctl resume")
                               .cmd({"app-server"})
                               .build());
    docker_->add_container(fake::ComposeContainer(kProject, "cache", "redis:7.2")
                               .volume(redis_data, "/data")
                               .working_dir(work, {work + "/compose.yaml"})
                               .cmd({"redis-server", "--appendonly", "yes"})
                               .build());
    docker_->on_exec([this](const fake::ExecCall& call, Reader* in, Writer& out, Writer& err) {
      return script(call, in, out, err);
    });
  }

  // What the containers answer: the app's hooks, and redis-cli.
  Result<int> script(const fake::ExecCall& call, Reader*, Writer& out, Writer& err) {
    const std::string line = call.command_line();
    if (call.container.name == "shop-floor-app-1") {
      if (call.options.cmd.size() == 3 && call.options.cmd[0] == "sh") {
        hooks_run_.push_back(call.options.cmd[2]);
        if (call.options.cmd[2] == "app-ctl flush" && pre_hook_fails_) {
          TRY(err.write(as_bytes("flush: the queue is not empty\n")));
          return 3;
        }
        return 0;
      }
    }
    if (call.container.name != "shop-floor-cache-1") return 127;
    if (line.find("command -v redis-cli") != std::string::npos) {
      TRY(out.write(as_bytes("/usr/local/bin/redis-cli\n")));
      return 0;
    }
    if (line == "redis-cli -v") {
      TRY(out.write(as_bytes("redis-cli 7.2.4\n")));
      return 0;
    }
    if (call.has("--rdb")) {
      if (dump_fails_) {
        TRY(err.write(as_bytes("Error: Server closed the connection\n")));
        return 1;
      }
      TRY(out.write(as_bytes(rdb_file())));
      return 0;
    }
    if (call.has("INFO") && call.has("server")) {
      TRY(out.write(as_bytes("# Server\r\nredis_version:7.2.4\r\nredis_mode:standalone\r\n")));
      return 0;
    }
    if (call.has("INFO") && call.has("keyspace")) {
      TRY(out.write(as_bytes("# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0\r\n")));
      return 0;
    }
    if (call.has("CONFIG") && call.has("GET")) {
      TRY(out.write(as_bytes(call.options.cmd.back() + "\n0\n")));
      return 0;
    }
    TRY(out.write(as_bytes("ERR unknown command\n")));
    return 0;
  }

  Result<BackupSummary> backup(BackupRequest req = {}) {
    if (req.project.empty()) req.project = kProject;
    job::EventHub hub;
    hub.add(&events_);
    job::Context ctx(hub, stop_.get_token());
    const auto key = testutil::test_key();
    return run_backup({.data_dir = dir_->path() + "/data", .cat = *cat_, .docker = *docker_, .key = key}, req, ctx,
                      1);
  }

  // Step ids in the order they started.
  std::vector<std::string> steps() const {
    std::vector<std::string> out;
    for (const auto& e : events_.events()) {
      if (e.type == "step_started") out.push_back(e.data["step"]);
    }
    return out;
  }
  // Index of the first call starting with `prefix` (calls().size() when none).
  size_t call_index(std::string_view prefix) const {
    auto calls = docker_->calls();
    for (size_t i = 0; i < calls.size(); ++i) {
      if (calls[i].rfind(prefix, 0) == 0) return i;
    }
    return calls.size();
  }
  std::vector<std::string> helpers_left() const {
    std::vector<std::string> out;
    for (const auto& c : docker_->containers()) {
      if (c.labels.count(docker::kHelperLabel)) out.push_back(c.name);
    }
    return out;
  }
  std::vector<std::string> files_under(const std::string& dir) const {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator(); ++it) {
      if (it->is_regular_file()) out.push_back(fs::relative(it->path(), dir).string());
    }
    return out;
  }
  // Nothing of a failed or cancelled run is left: no pause, no helper, no spool file,
  // no record, no copy, no pause record.
  void expect_nothing_left() {
    for (const auto& c : docker_->containers()) {
      EXPECT_FALSE(c.state.paused) << c.name << " is still paused";
    }
    EXPECT_THAT(helpers_left(), ::testing::IsEmpty());
    EXPECT_THAT(files_under(repo::spool_dir(dir_->path() + "/data")), ::testing::IsEmpty());
    EXPECT_THAT(files_under(dir_->path() + "/nas"), ::testing::IsEmpty());
    auto backups = cat_->list_backups({});
    ASSERT_TRUE(backups.ok());
    EXPECT_TRUE(backups->empty());
    auto paused = cat_->list_paused();
    ASSERT_TRUE(paused.ok());
    EXPECT_TRUE(paused->empty());
  }
  // The sealed archive on the target: path → content.
  std::map<std::string, std::string> stored_entries(const catalog::BackupRecord& rec) {
    std::map<std::string, std::string> out;
    EXPECT_EQ(rec.copies.size(), 1u);
    if (rec.copies.empty()) return out;
    auto keys = seal::KeySource::from_key(testutil::test_key());
    std::unique_ptr<Reader> exported;
    std::optional<UniqueFd> fd;
    std::optional<FdReader> file;
    Reader* in = nullptr;
    if (const std::string sid = repo::snapshot_id_of_key(rec.copies[0].key); !sid.empty()) {
      auto trec = cat_->get_target(rec.copies[0].target);
      EXPECT_TRUE(trec.ok());
      if (!trec.ok()) return out;
      auto target = repo::open_target(*trec);
      EXPECT_TRUE(target.ok());
      if (!target.ok()) return out;
      auto ex = repo::open_export(std::shared_ptr<storage::Target>(std::move(*target)), sid, keys, {});
      EXPECT_TRUE(ex.ok()) << ex.error().message();
      if (!ex.ok()) return out;
      exported = std::move(*ex);
      in = exported.get();
    } else {
      auto f = open_file(dir_->path() + "/nas/" + rec.copies[0].key, O_RDONLY | O_CLOEXEC);
      EXPECT_TRUE(f.ok());
      if (!f.ok()) return out;
      fd.emplace(std::move(*f));
      in = &file.emplace(fd->get(), "stored copy");
    }
    auto reader = archive::ArchiveReader::open(*in, keys);
    EXPECT_TRUE(reader.ok()) << reader.error().message();
    if (!reader.ok()) return out;
    for (;;) {
      auto e = (*reader)->next();
      EXPECT_TRUE(e.ok()) << e.error().message();
      if (!e.ok() || !*e) break;
      auto content = read_all((*reader)->content(), 64 << 20);
      EXPECT_TRUE(content.ok());
      out[(*e)->meta.path] = content.ok() ? *content : "";
    }
    return out;
  }

  std::optional<TempDir> dir_;
  std::unique_ptr<fake::FakeDocker> docker_;
  std::unique_ptr<catalog::Catalog> cat_;
  job::EventRecorder events_;
  StopSource stop_;
  std::vector<std::string> hooks_run_;
  bool pre_hook_fails_ = false;
  bool dump_fails_ = false;
};

TEST_F(BackupPipeline, StepsRunInTheDocumentedOrderAndTheCopyHoldsTheStack) {
  docker_->act_remote();  // the captures stream through the Engine's archive endpoint
  auto r = backup({.options = {.safe_mode = true}});
  ASSERT_TRUE(r.ok()) << r.error().message();

  // pipeline.h's order: plan → config files → pre-backup hooks → dumps → [pause] volumes,
  // binds [resume] → post-backup hooks → seal → verify → promote.
  auto s = steps();
  auto pos = [&](const std::string& id) { return std::find(s.begin(), s.end(), id) - s.begin(); };
  for (const char* id : {"plan", "config", "hook.pre.app", "dump.cache", "pause", "volume.shop-floor_uploads",
                         "bind.1", "resume", "hook.post.app", "seal", "verify"}) {
    EXPECT_LT(pos(id), static_cast<long>(s.size())) << "no step " << id << " in " << Json(s).dump();
  }
  EXPECT_LT(pos("plan"), pos("config"));
  EXPECT_LT(pos("config"), pos("hook.pre.app"));
  EXPECT_LT(pos("hook.pre.app"), pos("dump.cache"));
  EXPECT_LT(pos("dump.cache"), pos("pause"));
  EXPECT_LT(pos("pause"), pos("volume.shop-floor_uploads"));
  EXPECT_LT(pos("volume.shop-floor_uploads"), pos("bind.1"));
  EXPECT_LT(pos("bind.1"), pos("resume"));
  EXPECT_LT(pos("resume"), pos("hook.post.app"));
  EXPECT_LT(pos("hook.post.app"), pos("seal"));
  EXPECT_LT(pos("seal"), pos("verify"));
  EXPECT_THAT(hooks_run_, ElementsAre("app-ctl flush", "app-ctl resume"));

  // The Engine saw the app paused only around the captures; the database is never paused.
  const size_t pause = call_index("pause shop-floor-app-1");
  const size_t unpause = call_index("unpause shop-floor-app-1");
  ASSERT_LT(pause, unpause);
  for (const auto& c : docker_->calls_starting("archive ")) {
    const size_t at = call_index(c);
    EXPECT_GT(at, pause) << c;
    EXPECT_LT(at, unpause) << c;
  }
  EXPECT_THAT(docker_->calls_starting("pause shop-floor-cache"), ::testing::IsEmpty());
  EXPECT_EQ(docker_->calls_starting("create helper capture").size(), 2u);  // the uploads volume, the bind
  EXPECT_THAT(helpers_left(), ::testing::IsEmpty());
  EXPECT_THAT(files_under(repo::spool_dir(dir_->path() + "/data")), ::testing::IsEmpty());

  // Recorded, stored, and holding what the stack had.
  EXPECT_EQ(r->targets, std::vector<std::string>{"nas"});
  auto rec = cat_->get_backup(r->backup_id);
  ASSERT_TRUE(rec.ok()) << rec.error().message();
  EXPECT_EQ(rec->verify_result, "ok");
  EXPECT_EQ(rec->summary["safe_mode"], true);
  auto entries = stored_entries(*rec);
  auto holds = [&](const std::string& suffix, const std::string& content) {
    for (const auto& [path, c] : entries) {
      if (path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
        EXPECT_EQ(c, content) << path;
        return;
      }
    }
    ADD_FAILURE() << "no entry ending in " << suffix << " among " << Json(entries).dump().substr(0, 2000);
  };
  holds("/a.txt", "alpha\n");
  holds("/photos/b c\nd \"é\".jpg", std::string(300000, 'j'));
  holds("/app.ini", "[app]\nname = shop floor\n");
  holds("/compose.yaml", read_text(dir_->path() + "/shop floor/compose.yaml"));
  holds("/dump.rdb", rdb_file());
  // The database's own volume is not captured as files: its dump is the copy.
  for (const auto& [path, c] : entries) EXPECT_EQ(path.find("appendonly.aof"), std::string::npos) << path;
  // The dump's key counts come from the RDB itself (exact), TTL keys flagged.
  const Json dumps = rec->summary["dumps"];
  EXPECT_THAT(dumps.dump(), HasSubstr("\"keys\""));
}

TEST_F(BackupPipeline, ALocalEngineIsReadDirectlyAndARepositoryTakesUnchangedFilesUnread) {
  // The Engine is on this host: volumes and binds are read where their files are (no
  // helper container), and a repository target keeps the previous snapshot as the files
  // cache. The app keeps one file changing between backups.
  ASSERT_TRUE(cat_->add_target({"vault", "local", {{"path", dir_->path() + "/vault"}, {"format", "repository"}}, 2}).ok());
  const std::string uploads = docker_->inspect_volume("shop-floor_uploads")->mountpoint;
  // Files changed less than a second before a backup get no files-cache identity.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto first = backup({.targets = {"vault"}, .options = {.safe_mode = true}});
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_THAT(docker_->calls_starting("create helper capture"), ::testing::IsEmpty());
  EXPECT_THAT(docker_->calls_starting("archive "), ::testing::IsEmpty());
  EXPECT_THAT(files_under(repo::spool_dir(dir_->path() + "/data")), ::testing::IsEmpty());
  auto rec1 = cat_->get_backup(first->backup_id);
  ASSERT_TRUE(rec1.ok());
  EXPECT_EQ(rec1->summary["volumes"]["shop-floor_uploads"]["read"], "direct") << rec1->summary.dump();
  EXPECT_EQ(rec1->summary["volumes"]["shop-floor_uploads"]["unchanged_files"], 0);
  EXPECT_EQ(rec1->summary["volumes"]["shop-floor_uploads"]["files"], 2);

  write_file(uploads + "/a.txt", "alpha, edited\n");  // same inode, new size, mtime and ctime
  write_file(uploads + "/new file", "fresh\n");
  auto second = backup({.targets = {"vault"}});
  ASSERT_TRUE(second.ok()) << second.error().message();
  auto rec2 = cat_->get_backup(second->backup_id);
  ASSERT_TRUE(rec2.ok());
  // The photo (and the bind's app.ini) were not read again; the edited and the new file were.
  EXPECT_EQ(rec2->summary["volumes"]["shop-floor_uploads"]["unchanged_files"], 1) << rec2->summary.dump();
  EXPECT_EQ(rec2->summary["binds"]["1"]["unchanged_files"], 1) << rec2->summary.dump();
  auto entries = stored_entries(*rec2);
  auto content = [&](const std::string& suffix) -> std::string {
    for (const auto& [path, c] : entries) {
      if (path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) return c;
    }
    return "(missing)";
  };
  EXPECT_EQ(content("/a.txt"), "alpha, edited\n");
  EXPECT_EQ(content("/new file"), "fresh\n");
  EXPECT_TRUE(content("/photos/b c\nd \"é\".jpg") == std::string(300000, 'j'));
  EXPECT_EQ(content("/app.ini"), "[app]\nname = shop floor\n");
  EXPECT_EQ(content("/dump.rdb"), rdb_file());
  // The first backup still holds what it held.
  auto old_entries = stored_entries(*rec1);
  for (const auto& [path, c] : old_entries) {
    if (path.ends_with("/a.txt")) {
      EXPECT_EQ(c, "alpha\n");
    }
    EXPECT_EQ(path.find("new file"), std::string::npos);
  }
}

TEST_F(BackupPipeline, UnknownTargetFailsBeforeTheEngineIsTouched) {
  auto r = backup({.targets = {"nsa"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kNotFound);
  EXPECT_THAT(r.error().message(), HasSubstr("unknown storage target \"nsa\""));
  EXPECT_THAT(docker_->calls(), ::testing::IsEmpty());
  expect_nothing_left();
}

TEST_F(BackupPipeline, CancelDuringAVolumeCaptureResumesTheAppAndLeavesNothing) {
  docker_->act_remote();  // the captures stream through the Engine's archive endpoint
  // The job is cancelled while the uploads volume streams (the app is paused then).
  docker_->on_archive_read([this](uint64_t served) -> Status {
    if (served > 0) stop_.request_stop();
    return {};
  });
  auto r = backup({.options = {.safe_mode = true}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kCancelled) << r.error().message();
  EXPECT_LT(call_index("pause shop-floor-app-1"), call_index("unpause shop-floor-app-1"));
  EXPECT_EQ(docker_->calls_starting("archive ").size(), 1u);  // the bind mount is never read
  EXPECT_THAT(hooks_run_, ElementsAre("app-ctl flush", "app-ctl resume"));  // post-backup hooks still run
  expect_nothing_left();
}

TEST_F(BackupPipeline, AFailedDumpStopsTheBackupBeforeAnythingIsPaused) {
  dump_fails_ = true;
  auto r = backup({.options = {.safe_mode = true}});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("shop-floor-cache-1"));
  EXPECT_THAT(r.error().message(), HasSubstr("Server closed the connection"));
  EXPECT_THAT(docker_->calls_starting("pause "), ::testing::IsEmpty());
  EXPECT_THAT(docker_->calls_starting("create helper"), ::testing::IsEmpty());
  EXPECT_THAT(hooks_run_, ElementsAre("app-ctl flush", "app-ctl resume"));
  expect_nothing_left();
}

TEST_F(BackupPipeline, AFailingPreBackupHookStopsTheBackupAndThePostHookStillRuns) {
  pre_hook_fails_ = true;
  auto r = backup();
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("pre-backup hook failed"));
  EXPECT_THAT(r.error().message(), HasSubstr("the queue is not empty"));
  EXPECT_THAT(docker_->calls_starting("exec shop-floor-cache-1"), ::testing::IsEmpty());  // no dump started
  EXPECT_THAT(hooks_run_, ElementsAre("app-ctl flush", "app-ctl resume"));
  expect_nothing_left();
}

TEST_F(BackupPipeline, AnEngineErrorWhilePausedResumesTheAppAndNamesTheMount) {
  docker_->act_remote();  // the captures stream through the Engine's archive endpoint
  // The Engine fails the bind mount's archive read (the uploads volume went through).
  docker_->on_call([](const std::string& call) -> Status {
    if (call.rfind("archive ", 0) == 0 && call.find("/stacksnap/data") != std::string::npos) {
      static int n = 0;
      if (++n == 2) return internal_error("Error response from daemon: mount namespace is gone");
    }
    return {};
  });
  auto r = backup({.options = {.safe_mode = true}});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("bind mount " + dir_->path() + "/shop floor/config"));
  EXPECT_THAT(r.error().message(), HasSubstr("mount namespace is gone"));
  EXPECT_LT(call_index("pause shop-floor-app-1"), call_index("unpause shop-floor-app-1"));
  expect_nothing_left();
}

TEST_F(BackupPipeline, WhatACrashedRunLeftIsRepairedFirst) {
  // A crashed run left the app paused (and said so in the catalog) and a helper container
  // whose owner process is gone.
  ASSERT_TRUE(docker_->pause_container("shop-floor-app-1").ok());
  auto app = docker_->container("shop-floor-app-1");
  ASSERT_TRUE(app.ok());
  pid_t dead = ::fork();
  if (dead == 0) _exit(0);
  ::waitpid(dead, nullptr, 0);
  ASSERT_TRUE(cat_->record_paused({.container_id = app->id, .name = app->name, .project = kProject, .job_id = 7,
                                   .pid = dead, .paused_at = 1})
                  .ok());
  docker_->add_container({.name = "stacksnap-capture-orphan",
                          .image = "stacksnap-fixture/app:test",
                          .state = {.status = "created"},
                          .labels = {{docker::kHelperLabel, "capture"}, {docker::kHelperPidLabel, std::to_string(dead)}}});
  auto r = backup({.options = {.safe_mode = true}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_LT(call_index("unpause shop-floor-app-1"), call_index("list containers"));
  EXPECT_LT(call_index("remove stacksnap-capture-orphan"), call_index("inspect shop-floor-cache-1"));
  bool warned = false;
  for (const auto& e : events_.events()) {
    if (e.type == "log" && e.data.value("message", "").find("resumed 1 container(s) left paused") != std::string::npos) {
      warned = true;
    }
  }
  EXPECT_TRUE(warned);
  EXPECT_THAT(helpers_left(), ::testing::IsEmpty());
}

TEST_F(BackupPipeline, ACatalogThatCannotRecordFailsTheJobAndSaysWhereTheCopyIs) {
  docker_->act_remote();  // the captures stream through the Engine's archive endpoint
  // While the volumes stream, the catalog loses its backups table (as a broken or
  // foreign-written state.db would): the copy is promoted, then cannot be recorded.
  auto other = catalog::Db::open(dir_->path() + "/state.db");
  ASSERT_TRUE(other.ok());
  bool broken = false;
  docker_->on_archive_read([&](uint64_t) -> Status {
    if (!broken) broken = (*other)->exec("ALTER TABLE backups RENAME TO backups_elsewhere").ok();
    return {};
  });
  auto r = backup();
  ASSERT_TRUE(broken);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("is stored and verified on nas (backups/"));
  EXPECT_THAT(r.error().message(), HasSubstr("but the catalog could not record it"));
  EXPECT_THAT(r.error().message(), HasSubstr("`stacksnap backups --target nas`"));
  // The copy stays: whole, with its sidecar, for the catalog to learn again.
  auto stored = files_under(dir_->path() + "/nas");
  EXPECT_EQ(stored.size(), 2u) << Json(stored).dump();
  EXPECT_THAT(files_under(repo::spool_dir(dir_->path() + "/data")), ::testing::IsEmpty());
}

// ---- restore -----------------------------------------------------------------------------

// Whether a call changes the host (the Engine's state), by its log line.
bool changes_host(const std::string& call) {
  for (const char* p : {"create", "remove", "start ", "stop ", "pause ", "unpause ", "put archive", "pull "}) {
    if (call.rfind(p, 0) == 0) return true;
  }
  return false;
}

class RestorePipeline : public BackupPipeline {
 protected:
  void SetUp() override {
    BackupPipeline::SetUp();
    auto b = backup();
    ASSERT_TRUE(b.ok()) << b.error().message();
    backup_id_ = b->backup_id;
    // Compose: a script that logs its arguments, answers `version`, takes a project down,
    // and fails to bring one up.
    compose_log_ = dir_->path() + "/compose.log";
    const std::string script = dir_->path() + "/fake-compose";
    write_file(script, "#!/bin/sh\n"
                       "printf '%s\\n' \"$*\" >> '" + compose_log_ + "'\n"
                       "case \"$*\" in *version*) echo 'Docker Compose version v2.26.1'; exit 0;; esac\n"
                       "case \"$*\" in *' down'*) exit 0;; esac\n"
                       "echo 'service \"cache\" failed to start: fake compose' >&2\n"
                       "exit 1\n");
    fs::permissions(script, fs::perms::owner_all);
    tools_ = restore::ComposeTools{.v2 = restore::ComposeTool{.argv0 = {script}, .version = "2.26.1", .v2 = true}};
  }

  Result<restore::RestoreSummary> restore(restore::RestoreRequest req, restore::SafetyBackup safety = {}) {
    if (req.backup_id.empty()) req.backup_id = backup_id_;
    calls_before_ = docker_->calls().size();
    job::EventHub hub;
    hub.add(&events_);
    job::Context ctx(hub, stop_.get_token());
    const auto keys = seal::KeySource::from_key(testutil::test_key());
    return restore::run_restore({.data_dir = dir_->path() + "/data",
                                 .cat = *cat_,
                                 .docker = *docker_,
                                 .keys = keys,
                                 .safety_backup = std::move(safety),
                                 .compose_tools = tools_},
                                req, ctx, 2);
  }
  // The calls of the restore that changed the host.
  std::vector<std::string> changes() const {
    auto calls = docker_->calls();
    std::vector<std::string> out;
    for (size_t i = calls_before_; i < calls.size(); ++i) {
      if (changes_host(calls[i])) out.push_back(calls[i]);
    }
    return out;
  }
  std::string stored_copy() const {
    auto rec = cat_->get_backup(backup_id_);
    return rec.ok() && !rec->copies.empty() ? dir_->path() + "/nas/" + rec->copies[0].key : "";
  }

  std::string backup_id_, compose_log_;
  restore::ComposeTools tools_;
  size_t calls_before_ = 0;
};

TEST_F(RestorePipeline, ADamagedCopyIsRefusedBeforeTheHostChanges) {
  const std::string path = stored_copy();
  ASSERT_FALSE(path.empty());
  testing_damage::flip_middle_byte(path);
  auto r = restore({.force = true});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kDataLoss) << r.error().message();
  EXPECT_THAT(changes(), ::testing::IsEmpty());
  EXPECT_FALSE(fs::exists(compose_log_));  // Compose never ran
}

TEST_F(RestorePipeline, AnExistingProjectIsRefusedWithoutForce) {
  auto r = restore({});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kAlreadyExists) << r.error().message();
  EXPECT_THAT(r.error().message(), HasSubstr("project shop-floor already exists on this host (2 container(s)"));
  EXPECT_THAT(r.error().message(), HasSubstr("Nothing was changed."));
  EXPECT_THAT(changes(), ::testing::IsEmpty());
}

TEST_F(RestorePipeline, AFailedSafetyBackupChangesNothing) {
  int asked = 0;
  auto r = restore({.force = true}, [&](const std::string& project, job::Context&, int64_t) -> Result<std::string> {
    ++asked;
    EXPECT_EQ(project, kProject);
    return unavailable("storage target nas is full");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(asked, 1);
  EXPECT_THAT(r.error().message(), HasSubstr("safety backup of shop-floor failed; nothing was changed"));
  EXPECT_THAT(r.error().message(), HasSubstr("storage target nas is full"));
  EXPECT_THAT(changes(), ::testing::IsEmpty());
}

TEST_F(RestorePipeline, AFailureAfterTheFirstChangeSaysWhatWasAppliedAndHowToUndoIt) {
  // The safety backup is a real one, through the same fake Engine.
  std::string safety_id;
  auto r = restore({.force = true}, [&](const std::string& project, job::Context& ctx, int64_t job_id) -> Result<std::string> {
    const auto key = testutil::test_key();
    auto b = TRY(run_backup({.data_dir = dir_->path() + "/data", .cat = *cat_, .docker = *docker_, .key = key},
                            {.project = project, .reason = "safety"}, ctx, job_id));
    safety_id = b.backup_id;
    return b.backup_id;
  });
  ASSERT_FALSE(r.ok());
  ASSERT_FALSE(safety_id.empty());
  // Compose failed to bring the project up, after the files were restored.
  EXPECT_THAT(r.error().message(), HasSubstr("failed to start: fake compose"));
  EXPECT_THAT(r.error().message(), HasSubstr("applied before the failure: removed the containers of shop-floor"));
  EXPECT_THAT(r.error().message(), HasSubstr("restored 1 config file(s), 1 bind mount(s), 1 volume(s)"));
  auto uploads = docker_->inspect_volume("shop-floor_uploads");
  ASSERT_TRUE(uploads.ok());
  EXPECT_EQ(read_text(uploads->mountpoint + "/a.txt"), "alpha\n");
  const std::string photo = read_text(uploads->mountpoint + "/photos/b c\nd \"é\".jpg");
  EXPECT_TRUE(photo == std::string(300000, 'j')) << photo.size() << " bytes: " << Json(files_under(uploads->mountpoint)).dump();
  EXPECT_EQ(read_text(dir_->path() + "/shop floor/config/app.ini"), "[app]\nname = shop floor\n");
  EXPECT_THAT(r.error().message(),
              HasSubstr("To put the project back as it was before: stacksnap restore " + safety_id +
                        " --force --no-safety-backup"));
  // The safety backup came before the first change, and is in the catalog.
  EXPECT_TRUE(cat_->get_backup(safety_id).ok());
  auto log = read_text(compose_log_);
  EXPECT_THAT(log, HasSubstr("down"));
  bool event = false;
  for (const auto& e : events_.events()) {
    if (e.type == "restore_applied") {
      event = true;
      EXPECT_EQ(e.data["undo"], "stacksnap restore " + safety_id + " --force --no-safety-backup");
    }
  }
  EXPECT_TRUE(event);
}

}  // namespace
}  // namespace stacksnap::backup
