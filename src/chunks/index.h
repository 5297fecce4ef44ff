// The index of the repository format v2: which pack holds each blob, where.
//
//   index file = a sealed blob (BlobType::kIndex, id all zeros) of the plaintext
//                "SSIX" || version (1) || pack count (uint32) ||
//                per pack: pack id (32) || entry count (uint32) || entries as in a pack header
//   name       = index/<hex of SHA-256 of the sealed file>
//
// An index names only packs that were uploaded whole before it; a backup uploads its
// packs, then its index, then its snapshot (the commit point). Several index files are
// merged on load; a blob named twice (two hosts stored the same chunk) keeps the first.
//
// In memory (docs/BENCHMARKS.md, "v2 repository index memory"): every entry once, in the
// order it was added (so each pack's entries stay together and in their file order), as a
// 48-byte record in blocks of 16 Ki records; plus an 8-byte key {first 4 bytes of the id,
// record number} per entry, sorted by id, for find(); 36 bytes a pack. About 58 bytes a
// chunk with 16 chunks a pack: 56 MiB per million chunks (the unordered_map and per-pack
// copies before took 184). Recent additions sit in a small sorted tail that is folded into
// the sorted keys once it outgrows max(4096, 16 × √n) keys, so add_pack() stays cheap and
// find() searches two sorted arrays. packs() makes each pack's entry list on demand.
//
// Thread-safety: const methods may run concurrently; add_pack() and merge() need exclusive
// access.
#pragma once

#include <cstddef>
#include <cstring>
#include <iterator>
#include <stdexcept>
#include <utility>
#include <vector>

#include "chunks/pack.h"

namespace stacksnap::chunks {

struct Location {
  PackId pack{};
  BlobType type = BlobType::kData;
  uint64_t offset = 0;
  uint32_t length = 0;
  uint32_t raw_length = 0;
};

// What Index::find() returns: a copy of the blob's Location, or nothing. Reads like the
// pointer it once was: `if (at)`, `at->pack`, `*at`, `at == nullptr`.
class FoundLocation {
 public:
  FoundLocation() = default;
  explicit FoundLocation(const Location& at) : at_(at), found_(true) {}
  explicit operator bool() const { return found_; }
  const Location* operator->() const { return &at_; }
  const Location& operator*() const { return at_; }
  friend bool operator==(const FoundLocation& f, std::nullptr_t) { return !f.found_; }

 private:
  Location at_{};
  bool found_ = false;
};

struct ChunkIdHash {
  size_t operator()(const ChunkId& id) const {
    size_t h;
    std::memcpy(&h, id.data(), sizeof h);  // a keyed hash already: its bytes are uniform
    return h;
  }
};

class Index {
 public:
  // One pack and what it holds, in the order its index file or add_pack() listed them.
  using PackContents = std::pair<PackId, std::vector<PackEntry>>;
  class Packs;

  // At most 2^32 - 1 entries in all (std::length_error beyond).
  void add_pack(const PackId& pack, const std::vector<PackEntry>& entries);
  // Every pack of `other` after those here (a blob already known here keeps its place).
  void merge(const Index& other);
  void merge(Index&& other);  // takes `other` whole when this index is empty
  FoundLocation find(const ChunkId& id) const;
  bool contains(const ChunkId& id) const { return static_cast<bool>(find(id)); }
  size_t blobs() const { return distinct_; }  // distinct ids
  size_t entries() const { return count_; }   // entries of all packs (a blob named twice counts twice)
  // The packs in the order they were added (a pack named by two index files twice); each
  // element is made when it is read.
  Packs packs() const;
  size_t pack_count() const { return pack_ids_.size(); }
  const PackId& pack_id(size_t i) const { return pack_ids_[i]; }
  std::vector<PackEntry> pack_entries(size_t i) const;
  // The heap memory this index holds (capacities, not sizes).
  size_t memory_bytes() const;

  Result<std::string> seal(BlobCodec& codec) const;
  // DataLoss when the file does not authenticate or is malformed.
  static Result<Index> open(BlobCodec& codec, Bytes sealed);
  // The same with a codec of its own for `meta_key`: the sealed bytes and the codec's
  // buffers are freed before the entries are read (a lower peak for a large index).
  static Result<Index> open(const Key32& meta_key, std::string sealed);

 private:
  // An entry: offset_type = type << 56 | offset (offsets from 2^56 - 1 up live in big_offsets_).
  struct Record {
    ChunkId id;
    uint32_t length;
    uint32_t raw_length;
    uint64_t offset_type;
  };
  // A sorted key: the id's first 4 bytes (big endian) and the record's number.
  struct Key {
    uint32_t prefix;
    uint32_t pos;
  };
  static constexpr size_t kBlockShift = 14;
  static constexpr size_t kBlock = size_t{1} << kBlockShift;

  static Result<Index> parse(std::string_view plain);
  const Record& record(uint32_t pos) const { return blocks_[pos >> kBlockShift][pos & (kBlock - 1)]; }
  void push_record(const Record& r, size_t more);
  Key append(const PackEntry& e, size_t more);
  PackEntry entry(uint32_t pos) const;
  size_t pack_end(size_t i) const { return i + 1 < pack_starts_.size() ? pack_starts_[i + 1] : count_; }
  bool key_less(const Key& a, const Key& b) const;
  bool same_id(const Key& a, const Key& b) const;
  const Key* lookup(const std::vector<Key>& keys, uint32_t prefix, const ChunkId& id) const;
  size_t tail_limit() const;
  void take_keys(std::vector<Key> fresh);
  uint32_t append_packs(const Index& other);
  void shifted_keys(std::vector<Key>& keys, size_t sorted_part, uint32_t base) const;
  void count_distinct();
  void check_room(size_t more) const;

  std::vector<PackId> pack_ids_;
  std::vector<uint32_t> pack_starts_;             // each pack's first record
  std::vector<std::vector<Record>> blocks_;       // kBlock records each (the last may hold fewer)
  std::vector<std::pair<uint32_t, uint64_t>> big_offsets_;  // by record number
  std::vector<Key> sorted_;                        // by id, then record number
  std::vector<Key> tail_;                          // the same order; every record here is newer
  size_t count_ = 0;
  size_t distinct_ = 0;
};

// A view of an Index's packs: index it or iterate it; each element is a fresh PackContents.
class Index::Packs {
 public:
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = PackContents;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = PackContents;
    iterator() = default;
    iterator(const Index* index, size_t i) : index_(index), i_(i) {}
    PackContents operator*() const { return {index_->pack_id(i_), index_->pack_entries(i_)}; }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    iterator operator++(int) {
      iterator was = *this;
      ++i_;
      return was;
    }
    bool operator==(const iterator& o) const { return i_ == o.i_; }

   private:
    const Index* index_ = nullptr;
    size_t i_ = 0;
  };

  explicit Packs(const Index& index) : index_(&index) {}
  size_t size() const { return index_->pack_count(); }
  bool empty() const { return size() == 0; }
  PackContents operator[](size_t i) const { return {index_->pack_id(i), index_->pack_entries(i)}; }
  PackContents at(size_t i) const {
    if (i >= size()) throw std::out_of_range("chunks::Index::Packs::at");
    return (*this)[i];
  }
  iterator begin() const { return {index_, 0}; }
  iterator end() const { return {index_, size()}; }

 private:
  const Index* index_;
};

inline Index::Packs Index::packs() const { return Packs(*this); }

}  // namespace stacksnap::chunks
