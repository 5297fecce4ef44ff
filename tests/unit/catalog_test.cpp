#include <gtest/gtest.h>
#include <unistd.h>

#include "base/temp_dir.h"
#include "catalog/catalog.h"

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
