// The conformance suite every storage::Target implementation passes.
// Use: a factory returning a fresh, empty target; instantiate with
//   INSTANTIATE_TARGET_CONFORMANCE(Local, [] { return make_local(); });
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "storage/target.h"

namespace stacksnap::storage::testing {

using TargetFactory = std::function<std::unique_ptr<Target>()>;

class TargetConformance : public ::testing::TestWithParam<TargetFactory> {
 protected:
  void SetUp() override {
    target_ = GetParam()();
    ASSERT_NE(target_, nullptr);
  }
  static std::string pattern(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
  }
  std::vector<std::string> keys(const std::string& prefix) {
    std::vector<std::string> out;
    auto st = target_->list(prefix, [&](const ObjectInfo& o) {
      out.push_back(o.key);
      return Status{};
    });
    EXPECT_TRUE(st.ok()) << st.error().message();
    return out;
  }
  std::unique_ptr<Target> target_;
};

TEST_P(TargetConformance, PutCommitGetRoundTrip) {
  std::string data = pattern(3 * 1024 * 1024 + 17, 1);
  auto up = target_->put("t/obj.bin", data.size());
  ASSERT_TRUE(up.ok()) << up.error().message();
  for (size_t off = 0; off < data.size(); off += 100000) {
    ASSERT_TRUE((*up)->write(as_bytes(std::string_view(data).substr(off, 100000))).ok());
  }
  EXPECT_EQ((*up)->bytes_written(), data.size());
  auto st = (*up)->commit();
  ASSERT_TRUE(st.ok()) << st.error().message();
  auto back = get_small(*target_, "t/obj.bin", 64 << 20);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_TRUE(*back == data);
  auto info = target_->stat("t/obj.bin");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size, data.size());
}

TEST_P(TargetConformance, EmptyObject) {
  ASSERT_TRUE(put_small(*target_, "empty", "").ok());
  auto back = get_small(*target_, "empty");
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, "");
  EXPECT_EQ(target_->stat("empty")->size, 0u);
}

TEST_P(TargetConformance, UncommittedUploadIsInvisible) {
  {
    auto up = target_->put("t/partial.bin", 0);
    ASSERT_TRUE(up.ok());
    ASSERT_TRUE((*up)->write(as_bytes("half an object")).ok());
    EXPECT_EQ(target_->stat("t/partial.bin").error().code(), Code::kNotFound);
    EXPECT_TRUE(keys("t/").empty());
  }  // destroyed without commit → aborted
  EXPECT_EQ(target_->stat("t/partial.bin").error().code(), Code::kNotFound);
  EXPECT_TRUE(keys("").empty());
  auto up = target_->put("t/aborted.bin", 0);
  ASSERT_TRUE(up.ok());
  ASSERT_TRUE((*up)->write(as_bytes("x")).ok());
  (*up)->abort();
  EXPECT_EQ(target_->stat("t/aborted.bin").error().code(), Code::kNotFound);
}

TEST_P(TargetConformance, CommitReplacesAtomically) {
  ASSERT_TRUE(put_small(*target_, "k", "old").ok());
  auto up = target_->put("k", 0);
  ASSERT_TRUE(up.ok());
  ASSERT_TRUE((*up)->write(as_bytes("new content")).ok());
  EXPECT_EQ(*get_small(*target_, "k"), "old");
  ASSERT_TRUE((*up)->commit().ok());
  EXPECT_EQ(*get_small(*target_, "k"), "new content");
}

TEST_P(TargetConformance, RangedGet) {
  std::string data = pattern(100000, 2);
  ASSERT_TRUE(put_small(*target_, "r", data).ok());
  auto r = target_->get("r", {.offset = 1000, .length = 5000});
  ASSERT_TRUE(r.ok()) << r.error().message();
  auto got = read_all(**r, 1 << 20);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == data.substr(1000, 5000));
  auto tail = target_->get("r", {.offset = 99990});
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*read_all(**tail, 1 << 20), data.substr(99990));
}

TEST_P(TargetConformance, MissingKeyIsNotFound) {
  EXPECT_EQ(target_->get("nope", {}).error().code(), Code::kNotFound);
  EXPECT_EQ(target_->stat("nope").error().code(), Code::kNotFound);
  EXPECT_TRUE(target_->remove("nope").ok());
}

TEST_P(TargetConformance, ListIsSortedFilteredAndPaginated) {
  // More than 1,000 keys: S3 pages at 1,000.
  for (int i = 0; i < 1010; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "many/obj-%05d", i);
    ASSERT_TRUE(put_small(*target_, name, "x").ok()) << name;
  }
  ASSERT_TRUE(put_small(*target_, "other/a", "y").ok());
  auto many = keys("many/");
  ASSERT_EQ(many.size(), 1010u);
  EXPECT_TRUE(std::is_sorted(many.begin(), many.end()));
  EXPECT_EQ(many.front(), "many/obj-00000");
  EXPECT_EQ(many.back(), "many/obj-01009");
  EXPECT_EQ(keys("other/").size(), 1u);
  EXPECT_EQ(keys("").size(), 1011u);
  // A callback error stops the walk and comes back.
  int seen = 0;
  auto st = target_->list("many/", [&](const ObjectInfo&) -> Status {
    if (++seen == 3) return cancelled("stop");
    return {};
  });
  EXPECT_EQ(st.error().code(), Code::kCancelled);
  EXPECT_EQ(seen, 3);
}

TEST_P(TargetConformance, RemoveDeletes) {
  ASSERT_TRUE(put_small(*target_, "d/x", "1").ok());
  ASSERT_TRUE(target_->remove("d/x").ok());
  EXPECT_EQ(target_->stat("d/x").error().code(), Code::kNotFound);
}

TEST_P(TargetConformance, RejectsBadKeys) {
  for (std::string k : {"", "/abs", "a/../b", "a//b", "..", "a/./b"}) {
    EXPECT_EQ(target_->put(k, 0).error().code(), Code::kInvalidArgument) << k;
  }
}

}  // namespace stacksnap::storage::testing
