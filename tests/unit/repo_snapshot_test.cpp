// Backups as snapshots of a v2 repository (repo/snapshot.h): a v1 archive stored as a
// snapshot exports to an archive with the same entries, contents and manifest; a second
// snapshot of the same data costs almost nothing; damage is DataLoss naming the file.
#include <gtest/gtest.h>

#include "archive/reader.h"
#include "archive/writer.h"
#include "archive_listing.h"
#include "archive_testutil.h"
#include "common/damage.h"
#include "repo/snapshot.h"
#include "storage/memory/memory_target.h"

namespace stacksnap::repo {
namespace {

using Json = nlohmann::json;
using archive::EntryMeta;
using archive::EntryType;

// A backup's archive as the pipeline writes it: plan, configs, a dump stream of unknown
// size, a volume with hostile names, a hardlink, a symlink, a fifo, a sparse file.
Result<std::string> sample_archive(const seal::MasterKey& key, const std::string& big, const std::string& log) {
  StringWriter out;
  auto w = TRY(archive::ArchiveWriter::create(out, key, {.zstd_threads = -1}));
  TRY(w->add_plan({{"project", "shop"}, {"services", {"db", "app"}}}));
  auto file = [&](const std::string& path, const std::string& content, uint32_t mode = 0644) -> Status {
    MemoryReader r(content);
    return w->add_file(EntryMeta{.path = path, .mode = mode, .uid = 33, .gid = 33, .mtime_sec = 1765090000,
                                 .mtime_nsec = 123456789, .size = content.size()},
                       r);
  };
  TRY(file("config/compose.yaml", "services:\n  db:\n    image: postgres\n"));
  const std::string dump_text = big.substr(0, 3u << 20);  // MemoryReader borrows it
  MemoryReader dump(dump_text);
  TRY(w->add_stream(EntryMeta{.path = "dumps/db/all.sql", .mtime_sec = 1765090001}, dump));
  TRY(w->set_dump_info("db", archive::DumpInfo{.engine = "postgres", .version = "15.4", .row_counts = {{"shop", {{"orders", 3}}}}}));
  TRY(w->add_entry(EntryMeta{.path = "volumes/shop data", .type = EntryType::kDirectory, .mode = 0755, .mtime_sec = 1765090002}));
  TRY(file("volumes/shop data/big.bin", big));
  TRY(file("volumes/shop data/access.log", log));
  TRY(file("volumes/shop data/new\nline \"quoted\" é", "odd names are normal\n", 0600));
  TRY(file(std::string("volumes/shop data/bad\xff\xfe utf8"), "not UTF-8\n"));
  // Latin-1 "Á°": bytes that look like UTF-8 but are an overlong form (JSON refuses them).
  TRY(file(std::string("volumes/shop data/overlong \xc1\xb0 and surrogate \xed\xa0\x80"), "latin-1 name\n"));
  TRY(file("volumes/shop data/empty", ""));
  TRY(w->add_entry(EntryMeta{.path = "volumes/shop data/link", .type = EntryType::kSymlink, .mode = 0777, .link = "big.bin"}));
  TRY(w->add_entry(EntryMeta{.path = "volumes/shop data/hard", .type = EntryType::kHardlink, .link = "volumes/shop data/big.bin"}));
  TRY(w->add_entry(EntryMeta{.path = "volumes/shop data/queue", .type = EntryType::kFifo, .mode = 0600}));
  std::string sparse(2u << 20, '\0');
  sparse.replace(1u << 20, 5, "hello");
  MemoryReader sr(sparse);
  TRY(w->add_file(EntryMeta{.path = "volumes/shop data/sparse.img", .size = sparse.size(),
                            .xattrs = {{"user.comment", "kept"}},
                            .sparse = {{1u << 20, 4096}}},
                  sr));
  TRY(w->set_volume_info("shop data", {{"driver", "local"}}));
  TRY(w->finish());
  return out.take();
}

using testutil::list_archive;

Result<chunks::SnapshotInfo> ingest(chunks::Repository& repo, const std::string& sealed, const seal::MasterKey& key,
                                    IngestStats* stats) {
  MemoryReader in(sealed);
  auto keys = seal::KeySource::from_key(TRY(key.clone()));
  auto r = TRY(archive::ArchiveReader::open(in, keys));
  return ingest_archive(repo, *r, {{"backup_id", "20261207T080000Z-00000001"}, {"project", "shop"}}, StopToken{}, stats);
}

class RepoSnapshot : public ::testing::Test {
 protected:
  seal::MasterKey key = testutil::test_key();
  storage::MemoryTarget target;
  std::string big = testutil::random_text(6u << 20, 11);
  std::string log = std::string(200000, 'x');
};

TEST_F(RepoSnapshot, ExportGivesBackTheSameArchive) {
  auto sealed = sample_archive(key, big, log);
  ASSERT_TRUE(sealed.ok()) << sealed.error().message();
  auto repo = chunks::Repository::init(target, key);
  ASSERT_TRUE(repo.ok()) << repo.error().message();
  IngestStats st;
  auto snap = ingest(**repo, *sealed, key, &st);
  ASSERT_TRUE(snap.ok()) << snap.error().message();
  EXPECT_EQ(st.files, 9u);
  EXPECT_EQ(snap->doc["backup_id"], "20261207T080000Z-00000001");

  // Reopened: the export reads only the repository.
  auto again = chunks::Repository::open(target, key);
  ASSERT_TRUE(again.ok());
  auto loaded = load_snapshot(**again, snap->id);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  StringWriter exported;
  auto st2 = export_snapshot(**again, *loaded, key, exported, StopToken{});
  ASSERT_TRUE(st2.ok()) << st2.error().message();

  auto a = list_archive(*sealed, key);
  auto b = list_archive(exported.str(), key);
  ASSERT_TRUE(a.ok()) << a.error().message();
  ASSERT_TRUE(b.ok()) << b.error().message();
  EXPECT_EQ(a->lines, b->lines);
  EXPECT_EQ(a->manifest, b->manifest);
  EXPECT_EQ(a->plan, b->plan);
  EXPECT_EQ(a->lines.size(), 13u);
}

TEST_F(RepoSnapshot, AnUnchangedBackupUploadsAlmostNothingAndOneChangedFileLittle) {
  auto repo = chunks::Repository::init(target, key);
  ASSERT_TRUE(repo.ok());
  auto first = sample_archive(key, big, log);
  ASSERT_TRUE(first.ok());
  IngestStats s1, s2, s3;
  ASSERT_TRUE(ingest(**repo, *first, key, &s1).ok());
  // The same data sealed again (other nonces, other archive bytes).
  auto second = sample_archive(key, big, log);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(ingest(**repo, *second, key, &s2).ok());
  EXPECT_EQ(s2.new_chunks, 0u);
  EXPECT_LT(s2.uploaded_bytes, 4096u) << "an unchanged backup uploads its snapshot only";
  // The log grows; one byte of the big file changes.
  std::string big2 = big;
  big2[big2.size() / 2] ^= 1;
  auto third = sample_archive(key, big2, log + std::string(5000, 'y'));
  ASSERT_TRUE(third.ok());
  ASSERT_TRUE(ingest(**repo, *third, key, &s3).ok());
  // New: the chunk(s) around the changed byte, the log's chunk and the entry list. Not a
  // fraction of the bytes: chunk sizes depend on the repository's chunker key, and the
  // chunk holding the byte was up to half of the 6 MiB file in 1 of ~30 runs.
  EXPECT_GT(s3.new_chunks, 0u);
  EXPECT_LE(s3.new_chunks, 5u) << "of " << s1.new_chunks;
  EXPECT_LT(s3.new_bytes, s1.new_bytes - (2u << 20)) << "at least 2 MiB of the big file reused";
  EXPECT_LT(s3.uploaded_bytes, s1.uploaded_bytes) << s3.uploaded_bytes << " of " << s1.uploaded_bytes;
  auto snaps = (*repo)->snapshots();
  ASSERT_TRUE(snaps.ok());
  EXPECT_EQ(snaps->size(), 3u);
}

TEST_F(RepoSnapshot, ADamagedChunkFailsTheExportNamingTheFile) {
  auto repo = chunks::Repository::init(target, key);
  ASSERT_TRUE(repo.ok());
  auto sealed = sample_archive(key, big, log);
  ASSERT_TRUE(sealed.ok());
  auto snap = ingest(**repo, *sealed, key, nullptr);
  ASSERT_TRUE(snap.ok());
  // Damage a third into the largest pack.
  ASSERT_NE(testing_damage::flip_byte_of_largest(target, "data/", 3, 0x5a), "");
  auto again = chunks::Repository::open(target, key);
  ASSERT_TRUE(again.ok());
  StringWriter exported;
  auto st = export_snapshot(**again, snap.value(), key, exported, StopToken{});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kDataLoss) << st.error().message();
  // The file whose chunk it is (the dump shares its first chunks with big.bin).
  const std::string& m = st.error().message();
  EXPECT_TRUE(m.find("big.bin") != std::string::npos || m.find("dumps/db/all.sql") != std::string::npos) << m;
}

TEST_F(RepoSnapshot, ASnapshotOfAnotherKindIsRefused) {
  auto repo = chunks::Repository::init(target, key);
  ASSERT_TRUE(repo.ok());
  auto w = (*repo)->write_snapshot();
  ASSERT_TRUE(w.ok());
  auto info = (*w)->commit({{"format", "something else"}});
  ASSERT_TRUE(info.ok());
  auto loaded = load_snapshot(**repo, info->id);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code(), Code::kDataLoss);
  EXPECT_EQ(load_snapshot(**repo, std::string(64, 'a')).error().code(), Code::kNotFound);
}

}  // namespace
}  // namespace stacksnap::repo
