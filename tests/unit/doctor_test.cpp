// app::run_doctor with fakes: the data dir's modes, the key, Compose, the Engine, targets
// and the spool, each a check with a state and a fix; the JSON form. (The Engine, S3 and
// clock checks against real servers: tests/integration/doctor_test.cpp.)
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

#include "app/doctor.h"
#include "base/temp_dir.h"
#include "catalog/catalog.h"
#include "storage/memory/memory_target.h"

namespace stacksnap::app {
namespace {

using Json = nlohmann::json;

class Doctor : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("/tmp", "stacksnap-doctor-");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    ::chmod(dir_->path().c_str(), 0700);
    auto c = catalog::Catalog::open(dir_->path() + "/state.db");
    ASSERT_TRUE(c.ok());
    cat_ = std::move(*c);
    std::ofstream(dir_->path() + "/key") << std::string(64, 'a') << "\n";
    ::chmod((dir_->path() + "/key").c_str(), 0600);
  }

  DoctorEnv env() {
    return {.data_dir = dir_->path(),
            .cat = cat_.get(),
            .docker = [] { return Result<docker::Client*>(unavailable("cannot reach the Docker Engine at unix:///x")); },
            .key_status = {{"configured", true}, {"source", "key-file"}, {"unlocked", true}, {"fingerprint", "ab12"}},
            .key_holder = KeyHolder::kCommand,
            .open_target = [](const catalog::TargetRecord&) -> Result<std::unique_ptr<storage::Target>> {
              return std::unique_ptr<storage::Target>(new storage::MemoryTarget());
            },
            .find_compose = [] {
              return Result<restore::ComposeTool>(
                  restore::ComposeTool{.argv0 = {"docker", "compose"}, .version = "2.26.1", .v2 = true});
            }};
  }

  static const Check* find(const DoctorReport& r, const std::string& id) {
    for (const auto& c : r.checks) {
      if (c.id == id) return &c;
    }
    return nullptr;
  }

  std::optional<TempDir> dir_;
  std::unique_ptr<catalog::Catalog> cat_;
};

TEST_F(Doctor, EveryCheckHasAStateAndFailuresAFix) {
  ASSERT_TRUE(cat_->add_target({.name = "nas", .kind = "memory", .config = Json::object()}).ok());
  DoctorReport r = run_doctor(env());
  std::vector<std::string> ids;
  for (const auto& c : r.checks) ids.push_back(c.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"build", "engine", "compose", "data-dir", "key", "target:nas", "spool"}));
  const Check* engine = find(r, "engine");
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(engine->state, CheckState::kFail);
  EXPECT_NE(engine->summary.find("cannot reach the Docker Engine"), std::string::npos);
  EXPECT_NE(engine->fix.find("start the Docker Engine"), std::string::npos) << engine->fix;
  for (const char* id : {"build", "compose", "data-dir", "key", "target:nas", "spool"}) {
    EXPECT_EQ(find(r, id)->state, CheckState::kOk) << id << ": " << find(r, id)->summary;
  }
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.failed(), 1);

  Json j = r.to_json();
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["failed"], 1);
  EXPECT_EQ(j["warnings"], 0);
  EXPECT_EQ(j["version"], STACKSNAP_VERSION);
  EXPECT_TRUE(j["commit"].is_string() && j["build_date"].is_string());
  ASSERT_EQ(j["checks"].size(), r.checks.size());
  EXPECT_EQ(j["checks"][1]["id"], "engine");
  EXPECT_EQ(j["checks"][1]["state"], "fail");
  EXPECT_EQ(j["checks"][1]["fix"], engine->fix);
  EXPECT_NE(find(r, "build")->summary.find("state database schema " + std::to_string(catalog::schema_version())),
            std::string::npos);
}

TEST_F(Doctor, DataDirReadableByOthersFailsNamingEachFile) {
  ::chmod(dir_->path().c_str(), 0755);
  ::chmod((dir_->path() + "/key").c_str(), 0644);
  const DoctorReport r = run_doctor(env());
  const Check* c = find(r, "data-dir");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->state, CheckState::kFail);
  EXPECT_NE(c->summary.find(dir_->path() + " (0755)"), std::string::npos) << c->summary;
  EXPECT_NE(c->summary.find(dir_->path() + "/key (0644)"), std::string::npos) << c->summary;
  EXPECT_EQ(c->fix, "chmod -R go-rwx " + dir_->path());
}

TEST_F(Doctor, MissingDataDirAndUnopenableCatalog) {
  DoctorEnv e = env();
  e.data_dir = dir_->path() + "/missing";
  e.cat = nullptr;
  e.catalog_error = "x";
  DoctorReport r = run_doctor(e);
  EXPECT_EQ(find(r, "data-dir")->state, CheckState::kFail);
  EXPECT_NE(find(r, "data-dir")->fix.find("install -d -m 0700 " + e.data_dir), std::string::npos);
  EXPECT_EQ(find(r, "spool")->state, CheckState::kOk) << "measured where the spool will be: " << find(r, "spool")->summary;
  EXPECT_EQ(find(r, "target:nas"), nullptr);

  e.data_dir = dir_->path();
  e.catalog_error = "state database … has schema version 9, newer than this stacksnap understands (3)";
  r = run_doctor(e);
  const Check* c = find(r, "data-dir");
  EXPECT_EQ(c->state, CheckState::kFail);
  EXPECT_NE(c->summary.find("newer than this stacksnap understands"), std::string::npos);
}

TEST_F(Doctor, KeyMissingLockedOrUnreadable) {
  DoctorEnv e = env();
  e.key_status = {{"configured", false}, {"source", nullptr}, {"unlocked", false}, {"fingerprint", nullptr}};
  DoctorReport r = run_doctor(e);
  const Check* c = find(r, "key");
  EXPECT_EQ(c->state, CheckState::kFail);
  EXPECT_NE(c->fix.find("stacksnap key init"), std::string::npos);

  // A passphrase key: the command line asks for it; a server needs it unlocked.
  e.key_status = {{"configured", true}, {"source", "passphrase"}, {"unlocked", false}, {"fingerprint", "cd34"}};
  r = run_doctor(e);
  EXPECT_EQ(find(r, "key")->state, CheckState::kOk);
  e.key_holder = KeyHolder::kServer;
  r = run_doctor(e);
  c = find(r, "key");
  EXPECT_EQ(c->state, CheckState::kWarn);
  EXPECT_NE(c->fix.find("STACKSNAP_PASSPHRASE"), std::string::npos);

  e.key_status = {{"configured", true}, {"source", "key-file"}, {"unlocked", false}, {"fingerprint", nullptr}};
  r = run_doctor(e);
  EXPECT_EQ(find(r, "key")->state, CheckState::kFail);
}

TEST_F(Doctor, ComposeV1WarnsAndNoComposeFails) {
  DoctorEnv e = env();
  e.find_compose = [] {
    return Result<restore::ComposeTool>(restore::ComposeTool{.argv0 = {"docker-compose"}, .version = "1.29.2"});
  };
  DoctorReport r = run_doctor(e);
  const Check* c = find(r, "compose");
  EXPECT_EQ(c->state, CheckState::kWarn);
  EXPECT_NE(c->summary.find("docker-compose 1.29.2 (Compose v1"), std::string::npos) << c->summary;
  e.find_compose = [] { return Result<restore::ComposeTool>(not_found("Docker Compose is not installed")); };
  r = run_doctor(e);
  c = find(r, "compose");
  EXPECT_EQ(c->state, CheckState::kFail);
  EXPECT_NE(c->fix.find("docker-compose-plugin"), std::string::npos);
}

TEST_F(Doctor, TargetsNoneMissingDirectoryOrUnopenable) {
  DoctorEnv e = env();
  DoctorReport none = run_doctor(e);
  EXPECT_EQ(find(none, "targets")->state, CheckState::kWarn);

  ASSERT_TRUE(cat_->add_target({.name = "disk", .kind = "local", .config = {{"path", dir_->path() + "/gone"}}}).ok());
  ASSERT_TRUE(cat_->add_target({.name = "broken", .kind = "memory", .config = Json::object()}).ok());
  e.open_target = [](const catalog::TargetRecord& rec) -> Result<std::unique_ptr<storage::Target>> {
    if (rec.name == "broken") return unauthenticated("target broken: no credentials");
    return std::unique_ptr<storage::Target>(new storage::MemoryTarget());
  };
  DoctorReport r = run_doctor(e);
  const Check* disk = find(r, "target:disk");
  EXPECT_EQ(disk->state, CheckState::kFail);
  EXPECT_NE(disk->summary.find("missing (a backup disk not mounted?)"), std::string::npos) << disk->summary;
  const Check* broken = find(r, "target:broken");
  EXPECT_EQ(broken->state, CheckState::kFail);
  EXPECT_NE(broken->summary.find("no credentials"), std::string::npos);
}

TEST_F(Doctor, SpoolSmallerThanTheLargestBackupFails) {
  catalog::BackupRecord b{.id = "20261206T000000Z-00000000", .project = "shop", .created_at = 1,
                          .stored_bytes = 1ull << 60, .sha256 = "aa"};
  ASSERT_TRUE(cat_->put_backup(b).ok());
  const DoctorReport r = run_doctor(env());
  const Check* c = find(r, "spool");
  EXPECT_EQ(c->state, CheckState::kFail);
  EXPECT_NE(c->summary.find("the largest backup is"), std::string::npos) << c->summary;
  EXPECT_NE(c->summary.find("restoring it would not fit"), std::string::npos) << c->summary;
}

}  // namespace
}  // namespace stacksnap::app
