// Verify per copy (app::verify_stored_backup, repo::verify_backup): a backup with a copy
// on each of two local targets, one of them damaged, or gone, or on a target that is no
// longer configured. Every copy's state is recorded; the backup's verdict is the worst.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>
#include <set>

#include "app/backup_ops.h"
#include "archive_builder.h"
#include "archive_testutil.h"
#include "base/temp_dir.h"
#include "catalog/catalog.h"
#include "repo/repo.h"
#include "repo/verify_stored.h"

namespace stacksnap::app {
namespace {

using catalog::CopyState;
using Json = nlohmann::json;

class VerifyCopies : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("/tmp", "stacksnap-verify-copies-");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    auto c = catalog::Catalog::open(dir_->path() + "/state.db");
    ASSERT_TRUE(c.ok());
    cat_ = std::move(*c);
    auto sealed = testutil::build_raw_archive(
        {{archive::EntryMeta{.path = "volumes/data/a.txt"}, "alpha"}, {archive::EntryMeta{.path = "volumes/data/b.txt"}, "beta"}},
        testutil::test_key());
    ASSERT_TRUE(sealed.ok()) << sealed.error().message();
    blob_ = *sealed;
    catalog::BackupRecord b{.id = kId, .project = "shop", .created_at = 1, .stored_bytes = blob_.size(),
                            .sha256 = seal::hex_encode(seal::Sha256::of(as_bytes(blob_))), .verify_result = "ok"};
    for (const char* t : {"nas", "usb"}) {
      const std::string root = dir_->path() + "/" + t;
      ASSERT_TRUE(cat_->add_target({t, "local", {{"path", root}}, 1}).ok());
      auto target = repo::open_target(*cat_->get_target(t));
      ASSERT_TRUE(target.ok());
      ASSERT_TRUE(storage::put_small(**target, repo::blob_key(kId), blob_).ok());
      b.copies.push_back({.target = t, .key = repo::blob_key(kId), .size = blob_.size(), .sha256 = b.sha256});
    }
    ASSERT_TRUE(cat_->put_backup(b).ok());
  }

  std::string blob_path(const std::string& target) const { return dir_->path() + "/" + target + "/" + repo::blob_key(kId); }
  void flip_byte(const std::string& target) {
    std::fstream f(blob_path(target), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(blob_.size() / 2));
    char c = static_cast<char>(blob_[blob_.size() / 2] ^ 0x01);
    f.write(&c, 1);
  }
  seal::KeySource keys() { return seal::KeySource::from_key(testutil::test_key()); }
  Result<Json> verify(const seal::KeySource* k, job::EventRecorder* rec = nullptr) {
    job::EventRecorder local;
    job::EventHub hub;
    hub.add(rec ? rec : &local);
    job::Context ctx(hub, {});
    return TRY(verify_stored_backup(*cat_, kId, k, ctx)).to_json();
  }
  catalog::CopyRecord copy(const std::string& target) {
    auto b = cat_->get_backup(kId);
    EXPECT_TRUE(b.ok());
    if (!b.ok()) return {};
    for (const auto& c : b->copies) {
      if (c.target == target) return c;
    }
    ADD_FAILURE() << "no copy on " << target;
    return {};
  }

  static constexpr const char* kId = "20261125T201730Z-3fa2c1d0";
  std::optional<TempDir> dir_;
  std::unique_ptr<catalog::Catalog> cat_;
  std::string blob_;
};

TEST_F(VerifyCopies, BothIntactBothVerified) {
  auto k = keys();
  job::EventRecorder events;
  auto r = verify(&k, &events);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ((*r)["target"], "nas");
  EXPECT_EQ((*r)["files"], 3);  // with plan.json
  EXPECT_TRUE((*r)["failed_targets"].empty());
  ASSERT_EQ((*r)["copies"].size(), 2u);
  for (const char* t : {"nas", "usb"}) {
    EXPECT_EQ(copy(t).verify_state, CopyState::kVerified) << t;
    EXPECT_GT(copy(t).verified_at, 0);
    EXPECT_NE(copy(t).verify_detail.find("deep: 3 files"), std::string::npos) << copy(t).verify_detail;
  }
  EXPECT_EQ(cat_->get_backup(kId)->verify_result, "ok");
  std::set<std::string> steps;
  bool listed = false;
  for (const auto& e : events.events()) {
    if (e.type == "step_finished") steps.insert(e.data["step"].get<std::string>());
    if (e.type == "verify_result") listed = e.data["copies"].size() == 2;
  }
  EXPECT_EQ(steps, (std::set<std::string>{"verify.nas", "verify.usb"}));
  EXPECT_TRUE(listed);
}

TEST_F(VerifyCopies, OneDamagedCopyFailsWithDataLossEvenThoughTheOtherVerifies) {
  flip_byte("usb");
  auto k = keys();
  auto r = verify(&k);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kDataLoss);
  EXPECT_NE(r.error().message().find("copy on usb"), std::string::npos) << r.error().message();
  EXPECT_EQ(copy("nas").verify_state, CopyState::kVerified);
  EXPECT_EQ(copy("usb").verify_state, CopyState::kDamaged);
  EXPECT_NE(copy("usb").verify_detail.find("copy on usb"), std::string::npos) << copy("usb").verify_detail;
  const std::string verdict = cat_->get_backup(kId)->verify_result;
  EXPECT_TRUE(verdict.starts_with("failed: copy on usb")) << verdict;

  // Shallow (no key) finds it too.
  auto shallow = verify(nullptr);
  ASSERT_FALSE(shallow.ok());
  EXPECT_EQ(shallow.error().code(), Code::kDataLoss);
  EXPECT_NE(copy("nas").verify_detail.find("shallow"), std::string::npos);

  // A restore still gets the good copy (the first in order, nas), and the damaged one
  // stays recorded as damaged.
  auto v = repo::verify_backup(*cat_, kId, k, {});
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->target, "nas");
  EXPECT_TRUE(cat_->get_backup(kId)->verify_result.starts_with("failed: copy on usb"));
}

TEST_F(VerifyCopies, RestoreRecordsTheDamagedCopyItMetBeforeTheGoodOne) {
  flip_byte("nas");
  auto k = keys();
  auto dir = dir_->path() + "/spool";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  repo::KeptCopy kept{.spool_path = dir + "/restore.stsnap"};
  auto v = repo::verify_backup(*cat_, kId, k, {}, &kept, archive::VerifyDepth::kAuthenticate);
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->target, "usb");
  EXPECT_TRUE(kept.fd.valid());
  EXPECT_EQ(copy("nas").verify_state, CopyState::kDamaged);
  EXPECT_EQ(copy("usb").verify_state, CopyState::kVerified);
  EXPECT_NE(copy("usb").verify_detail.find("authenticated"), std::string::npos) << copy("usb").verify_detail;
  EXPECT_TRUE(cat_->get_backup(kId)->verify_result.starts_with("failed: copy on nas"));
}

TEST_F(VerifyCopies, MissingCopyIsDamagedUnconfiguredTargetIsUnreachable) {
  ASSERT_EQ(::unlink(blob_path("usb").c_str()), 0);
  auto k = keys();
  auto r = verify(&k);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kDataLoss) << r.error().message();
  EXPECT_EQ(copy("usb").verify_state, CopyState::kDamaged);
  EXPECT_NE(copy("usb").verify_detail.find("No such file"), std::string::npos) << copy("usb").verify_detail;

  // Put it back, forget the target: the copy cannot be reached, which says nothing about
  // the archive: the verify is partial, the verdict "ok".
  auto target = repo::open_target(*cat_->get_target("usb"));
  ASSERT_TRUE(storage::put_small(**target, repo::blob_key(kId), blob_).ok());
  ASSERT_TRUE(cat_->remove_target("usb").ok());
  auto partial = verify(&k);
  ASSERT_TRUE(partial.ok()) << partial.error().message();
  ASSERT_EQ((*partial)["failed_targets"].size(), 1u);
  EXPECT_EQ((*partial)["failed_targets"][0]["target"], "usb");
  EXPECT_EQ((*partial)["failed_targets"][0]["code"], "FailedPrecondition");
  EXPECT_EQ(copy("usb").verify_state, CopyState::kUnreachable);
  EXPECT_EQ(copy("nas").verify_state, CopyState::kVerified);
  EXPECT_EQ(cat_->get_backup(kId)->verify_result, "ok");

  // No copy reachable at all: the error, and the verdict is left alone.
  ASSERT_TRUE(cat_->remove_target("nas").ok());
  auto none = verify(&k);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), Code::kFailedPrecondition);
  EXPECT_EQ(cat_->get_backup(kId)->verify_result, "ok");
}

TEST_F(VerifyCopies, WrongKeyRecordsNothing) {
  auto wrong = seal::KeySource::from_key(testutil::test_key(9));
  auto r = verify(&wrong);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kUnauthenticated);
  EXPECT_EQ(copy("nas").verify_state, CopyState::kUnchecked);
  EXPECT_EQ(cat_->get_backup(kId)->verify_result, "ok");
}

}  // namespace
}  // namespace stacksnap::app
