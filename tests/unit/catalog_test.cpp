#include <gtest/gtest.h>

#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/temp_dir.h"
#include "catalog/catalog.h"
#include "catalog/catalog_admin.h"

namespace stacksnap::catalog {
namespace {

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("/tmp", "stacksnap-catalog-");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    auto c = Catalog::open(dir_->path() + "/state.db");
    ASSERT_TRUE(c.ok()) << c.error().message();
    cat_ = std::move(*c);
  }
  std::optional<TempDir> dir_;
  std::unique_ptr<Catalog> cat_;
};

TEST_F(CatalogTest, TargetsCrud) {
  ASSERT_TRUE(cat_->add_target({"local1", "local", {{"path", "/srv/b"}}, 1}).ok());
  auto dup = cat_->add_target({"local1", "local", {}, 2});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), Code::kAlreadyExists);
  auto t = cat_->get_target("local1");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->config["path"], "/srv/b");
  auto missing = cat_->get_target("nope");
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
  EXPECT_NE(missing.error().message().find("targets: local1"), std::string::npos);
  ASSERT_TRUE(cat_->remove_target("local1").ok());
  EXPECT_TRUE(cat_->list_targets()->empty());
}

TEST_F(CatalogTest, BackupsWithCopiesNewestFirst) {
  BackupRecord a{.id = "a", .project = "shop", .created_at = 100, .sha256 = "aa", .summary = {{"k", 1}}};
  a.copies.push_back({"local1", "backups/a.stsnap", 10, "aa", 100});
  BackupRecord b{.id = "b", .project = "shop", .created_at = 200, .sha256 = "bb"};
  b.copies.push_back({"s3", "backups/b.stsnap", 20, "bb", 200});
  BackupRecord c{.id = "c", .project = "wiki", .created_at = 150, .sha256 = "cc"};
  for (auto* r : {&a, &b, &c}) ASSERT_TRUE(cat_->put_backup(*r).ok());
  auto shop = cat_->list_backups({.project = "shop"});
  ASSERT_TRUE(shop.ok());
  ASSERT_EQ(shop->size(), 2u);
  EXPECT_EQ((*shop)[0].id, "b");
  EXPECT_EQ((*shop)[1].copies.at(0).key, "backups/a.stsnap");
  auto on_s3 = cat_->list_backups({.target = "s3"});
  ASSERT_EQ(on_s3->size(), 1u);
  EXPECT_EQ(on_s3->at(0).id, "b");
  ASSERT_TRUE(cat_->set_drill_result("a", 300, "passed", {{"duration_ms", 5}}).ok());
  auto got = cat_->get_backup("a");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->drill_result, "passed");
  EXPECT_EQ(*got->drill_at, 300);
  EXPECT_EQ(got->summary["k"], 1);
  ASSERT_TRUE(cat_->remove_backup("a").ok());
  EXPECT_EQ(cat_->get_backup("a").error().code(), Code::kNotFound);
}

TEST_F(CatalogTest, JobEventsHaveDenseSequence) {
  auto id = cat_->create_job({.kind = "backup", .project = "shop", .created_at = 1});
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(cat_->start_job(*id, getpid(), 2).ok());
  for (int i = 0; i < 5; ++i) {
    auto seq = cat_->append_event(*id, 1000 + i, "log", {{"message", "line " + std::to_string(i)}});
    ASSERT_TRUE(seq.ok()) << seq.error().message();
    EXPECT_EQ(*seq, i + 1);
  }
  auto after = cat_->events_after(*id, 3);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0].seq, 4);
  EXPECT_EQ((*after)[1].data["message"], "line 4");
  ASSERT_TRUE(cat_->finish_job(*id, JobState::kSucceeded, 3, "", "", {{"backup_id", "x"}}).ok());
  auto j = cat_->get_job(*id);
  EXPECT_EQ(j->state, JobState::kSucceeded);
  EXPECT_EQ(j->summary["backup_id"], "x");
}

TEST_F(CatalogTest, JobsOfDeadProcessesAreInterrupted) {
  auto mine = cat_->create_job({.kind = "backup", .project = "a", .created_at = 1});
  auto dead = cat_->create_job({.kind = "backup", .project = "b", .created_at = 1});
  ASSERT_TRUE(cat_->start_job(*mine, getpid(), 1).ok());
  ASSERT_TRUE(cat_->start_job(*dead, 999999999, 1).ok());  // no such pid
  auto ids = cat_->mark_interrupted_jobs(5);
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 1u);
  EXPECT_EQ((*ids)[0], *dead);
  EXPECT_EQ(cat_->get_job(*dead)->state, JobState::kInterrupted);
  EXPECT_EQ(cat_->get_job(*mine)->state, JobState::kRunning);
}

TEST_F(CatalogTest, JobWhoseFinishWasLostIsFinishedFromItsSummary) {
  // The process stored the summary event, then could not write the job's end, and died.
  auto done = cat_->create_job({.kind = "backup", .project = "a", .created_at = 1});
  ASSERT_TRUE(cat_->start_job(*done, 999999999, 1).ok());
  ASSERT_TRUE(cat_->append_event(*done, 1000, "log", {{"message", "stored"}}).ok());
  Json summary{{"result", "partial"}, {"code", "Unavailable"}, {"message", "failed on s3: down"},
               {"backup_id", "b1"}, {"failed_targets", Json::array({{{"target", "s3"}}})}};
  ASSERT_TRUE(cat_->append_event(*done, 1001, "summary", summary).ok());
  // A job that died before its summary is interrupted as before.
  auto cut = cat_->create_job({.kind = "backup", .project = "b", .created_at = 1});
  ASSERT_TRUE(cat_->start_job(*cut, 999999999, 1).ok());
  ASSERT_TRUE(cat_->append_event(*cut, 1000, "log", {{"message", "dumping"}}).ok());
  auto ids = cat_->mark_interrupted_jobs(7);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), 2u);
  auto j = cat_->get_job(*done);
  EXPECT_EQ(j->state, JobState::kPartial);
  EXPECT_EQ(j->finished_at, 7);
  EXPECT_EQ(j->error_code, "Unavailable");
  EXPECT_EQ(j->error, "failed on s3: down");
  EXPECT_EQ(j->summary["backup_id"], "b1");
  EXPECT_EQ(cat_->get_job(*cut)->state, JobState::kInterrupted);
}

TEST_F(CatalogTest, PartialJobStateRoundTrips) {
  EXPECT_EQ(job_state_name(JobState::kPartial), "partial");
  EXPECT_EQ(parse_job_state("partial"), JobState::kPartial);
  EXPECT_TRUE(is_terminal(JobState::kPartial));
  auto id = cat_->create_job({.kind = "backup", .project = "shop", .created_at = 1});
  ASSERT_TRUE(cat_->finish_job(*id, JobState::kPartial, 2, "Unavailable", "failed on s3: down", Json::object()).ok());
  EXPECT_EQ(cat_->get_job(*id)->state, JobState::kPartial);
  auto counts = job_counts(*cat_);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->at(std::make_pair(std::string("backup"), std::string("partial"))), 1);
}

TEST_F(CatalogTest, EveryCopyKeepsItsOwnVerifyState) {
  BackupRecord b{.id = "b", .project = "shop", .created_at = 100, .sha256 = "bb"};
  b.copies.push_back({.target = "nas", .key = "backups/b.stsnap", .size = 20, .sha256 = "bb", .uploaded_at = 100});
  b.copies.push_back({.target = "s3", .key = "backups/b.stsnap", .size = 20, .sha256 = "bb", .uploaded_at = 101});
  ASSERT_TRUE(cat_->put_backup(b).ok());
  auto got = cat_->get_backup("b");
  ASSERT_TRUE(got.ok());
  for (const auto& c : got->copies) {
    EXPECT_EQ(c.verify_state, CopyState::kUnchecked) << c.target;
    EXPECT_EQ(c.verified_at, 0);
  }
  ASSERT_TRUE(cat_->set_copy_verify("b", "nas", CopyState::kVerified, 200, "deep: 3 files").ok());
  ASSERT_TRUE(cat_->set_copy_verify("b", "s3", CopyState::kDamaged, 201, "copy on s3: SHA-256 is …").ok());
  auto missing = cat_->set_copy_verify("b", "usb", CopyState::kVerified, 202, "");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
  got = cat_->get_backup("b");
  ASSERT_EQ(got->copies.size(), 2u);
  EXPECT_EQ(got->copies[0].target, "nas");
  EXPECT_EQ(got->copies[0].verify_state, CopyState::kVerified);
  EXPECT_EQ(got->copies[0].verified_at, 200);
  EXPECT_EQ(got->copies[0].verify_detail, "deep: 3 files");
  EXPECT_EQ(got->copies[1].verify_state, CopyState::kDamaged);
  EXPECT_EQ(got->copies[1].verify_detail, "copy on s3: SHA-256 is …");
  for (auto s : {CopyState::kUnchecked, CopyState::kVerified, CopyState::kDamaged, CopyState::kUnreachable}) {
    EXPECT_EQ(parse_copy_state(copy_state_name(s)), s);
  }
}

TEST_F(CatalogTest, TargetHealthTracksFailingSinceUntilTheNextSuccess) {
  ASSERT_TRUE(cat_->add_target({"nas", "local", {{"path", "/srv/b"}}, 1}).ok());
  ASSERT_TRUE(cat_->add_target({"s3", "s3", Json::object(), 1}).ok());
  ASSERT_TRUE(record_target_success(*cat_, "shop", "nas", 100).ok());
  ASSERT_TRUE(record_target_success(*cat_, "shop", "s3", 100).ok());
  ASSERT_TRUE(record_target_failure(*cat_, "shop", "s3", 200, "connection refused").ok());
  ASSERT_TRUE(record_target_failure(*cat_, "shop", "s3", 300, "timeout").ok());
  ASSERT_TRUE(record_target_success(*cat_, "shop", "nas", 300).ok());
  ASSERT_TRUE(record_target_failure(*cat_, "wiki", "gone", 300, "no such target").ok());  // target not configured
  auto h = list_target_health(*cat_);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].target, "nas");
  EXPECT_EQ((*h)[0].last_success_at, 300);
  EXPECT_EQ((*h)[0].failing_since, 0);
  EXPECT_EQ((*h)[1].target, "s3");
  EXPECT_EQ((*h)[1].last_success_at, 100) << "a failure leaves the last success alone";
  EXPECT_EQ((*h)[1].failing_since, 200) << "the first failure since the last success";
  EXPECT_EQ((*h)[1].last_failure_at, 300);
  EXPECT_EQ((*h)[1].last_error, "timeout");
  ASSERT_TRUE(record_target_success(*cat_, "shop", "s3", 400).ok());
  h = list_target_health(*cat_, "shop");
  EXPECT_EQ((*h)[1].failing_since, 0);
  EXPECT_EQ((*h)[1].last_success_at, 400);
  EXPECT_TRUE(list_target_health(*cat_, "wiki")->empty());
  ASSERT_TRUE(forget_copies_on(*cat_, "s3").ok());
  EXPECT_EQ(list_target_health(*cat_, "shop")->size(), 1u);
}

// A state database of schema v2 (before copies had a verify state) opens and migrates:
// its copies read as unchecked, the backup's verdict stays.
TEST(CatalogMigration, Version2CopiesBecomeUnchecked) {
  auto d = TempDir::create("/tmp", "stacksnap-catalog-v2-");
  ASSERT_TRUE(d.ok());
  const std::string path = d->path() + "/state.db";
  {
    auto db = Db::open(path);
    ASSERT_TRUE(db.ok());
    // The v1 tables migration 3 touches and reads, as v1 created them.
    ASSERT_TRUE((*db)->exec(R"sql(
CREATE TABLE backups (
  id TEXT PRIMARY KEY, project TEXT NOT NULL, created_at INTEGER NOT NULL,
  plaintext_bytes INTEGER NOT NULL, stored_bytes INTEGER NOT NULL, sha256 TEXT NOT NULL,
  duration_ms INTEGER NOT NULL, summary TEXT NOT NULL,
  verified_at INTEGER, verify_result TEXT NOT NULL DEFAULT '',
  drill_at INTEGER, drill_result TEXT NOT NULL DEFAULT '', drill_details TEXT NOT NULL DEFAULT 'null');
CREATE TABLE backup_copies (
  backup_id TEXT NOT NULL REFERENCES backups(id) ON DELETE CASCADE, target TEXT NOT NULL,
  key TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, uploaded_at INTEGER NOT NULL,
  PRIMARY KEY (backup_id, target));
INSERT INTO backups VALUES ('old', 'shop', 1, 10, 5, 'aa', 3, '{}', 2, 'ok', NULL, '', 'null');
INSERT INTO backup_copies VALUES ('old', 'nas', 'backups/old.stsnap', 5, 'aa', 1);
PRAGMA user_version = 2;
)sql").ok());
  }
  // An empty copy, as a crash during an older version's upgrade left it: written again.
  { std::ofstream empty(path + ".schema-2.bak"); }
  auto cat = Catalog::open(path);
  ASSERT_TRUE(cat.ok()) << cat.error().message();
  auto b = (*cat)->get_backup("old");
  ASSERT_TRUE(b.ok()) << b.error().message();
  EXPECT_EQ(b->verify_result, "ok");
  ASSERT_EQ(b->copies.size(), 1u);
  EXPECT_EQ(b->copies[0].verify_state, CopyState::kUnchecked);
  ASSERT_TRUE((*cat)->set_copy_verify("old", "nas", CopyState::kVerified, 5, "shallow").ok());
  EXPECT_TRUE(record_target_success(**cat, "shop", "nas", 5).ok());

  // The upgrade kept the database as it was: the way back for an older StackSnap.
  const SchemaInfo& schema = (*cat)->schema();
  EXPECT_EQ(schema.found, 2);
  EXPECT_EQ(schema.version, schema_version());
  EXPECT_TRUE(schema.migrated());
  EXPECT_EQ(schema.backup_path, path + ".schema-2.bak");
  struct stat st {};
  ASSERT_EQ(::stat(schema.backup_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto copy = Db::open(schema.backup_path);
  ASSERT_TRUE(copy.ok());
  auto v = (*copy)->prepare("PRAGMA user_version");
  ASSERT_TRUE(v.ok() && v->step().ok());
  EXPECT_EQ(v->col_int(0), 2);
  auto row = (*copy)->prepare("SELECT count(*) FROM backup_copies");
  ASSERT_TRUE(row.ok() && row->step().ok());
  EXPECT_EQ(row->col_int(0), 1);

  // Opening the migrated file again changes nothing and takes no copy.
  (*cat).reset();
  auto again = Catalog::open(path);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_FALSE((*again)->schema().migrated());
  EXPECT_EQ((*again)->schema().found, schema_version());
  EXPECT_TRUE((*again)->schema().backup_path.empty());
}

// A database written by a newer StackSnap is refused, and left exactly as it was.
TEST(CatalogMigration, NewerSchemaIsRefusedUntouched) {
  auto d = TempDir::create("/tmp", "stacksnap-catalog-new-");
  ASSERT_TRUE(d.ok());
  const std::string path = d->path() + "/state.db";
  {
    auto cat = Catalog::open(path);
    ASSERT_TRUE(cat.ok());
    ASSERT_TRUE((*cat)->set_setting("k", {{"v", 1}}).ok());
  }
  {
    auto db = Db::open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->exec("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA user_version = " +
                            std::to_string(schema_version() + 1))
                    .ok());
  }
  auto before = read_small_file(path);
  ASSERT_TRUE(before.ok());
  auto cat = Catalog::open(path);
  ASSERT_FALSE(cat.ok());
  EXPECT_EQ(cat.error().code(), Code::kFailedPrecondition);
  EXPECT_NE(cat.error().message().find("newer than this stacksnap understands"), std::string::npos)
      << cat.error().message();
  auto after = read_small_file(path);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(*before == *after) << "the newer database was changed";
  struct stat st {};
  EXPECT_NE(::stat((path + ".schema-" + std::to_string(schema_version() + 1) + ".bak").c_str(), &st), 0);
}

TEST_F(CatalogTest, ReopenKeepsDataAndSchema) {
  ASSERT_TRUE(cat_->set_setting("k", {{"v", 2}}).ok());
  cat_.reset();
  auto c = Catalog::open(dir_->path() + "/state.db");
  ASSERT_TRUE(c.ok());
  auto v = (*c)->get_setting("k");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ((**v)["v"], 2);
}

}  // namespace
}  // namespace stacksnap::catalog
