#include "chunks/index.h"

#include "chunks/le.h"

namespace stacksnap::chunks {

namespace {

constexpr std::string_view kMagic = "SSIX";
constexpr uint8_t kVersion = 1;
constexpr ChunkId kIndexId{};
constexpr size_t kMaxIndex = 1ull << 30;

// A bounds-checked little-endian reader over the index plaintext.
class Cursor {
 public:
  explicit Cursor(const std::string& s) : p_(reinterpret_cast<const unsigned char*>(s.data())), left_(s.size()) {}
  bool take(void* dst, size_t n) {
    if (n > left_) return false;
    std::memcpy(dst, p_, n);
    p_ += n;
    left_ -= n;
    return true;
  }
  template <class T>
  bool le(T& v) {
    unsigned char b[sizeof(T)];
    if (!take(b, sizeof b)) return false;
    uint64_t x = 0;
    for (size_t i = 0; i < sizeof(T); ++i) x |= static_cast<uint64_t>(b[i]) << (8 * i);
    v = static_cast<T>(x);
    return true;
  }
  size_t left() const { return left_; }

 private:
  const unsigned char* p_;
  size_t left_;
};

}  // namespace

void Index::add_pack(const PackId& pack, const std::vector<PackEntry>& entries) {
  for (const auto& e : entries) {
    blobs_.try_emplace(e.id, Location{.pack = pack, .type = e.type, .offset = e.offset, .length = e.length,
                                      .raw_length = e.raw_length});
  }
  packs_.emplace_back(pack, entries);
}

void Index::merge(const Index& other) {
  for (const auto& [pack, entries] : other.packs_) add_pack(pack, entries);
}

const Location* Index::find(const ChunkId& id) const {
  auto it = blobs_.find(id);
  return it == blobs_.end() ? nullptr : &it->second;
}

Result<std::string> Index::seal(BlobCodec& codec) const {
  std::string plain(kMagic);
  plain.push_back(static_cast<char>(kVersion));
  put_le<uint32_t>(plain, static_cast<uint32_t>(packs_.size()));
  for (const auto& [pack, entries] : packs_) {
    plain.append(reinterpret_cast<const char*>(pack.data()), pack.size());
    put_le<uint32_t>(plain, static_cast<uint32_t>(entries.size()));
    for (const auto& e : entries) append_entry(plain, e);
  }
  if (plain.size() > kMaxIndex) return resource_exhausted("index larger than 1 GiB");
  std::string out;
  TRY(codec.seal(BlobType::kIndex, kIndexId, as_bytes(plain), out));
  return out;
}

Result<Index> Index::open(BlobCodec& codec, Bytes sealed) {
  const std::string plain = TRY(codec.open(BlobType::kIndex, kIndexId, sealed, kMaxIndex));
  Cursor c(plain);
  char magic[4];
  uint8_t version = 0;
  uint32_t packs = 0;
  if (!c.take(magic, 4) || std::string_view(magic, 4) != kMagic || !c.le(version) || !c.le(packs)) {
    return data_loss("index: not an index file");
  }
  if (version != kVersion) return data_loss("index: version " + std::to_string(version) + " is not known here");
  Index idx;
  for (uint32_t i = 0; i < packs; ++i) {
    PackId pack;
    uint32_t count = 0;
    if (!c.take(pack.data(), pack.size()) || !c.le(count) || count > c.left() / kPackEntrySize) {
      return data_loss("index: truncated");
    }
    std::vector<PackEntry> entries(count);
    for (auto& e : entries) {
      unsigned char raw[kPackEntrySize];
      if (!c.take(raw, sizeof raw)) return data_loss("index: truncated");
      e = TRY_CTX(entry_from(raw), "index");
    }
    idx.add_pack(pack, entries);
  }
  if (c.left() != 0) return data_loss("index: trailing bytes");
  return idx;
}

}  // namespace stacksnap::chunks
