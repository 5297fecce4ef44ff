// Blobs of the repository format v2: one chunk of content (or of a tree, an index, a
// snapshot), identified by a keyed hash and stored compressed and sealed.
//
//   id      = HMAC-SHA-256(id_key, plaintext)            (ChunkId; reveals nothing without the key)
//   sealed  = nonce(12) || AES-256-GCM(data_key, flag(1) || payload) || tag(16)
//             flag 0: payload is the plaintext; 1: payload is its zstd frame
//             AAD  = "stacksnap blob v2" || type(1) || id(32)
//
// The AAD binds a sealed blob to its type and id: a blob swapped for another one in a pack,
// or moved to another id in the index, fails authentication. A chunk that zstd shrinks by
// less than 3 % is stored raw (already compressed media, encrypted data).
//
// Thread-safety: a BlobCodec holds one cipher and one zstd context: one per thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "base/error.h"
#include "base/stream.h"

namespace stacksnap::chunks {

inline constexpr size_t kIdSize = 32;
using ChunkId = std::array<uint8_t, kIdSize>;
std::string to_hex(const ChunkId& id);
Result<ChunkId> id_from_hex(std::string_view hex);

using Key32 = std::array<uint8_t, 32>;

// What a sealed blob holds (part of its AAD: one kind cannot pass for another).
enum class BlobType : uint8_t { kData = 0, kTree = 1, kPackHeader = 2, kIndex = 3, kSnapshot = 4, kConfig = 5 };

inline constexpr size_t kNonceSize = 12;
inline constexpr size_t kTagSize = 16;
inline constexpr size_t kBlobOverhead = kNonceSize + 1 + kTagSize;

// HMAC-SHA-256(id_key, data).
ChunkId chunk_id(const Key32& id_key, Bytes data);

class BlobCodec {
 public:
  static Result<std::unique_ptr<BlobCodec>> create(const Key32& data_key, int zstd_level = 3);
  ~BlobCodec();
  BlobCodec(const BlobCodec&) = delete;
  BlobCodec& operator=(const BlobCodec&) = delete;

  // Appends the sealed blob to `out`; returns its length.
  Result<size_t> seal(BlobType type, const ChunkId& id, Bytes plaintext, std::string& out);
  // Seals into `out`, which has room for plaintext.size() + kBlobOverhead bytes (a blob
  // stored raw when compressing saves too little never needs more); returns its length.
  Result<size_t> seal_into(BlobType type, const ChunkId& id, Bytes plaintext, unsigned char* out);
  // The plaintext of a sealed blob (DataLoss when it does not authenticate as `type`/`id`
  // or does not decompress to at most `max_size` bytes).
  Result<std::string> open(BlobType type, const ChunkId& id, Bytes sealed, size_t max_size);
  // DataLoss unless the blob authenticates as `type`/`id` and decodes to exactly
  // `raw_length` bytes. Decrypts in place (`sealed` is garbage afterwards) and decodes in
  // slices: no buffer of the blob's size.
  Status check(BlobType type, const ChunkId& id, MutableBytes sealed, size_t raw_length);
  // As check(), the sealed blob (`length` bytes) read from `in` in slices of 256 KiB:
  // memory of a slice, whatever the blob's size. Reads exactly `length` bytes unless it
  // fails.
  Status check_stream(BlobType type, const ChunkId& id, Reader& in, size_t length, size_t raw_length);

 private:
  BlobCodec() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stacksnap::chunks
