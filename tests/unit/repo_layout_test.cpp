// Object names of backups on a target (opaque by default, backups/<project>/<id>.* only with
// readable names) and the catalog rebuild reading both layouts, on a MemoryTarget.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>

#include "base/temp_dir.h"
#include "catalog/catalog.h"
#include "repo/rebuild.h"
#include "repo/repo.h"
#include "seal/crypto.h"
#include "storage/memory/memory_target.h"

namespace stacksnap::repo {
namespace {

constexpr int64_t kT0 = 1795000000;

TEST(RepoLayout, KeysRevealTheProjectOnlyWhenAsked) {
  EXPECT_EQ(blob_key("20261125T201730Z-3fa2c1d0"), "backups/20261125T201730Z-3fa2c1d0.stsnap");
  EXPECT_EQ(sidecar_key("20261125T201730Z-3fa2c1d0"), "backups/20261125T201730Z-3fa2c1d0.json");
  EXPECT_EQ(blob_key("20261125T201730Z-3fa2c1d0", "shop"), "backups/shop/20261125T201730Z-3fa2c1d0.stsnap");
  EXPECT_EQ(sidecar_key("20261125T201730Z-3fa2c1d0", "shop"), "backups/shop/20261125T201730Z-3fa2c1d0.json");

  catalog::TargetRecord rec{.name = "t", .kind = "s3", .config = {{"bucket", "b"}}};
  EXPECT_FALSE(readable_names(rec));  // the default: opaque names
  rec.config["readable_names"] = false;
  EXPECT_FALSE(readable_names(rec));
  rec.config["readable_names"] = "yes";  // not a boolean: not an opt-in
  EXPECT_FALSE(readable_names(rec));
  rec.config["readable_names"] = true;
  EXPECT_TRUE(readable_names(rec));
}

class RepoRebuild : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("/tmp", "stacksnap-repo-layout-");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    auto c = catalog::Catalog::open(dir_->path() + "/state.db");
    ASSERT_TRUE(c.ok()) << c.error().message();
    cat_ = std::move(*c);
    ASSERT_TRUE(cat_->add_target(trec_).ok());
    auto k = seal::MasterKey::generate();
    ASSERT_TRUE(k.ok());
    key_.emplace(std::move(*k));
  }

  // Stores a backup of `project` as the backup pipeline does: blob, then sidecar, under
  // the layout chosen by `readable`.
  std::string store(const std::string& id, const std::string& project, bool readable, int64_t created) {
    const std::string dir = readable ? project : std::string();
    std::string blob = "sealed bytes of " + id;
    catalog::BackupRecord b{.id = id, .project = project, .created_at = created, .stored_bytes = blob.size(),
                            .sha256 = seal::hex_encode(seal::Sha256::of(as_bytes(blob)))};
    catalog::CopyRecord copy{.target = trec_.name, .key = blob_key(id, dir), .size = blob.size(), .sha256 = b.sha256};
    auto sidecar = make_sidecar(b, copy, *key_);
    EXPECT_TRUE(sidecar.ok());
    target_.commit_object(copy.key, blob);
    target_.commit_object(sidecar_key(id, dir), *sidecar);
    return copy.key;
  }

  RebuildReport rebuild() {
    auto clone = key_->clone();
    EXPECT_TRUE(clone.ok());
    auto keys = seal::KeySource::from_key(std::move(*clone));
    auto r = rebuild_from_target(*cat_, trec_, target_, keys);
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? *r : RebuildReport{};
  }

  catalog::TargetRecord trec_{.name = "mem", .kind = "local", .config = {{"path", "/nowhere"}}, .created_at = kT0};
  std::optional<TempDir> dir_;
  std::unique_ptr<catalog::Catalog> cat_;
  std::optional<seal::MasterKey> key_;
  storage::MemoryTarget target_;
};

TEST_F(RepoRebuild, ReadsBothLayouts) {
  const std::string opaque = store("20261120T010000Z-00000001", "shop", false, kT0);
  const std::string readable = store("20261121T010000Z-00000002", "wiki", true, kT0 + 86400);
  EXPECT_EQ(readable, "backups/wiki/20261121T010000Z-00000002.stsnap");
  EXPECT_EQ(opaque.find("shop"), std::string::npos);

  RebuildReport rep = rebuild();
  EXPECT_EQ(rep.sidecars, 2);
  EXPECT_TRUE(rep.problems.empty()) << rep.problems[0].key << ": " << rep.problems[0].message;
  auto added = rep.added_backups;
  std::sort(added.begin(), added.end());
  EXPECT_EQ(added, (std::vector<std::string>{"20261120T010000Z-00000001", "20261121T010000Z-00000002"}));
  auto shop = cat_->get_backup("20261120T010000Z-00000001");
  ASSERT_TRUE(shop.ok());
  EXPECT_EQ(shop->project, "shop");
  ASSERT_EQ(shop->copies.size(), 1u);
  EXPECT_EQ(shop->copies[0].key, opaque);
  auto wiki = cat_->get_backup("20261121T010000Z-00000002");
  ASSERT_TRUE(wiki.ok());
  EXPECT_EQ(wiki->project, "wiki");
  ASSERT_EQ(wiki->copies.size(), 1u);
  EXPECT_EQ(wiki->copies[0].key, readable);
  EXPECT_EQ(wiki->copies[0].target, "mem");

  // Idempotent.
  RebuildReport again = rebuild();
  EXPECT_EQ(again.already_known, 2);
  EXPECT_TRUE(again.added_backups.empty());
}

TEST_F(RepoRebuild, MovedOrRenamedSidecarsAreReported) {
  const std::string id = "20261122T010000Z-00000003";
  store(id, "shop", true, kT0);
  auto sidecar = storage::get_small(target_, sidecar_key(id, "shop"));
  ASSERT_TRUE(sidecar.ok());
  auto blob = storage::get_small(target_, blob_key(id, "shop"));
  ASSERT_TRUE(blob.ok());
  // The provider moves both objects under another project's name, adjusting the public
  // "blob" field so that it matches; the sealed metadata still says "shop".
  auto j = nlohmann::json::parse(*sidecar);
  j["blob"] = blob_key(id, "wiki");
  target_.commit_object(blob_key(id, "wiki"), *blob);
  target_.commit_object(sidecar_key(id, "wiki"), j.dump());
  // And copies the opaque layout's sidecar under another id's name.
  const std::string other = "20261122T010000Z-000000ff";
  j["blob"] = blob_key(other);
  target_.commit_object(blob_key(other), *blob);
  target_.commit_object(sidecar_key(other), j.dump());

  RebuildReport rep = rebuild();
  EXPECT_EQ(rep.sidecars, 3);
  EXPECT_EQ(rep.added_backups, std::vector<std::string>{id});  // the genuine one
  ASSERT_EQ(rep.problems.size(), 2u);
  std::map<std::string, std::string> by_key;
  for (const auto& p : rep.problems) {
    EXPECT_EQ(p.code, "DataLoss") << p.key << ": " << p.message;
    by_key[p.key] = p.message;
  }
  EXPECT_NE(by_key[sidecar_key(id, "wiki")].find("project shop (moved)"), std::string::npos) << by_key[sidecar_key(id, "wiki")];
  EXPECT_NE(by_key[sidecar_key(other)].find("(renamed)"), std::string::npos) << by_key[sidecar_key(other)];
  auto rec = cat_->get_backup(id);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->project, "shop");
  EXPECT_EQ(rec->copies[0].key, blob_key(id, "shop"));
}

}  // namespace
}  // namespace stacksnap::repo
