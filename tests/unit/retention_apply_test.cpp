// retention::plan_prune / apply_prune over a real catalog (SQLite in a temp dir) with a
// recording fake for the deletions.
#include <gtest/gtest.h>

#include <optional>

#include "base/temp_dir.h"
#include "catalog/catalog.h"
#include "catalog/catalog_admin.h"
#include "retention/apply.h"

namespace stacksnap::retention {
namespace {

constexpr int64_t kDay = 86400;
constexpr int64_t kT0 = 1795000000;  // 2026-11-18T…Z

class RetentionApply : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("/tmp", "stacksnap-retention-");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    auto c = catalog::Catalog::open(dir_->path() + "/state.db");
    ASSERT_TRUE(c.ok()) << c.error().message();
    cat_ = std::move(*c);
    for (const char* t : {"local", "s3"}) {
      ASSERT_TRUE(cat_->add_target({.name = t, .kind = "local", .config = {{"path", "/nowhere"}}, .created_at = kT0}).ok());
    }
  }
  void add(const std::string& id, const std::string& project, int64_t created, bool verified,
           std::vector<std::string> targets = {"local", "s3"}) {
    catalog::BackupRecord b{.id = id, .project = project, .created_at = created, .stored_bytes = 10, .sha256 = "ab"};
    if (verified) {
      b.verified_at = created;
      b.verify_result = "ok";
    } else {
      b.verify_result = "failed: DataLoss";
    }
    for (const auto& t : targets) b.copies.push_back({.target = t, .key = "backups/" + id + ".stsnap", .size = 10, .sha256 = "ab"});
    ASSERT_TRUE(cat_->put_backup(b).ok());
  }
  // Deletes through the catalog only, recording the calls.
  RemoveFn recorder() {
    return [this](const std::string& id, const std::string& target) -> Status {
      calls_.push_back(id + "@" + target);
      if (target == "*") return cat_->remove_backup(id);
      TRY(cat_->remove_copy(id, target));
      auto b = TRY(cat_->get_backup(id));
      if (b.copies.empty()) TRY(cat_->remove_backup(id));
      return {};
    };
  }
  std::vector<std::string> ids(const std::string& project = {}) {
    std::vector<std::string> out;
    auto list = cat_->list_backups({.project = project});
    EXPECT_TRUE(list.ok());
    if (list.ok()) {
      for (const auto& b : *list) out.push_back(b.id);
    }
    return out;
  }

  std::optional<TempDir> dir_;
  std::unique_ptr<catalog::Catalog> cat_;
  std::vector<std::string> calls_;
};

TEST_F(RetentionApply, FlagsPolicyKeepsLastAndDeletesTheRest) {
  for (int i = 0; i < 5; ++i) add("b" + std::to_string(i), "shop", kT0 + i * kDay, true);
  add("w0", "wiki", kT0, true);
  auto plan = plan_prune(*cat_, {.project = "shop", .policy = Policy{.keep_last = 2}});
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  ASSERT_EQ(plan->groups.size(), 1u);
  EXPECT_EQ(plan->groups[0].target, "*");
  EXPECT_EQ(plan->groups[0].source, "flags");
  ASSERT_EQ(plan->groups[0].decisions.size(), 5u);
  EXPECT_EQ(plan->groups[0].decisions[0].id, "b4");
  EXPECT_TRUE(plan->groups[0].decisions[1].keep);
  EXPECT_FALSE(plan->groups[0].decisions[2].keep);
  auto out = apply_prune(*cat_, *plan, recorder());
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(calls_, (std::vector<std::string>{"b2@*", "b1@*", "b0@*"}));
  EXPECT_EQ(ids(), (std::vector<std::string>{"b4", "b3", "w0"}));
}

TEST_F(RetentionApply, NewestVerifiedIsNeverDeleted) {
  add("old-ok", "shop", kT0, true);
  add("new-bad1", "shop", kT0 + kDay, false);
  add("new-bad2", "shop", kT0 + 2 * kDay, false);
  auto plan = plan_prune(*cat_, {.policy = Policy{.keep_last = 1}});
  ASSERT_TRUE(plan.ok());
  auto out = apply_prune(*cat_, *plan, recorder());
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(calls_, (std::vector<std::string>{"new-bad1@*"}));
  EXPECT_EQ(ids(), (std::vector<std::string>{"new-bad2", "old-ok"}));
  EXPECT_EQ(plan->groups[0].decisions[2].reasons[0], "newest verified backup (always kept)");
}

TEST_F(RetentionApply, SafetyRecheckSparesAPlanThatWouldDeleteEverything) {
  add("a", "shop", kT0, true);
  add("b", "shop", kT0 + kDay, true);
  // A hand-made plan (as a buggy caller could build) that deletes everything.
  PrunePlan plan;
  plan.groups.push_back({.project = "shop", .target = "*", .policy = Policy{.keep_last = 1}, .source = "flags",
                         .decisions = {{"b", kT0 + kDay, false, {}}, {"a", kT0, false, {}}}});
  auto out = apply_prune(*cat_, plan, recorder());
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(calls_.empty());
  EXPECT_EQ(out->spared.size(), 2u);
  // One keep, but the newest verified marked for deletion: spared by the re-check.
  plan.groups[0].decisions = {{"b", kT0 + kDay, false, {}}, {"a", kT0, true, {}}};
  out = apply_prune(*cat_, plan, recorder());
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(calls_.empty());
  ASSERT_EQ(out->spared.size(), 1u);
  EXPECT_EQ(out->spared[0].id, "b");
}

TEST_F(RetentionApply, StoredPoliciesPerTargetAndFallbackToEveryTarget) {
  for (int i = 0; i < 4; ++i) add("s" + std::to_string(i), "shop", kT0 + i * kDay, true);
  add("w0", "wiki", kT0, true);
  ASSERT_TRUE(catalog::put_retention(*cat_, {.project = "shop", .target = "s3", .policy = Policy{.keep_last = 1}.to_json()}).ok());
  ASSERT_TRUE(catalog::put_retention(*cat_, {.project = "shop", .target = "*", .policy = Policy{.keep_last = 3}.to_json()}).ok());
  // All stored policies: "*" keeps 3 (s0 goes everywhere); s3 keeps 1.
  auto plan = plan_prune(*cat_, {});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->groups.size(), 2u);
  EXPECT_EQ(plan->without_policy, std::vector<std::string>{"wiki"});
  auto out = apply_prune(*cat_, *plan, recorder());
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->failed.empty());
  auto s2 = cat_->get_backup("s2");
  ASSERT_TRUE(s2.ok());
  ASSERT_EQ(s2->copies.size(), 1u);
  EXPECT_EQ(s2->copies[0].target, "local");
  auto s3 = cat_->get_backup("s3");
  ASSERT_TRUE(s3.ok());
  EXPECT_EQ(s3->copies.size(), 2u);
  EXPECT_FALSE(cat_->get_backup("s0").ok());
  EXPECT_TRUE(cat_->get_backup("w0").ok());

  // With a target filter and no policy stored for it, the "*" policy applies to it.
  ASSERT_TRUE(catalog::remove_retention(*cat_, "shop", "s3").ok());
  calls_.clear();
  auto only_local = plan_prune(*cat_, {.project = "shop", .target = "local"});
  ASSERT_TRUE(only_local.ok());
  ASSERT_EQ(only_local->groups.size(), 1u);
  EXPECT_EQ(only_local->groups[0].target, "local");
  EXPECT_EQ(only_local->groups[0].policy.keep_last, 3);
  EXPECT_EQ(only_local->groups[0].decisions.size(), 3u);

  EXPECT_EQ(plan_prune(*cat_, {.target = "nowhere"}).error().code(), Code::kNotFound);
}

TEST_F(RetentionApply, FailuresAreReportedAndDoNotStopTheOthers) {
  for (int i = 0; i < 4; ++i) add("f" + std::to_string(i), "shop", kT0 + i * kDay, true);
  auto plan = plan_prune(*cat_, {.policy = Policy{.keep_last = 1}});
  ASSERT_TRUE(plan.ok());
  auto out = apply_prune(*cat_, *plan, [&](const std::string& id, const std::string& t) -> Status {
    if (id == "f1") return unavailable("s3 unreachable");
    return recorder()(id, t);
  });
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->failed.size(), 1u);
  EXPECT_EQ(out->failed[0].id, "f1");
  EXPECT_EQ(out->deleted.size(), 2u);
  EXPECT_EQ(ids(), (std::vector<std::string>{"f3", "f1"}));
}

}  // namespace
}  // namespace stacksnap::retention
