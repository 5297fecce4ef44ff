// A tree read directly into a repository snapshot (archive/fs_source.h into
// repo::SnapshotSink, as a backup to a repository target reads a volume on the Engine's
// host): the snapshot exports to the archive that the same tree makes; the files cache
// takes unchanged files unread and reads again every file whose content may differ (new
// size, new ctime, new inode); a file that shrinks while it is read is stored with zeros
// and reported.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "archive/extract.h"
#include "archive/fs_source.h"
#include "archive/writer.h"
#include "archive_listing.h"
#include "archive_testutil.h"
#include "common/damage.h"
#include "base/temp_dir.h"
#include "repo/gc.h"
#include "repo/snapshot.h"
#include "storage/memory/memory_target.h"

namespace stacksnap::repo {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using testutil::list_archive;

void write_file(const std::string& p, const std::string& content) {
  fs::create_directories(fs::path(p).parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
}

const Json kPlan = {{"project", "shop"}, {"expect", {{"trees", {"volumes/shop data"}}}}};

class RepoDirect : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("/tmp", "stacksnap-direct-");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    root = dir_->path() + "/tree";
    // What a volume of a real app holds: hostile names, a hard link, a symlink, a fifo, a
    // sparse file, an empty file, a file larger than a chunk.
    write_file(root + "/big.bin", big);
    write_file(root + "/access.log", std::string(200000, 'x'));
    write_file(root + "/new\nline \"quoted\" é", "odd names are normal\n");
    write_file(root + std::string("/bad\xff\xfe utf8"), "not UTF-8\n");
    write_file(root + "/sub dir/=equals=", "k=v\n");
    write_file(root + "/empty", "");
    ASSERT_EQ(::symlink("big.bin", (root + "/link").c_str()), 0);
    ASSERT_EQ(::link((root + "/big.bin").c_str(), (root + "/hard").c_str()), 0);
    ASSERT_EQ(::mkfifo((root + "/queue").c_str(), 0600), 0);
    int fd = ::open((root + "/sparse.img").c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "hello", 5, 1 << 20), 5);
    ASSERT_EQ(::ftruncate(fd, 2 << 20), 0);
    ::close(fd);
    auto r = chunks::Repository::init(target, key);
    ASSERT_TRUE(r.ok()) << r.error().message();
    repo = std::move(*r);
  }

  // One backup of the tree into a snapshot; `parent` is the files cache.
  Result<chunks::SnapshotInfo> snapshot(std::optional<chunks::SnapshotInfo> parent, archive::TreeSummary* tree = nullptr,
                                        archive::TreeOptions options = {}) {
    auto sink = TRY(SnapshotSink::create(*repo, std::move(parent), StopToken{}));
    TRY(sink->add_plan(kPlan));
    auto sum = TRY(archive::add_directory_tree(*sink, root, "volumes/shop data", std::move(options)));
    if (tree) *tree = sum;
    TRY(sink->set_volume_info("shop data", {{"read", "direct"}}));
    TRY(sink->verify_uploaded());
    return sink->commit({{"backup_id", "b" + std::to_string(++n)}, {"project", "shop"}}, "2026-12-07T12:00:00Z");
  }
  Result<std::string> exported(const chunks::SnapshotInfo& snap) {
    StringWriter out;
    TRY(export_snapshot(*repo, snap, key, out, StopToken{}));
    return out.take();
  }
  // The same tree as a v1 archive (what a backup to an archive target holds).
  Result<std::string> archived() {
    StringWriter out;
    auto w = TRY(archive::ArchiveWriter::create(out, key, {.zstd_threads = -1}));
    TRY(w->add_plan(kPlan));
    TRY(archive::add_directory_tree(*w, root, "volumes/shop data"));
    TRY(w->set_volume_info("shop data", {{"read", "direct"}}));
    TRY(w->finish());
    return out.take();
  }

  std::optional<TempDir> dir_;
  std::string root;
  std::string big = testutil::random_text(5u << 20, 21);
  seal::MasterKey key = testutil::test_key();
  storage::MemoryTarget target;
  std::unique_ptr<chunks::Repository> repo;
  int n = 0;
};

TEST_F(RepoDirect, ATreeReadIntoASnapshotExportsAsTheArchiveOfTheSameTree) {
  archive::TreeSummary tree;
  auto snap = snapshot(std::nullopt, &tree);
  ASSERT_TRUE(snap.ok()) << snap.error().message();
  EXPECT_EQ(tree.unchanged_files, 0u);
  auto a = archived();
  auto b = exported(*snap);
  ASSERT_TRUE(a.ok()) << a.error().message();
  ASSERT_TRUE(b.ok()) << b.error().message();
  auto la = list_archive(*a, key);
  auto lb = list_archive(*b, key);
  ASSERT_TRUE(la.ok() && lb.ok());
  EXPECT_EQ(la->lines, lb->lines);
  EXPECT_EQ(la->plan, lb->plan);
  EXPECT_EQ(la->manifest["volumes"], lb->manifest["volumes"]);
  EXPECT_EQ(la->lines.size(), 12u);
  // The snapshot says where the tree's entries start (the next backup's files cache).
  EXPECT_TRUE(snap->doc["sections"].contains("volumes/shop data")) << snap->doc["sections"].dump();
}

TEST_F(RepoDirect, TheFilesCacheTakesUnchangedFilesUnreadAndRereadsWhatMayDiffer) {
  // A file changed less than a second before a backup began gets no files-cache identity
  // (racy timestamps): the tree must be older than that.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto first = snapshot(std::nullopt);
  ASSERT_TRUE(first.ok()) << first.error().message();

  // Unchanged: every regular file is taken from the first snapshot; almost nothing uploaded.
  archive::TreeSummary same;
  auto second = snapshot(*first, &same);
  ASSERT_TRUE(second.ok()) << second.error().message();
  EXPECT_EQ(same.files, 7u);
  EXPECT_EQ(same.unchanged_files, 7u);

  // Rewritten in place with the same size and the old mtime put back: only the ctime
  // tells. Replaced by a rename with the same size and mtime: only the inode tells.
  struct stat before {};
  ASSERT_EQ(::stat((root + "/access.log").c_str(), &before), 0);
  write_file(root + "/access.log", std::string(199999, 'x') + "y");
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, (root + "/access.log").c_str(), times, 0), 0);
  ASSERT_EQ(::stat((root + "/sub dir/=equals=").c_str(), &before), 0);
  write_file(root + "/sub dir/.tmp", "k=w\n");
  const struct timespec times2[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, (root + "/sub dir/.tmp").c_str(), times2, 0), 0);
  ASSERT_EQ(::rename((root + "/sub dir/.tmp").c_str(), (root + "/sub dir/=equals=").c_str()), 0);
  write_file(root + "/added", "a new file\n");

  archive::TreeSummary changed;
  auto third = snapshot(*second, &changed);
  ASSERT_TRUE(third.ok()) << third.error().message();
  EXPECT_EQ(changed.files, 8u);
  EXPECT_EQ(changed.unchanged_files, 5u);  // access.log, =equals= and added were read
  auto a = archived();
  auto b = exported(*third);
  ASSERT_TRUE(a.ok() && b.ok());
  auto la = list_archive(*a, key);
  auto lb = list_archive(*b, key);
  ASSERT_TRUE(la.ok() && lb.ok());
  EXPECT_EQ(la->lines, lb->lines);

  // The earlier snapshots still hold what they held.
  auto old = exported(*first);
  ASSERT_TRUE(old.ok());
  auto lo = list_archive(*old, key);
  ASSERT_TRUE(lo.ok());
  EXPECT_EQ(lo->lines.size(), 12u);
  EXPECT_NE(lo->lines, lb->lines);
}

TEST_F(RepoDirect, AFileChangedJustBeforeTheBackupIsReadAgainNextTime) {
  // Written just now: within one timestamp tick another write could leave size, mtime and
  // ctime as they are, so the first snapshot gives it no identity and the next reads it.
  auto first = snapshot(std::nullopt);
  ASSERT_TRUE(first.ok());
  archive::TreeSummary tree;
  auto second = snapshot(*first, &tree);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(tree.unchanged_files, 0u);
}

TEST_F(RepoDirect, AParentThatCannotBeReadCostsTheCacheNotTheBackup) {
  auto first = snapshot(std::nullopt);
  ASSERT_TRUE(first.ok());
  chunks::SnapshotInfo broken = *first;
  broken.doc["entries"] = Json::array({std::string(64, '0')});  // an entry list the repository lacks
  archive::TreeSummary tree;
  auto second = snapshot(broken, &tree);
  ASSERT_TRUE(second.ok()) << second.error().message();
  EXPECT_EQ(tree.unchanged_files, 0u);
  auto b = exported(*second);
  ASSERT_TRUE(b.ok()) << b.error().message();
}

TEST_F(RepoDirect, ASnapshotReadInPlaceRestoresTheTreeAndDamageIsFoundBeforeAnythingIsWritten) {
  auto snap = snapshot(std::nullopt);
  ASSERT_TRUE(snap.ok()) << snap.error().message();
  std::shared_ptr<storage::Target> shared(&target, [](storage::Target*) {});
  auto keys = seal::KeySource::from_key(testutil::test_key());
  auto open = OpenSnapshot::open(shared, snap->id, keys, StopToken{});
  ASSERT_TRUE(open.ok()) << open.error().message();
  auto rep = (*open)->verify(archive::VerifyDepth::kAuthenticate, StopToken{});
  ASSERT_TRUE(rep.ok()) << rep.error().message();
  EXPECT_EQ(rep->entries, 12u);
  EXPECT_EQ(rep->files, 7u);
  EXPECT_EQ(rep->plan, kPlan);
  auto deep = (*open)->verify(archive::VerifyDepth::kDeep, StopToken{});
  ASSERT_TRUE(deep.ok()) << deep.error().message();
  EXPECT_EQ(deep->content_bytes, rep->content_bytes);

  // Written out from the snapshot itself: the same tree.
  auto src = (*open)->source(StopToken{});
  ASSERT_TRUE(src.ok());
  const std::string out = dir_->path() + "/out";
  auto sum = archive::extract_source(**src, out, {});
  ASSERT_TRUE(sum.ok()) << sum.error().message();
  EXPECT_EQ(sum->files, 7u);
  auto read = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  const std::string tree = out + "/volumes/shop data";
  EXPECT_TRUE(read(tree + "/big.bin") == big);
  EXPECT_EQ(read(tree + "/new\nline \"quoted\" é"), "odd names are normal\n");
  EXPECT_EQ(read(tree + "/sub dir/=equals="), "k=v\n");
  EXPECT_EQ(fs::read_symlink(tree + "/link"), "big.bin");
  EXPECT_EQ(fs::hard_link_count(tree + "/hard"), 2u);
  EXPECT_TRUE(fs::is_fifo(tree + "/queue"));
  EXPECT_EQ(fs::file_size(tree + "/sparse.img"), 2u << 20);
  open->reset();  // the lock goes with the last reference

  // One flipped byte in the largest pack: the check before a restore finds it.
  ASSERT_NE(testing_damage::flip_byte_of_largest(target, "data/", 3, 0x5a), "");
  auto again = OpenSnapshot::open(shared, snap->id, keys, StopToken{});
  ASSERT_TRUE(again.ok());
  auto bad = (*again)->verify(archive::VerifyDepth::kAuthenticate, StopToken{});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Code::kDataLoss) << bad.error().message();
}

TEST_F(RepoDirect, ADamagedIndexFileIsSkippedByBackupsAndStopsGarbageCollection) {
  auto first = snapshot(std::nullopt);
  ASSERT_TRUE(first.ok()) << first.error().message();
  const std::string index = testing_damage::flip_byte_of_largest(target, "index/", 2, 0x01);  // the only one
  ASSERT_NE(index, "");

  // A backup still runs: the index is skipped and said so; the chunks it named are stored again.
  auto reopened = chunks::Repository::open(target, key);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message();
  ASSERT_EQ((*reopened)->damaged_indexes().size(), 1u);
  EXPECT_NE((*reopened)->damaged_indexes()[0].find(index), std::string::npos);
  repo = std::move(*reopened);
  auto second = snapshot(std::nullopt);
  ASSERT_TRUE(second.ok()) << second.error().message();
  auto b = exported(*second);
  ASSERT_TRUE(b.ok()) << b.error().message();

  // Garbage collection refuses: it could take packs only that index names for garbage.
  auto pruned = prune_repository(target, key, {}, StopToken{});
  ASSERT_FALSE(pruned.ok());
  EXPECT_EQ(pruned.error().code(), Code::kDataLoss);
  EXPECT_NE(pruned.error().message().find("does not run past a damaged index"), std::string::npos)
      << pruned.error().message();
  std::vector<std::string> packs;
  ASSERT_TRUE(target.list("data/", [&](const storage::ObjectInfo& o) -> Status {
                packs.push_back(o.key);
                return {};
              }).ok());
  EXPECT_GE(packs.size(), 2u);  // nothing was deleted
}

// Drops the file it is told to (as the SQLite filter drops a -wal whose database it copied).
class Dropper final : public archive::TarEntryFilter {
 public:
  explicit Dropper(std::string name) : name_(std::move(name)) {}
  Result<Decision> on_file(std::string_view relative, const archive::EntryMeta&, Bytes) override {
    return Decision{.action = relative == name_ ? Action::kDrop : Action::kKeep};
  }

 private:
  std::string name_;
};

TEST_F(RepoDirect, AHardLinkToADroppedNameIsStoredAsTheFileItself) {
  Dropper drop("big.bin");  // "hard" (the same inode, listed after it) must not point at it
  auto snap = snapshot(std::nullopt, nullptr, {.filter = &drop});
  ASSERT_TRUE(snap.ok()) << snap.error().message();
  auto b = exported(*snap);
  ASSERT_TRUE(b.ok()) << b.error().message();
  auto lb = list_archive(*b, key);
  ASSERT_TRUE(lb.ok());
  bool hard_is_file = false;
  for (const auto& line : lb->lines) {
    EXPECT_EQ(line.find(seal::hex_encode(as_bytes(std::string("volumes/shop data/big.bin"))) + " "), std::string::npos);
    if (line.rfind(seal::hex_encode(as_bytes(std::string("volumes/shop data/hard"))) + " file ", 0) == 0) hard_is_file = true;
  }
  EXPECT_TRUE(hard_is_file);
}


// Shrinks the file it is offered once its first bytes were read (an app truncating its
// log while the backup reads it).
class Truncator final : public archive::TarEntryFilter {
 public:
  explicit Truncator(std::string path) : path_(std::move(path)) {}
  Result<Decision> on_file(std::string_view relative, const archive::EntryMeta&, Bytes) override {
    if (relative == "big.bin" && ::truncate(path_.c_str(), 1000) != 0) return errno_error("truncate", errno);
    return Decision{};
  }

 private:
  std::string path_;
};

TEST_F(RepoDirect, AFileThatShrinksWhileReadIsStoredWithZerosAndReported) {
  ASSERT_EQ(::unlink((root + "/hard").c_str()), 0);
  Truncator shrink(root + "/big.bin");
  std::vector<std::string> said;
  archive::TreeSummary tree;
  auto snap = snapshot(std::nullopt, &tree,
                       {.filter = &shrink, .on_change = [&](const std::string& what) { said.push_back(what); }});
  ASSERT_TRUE(snap.ok()) << snap.error().message();
  EXPECT_EQ(tree.changed, 1u);
  ASSERT_EQ(said.size(), 1u);
  EXPECT_NE(said[0].find("big.bin shrank by " + std::to_string(big.size() - 1000) + " bytes"), std::string::npos)
      << said[0];
  auto b = exported(*snap);
  ASSERT_TRUE(b.ok()) << b.error().message();  // complete, verified: the zeros are what was stored
  auto lb = list_archive(*b, key);
  ASSERT_TRUE(lb.ok());
  const std::string expect = big.substr(0, 1000) + std::string(big.size() - 1000, '\0');
  bool found = false;
  for (const auto& line : lb->lines) {
    if (line.find(seal::hex_encode(seal::Sha256::of(as_bytes(expect)))) != std::string::npos) found = true;
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace stacksnap::repo
