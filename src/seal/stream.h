// AES-256-GCM in the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015), as
// Tink's AES-GCM-HKDF streaming AEAD and age use it (docs/FORMAT.md §4):
//
//   file     = header (128 bytes) || segment_0 || ... || segment_n
//   segment_i = AES-256-GCM(payload key, nonce_i, plaintext_i, AAD = "") = ciphertext || 16-byte tag
//   nonce_i  = nonce prefix (7) || i as u32 big-endian (4) || last flag (1: 0x01 on the final segment, else 0x00)
//
// Every segment but the last carries exactly S plaintext bytes; the last carries 1..S
// (0 only when it is the only segment). Truncation, a missing final segment, dropped,
// duplicated or reordered segments and flipped bits all fail authentication.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/stream.h"
#include "seal/crypto.h"
#include "seal/header.h"
#include "seal/key.h"

struct evp_cipher_ctx_st;

namespace stacksnap::seal {

// Owns an EVP_CIPHER_CTX keyed once with AES-256-GCM; per segment only the IV changes.
class GcmContext {
 public:
  enum class Direction { kSeal, kOpen };
  static Result<GcmContext> create(Direction dir, Bytes key);
  GcmContext(GcmContext&&) noexcept;
  GcmContext& operator=(GcmContext&&) noexcept;
  GcmContext(const GcmContext&) = delete;
  GcmContext& operator=(const GcmContext&) = delete;
  ~GcmContext();

  // Encrypts `in` into `out` (same size; may be the same memory) and writes the tag.
  Status seal(const std::array<uint8_t, 12>& nonce, Bytes in, MutableBytes out, MutableBytes tag);
  // In place: false when the tag does not verify (data is then garbage).
  Result<bool> open(const std::array<uint8_t, 12>& nonce, MutableBytes data, Bytes tag);

 private:
  GcmContext() = default;
  evp_cipher_ctx_st* ctx_ = nullptr;
};

std::array<uint8_t, 12> segment_nonce(const std::array<uint8_t, kNoncePrefixSize>& prefix, uint32_t counter,
                                      bool last);
// The nonce of segment `index`; ResourceExhausted past 2^32 - 1 (the counter never wraps).
Result<std::array<uint8_t, 12>> checked_segment_nonce(const std::array<uint8_t, kNoncePrefixSize>& prefix,
                                                      uint64_t index, bool last);

struct SealParams {
  uint32_t segment_size = kSealSegment;
  // Test vectors only: fixed HKDF salt and nonce prefix instead of fresh random ones.
  std::optional<std::array<uint8_t, kHkdfSaltSize>> fixed_hkdf_salt;
  std::optional<std::array<uint8_t, kNoncePrefixSize>> fixed_nonce_prefix;
};

// Seals a plaintext stream into `out`: the header is written by create(), a segment
// each time S bytes are buffered and more follow, the final segment by close().
// close() does not close `out`. Destroyed without close() the output has no final
// segment and never authenticates. Memory: one S + 16 byte buffer.
class SealWriter final : public Writer {
 public:
  static Result<std::unique_ptr<SealWriter>> create(Writer& out, const MasterKey& key, SealParams params = {});
  ~SealWriter() override;
  Status write(Bytes data) override;
  Status close() override;

  const Header& header() const { return header_; }
  uint64_t plaintext_bytes() const { return plaintext_bytes_; }
  uint64_t sealed_bytes() const { return sealed_bytes_; }  // header included
  uint64_t segments() const { return counter_; }

 private:
  SealWriter(Writer& out, GcmContext gcm, Header header, uint32_t segment_size);
  Status flush_segment(bool last);
  Status seal_segment(Bytes plain, bool last);
  Status emit(Bytes data);

  Writer& out_;
  GcmContext gcm_;
  Header header_;
  const uint32_t segment_size_;
  std::vector<std::byte> buf_;  // S plaintext + 16 tag
  size_t fill_ = 0;
  uint64_t counter_ = 0;
  uint64_t plaintext_bytes_ = 0;
  uint64_t sealed_bytes_ = 0;
  bool closed_ = false;
  bool failed_ = false;
};

// Opens a sealed stream: create() reads the header, derives the key through `keys` and
// checks the key check (Unauthenticated "wrong key" / "wrong passphrase" before any
// payload is touched). read() returns authenticated plaintext only, segment by segment;
// an error is DataLoss naming the segment number and its byte offset in the file. EOF is
// returned only after the final segment authenticated. Memory: one S + 17 byte buffer.
class SealReader final : public Reader {
 public:
  static Result<std::unique_ptr<SealReader>> open(Reader& in, const KeySource& keys);
  // For callers that have read and parsed the header already.
  static Result<std::unique_ptr<SealReader>> open_after_header(Reader& in, const Header& header,
                                                               const HeaderBytes& raw, const KeySource& keys);
  ~SealReader() override;
  Result<size_t> read(MutableBytes buf) override;
  // Zero-copy: the next run of plaintext, valid until the next call; empty at EOF.
  Result<Bytes> next_chunk();

  const Header& header() const { return header_; }
  const std::string& key_fingerprint() const { return fingerprint_; }
  uint64_t segments() const { return counter_; }
  uint64_t sealed_bytes() const { return consumed_; }  // header included
  // SHA-256 over every byte read (header included); set once EOF was returned, unless
  // skip_sealed_sha256() was called (a reader whose caller hashes the file itself, or
  // need not: a pass over an archive that was authenticated whole before).
  const std::optional<Sha256Digest>& sealed_sha256() const { return sealed_sha256_; }
  void skip_sealed_sha256() { hash_outer_ = false; }

 private:
  SealReader(Reader& in, GcmContext gcm, Header header, std::string fingerprint);
  Status open_next_segment();

  Reader& in_;
  GcmContext gcm_;
  Header header_;
  std::string fingerprint_;
  std::vector<std::byte> buf_;  // S + 16 (+1 look-ahead byte)
  size_t have_ = 0;             // bytes in buf_ (ciphertext of the segment + look-ahead)
  size_t plain_pos_ = 0, plain_end_ = 0;
  uint64_t counter_ = 0;  // segments opened
  uint64_t consumed_ = kHeaderSize;
  bool hash_outer_ = true;
  Sha256 outer_;
  std::optional<Sha256Digest> sealed_sha256_;
  bool done_ = false;
  std::optional<Error> error_;
};

}  // namespace stacksnap::seal
