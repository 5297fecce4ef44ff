// chunks::Index (chunks/index.h): the compact in-memory index of the v2 repository. Finds
// after many add_packs and merges (the first entry of a blob wins), the file format byte
// for byte, per-pack views, memory per entry.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "chunks/index.h"
#include "chunks/le.h"

namespace stacksnap::chunks::index_test {
namespace {

Key32 meta_key(uint8_t base) {
  Key32 k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(base + i);
  return k;
}

ChunkId random_id(std::mt19937_64& rng) {
  ChunkId id;
  for (size_t i = 0; i < id.size(); i += 8) {
    const uint64_t v = rng();
    std::memcpy(id.data() + i, &v, 8);
  }
  return id;
}

PackId pack_number(uint32_t n) {
  PackId p{};
  std::memcpy(p.data(), &n, sizeof n);
  p[31] = 0xaa;
  return p;
}

// Entries as a writer makes them: offsets one after another.
std::vector<PackEntry> make_pack(std::mt19937_64& rng, size_t count, const std::vector<ChunkId>& reuse) {
  std::vector<PackEntry> out;
  uint64_t offset = 0;
  for (size_t i = 0; i < count; ++i) {
    PackEntry e;
    e.type = rng() % 5 == 0 ? BlobType::kTree : BlobType::kData;
    e.id = !reuse.empty() && rng() % 8 == 0 ? reuse[rng() % reuse.size()] : random_id(rng);
    e.offset = offset;
    e.raw_length = static_cast<uint32_t>(512 * 1024 + rng() % (7 * 1024 * 1024));
    e.length = static_cast<uint32_t>(e.raw_length / 2 + kBlobOverhead);
    offset += e.length;
    out.push_back(e);
  }
  return out;
}

struct Model {
  std::vector<std::pair<PackId, std::vector<PackEntry>>> packs;
  std::map<ChunkId, Location> first;
  std::vector<ChunkId> ids;
  void add(const PackId& pack, const std::vector<PackEntry>& entries) {
    packs.emplace_back(pack, entries);
    for (const auto& e : entries) {
      if (first.try_emplace(e.id, Location{pack, e.type, e.offset, e.length, e.raw_length}).second) ids.push_back(e.id);
    }
  }
};

void expect_same(const Index& idx, const Model& m) {
  ASSERT_EQ(idx.pack_count(), m.packs.size());
  EXPECT_EQ(idx.blobs(), m.first.size());
  size_t entries = 0;
  for (size_t i = 0; i < m.packs.size(); ++i) {
    ASSERT_EQ(idx.pack_id(i), m.packs[i].first) << i;
    ASSERT_EQ(idx.pack_entries(i), m.packs[i].second) << i;
    entries += m.packs[i].second.size();
  }
  EXPECT_EQ(idx.entries(), entries);
  for (const auto& [id, want] : m.first) {
    const FoundLocation at = idx.find(id);
    ASSERT_TRUE(at) << to_hex(id);
    EXPECT_EQ(at->pack, want.pack);
    EXPECT_EQ(at->type, want.type);
    EXPECT_EQ(at->offset, want.offset);
    EXPECT_EQ(at->length, want.length);
    EXPECT_EQ(at->raw_length, want.raw_length);
  }
}

TEST(ChunksIndex, FindAfterManyAddPacksAndMergesTheFirstEntryWins) {
  std::mt19937_64 rng(7);
  Model model;
  Index idx;
  uint32_t next_pack = 0;
  // Packs one by one (the tail and its folds), then whole indexes merged in (small ones
  // through the tail, large ones folded), some naming blobs again and packs twice.
  for (int round = 0; round < 6; ++round) {
    for (int i = 0; i < 300; ++i) {
      const PackId pack = pack_number(next_pack++);
      const auto entries = make_pack(rng, rng() % 40, model.ids);
      idx.add_pack(pack, entries);
      model.add(pack, entries);
    }
    for (size_t size : {3u, 200u, 9000u}) {
      Index other;
      std::vector<std::pair<PackId, std::vector<PackEntry>>> added;
      for (size_t n = 0; n < size;) {
        const PackId pack = pack_number(next_pack++);
        auto entries = make_pack(rng, 1 + rng() % 60, model.ids);
        n += entries.size();
        other.add_pack(pack, entries);
        added.emplace_back(pack, std::move(entries));
      }
      if (round % 2 == 1) {
        idx.merge(other);
      } else {
        idx.merge(std::move(other));
      }
      for (const auto& [pack, entries] : added) model.add(pack, entries);
    }
    // A pack named by a second index file (a crashed prune leaves that).
    const auto again = model.packs[rng() % model.packs.size()];  // a copy: model.add() grows model.packs
    Index repeat;
    repeat.add_pack(again.first, again.second);
    idx.merge(repeat);
    model.add(again.first, again.second);
    // A blob twice in one pack.
    if (!model.ids.empty()) {
      auto entries = make_pack(rng, 3, {});
      entries.push_back(entries[0]);
      entries.back().offset += 999;
      const PackId pack = pack_number(next_pack++);
      idx.add_pack(pack, entries);
      model.add(pack, entries);
    }
    ASSERT_NO_FATAL_FAILURE(expect_same(idx, model));
  }
  EXPECT_GT(idx.entries(), 50000u);
  EXPECT_LT(idx.blobs(), idx.entries());  // there were duplicates
  for (int i = 0; i < 1000; ++i) {
    const ChunkId absent = random_id(rng);
    EXPECT_FALSE(idx.contains(absent));
    EXPECT_TRUE(idx.find(absent) == nullptr);
  }
  // Into an empty index, merged whole, and the empty pack.
  Index empty;
  empty.add_pack(pack_number(999999), {});
  empty.merge(idx);
  Model with_empty;
  with_empty.add(pack_number(999999), {});
  for (const auto& [pack, entries] : model.packs) with_empty.add(pack, entries);
  ASSERT_NO_FATAL_FAILURE(expect_same(empty, with_empty));
  Index moved;
  moved.merge(std::move(idx));
  ASSERT_NO_FATAL_FAILURE(expect_same(moved, model));
}

// The plaintext of FORMAT.md §v2.5, built by hand.
std::string expected_plaintext(const std::vector<std::pair<PackId, std::vector<PackEntry>>>& packs) {
  std::string p = "SSIX";
  p.push_back('\x01');
  put_le<uint32_t>(p, static_cast<uint32_t>(packs.size()));
  for (const auto& [pack, entries] : packs) {
    p.append(reinterpret_cast<const char*>(pack.data()), pack.size());
    put_le<uint32_t>(p, static_cast<uint32_t>(entries.size()));
    for (const auto& e : entries) {
      p.push_back(static_cast<char>(e.type));
      p.append(reinterpret_cast<const char*>(e.id.data()), e.id.size());
      put_le<uint64_t>(p, e.offset);
      put_le<uint32_t>(p, e.length);
      put_le<uint32_t>(p, e.raw_length);
    }
  }
  return p;
}

TEST(ChunksIndex, SealAndOpenKeepTheFormatByteForByte) {
  auto codec = BlobCodec::create(meta_key(3));
  ASSERT_TRUE(codec.ok());
  std::mt19937_64 rng(11);
  std::vector<std::pair<PackId, std::vector<PackEntry>>> packs;
  packs.emplace_back(pack_number(1), make_pack(rng, 5, {}));
  packs.emplace_back(pack_number(2), std::vector<PackEntry>{});
  packs.emplace_back(pack_number(3), make_pack(rng, 3, {}));
  // Not in offset order, a huge offset (kept aside in memory), a blob of pack 1 again.
  std::swap(packs[2].second[0], packs[2].second[2]);
  packs[2].second[1].offset = (uint64_t{1} << 60) + 12345;
  packs[2].second.push_back(packs[0].second[4]);
  const std::vector<PackEntry> first_pack = packs[0].second;
  packs.emplace_back(pack_number(1), first_pack);  // pack 1 named twice

  Index idx;
  for (const auto& [pack, entries] : packs) idx.add_pack(pack, entries);
  const std::string want = expected_plaintext(packs);
  auto sealed = idx.seal(**codec);
  ASSERT_TRUE(sealed.ok()) << sealed.error().message();
  auto plain = (*codec)->open(BlobType::kIndex, ChunkId{}, as_bytes(*sealed), 1 << 20);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, want);

  // A file written by hand (as the earlier code wrote it) opens both ways, the same.
  std::string file;
  ASSERT_TRUE((*codec)->seal(BlobType::kIndex, ChunkId{}, as_bytes(want), file).ok());
  auto back = Index::open(**codec, as_bytes(file));
  ASSERT_TRUE(back.ok()) << back.error().message();
  auto back2 = Index::open(meta_key(3), file);
  ASSERT_TRUE(back2.ok()) << back2.error().message();
  for (const Index* b : {&*back, &*back2}) {
    ASSERT_EQ(b->pack_count(), packs.size());
    for (size_t i = 0; i < packs.size(); ++i) {
      EXPECT_EQ(b->pack_id(i), packs[i].first);
      EXPECT_EQ(b->pack_entries(i), packs[i].second);
      EXPECT_EQ(b->packs()[i], packs[i]);
    }
    EXPECT_EQ(b->blobs(), 8u);
    EXPECT_EQ(b->entries(), 5u + 4u + 5u);
    EXPECT_EQ(b->find(packs[0].second[4].id)->pack, pack_number(1));  // first named
    EXPECT_EQ(b->find(packs[2].second[1].id)->offset, (uint64_t{1} << 60) + 12345);
    auto resealed = b->seal(**codec);
    ASSERT_TRUE(resealed.ok());
    EXPECT_EQ(*(*codec)->open(BlobType::kIndex, ChunkId{}, as_bytes(*resealed), 1 << 20), want);
  }
  EXPECT_FALSE(Index::open(meta_key(4), file).ok());  // another key

  // Damage: every form is DataLoss.
  auto seal_plain = [&](const std::string& p) {
    std::string out;
    EXPECT_TRUE((*codec)->seal(BlobType::kIndex, ChunkId{}, as_bytes(p), out).ok());
    return out;
  };
  std::string version2 = want;
  version2[4] = '\x02';
  std::string bad_type = want;
  bad_type[4 + 1 + 4 + 32 + 4] = '\x07';
  for (const std::string& bad : {want.substr(0, want.size() - 1), want + "x", version2, bad_type, std::string("SSIY\x01\0\0\0\0", 9)}) {
    auto r = Index::open(**codec, as_bytes(seal_plain(bad)));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Code::kDataLoss) << r.error().message();
  }
}

TEST(ChunksIndex, PackViewsIterateInOrder) {
  std::mt19937_64 rng(5);
  Index idx;
  std::vector<std::pair<PackId, std::vector<PackEntry>>> packs;
  for (uint32_t i = 0; i < 50; ++i) {
    packs.emplace_back(pack_number(i), make_pack(rng, i % 7, {}));
    idx.add_pack(packs.back().first, packs.back().second);
  }
  size_t i = 0;
  for (const auto& [pack, entries] : idx.packs()) {
    EXPECT_EQ(pack, packs[i].first);
    EXPECT_EQ(entries, packs[i].second);
    ++i;
  }
  EXPECT_EQ(i, packs.size());
  EXPECT_EQ(idx.packs().size(), 50u);
  EXPECT_FALSE(idx.packs().empty());
  EXPECT_TRUE(Index().packs().empty());
  EXPECT_EQ(idx.packs().at(49), packs[49]);
  EXPECT_THROW(idx.packs().at(50), std::out_of_range);
}

TEST(ChunksIndex, MemoryPerEntryIsBelow64Bytes) {
  std::mt19937_64 rng(9);
  auto codec = BlobCodec::create(meta_key(1));
  ASSERT_TRUE(codec.ok());
  constexpr size_t kEntries = 200000;
  Index built;  // pack by pack, as a backup's commits and a prune's fresh index add them
  for (uint32_t p = 0; built.entries() < kEntries; ++p) built.add_pack(pack_number(p), make_pack(rng, 16, {}));
  auto sealed = built.seal(**codec);
  ASSERT_TRUE(sealed.ok());
  auto opened = Index::open(**codec, as_bytes(*sealed));
  ASSERT_TRUE(opened.ok());
  Index merged;  // from ten index files, as Repository::open loads them
  for (int f = 0; f < 10; ++f) {
    Index part;
    for (uint32_t p = 0; p < kEntries / 10 / 16; ++p) part.add_pack(pack_number(f << 20 | p), make_pack(rng, 16, {}));
    merged.merge(std::move(part));
  }
  for (const Index* idx : {&built, &*opened, &merged}) {
    const double per_entry = static_cast<double>(idx->memory_bytes()) / static_cast<double>(idx->entries());
    EXPECT_LT(per_entry, 64.0) << (idx == &built ? "built " : idx == &merged ? "merged " : "opened ") << idx->entries() << " entries, " << idx->memory_bytes() << " bytes";
    EXPECT_GE(per_entry, 56.0);
  }
  EXPECT_EQ(opened->blobs(), built.blobs());
}

}  // namespace
}  // namespace stacksnap::chunks::index_test
