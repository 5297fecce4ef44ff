// The plaintext header of a StackSnap archive (docs/FORMAT.md §3), 128 bytes, v1:
//
//   off len field
//     0   8 magic 89 53 53 4E 41 50 0D 0A ("\x89SSNAP\r\n")
//     8   2 format version (u16 BE) = 1
//    10   2 header length (u16 BE) = 128
//    12   1 key kind: 1 key file, 2 passphrase (Argon2id)
//    13   1 payload: 1 = zstd-compressed pax tar
//    14   2 reserved, zero
//    16   4 segment size S (u32 BE): plaintext bytes in every non-final segment
//    20   4 Argon2id opslimit t   (0 for a key file)
//    24   4 Argon2id memlimit KiB (0 for a key file)
//    28   4 Argon2id parallelism  (0 for a key file)
//    32  16 Argon2id salt         (zero for a key file)
//    48  32 HKDF salt
//    80   7 nonce prefix
//    87   9 reserved, zero
//    96  16 key check
//   112  16 header checksum: SHA-256(bytes 0..111), first 16 bytes
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <array>
#include <cstdint>

#include "base/error.h"
#include "base/stream.h"
#include "seal/key.h"

namespace stacksnap::seal {

inline constexpr size_t kHeaderSize = 128;
inline constexpr uint16_t kFormatVersion = 1;
inline constexpr std::array<uint8_t, 8> kMagic = {0x89, 'S', 'S', 'N', 'A', 'P', '\r', '\n'};
inline constexpr uint8_t kPayloadZstdTar = 1;
inline constexpr size_t kHkdfSaltSize = 32;
inline constexpr size_t kNoncePrefixSize = 7;
inline constexpr size_t kKeyCheckSize = 16;
inline constexpr size_t kTagSize = 16;
// Plaintext bytes per segment: the default, and the bounds a reader accepts (a hostile
// header must not make a reader allocate without limit).
inline constexpr uint32_t kSealSegment = 1u << 20;
inline constexpr uint32_t kMinSegment = 1024;
inline constexpr uint32_t kMaxSegment = 16u << 20;

struct Header {
  uint16_t version = kFormatVersion;
  KeyKind key_kind = KeyKind::kKeyFile;
  uint8_t payload = kPayloadZstdTar;
  uint32_t segment_size = kSealSegment;
  Argon2Params argon2{0, 0, 0, {}};  // all zero for a key file
  std::array<uint8_t, kHkdfSaltSize> hkdf_salt{};
  std::array<uint8_t, kNoncePrefixSize> nonce_prefix{};
  std::array<uint8_t, kKeyCheckSize> key_check{};
};

using HeaderBytes = std::array<uint8_t, kHeaderSize>;

// Serialises, filling in the checksum.
HeaderBytes encode_header(const Header& h);

// Parses and validates 128 bytes. DataLoss for a bad magic ("not a StackSnap archive"),
// a checksum mismatch or an invalid field; Unimplemented for a newer format version.
Result<Header> parse_header(Bytes bytes);

// Reads kHeaderSize bytes from `in` and parses them. DataLoss when the input ends first.
Result<Header> read_header(Reader& in, HeaderBytes* raw = nullptr);

// Per-archive keys (FORMAT.md §4): PRK = HKDF-Extract(salt = hkdf_salt, IKM = master);
//   payload key = HKDF-Expand(PRK, "stacksnap v1 payload key" || header[0..96), 32)
//   key check   = HKDF-Expand(PRK, "stacksnap v1 key check", 16)
// Binding header bytes 0..95 into the payload key authenticates them: any change to
// them makes segment 0 fail. Bytes 96..127 are the key check and the checksum.
struct ArchiveKeys {
  std::array<uint8_t, 32> payload_key{};
  std::array<uint8_t, kKeyCheckSize> key_check{};
  ~ArchiveKeys();
};
Status derive_archive_keys(const MasterKey& master, const HeaderBytes& header, ArchiveKeys& out);

}  // namespace stacksnap::seal
