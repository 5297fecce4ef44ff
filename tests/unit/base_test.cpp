#include <gtest/gtest.h>

#include <filesystem>

#include "base/path.h"
#include "base/text.h"
#include "base/error.h"
#include "base/fd.h"
#include "base/stream.h"
#include "base/temp_dir.h"

namespace stacksnap {
namespace {

Result<int> parse_positive(int x) {
  if (x <= 0) return invalid_argument("not positive: " + std::to_string(x));
  return x;
}

Result<int> doubled(int x) {
  int v = TRY_CTX(parse_positive(x), "doubling");
  return v * 2;
}

TEST(Result, TryPropagatesWithContext) {
  auto ok = doubled(4);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 8);
  auto bad = doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.error().message(), "doubling: not positive: -1");
}

TEST(Errno, MapsCodes) {
  EXPECT_EQ(errno_error("open x", ENOENT).code(), Code::kNotFound);
  EXPECT_EQ(errno_error("write x", ENOSPC).code(), Code::kResourceExhausted);
  EXPECT_EQ(errno_error("connect", ECONNREFUSED).code(), Code::kUnavailable);
  EXPECT_EQ(errno_error("open x", ENOENT).message(), "open x: No such file or directory");
}

TEST(Stream, ReadExactFailsOnShortInput) {
  MemoryReader r("abc");
  std::byte buf[4];
  auto st = read_exact(r, buf);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kDataLoss);
}

TEST(Files, ScratchFileIsUnnamedAndReadableThroughProc) {
  auto d = TempDir::create("/tmp");
  ASSERT_TRUE(d.ok());
  std::string named = "?";
  auto fd = create_scratch_file(d->path(), d->path() + "/fallback", 0600, &named);
  ASSERT_TRUE(fd.ok()) << fd.error().message();
  EXPECT_EQ(named, "") << "/tmp supports O_TMPFILE";
  EXPECT_TRUE(std::filesystem::is_empty(d->path()));
  FdWriter w(fd->get());
  ASSERT_TRUE(w.write(as_bytes("scratch")).ok());
  auto text = read_small_file("/proc/self/fd/" + std::to_string(fd->get()));
  ASSERT_TRUE(text.ok()) << text.error().message();
  EXPECT_EQ(*text, "scratch");
}

TEST(Files, AtomicWriteAndTempDirCleanup) {
  std::string path;
  {
    auto dir = TempDir::create("/tmp");
    ASSERT_TRUE(dir.ok());
    path = dir->path();
    ASSERT_TRUE(write_file_atomic(path + "/f", "hello", 0600).ok());
    auto back = read_small_file(path + "/f");
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, "hello");
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(Path, WithinIsTheDirOrBelowItLexically) {
  EXPECT_TRUE(path_within("/srv/app", "/srv/app"));
  EXPECT_TRUE(path_within("/srv/app/data", "/srv/app"));
  EXPECT_TRUE(path_within("/srv/app/data", "/srv/app/"));
  EXPECT_TRUE(path_within("/srv/app", "/srv/app//"));
  EXPECT_FALSE(path_within("/srv/application", "/srv/app"));
  EXPECT_FALSE(path_within("/srv", "/srv/app"));
  EXPECT_TRUE(path_within("/anything", "/"));
  EXPECT_TRUE(path_within("/", "/"));
  EXPECT_FALSE(path_within("relative", "/"));
  EXPECT_FALSE(path_within("/srv/app", ""));
  EXPECT_FALSE(path_within("", "/srv"));
}

TEST(Text, SplitListTrimsOnlyWhatItIsToldAndDropsEmptyItems) {
  EXPECT_EQ(split_list(" a, b ,,c,"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(split_list("\ta ,b\t"), (std::vector<std::string>{"\ta", "b\t"}));  // spaces only by default
  EXPECT_EQ(split_list("\ta ,b\t", " \t"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(split_list("").empty());
  EXPECT_TRUE(split_list(" , ").empty());
  EXPECT_EQ(split_list("with space.yml"), (std::vector<std::string>{"with space.yml"}));
}

}  // namespace
}  // namespace stacksnap
