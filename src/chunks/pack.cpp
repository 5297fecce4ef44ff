#include "chunks/pack.h"

#include <cstring>

#include "chunks/le.h"
#include "seal/crypto.h"

namespace stacksnap::chunks {

namespace {

constexpr ChunkId kHeaderId{};

// A pack's bytes in one allocation: a writer that asks fits() first ends a pack at
// kPackTarget + its header (≤ kPackMaxEntries entries); one that only asks full() may go a
// sealed chunk over (the string then grows once). Growing a string by doubling instead
// would hold 16 + 32 MiB at the moment it crosses 16 MiB.
// (An empty std::string has the capacity of its inline buffer, never 0.)
constexpr size_t kPackCapacity = kPackTarget + kPackMaxEntries * kPackEntrySize + 4 + kBlobOverhead + 4 + 4096;
void reserve_pack(std::string& bytes) {
  if (bytes.capacity() < kPackCapacity) bytes.reserve(kPackCapacity);
}

}  // namespace

std::string pack_name(const PackId& id) {
  const std::string hex = seal::hex_encode(id);
  return "data/" + hex.substr(0, 2) + "/" + hex;
}

void append_entry(std::string& out, const PackEntry& e) {
  out.push_back(static_cast<char>(e.type));
  out.append(reinterpret_cast<const char*>(e.id.data()), e.id.size());
  put_le<uint64_t>(out, e.offset);
  put_le<uint32_t>(out, e.length);
  put_le<uint32_t>(out, e.raw_length);
}

Result<PackEntry> entry_from(const unsigned char* p) {
  if (p[0] > static_cast<uint8_t>(BlobType::kTree)) return data_loss("unknown blob type " + std::to_string(p[0]));
  PackEntry e;
  e.type = static_cast<BlobType>(p[0]);
  std::memcpy(e.id.data(), p + 1, kIdSize);
  e.offset = get_le<uint64_t>(p + 1 + kIdSize);
  e.length = get_le<uint32_t>(p + 1 + kIdSize + 8);
  e.raw_length = get_le<uint32_t>(p + 1 + kIdSize + 12);
  return e;
}

Result<PackEntry> PackWriter::add(BlobType type, const ChunkId& id, Bytes plaintext) {
  if (plaintext.size() > UINT32_MAX / 2) return invalid_argument("blob too large for a pack");
  if (type != BlobType::kData && type != BlobType::kTree) return invalid_argument("packs hold data and tree blobs only");
  reserve();
  PackEntry e{.type = type, .id = id, .offset = bytes_.size(), .raw_length = static_cast<uint32_t>(plaintext.size())};
  e.length = static_cast<uint32_t>(TRY(codec_.seal(type, id, plaintext, bytes_)));
  entries_.push_back(e);
  return e;
}

Result<PackEntry> PackWriter::add_sealed(BlobType type, const ChunkId& id, Bytes sealed, uint32_t raw_length) {
  if (sealed.size() > UINT32_MAX / 2) return invalid_argument("blob too large for a pack");
  if (type != BlobType::kData && type != BlobType::kTree) return invalid_argument("packs hold data and tree blobs only");
  reserve();
  PackEntry e{.type = type, .id = id, .offset = bytes_.size(), .length = static_cast<uint32_t>(sealed.size()),
              .raw_length = raw_length};
  bytes_.append(reinterpret_cast<const char*>(sealed.data()), sealed.size());
  entries_.push_back(e);
  return e;
}

Result<FinishedPack> PackWriter::finish() {
  FinishedPack out = TRY(take());
  out.id = seal::Sha256::of(as_bytes(out.bytes));
  return out;
}

void PackWriter::recycle(std::string bytes) {
  if (bytes.capacity() >= kPackCapacity && spare_.capacity() < kPackCapacity) {
    bytes.clear();
    spare_ = std::move(bytes);
  }
}

void PackWriter::reserve() {
  if (bytes_.capacity() >= kPackCapacity) return;
  if (bytes_.empty() && spare_.capacity() >= kPackCapacity) {
    bytes_ = std::move(spare_);
    spare_ = std::string();
    bytes_.clear();
  }
  reserve_pack(bytes_);
}

Status append_pack_header(BlobCodec& codec, const std::vector<PackEntry>& entries, std::string& out) {
  std::string header;
  put_le<uint32_t>(header, static_cast<uint32_t>(entries.size()));
  for (const auto& e : entries) append_entry(header, e);
  const size_t sealed = TRY(codec.seal(BlobType::kPackHeader, kHeaderId, as_bytes(header), out));
  put_le<uint32_t>(out, static_cast<uint32_t>(sealed));
  return {};
}

Result<FinishedPack> PackWriter::take() {
  TRY(append_pack_header(codec_, entries_, bytes_));
  FinishedPack out;
  out.bytes = std::move(bytes_);
  out.entries = std::move(entries_);
  bytes_.clear();
  entries_.clear();
  return out;
}

Result<std::vector<PackEntry>> read_pack_header(BlobCodec& codec, Bytes tail, uint64_t pack_size) {
  if (tail.size() < 4 || tail.size() > pack_size) return data_loss("pack: too short to hold a header");
  const auto* end = reinterpret_cast<const unsigned char*>(tail.data()) + tail.size();
  const uint32_t header_len = get_le<uint32_t>(end - 4);
  if (header_len < kBlobOverhead || header_len + 4 > tail.size()) {
    return data_loss("pack: header length " + std::to_string(header_len) + " does not fit the pack");
  }
  const Bytes sealed(reinterpret_cast<const std::byte*>(end - 4 - header_len), header_len);
  const std::string header = TRY(codec.open(BlobType::kPackHeader, kHeaderId, sealed, 64 << 20));
  if (header.size() < 4) return data_loss("pack: empty header");
  const auto* p = reinterpret_cast<const unsigned char*>(header.data());
  const uint32_t count = get_le<uint32_t>(p);
  if (header.size() != 4 + static_cast<size_t>(count) * kPackEntrySize) return data_loss("pack: header size does not match its count");
  const uint64_t blobs_end = pack_size - 4 - header_len;
  std::vector<PackEntry> out;
  out.reserve(count);
  p += 4;
  for (uint32_t i = 0; i < count; ++i, p += kPackEntrySize) {
    const PackEntry e = TRY_CTX(entry_from(p), "pack");
    if (e.length < kBlobOverhead || e.offset > blobs_end || e.length > blobs_end - e.offset) {
      return data_loss("pack: blob " + to_hex(e.id) + " lies outside the pack");
    }
    out.push_back(e);
  }
  return out;
}

}  // namespace stacksnap::chunks
