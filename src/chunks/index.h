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
// Thread-safety: const methods may run concurrently; add_pack() needs exclusive access.
#pragma once

#include <cstring>
#include <unordered_map>
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

struct ChunkIdHash {
  size_t operator()(const ChunkId& id) const {
    size_t h;
    std::memcpy(&h, id.data(), sizeof h);  // a keyed hash already: its bytes are uniform
    return h;
  }
};

class Index {
 public:
  void add_pack(const PackId& pack, const std::vector<PackEntry>& entries);
  // Every blob of `other` not known here.
  void merge(const Index& other);
  const Location* find(const ChunkId& id) const;
  bool contains(const ChunkId& id) const { return find(id) != nullptr; }
  size_t blobs() const { return blobs_.size(); }
  // The packs and what each holds, in the order they were added.
  const std::vector<std::pair<PackId, std::vector<PackEntry>>>& packs() const { return packs_; }

  Result<std::string> seal(BlobCodec& codec) const;
  // DataLoss when the file does not authenticate or is malformed.
  static Result<Index> open(BlobCodec& codec, Bytes sealed);

 private:
  std::unordered_map<ChunkId, Location, ChunkIdHash> blobs_;
  std::vector<std::pair<PackId, std::vector<PackEntry>>> packs_;
};

}  // namespace stacksnap::chunks
