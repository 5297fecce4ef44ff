// The repository check (repo/check.h): a clean repository passes at every level; a
// missing, truncated or damaged pack, a damaged entry list, an index that disagrees with
// its pack, a damaged index are problems naming the snapshots they break; garbage is not.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "archive/reader.h"
#include "archive/writer.h"
#include "archive_testutil.h"
#include "chunks/index.h"
#include "chunks/pack.h"
#include "chunks/repository.h"
#include "repo/check.h"
#include "repo/snapshot.h"
#include "seal/crypto.h"
#include "storage/memory/memory_target.h"

namespace stacksnap::repo::check_test {
namespace {

using archive::EntryMeta;

// A small backup whose content is all drawn from `seed` (two archives of other seeds share
// no chunk, so their snapshots share no pack).
Result<std::string> check_archive(const seal::MasterKey& key, uint32_t seed, int64_t mtime = 1765090000) {
  StringWriter out;
  auto w = TRY(archive::ArchiveWriter::create(out, key, {.zstd_threads = -1}));
  TRY(w->add_plan({{"project", "shop"}, {"seed", seed}}));
  auto file = [&](const std::string& path, const std::string& content) -> Status {
    MemoryReader r(content);
    return w->add_file(EntryMeta{.path = path, .mode = 0644, .mtime_sec = mtime, .size = content.size()}, r);
  };
  TRY(file("volumes/data/big.bin", testutil::random_text(3u << 20, seed)));
  TRY(file("volumes/data/notes.txt", "notes of " + std::to_string(seed) + "\n"));
  TRY(w->finish());
  return out.take();
}

Result<chunks::SnapshotInfo> check_ingest(chunks::Repository& repo, const seal::MasterKey& key, uint32_t seed,
                                          const std::string& backup_id, const std::string& project,
                                          int64_t mtime = 1765090000) {
  const std::string sealed = TRY(check_archive(key, seed, mtime));
  MemoryReader in(sealed);
  auto keys = seal::KeySource::from_key(TRY(key.clone()));
  auto r = TRY(archive::ArchiveReader::open(in, keys));
  return ingest_archive(repo, *r, {{"backup_id", backup_id}, {"project", project}}, StopToken{});
}

// The repository keys of FORMAT.md §v2.2, to forge and inspect objects.
chunks::Key32 check_repo_key(const seal::MasterKey& key, const std::string& repo_id, const std::string& purpose) {
  const std::string salt = seal::hex_decode(repo_id).value();
  const std::string info = "stacksnap repo v2 " + purpose;
  chunks::Key32 out{};
  EXPECT_TRUE(seal::hkdf_sha256(key.bytes(), as_bytes(salt), as_bytes(info), seal::byte_view_mut(out.data(), out.size())).ok());
  return out;
}

std::set<std::string> keys_under(storage::MemoryTarget& t, const std::string& prefix) {
  std::set<std::string> out;
  EXPECT_TRUE(t.list(prefix, [&](const storage::ObjectInfo& o) -> Status {
                 out.insert(o.key);
                 return {};
               }).ok());
  return out;
}

std::set<std::string> snapshot_ids(const std::vector<SnapshotRef>& refs) {
  std::set<std::string> out;
  for (const auto& r : refs) out.insert(r.id);
  return out;
}

class RepoCheck : public ::testing::Test {
 protected:
  // Three snapshots: A and B of different data (a pack each), C of A's data (no pack of its own).
  void SetUp() override {
    auto r = chunks::Repository::init(target, key);
    ASSERT_TRUE(r.ok()) << r.error().message();
    repo = std::move(*r);
    auto a = check_ingest(*repo, key, 1, "20261207T080000Z-0000000a", "shop");
    ASSERT_TRUE(a.ok()) << a.error().message();
    pack_a = only_new_pack();
    auto b = check_ingest(*repo, key, 2, "20261207T080000Z-0000000b", "blog");
    ASSERT_TRUE(b.ok()) << b.error().message();
    pack_b = only_new_pack();
    auto c = check_ingest(*repo, key, 1, "20261208T080000Z-0000000c", "shop");
    ASSERT_TRUE(c.ok()) << c.error().message();
    EXPECT_EQ(keys_under(target, "data/"), (std::set<std::string>{pack_a, pack_b})) << "C stored no pack";
    snap_a = a->id;
    snap_b = b->id;
    snap_c = c->id;
  }

  std::string only_new_pack() {
    auto now = keys_under(target, "data/");
    std::vector<std::string> fresh;
    std::set_difference(now.begin(), now.end(), seen.begin(), seen.end(), std::back_inserter(fresh));
    seen = now;
    EXPECT_EQ(fresh.size(), 1u);
    return fresh.empty() ? "" : fresh[0];
  }

  CheckReport check(CheckOptions o) {
    auto r = check_repository(target, key, o, StopToken{});
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? std::move(*r) : CheckReport{};
  }
  CheckReport shallow() { return check({.level = CheckOptions::kShallow}); }
  CheckReport deep() { return check({.level = CheckOptions::kDeep}); }

  std::string object(const std::string& k) { return storage::get_small(target, k, 64 << 20).value(); }

  // The entries of a pack, from its header.
  std::vector<chunks::PackEntry> entries_of(const std::string& pack) {
    auto codec = chunks::BlobCodec::create(check_repo_key(key, repo->id(), "data")).value();
    const std::string bytes = object(pack);
    return chunks::read_pack_header(*codec, as_bytes(bytes), bytes.size()).value();
  }

  static std::string joined(const CheckReport& r) {
    std::string s;
    for (const auto& p : r.problems) s += (p.pack.empty() ? p.object : p.pack) + ": " + p.what + "\n";
    return s;
  }

  seal::MasterKey key = testutil::test_key();
  storage::MemoryTarget target;
  std::unique_ptr<chunks::Repository> repo;
  std::set<std::string> seen;
  std::string pack_a, pack_b, snap_a, snap_b, snap_c;
};

TEST_F(RepoCheck, ACleanRepositoryPassesShallowAndDeep) {
  const auto s = shallow();
  EXPECT_TRUE(s.ok()) << joined(s);
  EXPECT_EQ(s.packs, 2u);
  EXPECT_EQ(s.packs_read, 0u);
  EXPECT_EQ(s.snapshots, 3u);
  EXPECT_EQ(s.indexes, 2u);
  EXPECT_GT(s.blobs, 4u);
  EXPECT_GT(s.referenced_blobs, s.blobs) << "C references A's blobs again";
  EXPECT_TRUE(s.unreferenced_packs.empty());
  EXPECT_TRUE(s.damaged_snapshots.empty());
  EXPECT_TRUE(s.broken_snapshots.empty());
  EXPECT_LT(s.bytes_read, s.bytes / 10) << "shallow reads metadata and entry lists only";

  const auto d = deep();
  EXPECT_TRUE(d.ok()) << joined(d);
  EXPECT_EQ(d.packs_read, 2u);
  EXPECT_EQ(d.blobs_read, d.blobs);
  EXPECT_GE(d.bytes_read, d.bytes);
  const auto j = d.to_json();
  EXPECT_EQ(j["level"], "deep");
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["packs"], 2);
}

TEST_F(RepoCheck, ADeletedPackIsMissingAndNamesTheSnapshotsThatNeedIt) {
  ASSERT_TRUE(target.remove(pack_a).ok());
  const auto s = shallow();
  EXPECT_FALSE(s.ok());
  bool missing = false;
  for (const auto& p : s.problems) missing |= p.pack == pack_a && p.what == "missing";
  EXPECT_TRUE(missing) << joined(s);
  ASSERT_EQ(s.damaged_snapshots.size(), 1u) << joined(s);
  EXPECT_EQ(s.damaged_snapshots[0].pack, pack_a);
  EXPECT_EQ(snapshot_ids(s.damaged_snapshots[0].snapshots), (std::set<std::string>{snap_a, snap_c}));
  for (const auto& ref : s.damaged_snapshots[0].snapshots) {
    EXPECT_EQ(ref.project, "shop");
    EXPECT_EQ(ref.backup_id, ref.id == snap_a ? "20261207T080000Z-0000000a" : "20261208T080000Z-0000000c");
  }
  EXPECT_EQ(snapshot_ids(s.broken_snapshots), (std::set<std::string>{snap_a, snap_c}));
  const auto j = s.to_json();
  EXPECT_EQ(j["damaged_snapshots"][0]["pack"], pack_a);
  EXPECT_EQ(j["ok"], false);
}

TEST_F(RepoCheck, AFlippedBytePassesShallowAndDeepNamesThePackAndItsSnapshots) {
  std::string bytes = object(pack_a);
  bytes[bytes.size() / 2] ^= 0x20;  // inside the big file's chunks
  target.commit_object(pack_a, bytes);

  const auto s = shallow();
  EXPECT_TRUE(s.ok()) << joined(s);

  const auto d = deep();
  EXPECT_FALSE(d.ok());
  bool sha = false, auth = false;
  for (const auto& p : d.problems) {
    EXPECT_EQ(p.pack, pack_a) << p.object << ": " << p.what;
    sha |= p.what.rfind("sha256", 0) == 0;
    auth |= p.what.find("does not authenticate") != std::string::npos;
  }
  EXPECT_TRUE(sha && auth) << joined(d);
  ASSERT_EQ(d.damaged_snapshots.size(), 1u);
  EXPECT_EQ(d.damaged_snapshots[0].pack, pack_a);
  EXPECT_EQ(snapshot_ids(d.damaged_snapshots[0].snapshots), (std::set<std::string>{snap_a, snap_c}));
  EXPECT_EQ(snapshot_ids(d.broken_snapshots), (std::set<std::string>{snap_a, snap_c}));

  // Reading 100 % of the packs finds what deep finds.
  const auto all = check({.level = CheckOptions::kShallow, .read_data_percent = 100, .seed = 7});
  EXPECT_EQ(all.level, CheckOptions::kShallow);
  EXPECT_EQ(all.packs_read, 2u);
  EXPECT_EQ(joined(all), joined(d));
  EXPECT_EQ(snapshot_ids(all.broken_snapshots), snapshot_ids(d.broken_snapshots));
}

TEST_F(RepoCheck, ASampleReadsAtLeastOnePack) {
  EXPECT_EQ(check({.read_data_percent = 1, .seed = 3}).packs_read, 1u);
  EXPECT_EQ(check({.read_data_percent = 50, .seed = 3}).packs_read, 1u);
  EXPECT_EQ(check({.read_data_percent = 51}).packs_read, 2u);
  auto bad = check_repository(target, key, {.read_data_percent = 101}, StopToken{});
  EXPECT_EQ(testutil::code_of(bad), Code::kInvalidArgument);
}

TEST_F(RepoCheck, ATruncatedPackFailsTheShallowSizeCheck) {
  const std::string whole = object(pack_b);
  for (size_t cut : {size_t{1}, whole.size() / 2}) {
    target.commit_object(pack_b, whole.substr(0, whole.size() - cut));
    const auto s = shallow();
    ASSERT_FALSE(s.ok()) << "cut " << cut;
    EXPECT_EQ(s.problems[0].pack, pack_b);
    EXPECT_EQ(s.problems[0].what.rfind("size", 0), 0u) << joined(s);
    ASSERT_EQ(s.damaged_snapshots.size(), 1u);
    EXPECT_EQ(snapshot_ids(s.damaged_snapshots[0].snapshots), std::set<std::string>{snap_b});
  }
  const auto d = deep();
  EXPECT_NE(joined(d).find("sha256"), std::string::npos) << joined(d);
  EXPECT_EQ(snapshot_ids(d.broken_snapshots), std::set<std::string>{snap_b});
}

TEST_F(RepoCheck, AnUnindexedPackIsGarbageNotAProblem) {
  const std::string junk = testutil::random_text(1000, 99);
  const std::string hex = seal::hex_encode(seal::Sha256::of(as_bytes(junk)));
  const std::string name = "data/" + hex.substr(0, 2) + "/" + hex;
  target.commit_object(name, junk);
  for (auto level : {CheckOptions::kShallow, CheckOptions::kDeep}) {
    const auto r = check({.level = level});
    EXPECT_TRUE(r.ok()) << joined(r);
    EXPECT_EQ(r.unreferenced_packs, std::vector<std::string>{name});
    EXPECT_EQ(r.unreferenced_bytes, 1000u);
    EXPECT_EQ(r.packs, 2u);
  }
}

TEST_F(RepoCheck, AnIndexThatDisagreesWithThePackHeaderIsFoundByDeep) {
  // Forge A's index: one data blob of A's pack gets another plaintext length.
  auto meta = chunks::BlobCodec::create(check_repo_key(key, repo->id(), "meta")).value();
  const std::string pack_hex = pack_a.substr(pack_a.rfind('/') + 1);
  std::string forged_hex;
  chunks::ChunkId changed{};
  for (const auto& name : keys_under(target, "index/")) {
    auto idx = chunks::Index::open(*meta, as_bytes(object(name))).value();
    if (seal::hex_encode(idx.packs().at(0).first) != pack_hex) continue;
    chunks::Index forged;
    auto entries = idx.packs()[0].second;
    auto data = std::find_if(entries.begin(), entries.end(), [](const auto& e) { return e.type == chunks::BlobType::kData; });
    ASSERT_NE(data, entries.end());
    data->raw_length += 1;
    changed = data->id;
    forged.add_pack(idx.packs()[0].first, entries);
    const std::string sealed = forged.seal(*meta).value();
    ASSERT_TRUE(target.remove(name).ok());
    target.commit_object("index/" + seal::hex_encode(seal::Sha256::of(as_bytes(sealed))), sealed);
    forged_hex = chunks::to_hex(changed);
  }
  ASSERT_FALSE(forged_hex.empty());

  const auto s = shallow();
  EXPECT_TRUE(s.ok()) << "sizes still agree: " << joined(s);
  const auto d = deep();
  EXPECT_FALSE(d.ok());
  bool header = false, length = false;
  for (const auto& p : d.problems) {
    EXPECT_EQ(p.pack, pack_a);
    header |= p.what.find(forged_hex) != std::string::npos && p.what.find("the pack header says") != std::string::npos;
    length |= p.what.find(forged_hex) != std::string::npos && p.what.find("indexed as") != std::string::npos;
  }
  EXPECT_TRUE(header && length) << joined(d);
  ASSERT_EQ(d.damaged_snapshots.size(), 1u);
  EXPECT_EQ(snapshot_ids(d.damaged_snapshots[0].snapshots), (std::set<std::string>{snap_a, snap_c}));
}

TEST_F(RepoCheck, ADamagedEntryListIsFoundByShallowWithItsSnapshots) {
  // D and E use A's data with entry lists of their own (other mtimes: new tree blobs in
  // packs of their own): they depend on A's pack through data chunks only. Whichever order
  // the snapshots are walked in, they are named once A's entry list is found damaged.
  std::set<std::string> users{snap_a, snap_c};
  for (int64_t mtime : {1765090100, 1765090200}) {
    auto s = check_ingest(*repo, key, 1, "20261209T080000Z-" + std::to_string(mtime), "shop", mtime);
    ASSERT_TRUE(s.ok()) << s.error().message();
    EXPECT_NE(only_new_pack(), pack_a);
    users.insert(s->id);
  }
  std::string bytes = object(pack_a);
  bool flipped = false;
  for (const auto& e : entries_of(pack_a)) {
    if (e.type != chunks::BlobType::kTree) continue;
    bytes[e.offset + e.length / 2] ^= 1;
    flipped = true;
  }
  ASSERT_TRUE(flipped);
  target.commit_object(pack_a, bytes);
  const auto s = shallow();
  EXPECT_FALSE(s.ok());
  ASSERT_EQ(s.damaged_snapshots.size(), 1u) << joined(s);
  EXPECT_EQ(s.damaged_snapshots[0].pack, pack_a);
  EXPECT_EQ(snapshot_ids(s.damaged_snapshots[0].snapshots), users);
  EXPECT_EQ(snapshot_ids(s.broken_snapshots), users);
  EXPECT_EQ(s.snapshots, 5u);
}

TEST_F(RepoCheck, ADamagedIndexIsAProblemAndItsBlobsAreInNoIndex) {
  // B's index is damaged: B's blobs are in no index; B's pack becomes garbage.
  auto meta = chunks::BlobCodec::create(check_repo_key(key, repo->id(), "meta")).value();
  const std::string pack_hex = pack_b.substr(pack_b.rfind('/') + 1);
  std::string index_b;
  for (const auto& name : keys_under(target, "index/")) {
    auto idx = chunks::Index::open(*meta, as_bytes(object(name))).value();
    if (seal::hex_encode(idx.packs().at(0).first) == pack_hex) index_b = name;
  }
  ASSERT_FALSE(index_b.empty());
  std::string bytes = object(index_b);
  bytes[bytes.size() / 2] ^= 1;
  target.commit_object(index_b, bytes);

  const auto s = shallow();
  EXPECT_FALSE(s.ok());
  ASSERT_FALSE(s.problems.empty());
  EXPECT_EQ(s.problems[0].object, index_b);
  EXPECT_EQ(s.problems[0].what.rfind("sha256", 0), 0u);
  EXPECT_NE(joined(s).find("snapshots/" + snap_b + ": blob"), std::string::npos) << joined(s);
  EXPECT_EQ(s.unreferenced_packs, std::vector<std::string>{pack_b});
  EXPECT_EQ(snapshot_ids(s.broken_snapshots), std::set<std::string>{snap_b});
  EXPECT_EQ(s.packs, 1u);
}

TEST_F(RepoCheck, NoRepositoryOrAnotherKeyIsAnError) {
  storage::MemoryTarget empty;
  EXPECT_EQ(testutil::code_of(check_repository(empty, key, {}, StopToken{})), Code::kNotFound);
  EXPECT_EQ(testutil::code_of(check_repository(target, testutil::test_key(9), {}, StopToken{})), Code::kPermissionDenied);
  StopSource stop;
  stop.request_stop();
  EXPECT_EQ(testutil::code_of(check_repository(target, key, {}, stop.get_token())), Code::kCancelled);
}

}  // namespace
}  // namespace stacksnap::repo::check_test
