// The v2 repository (chunks/repository.h) on an in-memory target: keys, snapshots,
// deduplication, what a crash leaves, damage.
#include <gtest/gtest.h>

#include <cstdio>

#include "archive_testutil.h"
#include "chunks/repository.h"
#include "storage/memory/memory_target.h"
#include "base/temp_dir.h"

#include <filesystem>

namespace stacksnap::chunks {
namespace {

using Json = nlohmann::json;

std::string log_text(size_t lines, int from = 0) {
  std::string s;
  for (size_t i = 0; i < lines; ++i) {
    s += "2026-12-07T06:" + std::to_string(10 + (i + from) % 50) + " GET /photos/" + std::to_string(i + from) +
         ".jpg 200 " + std::to_string((i * 7919) % 100000) + "\n";
  }
  return s;
}

struct Files {
  std::map<std::string, std::string> content;
};

// One snapshot of `files`: each file's chunk ids in the snapshot document.
Result<SnapshotInfo> backup(Repository& repo, const Files& files, WriteStats* stats = nullptr) {
  auto w = TRY(repo.write_snapshot());
  Json doc = {{"files", Json::object()}};
  for (const auto& [name, data] : files.content) {
    MemoryReader in(data);
    auto ids = TRY(w->add_stream(in));
    Json list = Json::array();
    for (const auto& id : ids) list.push_back(to_hex(id));
    doc["files"][name] = list;
  }
  auto info = TRY(w->commit(doc));
  if (stats) *stats = w->stats();
  return info;
}

Result<std::string> restore(const Repository& repo, const Json& ids) {
  std::vector<ChunkId> list;
  for (const auto& h : ids) list.push_back(TRY(id_from_hex(h.get<std::string>())));
  StringWriter out;
  TRY(read_stream(repo, list, out));
  return out.take();
}

Files sample() {
  Files f;
  f.content["photos/holiday.raw"] = testutil::random_text(20 << 20, 1);
  f.content["logs/access.log"] = log_text(60000);
  f.content["notes/é and spaces.txt"] = "small\n";
  return f;
}

TEST(ChunkRepository, KeysDecideWhoOpensIt) {
  storage::MemoryTarget target;
  auto key = testutil::test_key(1);
  auto repo = Repository::init(target, key);
  ASSERT_TRUE(repo.ok()) << repo.error().message();
  EXPECT_EQ(Repository::init(target, key).error().code(), Code::kAlreadyExists);
  auto again = Repository::open(target, key);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ((*again)->id(), (*repo)->id());
  auto other = Repository::open(target, testutil::test_key(2));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code(), Code::kPermissionDenied);
  storage::MemoryTarget empty;
  EXPECT_EQ(Repository::open(empty, key).error().code(), Code::kNotFound);
  // The same content has another chunk id in another repository (keyed ids).
  storage::MemoryTarget second;
  auto repo2 = Repository::init(second, key);
  ASSERT_TRUE(repo2.ok());
  EXPECT_NE((*repo)->id_of(as_bytes(std::string("same"))), (*repo2)->id_of(as_bytes(std::string("same"))));
}

TEST(ChunkRepository, SnapshotsRestoreAndUnchangedDataIsNotStoredAgain) {
  storage::MemoryTarget target;
  auto key = testutil::test_key(3);
  auto repo = Repository::init(target, key);
  ASSERT_TRUE(repo.ok());
  const Files files = sample();
  WriteStats first;
  auto s1 = backup(**repo, files, &first);
  ASSERT_TRUE(s1.ok()) << s1.error().message();
  EXPECT_GE(first.packs, 1u);
  // The log compresses; the noise does not: uploads are about noise + a fraction of the log.
  EXPECT_LT(first.uploaded_bytes, files.content.at("photos/holiday.raw").size() + files.content.at("logs/access.log").size() / 2);

  // Unchanged: nothing but the snapshot goes up.
  WriteStats second;
  ASSERT_TRUE(backup(**repo, files, &second).ok());
  EXPECT_EQ(second.new_chunks, 0u);
  EXPECT_EQ(second.packs, 0u);
  EXPECT_LT(second.uploaded_bytes, 8192u);

  // About 1 % changed (a region of the photo rewritten, the log appended to): only the
  // chunks around the changes go up.
  Files changed = files;
  auto& photo = changed.content["photos/holiday.raw"];
  const std::string patch = testutil::random_text(100 << 10, 99);
  photo.replace(9 << 20, patch.size(), patch);
  changed.content["logs/access.log"] += log_text(500, 60000);
  WriteStats third;
  auto s3 = backup(**repo, changed, &third);
  ASSERT_TRUE(s3.ok());
  // The chunker key (so the cut points) is random per repository: a rewrite can move the
  // boundaries on both sides of it and an append renews the last chunk, so at most 3 + 3
  // chunks are new whatever their sizes; they are about 1 MiB each, far from the whole.
  EXPECT_LE(third.new_chunks, 6u) << third.new_bytes << " new bytes";
  EXPECT_LT(third.uploaded_bytes, first.uploaded_bytes / 2);
  std::printf("[ measure ] v2 repository, %zu MiB of files: first %llu KiB up (%llu packs), unchanged %llu B, "
              "~1%% changed %llu KiB up (%llu new chunks)\n",
              (files.content.at("photos/holiday.raw").size() + files.content.at("logs/access.log").size()) >> 20,
              static_cast<unsigned long long>(first.uploaded_bytes >> 10), static_cast<unsigned long long>(first.packs),
              static_cast<unsigned long long>(second.uploaded_bytes),
              static_cast<unsigned long long>(third.uploaded_bytes >> 10), static_cast<unsigned long long>(third.new_chunks));

  // A fresh open (another process, another host) sees all three and restores each.
  auto reopened = Repository::open(target, key);
  ASSERT_TRUE(reopened.ok());
  auto list = (*reopened)->snapshots();
  ASSERT_TRUE(list.ok()) << list.error().message();
  ASSERT_EQ(list->size(), 3u);
  for (const auto& s : *list) {
    const Files& want = s.id == s3->id ? changed : files;
    for (const auto& [name, data] : want.content) {
      auto got = restore(**reopened, s.doc["files"][name]);
      ASSERT_TRUE(got.ok()) << got.error().message();
      EXPECT_EQ(*got, data) << name;
    }
  }
}

TEST(ChunkRepository, ACrashBeforeTheSnapshotLeavesOnlyGarbage) {
  storage::MemoryTarget target;
  auto key = testutil::test_key(4);
  auto repo = Repository::init(target, key);
  ASSERT_TRUE(repo.ok());
  {
    auto w = (*repo)->write_snapshot();
    ASSERT_TRUE(w.ok());
    const std::string data = testutil::random_text(40 << 20, 5);  // more than two packs: uploaded before the crash
    MemoryReader in(data);
    ASSERT_TRUE((*w)->add_stream(in).ok());
    ASSERT_TRUE((*w)->settle().ok());  // the sealing workers are done: full packs are up
    EXPECT_GE((*w)->stats().packs, 2u);
  }  // no commit: the process died
  size_t packs = 0;
  ASSERT_TRUE(target.list("data/", [&](const storage::ObjectInfo&) -> Status {
    ++packs;
    return {};
  }).ok());
  EXPECT_GE(packs, 2u);
  auto reopened = Repository::open(target, key);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->known_blobs(), 0u);  // no index names those packs
  auto list = (*reopened)->snapshots();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  // The next backup stores its chunks again (it cannot trust unindexed packs) and commits.
  auto s = backup(**reopened, sample());
  ASSERT_TRUE(s.ok()) << s.error().message();
}

TEST(ChunkRepository, ADamagedPackIsDataLossNotWrongData) {
  storage::MemoryTarget target;
  auto key = testutil::test_key(5);
  auto repo = Repository::init(target, key);
  ASSERT_TRUE(repo.ok());
  const Files files = sample();
  auto s = backup(**repo, files);
  ASSERT_TRUE(s.ok());
  std::string pack_key;
  ASSERT_TRUE(target.list("data/", [&](const storage::ObjectInfo& o) -> Status {
    if (pack_key.empty()) pack_key = o.key;
    return {};
  }).ok());
  auto bytes = storage::get_small(target, pack_key, 64 << 20);
  ASSERT_TRUE(bytes.ok());
  std::string damaged = *bytes;
  damaged[100] ^= 0x01;
  target.commit_object(pack_key, damaged);
  auto reopened = Repository::open(target, key);
  ASSERT_TRUE(reopened.ok());
  bool data_loss = false;
  for (const auto& [name, data] : files.content) {
    auto got = restore(**reopened, s->doc["files"][name]);
    if (!got.ok()) {
      EXPECT_EQ(got.error().code(), Code::kDataLoss) << got.error().message();
      data_loss = true;
    } else {
      EXPECT_EQ(*got, data);
    }
  }
  EXPECT_TRUE(data_loss);
}


// A target that stores faithfully but returns packs other than they were stored: one byte
// flipped, the last byte missing, or one byte more (a disk, a proxy or a bucket that lies).
class LyingTarget final : public storage::Target {
 public:
  enum class Lie { kNone, kFlip, kShort, kLong };
  explicit LyingTarget(Lie lie) : lie_(lie) {}
  std::string describe() const override { return "lying memory"; }
  Result<std::unique_ptr<storage::Upload>> put(const std::string& key, uint64_t hint) override { return inner_.put(key, hint); }
  Result<std::unique_ptr<Reader>> get(const std::string& key, storage::GetRange range) override {
    if (key.rfind("data/", 0) != 0) return inner_.get(key, range);
    served_.push_back(key);
    if (lie_ == Lie::kNone) return inner_.get(key, range);
    std::string bytes = TRY(storage::get_small(inner_, key, 64 << 20));
    if (lie_ == Lie::kFlip) bytes[bytes.size() / 3] ^= 0x20;
    if (lie_ == Lie::kShort) bytes.pop_back();
    if (lie_ == Lie::kLong) bytes.push_back('\0');
    return std::unique_ptr<Reader>(new OwningReader(std::move(bytes)));
  }
  Result<storage::ObjectInfo> stat(const std::string& key) override { return inner_.stat(key); }
  Status list(const std::string& prefix, const std::function<Status(const storage::ObjectInfo&)>& fn) override {
    return inner_.list(prefix, fn);
  }
  Status remove(const std::string& key) override { return inner_.remove(key); }
  Result<int> cleanup_stale(std::chrono::seconds s) override { return inner_.cleanup_stale(s); }
  const std::vector<std::string>& served() const { return served_; }

 private:
  struct OwningReader final : Reader {
    explicit OwningReader(std::string s) : data(std::move(s)), in(data) {}
    Result<size_t> read(MutableBytes buf) override { return in.read(buf); }
    std::string data;
    MemoryReader in;
  };
  Lie lie_;
  storage::MemoryTarget inner_;
  std::vector<std::string> served_;
};

// Every pack a backup uploads is read back and checked before it may commit: a target that
// returns anything else than what was stored fails the backup (DataLoss naming the pack)
// and no snapshot appears; a faithful one passes with every pack read back.
// Packs put together in memory, and in spool files (WriteOptions::spool_dir, as backups do).
TEST(ChunkRepository, EveryUploadedPackIsReadBackBeforeTheSnapshotCommits) {
  auto key = testutil::test_key(6);
  const std::string data = testutil::random_text(40 << 20, 7) + log_text(20000);
  auto spool = TempDir::create("/tmp", "stacksnap-pack-spool-");
  ASSERT_TRUE(spool.ok());
  for (const WriteOptions& write : {WriteOptions{}, WriteOptions{.spool_dir = spool->path()}})
  for (auto lie : {LyingTarget::Lie::kNone, LyingTarget::Lie::kFlip, LyingTarget::Lie::kShort, LyingTarget::Lie::kLong}) {
    SCOPED_TRACE(static_cast<int>(lie));
    SCOPED_TRACE(write.spool_dir.empty() ? "packs in memory" : "packs spooled");
    LyingTarget target(lie);
    auto repo = Repository::init(target, key);
    ASSERT_TRUE(repo.ok()) << repo.error().message();
    auto w = (*repo)->write_snapshot(write);
    ASSERT_TRUE(w.ok());
    MemoryReader in(data);
    auto ids = (*w)->add_stream(in);
    Status st = ids.ok() ? (*w)->verify_uploaded() : ids.error();
    if (lie == LyingTarget::Lie::kNone) {
      ASSERT_TRUE(st.ok()) << st.error().message();
      EXPECT_GE((*w)->stats().packs, 3u);
      EXPECT_EQ(target.served().size(), (*w)->stats().packs) << "each pack read back once";
      auto info = (*w)->commit(Json{{"files", Json::object()}});
      ASSERT_TRUE(info.ok()) << info.error().message();
      auto back = restore(**repo, [&] {
        Json list = Json::array();
        for (const auto& id : *ids) list.push_back(to_hex(id));
        return list;
      }());
      ASSERT_TRUE(back.ok()) << back.error().message();
      EXPECT_TRUE(*back == data) << "what was stored reads back as it was";
      EXPECT_TRUE(std::filesystem::is_empty(spool->path())) << "spool files are unnamed: nothing left in the directory";
      continue;
    }
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code(), Code::kDataLoss) << st.error().message();
    EXPECT_NE(st.error().message().find("pack data/"), std::string::npos) << st.error().message();
    for (int again = 0; again < 2; ++again) {  // and says why each time
      auto info = (*w)->commit(Json{{"files", Json::object()}});
      ASSERT_FALSE(info.ok()) << "a writer whose pack did not read back must not commit";
      EXPECT_NE(info.error().message().find("pack data/"), std::string::npos) << info.error().message();
    }
    auto snaps = (*repo)->snapshots();
    ASSERT_TRUE(snaps.ok());
    EXPECT_TRUE(snaps->empty());
  }
}

}  // namespace
}  // namespace stacksnap::chunks
