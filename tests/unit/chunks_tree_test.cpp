// Directory trees in the v2 repository (chunks/tree.h): stored and restored with names,
// contents, modes, times and links; unchanged directories cost nothing the second time.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "archive_testutil.h"
#include "base/temp_dir.h"
#include "chunks/tree.h"
#include "storage/memory/memory_target.h"

namespace stacksnap::chunks {
namespace {

namespace fs = std::filesystem;

void write(const std::string& path, const std::string& content, mode_t mode = 0644) {
  std::ofstream(path, std::ios::binary) << content;
  ::chmod(path.c_str(), mode);
}

std::string read(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// path → "type mode size mtime content-or-target" for every entry below `dir`.
std::map<std::string, std::string> describe(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    struct stat st {};
    ::lstat(it->path().c_str(), &st);
    const std::string rel = fs::relative(it->path(), dir).string();
    std::string d = std::to_string(st.st_mode & 07777) + " ";
    if (S_ISLNK(st.st_mode)) {
      d = "link " + fs::read_symlink(it->path()).string();
    } else if (S_ISDIR(st.st_mode)) {
      d = "dir " + d + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
    } else if (!S_ISREG(st.st_mode)) {
      d = "other";  // never opened: reading a fifo waits for a writer
    } else {
      d = "file " + d + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + " " +
          read(it->path());
    }
    out[rel] = d;
  }
  return out;
}

class ChunkTree : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("/tmp", "stacksnap-tree-");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    src_ = dir_->path() + "/src";
    fs::create_directories(src_ + "/photos/2026");
    fs::create_directories(src_ + "/db");
    write(src_ + "/photos/2026/b c\nd \"é\".jpg", std::string(3 << 20, 'p'));
    write(src_ + "/photos/2026/\xff\xfe not utf-8.raw", "raw bytes\n");
    write(src_ + "/db/app.sqlite", std::string(700000, 'q'), 0600);
    write(src_ + "/README", "hello\n", 0444);
    fs::create_symlink("photos/2026", src_ + "/latest");
    ::mkfifo((src_ + "/control.fifo").c_str(), 0600);
    ::chmod((src_ + "/photos").c_str(), 0750);
    auto repo = Repository::init(target_, key_);
    ASSERT_TRUE(repo.ok());
    repo_ = std::move(*repo);
  }

  Result<ChunkId> snapshot(TreeStats* stats = nullptr, WriteStats* written = nullptr) {
    auto w = TRY(repo_->write_snapshot());
    const ChunkId tree = TRY(store_tree(*w, src_, stats));
    TRY(w->commit({{"tree", to_hex(tree)}}));
    if (written) *written = w->stats();
    return tree;
  }

  seal::MasterKey key_ = testutil::test_key(7);
  storage::MemoryTarget target_;
  std::unique_ptr<Repository> repo_;
  std::optional<TempDir> dir_;
  std::string src_;
};

TEST_F(ChunkTree, RestoresNamesContentModesTimesAndLinks) {
  TreeStats stored;
  auto tree = snapshot(&stored);
  ASSERT_TRUE(tree.ok()) << tree.error().message();
  EXPECT_EQ(stored.files, 4u);
  EXPECT_EQ(stored.dirs, 3u);
  EXPECT_EQ(stored.symlinks, 1u);
  EXPECT_EQ(stored.skipped, 1u);  // the fifo

  // Another process with the key restores it.
  auto reopened = Repository::open(target_, key_);
  ASSERT_TRUE(reopened.ok());
  const std::string dest = dir_->path() + "/restored";
  ASSERT_EQ(::mkdir(dest.c_str(), 0700), 0);
  TreeStats restored;
  auto st = restore_tree(**reopened, *tree, dest, &restored);
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(restored.bytes, stored.bytes);
  auto want = describe(src_);
  want.erase("control.fifo");
  EXPECT_EQ(describe(dest), want);
}

TEST_F(ChunkTree, AnUnchangedDirectoryIsNotStoredAgain) {
  auto first = snapshot();
  ASSERT_TRUE(first.ok());
  WriteStats again;
  auto second = snapshot(nullptr, &again);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, *first);
  EXPECT_EQ(again.new_chunks, 0u);
  EXPECT_EQ(again.packs, 0u);

  // One file changes: its chunk, its directory's tree and the trees above it are new;
  // the sibling directories' trees are not.
  write(src_ + "/db/app.sqlite", std::string(700000, 'r'), 0600);
  WriteStats third;
  auto changed = snapshot(nullptr, &third);
  ASSERT_TRUE(changed.ok());
  EXPECT_NE(*changed, *first);
  EXPECT_EQ(third.new_chunks, 3u) << "the file's one chunk, db/'s tree, the root tree";
}

TEST_F(ChunkTree, ADamagedChunkFailsTheRestoreOfItsFile) {
  auto tree = snapshot();
  ASSERT_TRUE(tree.ok());
  std::string pack;
  ASSERT_TRUE(target_.list("data/", [&](const storage::ObjectInfo& o) -> Status {
    pack = o.key;
    return {};
  }).ok());
  auto bytes = storage::get_small(target_, pack, 64 << 20);
  ASSERT_TRUE(bytes.ok());
  std::string damaged = *bytes;
  damaged[damaged.size() / 3] ^= 0x04;
  target_.commit_object(pack, damaged);
  auto reopened = Repository::open(target_, key_);
  ASSERT_TRUE(reopened.ok());
  const std::string dest = dir_->path() + "/restored";
  ASSERT_EQ(::mkdir(dest.c_str(), 0700), 0);
  auto st = restore_tree(**reopened, *tree, dest);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kDataLoss) << st.error().message();
}

}  // namespace
}  // namespace stacksnap::chunks
