#include "chunks/index.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "chunks/le.h"

namespace stacksnap::chunks {

namespace {

constexpr std::string_view kMagic = "SSIX";
constexpr uint8_t kVersion = 1;
constexpr ChunkId kIndexId{};
constexpr size_t kMaxIndex = 1ull << 30;
constexpr uint64_t kOffsetMask = (uint64_t{1} << 56) - 1;  // an offset this large or larger is kept aside
constexpr size_t kMaxEntries = UINT32_MAX;
constexpr size_t kMinTail = 4096;

// A bounds-checked little-endian reader over the index plaintext.
class IndexCursor {
 public:
  explicit IndexCursor(std::string_view s) : p_(reinterpret_cast<const unsigned char*>(s.data())), left_(s.size()) {}
  bool take(void* dst, size_t n) {
    if (n > left_) return false;
    std::memcpy(dst, p_, n);
    skip(n);
    return true;
  }
  bool skip_checked(size_t n) {
    if (n > left_) return false;
    skip(n);
    return true;
  }
  template <class T>
  bool le(T& v) {
    unsigned char b[sizeof(T)];
    if (!take(b, sizeof b)) return false;
    v = get_le<T>(b);
    return true;
  }
  const unsigned char* here() const { return p_; }
  void skip(size_t n) {
    p_ += n;
    left_ -= n;
  }
  size_t left() const { return left_; }

 private:
  const unsigned char* p_;
  size_t left_;
};

uint32_t id_prefix(const ChunkId& id) {
  return static_cast<uint32_t>(id[0]) << 24 | static_cast<uint32_t>(id[1]) << 16 | static_cast<uint32_t>(id[2]) << 8 | id[3];
}

}  // namespace

// ---- records and keys ----------------------------------------------------------------------

void Index::check_room(size_t more) const {
  if (more > kMaxEntries - count_) throw std::length_error("chunks::Index: more than 2^32 - 1 entries");
}

// A block grows to at most kBlock records: by `more` (the records still to come) or doubling.
void Index::push_record(const Record& r, size_t more) {
  if (blocks_.empty() || blocks_.back().size() == kBlock) blocks_.emplace_back();
  auto& block = blocks_.back();
  if (block.size() == block.capacity()) {
    block.reserve(std::min(kBlock, std::max({2 * block.size(), block.size() + more, size_t{16}})));
  }
  block.push_back(r);
  ++count_;
}

Index::Key Index::append(const PackEntry& e, size_t more) {
  const auto pos = static_cast<uint32_t>(count_);
  uint64_t offset = e.offset;
  if (offset >= kOffsetMask) {
    big_offsets_.emplace_back(pos, offset);
    offset = kOffsetMask;
  }
  push_record(Record{.id = e.id, .length = e.length, .raw_length = e.raw_length,
                     .offset_type = static_cast<uint64_t>(e.type) << 56 | offset},
              more);
  return Key{id_prefix(e.id), pos};
}

PackEntry Index::entry(uint32_t pos) const {
  const Record& r = record(pos);
  PackEntry e{.type = static_cast<BlobType>(r.offset_type >> 56), .id = r.id, .offset = r.offset_type & kOffsetMask,
              .length = r.length, .raw_length = r.raw_length};
  if (e.offset == kOffsetMask) {
    auto it = std::lower_bound(big_offsets_.begin(), big_offsets_.end(), pos,
                               [](const std::pair<uint32_t, uint64_t>& b, uint32_t p) { return b.first < p; });
    e.offset = it->second;
  }
  return e;
}

bool Index::key_less(const Key& a, const Key& b) const {
  if (a.prefix != b.prefix) return a.prefix < b.prefix;
  if (const int c = std::memcmp(record(a.pos).id.data(), record(b.pos).id.data(), kIdSize); c != 0) return c < 0;
  return a.pos < b.pos;
}

bool Index::same_id(const Key& a, const Key& b) const {
  return a.prefix == b.prefix && record(a.pos).id == record(b.pos).id;
}

// The first key (the oldest entry) for `id` in `keys`, or null.
const Index::Key* Index::lookup(const std::vector<Key>& keys, uint32_t prefix, const ChunkId& id) const {
  auto it = std::lower_bound(keys.begin(), keys.end(), prefix, [&](const Key& k, uint32_t p) {
    if (k.prefix != p) return k.prefix < p;
    return std::memcmp(record(k.pos).id.data(), id.data(), kIdSize) < 0;
  });
  if (it == keys.end() || it->prefix != prefix || record(it->pos).id != id) return nullptr;
  return &*it;
}

size_t Index::tail_limit() const {
  return std::max(kMinTail, static_cast<size_t>(16 * std::sqrt(static_cast<double>(sorted_.size()))));
}

void Index::count_distinct() {
  distinct_ = 0;
  for (size_t i = 0; i < sorted_.size(); ++i) distinct_ += (i == 0 || !same_id(sorted_[i - 1], sorted_[i])) ? 1 : 0;
}

// `fresh`: sorted, and newer than every key here. A few go into the tail (each counted
// against what is known); many, or a tail grown too long, fold everything into sorted_.
void Index::take_keys(std::vector<Key> fresh) {
  if (fresh.empty()) return;
  const auto less = [this](const Key& a, const Key& b) { return key_less(a, b); };
  if (tail_.size() + fresh.size() <= tail_limit()) {
    for (size_t i = 0; i < fresh.size(); ++i) {
      if (i > 0 && same_id(fresh[i - 1], fresh[i])) continue;
      const ChunkId& id = record(fresh[i].pos).id;
      if (!lookup(sorted_, fresh[i].prefix, id) && !lookup(tail_, fresh[i].prefix, id)) ++distinct_;
    }
    const size_t old = tail_.size();
    tail_.insert(tail_.end(), fresh.begin(), fresh.end());
    std::inplace_merge(tail_.begin(), tail_.begin() + static_cast<ptrdiff_t>(old), tail_.end(), less);
    return;
  }
  const size_t old = sorted_.size();
  const size_t need = old + tail_.size() + fresh.size();
  if (sorted_.capacity() < need) sorted_.reserve(need + need / 8);  // not doubling: 8 bytes a key count
  sorted_.insert(sorted_.end(), tail_.begin(), tail_.end());
  sorted_.insert(sorted_.end(), fresh.begin(), fresh.end());
  const auto mid = sorted_.begin() + static_cast<ptrdiff_t>(old);
  std::inplace_merge(mid, mid + static_cast<ptrdiff_t>(tail_.size()), sorted_.end(), less);
  std::inplace_merge(sorted_.begin(), mid, sorted_.end(), less);
  tail_.clear();
  tail_.shrink_to_fit();
  count_distinct();
}

// ---- building -------------------------------------------------------------------------------

void Index::add_pack(const PackId& pack, const std::vector<PackEntry>& entries) {
  check_room(entries.size());
  pack_ids_.push_back(pack);
  pack_starts_.push_back(static_cast<uint32_t>(count_));
  std::vector<Key> fresh;
  fresh.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) fresh.push_back(append(entries[i], entries.size() - i));
  std::sort(fresh.begin(), fresh.end(), [this](const Key& a, const Key& b) { return key_less(a, b); });
  take_keys(std::move(fresh));
}

// other's packs, its records' places and its offsets kept aside, after those here.
uint32_t Index::append_packs(const Index& other) {
  check_room(other.count_);
  const auto base = static_cast<uint32_t>(count_);
  pack_ids_.insert(pack_ids_.end(), other.pack_ids_.begin(), other.pack_ids_.end());
  for (uint32_t start : other.pack_starts_) pack_starts_.push_back(base + start);
  for (const auto& [pos, offset] : other.big_offsets_) big_offsets_.emplace_back(base + pos, offset);
  return base;
}

// other's keys shifted by `base` stay sorted (the same ids, the same order of record numbers);
// its tail is merged in.
void Index::shifted_keys(std::vector<Key>& keys, size_t sorted_part, uint32_t base) const {
  for (Key& k : keys) k.pos += base;
  if (sorted_part < keys.size()) {
    std::inplace_merge(keys.begin(), keys.begin() + static_cast<ptrdiff_t>(sorted_part), keys.end(),
                       [this](const Key& a, const Key& b) { return key_less(a, b); });
  }
}

void Index::merge(const Index& other) {
  const uint32_t base = append_packs(other);
  for (const auto& block : other.blocks_) {
    for (const Record& r : block) push_record(r, other.count_ - (count_ - base));
  }
  std::vector<Key> fresh;
  fresh.reserve(other.sorted_.size() + other.tail_.size());
  fresh.insert(fresh.end(), other.sorted_.begin(), other.sorted_.end());
  fresh.insert(fresh.end(), other.tail_.begin(), other.tail_.end());
  shifted_keys(fresh, other.sorted_.size(), base);
  take_keys(std::move(fresh));
}

void Index::merge(Index&& other) {
  if (count_ == 0 && pack_ids_.empty()) {
    *this = std::move(other);
    other = Index();
    return;
  }
  // As merge(const Index&), but other's memory goes as it is taken over (a lower peak).
  const uint32_t base = append_packs(other);
  for (auto& block : other.blocks_) {
    for (const Record& r : block) push_record(r, other.count_ - (count_ - base));
    std::vector<Record>().swap(block);
  }
  std::vector<Key> fresh = std::move(other.sorted_);
  const size_t sorted_part = fresh.size();
  fresh.insert(fresh.end(), other.tail_.begin(), other.tail_.end());
  shifted_keys(fresh, sorted_part, base);
  other = Index();
  take_keys(std::move(fresh));
}

// ---- reading --------------------------------------------------------------------------------

FoundLocation Index::find(const ChunkId& id) const {
  const uint32_t prefix = id_prefix(id);
  const Key* k = lookup(sorted_, prefix, id);
  if (!k) k = lookup(tail_, prefix, id);  // every tail entry is newer than every sorted one
  if (!k) return {};
  const PackEntry e = entry(k->pos);
  const auto pack = std::upper_bound(pack_starts_.begin(), pack_starts_.end(), k->pos) - pack_starts_.begin() - 1;
  return FoundLocation(Location{.pack = pack_ids_[static_cast<size_t>(pack)], .type = e.type, .offset = e.offset,
                                .length = e.length, .raw_length = e.raw_length});
}

std::vector<PackEntry> Index::pack_entries(size_t i) const {
  std::vector<PackEntry> out;
  const size_t end = pack_end(i);
  out.reserve(end - pack_starts_[i]);
  for (size_t pos = pack_starts_[i]; pos < end; ++pos) out.push_back(entry(static_cast<uint32_t>(pos)));
  return out;
}

size_t Index::memory_bytes() const {
  size_t n = pack_ids_.capacity() * sizeof(PackId) + pack_starts_.capacity() * sizeof(uint32_t) +
             blocks_.capacity() * sizeof(std::vector<Record>) + big_offsets_.capacity() * sizeof(big_offsets_[0]) +
             (sorted_.capacity() + tail_.capacity()) * sizeof(Key);
  for (const auto& b : blocks_) n += b.capacity() * sizeof(Record);
  return n;
}

// ---- the file -------------------------------------------------------------------------------

Result<std::string> Index::seal(BlobCodec& codec) const {
  const size_t size = kMagic.size() + 1 + 4 + pack_ids_.size() * (sizeof(PackId) + 4) + count_ * kPackEntrySize;
  if (size > kMaxIndex) return resource_exhausted("index larger than 1 GiB");
  std::string plain;
  plain.reserve(size);
  plain.append(kMagic);
  plain.push_back(static_cast<char>(kVersion));
  put_le<uint32_t>(plain, static_cast<uint32_t>(pack_ids_.size()));
  for (size_t i = 0; i < pack_ids_.size(); ++i) {
    plain.append(reinterpret_cast<const char*>(pack_ids_[i].data()), pack_ids_[i].size());
    const size_t end = pack_end(i);
    put_le<uint32_t>(plain, static_cast<uint32_t>(end - pack_starts_[i]));
    for (size_t pos = pack_starts_[i]; pos < end; ++pos) append_entry(plain, entry(static_cast<uint32_t>(pos)));
  }
  std::string out;
  TRY(codec.seal(BlobType::kIndex, kIndexId, as_bytes(plain), out));
  return out;
}

Result<Index> Index::open(BlobCodec& codec, Bytes sealed) {
  const std::string plain = TRY(codec.open(BlobType::kIndex, kIndexId, sealed, kMaxIndex));
  return parse(plain);
}

Result<Index> Index::open(const Key32& meta_key, std::string sealed) {
  std::string plain;
  {
    auto codec = TRY(BlobCodec::create(meta_key));
    plain = TRY(codec->open(BlobType::kIndex, kIndexId, as_bytes(sealed), kMaxIndex));
    std::string().swap(sealed);
  }
  return parse(plain);
}

Result<Index> Index::parse(std::string_view plain) {
  IndexCursor c(plain);
  char magic[4];
  uint8_t version = 0;
  uint32_t packs = 0;
  if (!c.take(magic, 4) || std::string_view(magic, 4) != kMagic || !c.le(version) || !c.le(packs)) {
    return data_loss("index: not an index file");
  }
  if (version != kVersion) return data_loss("index: version " + std::to_string(version) + " is not known here");
  // First the layout (to allocate once), then the entries.
  const IndexCursor start = c;
  size_t total = 0;
  for (uint32_t i = 0; i < packs; ++i) {
    uint32_t count = 0;
    if (!c.skip_checked(sizeof(PackId)) || !c.le(count) || count > c.left() / kPackEntrySize) {
      return data_loss("index: truncated");
    }
    c.skip(static_cast<size_t>(count) * kPackEntrySize);
    total += count;
  }
  if (c.left() != 0) return data_loss("index: trailing bytes");
  if (total > kMaxEntries) return data_loss("index: too many entries");
  c = start;
  Index idx;
  idx.pack_ids_.reserve(packs);
  idx.pack_starts_.reserve(packs);
  idx.sorted_.reserve(total);
  for (uint32_t i = 0; i < packs; ++i) {
    PackId pack;
    uint32_t count = 0;
    c.take(pack.data(), pack.size());
    c.le(count);
    idx.pack_ids_.push_back(pack);
    idx.pack_starts_.push_back(static_cast<uint32_t>(idx.count_));
    for (uint32_t j = 0; j < count; ++j) {
      const PackEntry e = TRY_CTX(entry_from(c.here()), "index");
      c.skip(kPackEntrySize);
      idx.sorted_.push_back(idx.append(e, total - idx.count_));
    }
  }
  std::sort(idx.sorted_.begin(), idx.sorted_.end(), [&idx](const Key& a, const Key& b) { return idx.key_less(a, b); });
  idx.count_distinct();
  return idx;
}

}  // namespace stacksnap::chunks
