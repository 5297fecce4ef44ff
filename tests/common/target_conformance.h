// The conformance suite every storage::Target implementation passes.
// Use: a factory returning a fresh, empty target; instantiate with
//   INSTANTIATE_TARGET_CONFORMANCE(Local, [] { return make_local(); });
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "base/temp_dir.h"
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
  // A file holding `content`, open for reading (closed and removed with the fixture).
  int file_with(const std::string& content) {
    if (!dir_) {
      auto d = TempDir::create("/tmp", "stacksnap-conformance-");
      EXPECT_TRUE(d.ok());
      if (!d.ok()) return -1;
      dir_.emplace(std::move(*d));
    }
    std::string path = dir_->path() + "/f" + std::to_string(fds_.size());
    int w = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_GE(w, 0);
    EXPECT_EQ(::write(w, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    ::close(w);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    fds_.push_back(fd);
    return fd;
  }
  static std::string sha256_of(const std::string& s) {
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : md) {
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
    return out;
  }
  void TearDown() override {
    for (int fd : fds_) ::close(fd);
  }
  std::unique_ptr<Target> target_;
  std::optional<TempDir> dir_;
  std::vector<int> fds_;
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

TEST_P(TargetConformance, PutFileRoundTripWithProgress) {
  std::string data = pattern(3 * 1024 * 1024 + 17, 11);
  int fd = file_with(data + "trailing bytes not stored");
  std::vector<uint64_t> seen;
  Status st = target_->put_file("f/obj.bin", fd, data.size(),
                                {.sha256 = sha256_of(data), .progress = [&](uint64_t n) -> Status {
                                   seen.push_back(n);
                                   return {};
                                 }});
  ASSERT_TRUE(st.ok()) << st.error().message();
  auto back = get_small(*target_, "f/obj.bin", 64 << 20);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_TRUE(*back == data);
  EXPECT_EQ(target_->stat("f/obj.bin")->size, data.size());
  ASSERT_FALSE(seen.empty());
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(seen.back(), data.size());
  // Without the hash (computed where needed), and an empty file.
  ASSERT_TRUE(target_->put_file("f/nohash.bin", fd, 1000).ok());
  EXPECT_EQ(*get_small(*target_, "f/nohash.bin"), data.substr(0, 1000));
  ASSERT_TRUE(target_->put_file("f/empty.bin", file_with(""), 0).ok());
  EXPECT_EQ(*get_small(*target_, "f/empty.bin"), "");
  // Replaces like commit().
  ASSERT_TRUE(target_->put_file("f/obj.bin", fd, 5).ok());
  EXPECT_EQ(*get_small(*target_, "f/obj.bin"), data.substr(0, 5));
}

TEST_P(TargetConformance, PutFileShorterThanAnnouncedStoresNothing) {
  std::string data = pattern(2 * 1024 * 1024, 12);
  int fd = file_with(data);
  // With a hash, so that S3 finds the end while sending rather than while hashing.
  Status st = target_->put_file("f/short.bin", fd, data.size() + 100, {.sha256 = sha256_of(data)});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kDataLoss) << st.error().message();
  EXPECT_EQ(target_->stat("f/short.bin").error().code(), Code::kNotFound);
  EXPECT_TRUE(keys("f/").empty());
}

TEST_P(TargetConformance, PutFileStoppedByProgressStoresNothing) {
  std::string data = pattern(8 * 1024 * 1024, 13);
  int fd = file_with(data);
  Status st = target_->put_file("f/stopped.bin", fd, data.size(),
                                {.sha256 = sha256_of(data), .progress = [](uint64_t n) -> Status {
                                   if (n >= 1024 * 1024) return cancelled("stopped by the test");
                                   return {};
                                 }});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kCancelled) << st.error().message();
  EXPECT_EQ(st.error().message(), "stopped by the test");
  EXPECT_EQ(target_->stat("f/stopped.bin").error().code(), Code::kNotFound);
  EXPECT_TRUE(keys("").empty());
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
