// The job parameters both front ends go through (app/job_params.h).
#include <gtest/gtest.h>

#include "app/job_params.h"

namespace stacksnap::app {
namespace {

TEST(JobParams, BackupRoundTripKeepsEveryOption) {
  auto r = backup_request("shop", Json{{"targets", {"nas", "s3"}}, {"safe_mode", true}, {"include_db_volumes", true},
                                       {"hook_timeout_s", 300}, {"reason", "schedule"}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->project, "shop");
  EXPECT_EQ(r->targets, (std::vector<std::string>{"nas", "s3"}));
  EXPECT_TRUE(r->options.safe_mode);
  EXPECT_TRUE(r->options.include_db_volumes);
  EXPECT_EQ(r->options.hook_timeout.count(), 300);
  EXPECT_EQ(r->reason, "schedule");
  auto again = backup_request("shop", to_params(*r));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(to_params(*again), to_params(*r));
}

TEST(JobParams, BackupDefaultsAndRefusals) {
  auto r = backup_request("shop", Json::object());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->options.hook_timeout.count(), 60);
  EXPECT_EQ(r->reason, "manual");
  EXPECT_TRUE(r->targets.empty());
  for (const Json& bad : {Json{{"hook_timeout_s", 0}}, Json{{"hook_timeout_s", "60"}}, Json{{"safe_mode", "yes"}},
                          Json{{"targets", "nas"}}, Json{{"reason", "cron"}}, Json{{"safe-mode", true}}}) {
    auto b = backup_request("shop", bad);
    ASSERT_FALSE(b.ok()) << bad.dump();
    EXPECT_EQ(b.error().code(), Code::kInvalidArgument);
    EXPECT_NE(b.error().message().find(bad.begin().key()), std::string::npos) << b.error().message();
  }
}

TEST(JobParams, RestoreInPlaceNeedsForceAndCopyTakesAs) {
  auto in_place = restore_request("ID", "shop", Json::object());
  ASSERT_TRUE(in_place.ok());
  EXPECT_TRUE(in_place->as_name.empty());
  EXPECT_FALSE(in_place->force);
  auto same_name = restore_request("ID", "shop", Json{{"as", "shop"}, {"force", true}});
  ASSERT_TRUE(same_name.ok());
  EXPECT_TRUE(same_name->as_name.empty());
  EXPECT_TRUE(same_name->force);
  auto copy = restore_request("ID", "shop", Json{{"project", "shop-copy"}, {"no_ports", true}, {"compose", "v1"}});
  ASSERT_TRUE(copy.ok()) << copy.error().message();
  EXPECT_EQ(copy->as_name, "shop-copy");
  EXPECT_TRUE(copy->no_ports);
  EXPECT_EQ(copy->compose, restore::ComposeChoice::kV1);
  auto again = restore_request("ID", "shop", to_params(*copy));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(to_params(*again), to_params(*copy));
}

TEST(JobParams, RestoreRefusals) {
  EXPECT_FALSE(restore_request("ID", "shop", Json{{"no_ports", true}}).ok());       // in place
  EXPECT_FALSE(restore_request("ID", "shop", Json{{"to", "relative/dir"}}).ok());
  EXPECT_FALSE(restore_request("ID", "shop", Json{{"compose", "v3"}}).ok());
  EXPECT_FALSE(restore_request("ID", "shop", Json{{"as", "a"}, {"project", "b"}}).ok());
  EXPECT_FALSE(restore_request("ID", "shop", Json{{"forse", true}}).ok());
  EXPECT_FALSE(restore_request("ID", "shop", Json::array()).ok());
}

TEST(JobParams, DrillAndVerify) {
  auto d = drill_request("ID", Json{{"compose", "v2"}, {"reason", "schedule"}});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->compose, restore::ComposeChoice::kV2);
  EXPECT_FALSE(drill_request("ID", Json{{"shallow", true}}).ok());
  EXPECT_EQ(to_params(*d, "schedule"), (Json{{"reason", "schedule"}, {"compose", "v2"}}));
  EXPECT_EQ(to_params(restore::DrillRequest{.backup_id = "ID"}), (Json{{"reason", "manual"}}));
  auto v = verify_request("ID", Json{{"shallow", true}});
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->shallow);
  EXPECT_EQ(to_params(*v), (Json{{"shallow", true}}));
}

TEST(JobParams, RepositoryCheckAndGc) {
  auto c = repo_check_request(Json{{"target", "nas"}, {"deep", true}, {"read_data", 12.5}});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->target, "nas");
  EXPECT_TRUE(c->deep);
  EXPECT_DOUBLE_EQ(c->read_data, 12.5);
  EXPECT_EQ(repo_check_request(Json{{"target", "nas"}, {"read_data", 101}}).error().code(), Code::kInvalidArgument);
  EXPECT_EQ(repo_check_request(Json{{"target", "nas"}, {"read_data", "10"}}).error().code(), Code::kInvalidArgument);
  EXPECT_EQ(repo_check_request(Json{{"deep", true}}).error().code(), Code::kInvalidArgument);
  EXPECT_EQ(repo_check_request(Json{{"target", "nas"}, {"depth", 1}}).error().code(), Code::kInvalidArgument);
  auto g = repo_gc_request(Json{{"target", "nas"}, {"dry_run", true}});
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->dry_run);
  EXPECT_FALSE(repo_gc_request(Json{{"target", "nas"}, {"repack", 0.2}}).ok());
}

}  // namespace
}  // namespace stacksnap::app
