// Content-defined chunking for the repository format v2 (docs/FORMAT.md §v2,
// docs/adr/0011-repository-format.md): FastCDC (Xia et al., USENIX ATC 2016) with
// normalized chunking, level 2.
//
// A gear hash runs over the bytes (fp = (fp << 1) + gear[byte]); its top bits depend on the
// last 64 bytes only, so a cut point depends on the content just before it, and an
// insertion or deletion moves only the cut points near it. Below the normal size a cut
// needs kBitsSmall top bits zero (rarer), beyond it kBitsLarge (likelier), which pulls chunk
// sizes towards the normal size; no cut before kMinSize, a forced one at kMaxSize.
//
// The gear table is derived from a per-repository secret (ChunkerKey), so where a file's
// chunks end says nothing an attacker who knows the data but not the key could predict
// (the "fingerprinting" of chunk sizes: restic randomizes its polynomial for the same
// reason).
//
// Thread-safety: a Chunker is immutable after construction; cut() may run on many threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "base/stream.h"

namespace stacksnap::chunks {

inline constexpr size_t kMinSize = 512 * 1024;
inline constexpr size_t kNormalSize = 1024 * 1024;
inline constexpr size_t kMaxSize = 8 * 1024 * 1024;
inline constexpr int kBitsSmall = 22;  // log2(normal) + 2
inline constexpr int kBitsLarge = 18;  // log2(normal) - 2

using ChunkerKey = std::array<uint8_t, 32>;

class Chunker {
 public:
  // Gear table: 256 words from HMAC-SHA-256(key, "stacksnap chunker gear" || i).
  static Result<Chunker> create(const ChunkerKey& key);

  // The length of the first chunk of `data` (data.size() when it is all one chunk, i.e.
  // at most kMinSize bytes, or no cut point before kMaxSize and fewer bytes than that).
  // `at_end`: no more bytes follow `data` (else a chunk that reaches the end of `data`
  // without a cut point is only known to be at least that long: returns 0, "need more",
  // unless data.size() >= kMaxSize).
  size_t cut(Bytes data, bool at_end) const;

  const std::array<uint64_t, 256>& gear() const { return gear_; }

 private:
  Chunker() = default;
  std::array<uint64_t, 256> gear_{};
};

// Splits a stream into chunks: a buffer of kMaxSize plus a read-ahead of 1 MiB is filled;
// next() cuts what is there and reads only when the bytes left hold no cut point (they
// move to the buffer's front: about one chunk per 8 MiB), handing out one chunk at a
// time (a view valid until the next call). `buffer` (optional) is the
// caller's, kept from stream to stream: a writer of many small files allocates it once.
class ChunkReader {
 public:
  ChunkReader(const Chunker& chunker, Reader& in, std::vector<std::byte>* buffer = nullptr);
  // The next chunk; empty at the end of the stream.
  Result<Bytes> next();

 private:
  Status fill();
  const Chunker& chunker_;
  Reader& in_;
  std::vector<std::byte> own_;
  std::vector<std::byte>& buf_;
  size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
};

}  // namespace stacksnap::chunks
