// The one JSON form of a backup record: round trip, list vs detail, errors.
#include <gtest/gtest.h>

#include "catalog/record_json.h"

namespace stacksnap::catalog {
namespace {

BackupRecord sample() {
  BackupRecord b;
  b.id = "20261206T220000Z-shop-0badd0e5";
  b.project = "shop";
  b.created_at = 1796594400;
  b.plaintext_bytes = 1234;
  b.stored_bytes = 999;
  b.sha256 = std::string(64, 'a');
  b.duration_ms = 42;
  b.summary = {{"volumes", {{"data", {{"files", 3}}}}}};
  b.verified_at = 1796594500;
  b.verify_result = "ok";
  b.copies.push_back({.target = "local", .key = "backups/x.stsnap", .size = 999, .sha256 = b.sha256,
                      .uploaded_at = 1796594410, .verify_state = CopyState::kVerified, .verified_at = 1796594500});
  return b;
}

TEST(RecordJson, RoundTripKeepsWhatASidecarCarries) {
  const BackupRecord b = sample();
  const Json j = to_json(b, {.copies = false});
  EXPECT_FALSE(j.contains("copies"));
  auto back = backup_from_json(j);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(back->id, b.id);
  EXPECT_EQ(back->project, b.project);
  EXPECT_EQ(back->created_at, b.created_at);
  EXPECT_EQ(back->stored_bytes, b.stored_bytes);
  EXPECT_EQ(back->plaintext_bytes, b.plaintext_bytes);
  EXPECT_EQ(back->sha256, b.sha256);
  EXPECT_EQ(back->summary, b.summary);
  EXPECT_EQ(back->verified_at, b.verified_at);
  EXPECT_EQ(back->verify_result, "ok");
}

TEST(RecordJson, OneFormForListsAndDetail) {
  const Json full = to_json(sample());
  EXPECT_EQ(full["created_at"], 1796594400);
  EXPECT_FALSE(full.contains("created"));
  ASSERT_EQ(full["copies"].size(), 1u);
  EXPECT_EQ(full["copies"][0]["verify_state"], "verified");
  EXPECT_EQ(full["copies"][0]["verified_at"], 1796594500);
  EXPECT_TRUE(full["drill_at"].is_null());
  EXPECT_TRUE(full.contains("summary"));
  const Json brief = to_json(sample(), {.details = false});
  EXPECT_FALSE(brief.contains("summary"));
  // The list form is the detail form without the details: same keys, same values.
  for (const auto& [k, v] : brief.items()) EXPECT_EQ(full[k], v) << k;
}

TEST(RecordJson, MalformedNamesTheField) {
  Json j = to_json(sample());
  j["stored_bytes"] = "lots";
  auto b = backup_from_json(j);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code(), Code::kDataLoss);
  EXPECT_NE(b.error().message().find("stored_bytes"), std::string::npos) << b.error().message();
  j.erase("stored_bytes");
  j.erase("created_at");
  b = backup_from_json(j);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message().find("created_at"), std::string::npos) << b.error().message();
}

}  // namespace
}  // namespace stacksnap::catalog
