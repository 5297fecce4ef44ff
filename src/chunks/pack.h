// Pack files of the repository format v2: sealed blobs one after another, then the sealed
// list of what the pack holds, then that list's length.
//
//   pack   = blob* || header || header_length (uint32, little endian)
//   header = a sealed blob (BlobType::kPackHeader, id all zeros) whose plaintext is
//            count (uint32) || count × { type (1), id (32), offset (uint64), length (uint32),
//            raw_length (uint32) }    (little endian; offset and length of the sealed blob)
//   name   = data/<first two hex digits>/<hex of SHA-256 of the whole pack>
//
// Packs are written whole and never changed; a pack's name is the hash of its bytes, so
// its presence and integrity can be checked without the key, and a pack no index names is
// garbage (left by a crash before the index was written), never corruption.
//
// Thread-safety: one PackWriter per thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "chunks/blob.h"

namespace stacksnap::chunks {

inline constexpr size_t kPackTarget = 16 * 1024 * 1024;  // a pack holds at most this much (fits()), or one blob
inline constexpr size_t kPackEntrySize = 1 + kIdSize + 8 + 4 + 4;
inline constexpr size_t kPackMaxEntries = 16384;  // PackWriter::fits(): a header of at most ~800 KiB

using PackId = std::array<uint8_t, 32>;
std::string pack_name(const PackId& id);  // "data/ab/ab12…"

struct PackEntry {
  BlobType type = BlobType::kData;
  ChunkId id{};
  uint64_t offset = 0;
  uint32_t length = 0;      // sealed length in the pack
  uint32_t raw_length = 0;  // plaintext length
  bool operator==(const PackEntry&) const = default;
};

// One entry as pack headers and indexes store it (kPackEntrySize bytes, little endian).
void append_entry(std::string& out, const PackEntry& e);
// The entry at `p` (kPackEntrySize bytes). DataLoss for a type that packs do not hold.
Result<PackEntry> entry_from(const unsigned char* p);

struct FinishedPack {
  PackId id{};
  std::string bytes;
  std::vector<PackEntry> entries;
};

class PackWriter {
 public:
  explicit PackWriter(BlobCodec& codec) : codec_(codec) {}
  // Seals `plaintext` into the pack.
  Result<PackEntry> add(BlobType type, const ChunkId& id, Bytes plaintext);
  // Appends a blob sealed elsewhere (BlobCodec::seal with this pack's key, on another
  // thread) whose plaintext had `raw_length` bytes.
  Result<PackEntry> add_sealed(BlobType type, const ChunkId& id, Bytes sealed, uint32_t raw_length);
  size_t size() const { return bytes_.size(); }
  size_t count() const { return entries_.size(); }
  bool full() const { return bytes_.size() >= kPackTarget; }
  // Whether a sealed blob of `length` bytes still goes into this pack: an empty pack takes
  // any; otherwise the pack stays within kPackTarget and kPackMaxEntries (so a pack and its
  // header fit the buffer reserved for it: one allocation per writer, reused).
  bool fits(size_t length) const {
    return entries_.empty() || (bytes_.size() + length <= kPackTarget && entries_.size() < kPackMaxEntries);
  }
  // Appends the header; the writer is empty again afterwards.
  Result<FinishedPack> finish();
  // As finish(), the id left for the caller to compute (the pack's SHA-256, on another thread).
  Result<FinishedPack> take();
  // A finished pack's buffer back, its storage kept for the next pack (no new allocation).
  void recycle(std::string bytes);

 private:
  void reserve();  // bytes_ ready for a whole pack: the spare buffer, or one allocation
  BlobCodec& codec_;
  std::string bytes_;
  std::string spare_;  // a finished pack's buffer, back from its upload
  std::vector<PackEntry> entries_;
};

// A pack's end: its header (the sealed list of `entries`) and the header's length, appended
// to `out` (PackWriter::take, and a writer that spools its packs to a file).
Status append_pack_header(BlobCodec& codec, const std::vector<PackEntry>& entries, std::string& out);

// The entries of a pack, from its last bytes (at least the header and its length; the
// whole pack will do). DataLoss when the header is damaged or names bytes outside the pack
// (`pack_size`: the pack's full size).
Result<std::vector<PackEntry>> read_pack_header(BlobCodec& codec, Bytes tail, uint64_t pack_size);

}  // namespace stacksnap::chunks
