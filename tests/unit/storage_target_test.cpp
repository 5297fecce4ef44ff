#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "base/fd.h"
#include "base/temp_dir.h"
#include "common/target_conformance.h"
#include "storage/local/local_target.h"
#include "storage/memory/memory_target.h"

namespace stacksnap::storage::testing {
namespace {

std::unique_ptr<Target> make_local() {
  static std::vector<TempDir> dirs;  // kept until the process ends
  auto d = TempDir::create("/tmp", "stacksnap-local-target-");
  if (!d.ok()) return nullptr;
  auto t = LocalTarget::create(d->path() + "/store");
  dirs.push_back(std::move(*d));
  return t.ok() ? std::move(*t) : nullptr;
}

INSTANTIATE_TEST_SUITE_P(Local, TargetConformance, ::testing::Values(TargetFactory(make_local)));
INSTANTIATE_TEST_SUITE_P(Memory, TargetConformance,
                         ::testing::Values(TargetFactory([] { return std::unique_ptr<Target>(new MemoryTarget); })));

size_t regular_files(const std::string& dir) {
  size_t files = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir)) files += e.is_regular_file();
  return files;
}

TEST(LocalTarget, AbortedUploadLeavesNoTmpFile) {
  auto d = TempDir::create("/tmp");
  ASSERT_TRUE(d.ok());
  auto t = LocalTarget::create(d->path());
  ASSERT_TRUE(t.ok());
  {
    auto up = (*t)->put("backups/a.stsnap", 0);
    ASSERT_TRUE(up.ok());
    ASSERT_TRUE((*up)->write(as_bytes("partial")).ok());
  }
  EXPECT_EQ(regular_files(d->path()), 0u);
}

TEST(LocalTarget, UploadInProgressHasNoNameAndAKilledWriterLeavesNothing) {
  auto d = TempDir::create("/tmp");
  ASSERT_TRUE(d.ok());
  auto t = LocalTarget::create(d->path());
  ASSERT_TRUE(t.ok());
  {
    auto up = (*t)->put("backups/a.stsnap", 0);
    ASSERT_TRUE(up.ok());
    std::string mib(1 << 20, 'x');
    for (int i = 0; i < 40; ++i) ASSERT_TRUE((*up)->write(as_bytes(mib)).ok());  // past a writeback step
    EXPECT_EQ(regular_files(d->path()), 0u) << "an upload is unnamed until it commits";
    ASSERT_TRUE((*up)->commit().ok());
  }
  EXPECT_EQ(regular_files(d->path()), 1u);
  auto info = (*t)->stat("backups/a.stsnap");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size, 40u << 20);

  // A writer killed mid-upload (no destructor, no abort) leaves no file behind.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto up = (*t)->put("backups/b.stsnap", 0);
    if (!up.ok() || !(*up)->write(as_bytes("half of an archive")).ok()) ::_exit(1);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(regular_files(d->path()), 1u);
  EXPECT_FALSE((*t)->stat("backups/b.stsnap").ok());
}

TEST(LocalTarget, CleanupRemovesStaleUploadFiles) {
  auto d = TempDir::create("/tmp");
  ASSERT_TRUE(d.ok());
  auto t = LocalTarget::create(d->path());
  ASSERT_TRUE(t.ok());
  // What a killed process leaves: a tmp upload file.
  std::string stale = d->path() + "/.x.stsnap.upload-abc123";
  ASSERT_TRUE(write_file_atomic(stale, "junk").ok());
  ASSERT_TRUE(put_small(**t, "kept", "k").ok());
  auto n = (*t)->cleanup_stale(std::chrono::seconds(0));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_TRUE((*t)->stat("kept").ok());
}

TEST(LocalTarget, RelativeRootRejected) {
  auto t = LocalTarget::create("relative/dir");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace stacksnap::storage::testing
