#include "seal/header.h"

#include <openssl/crypto.h>

#include <cstring>

#include "seal/crypto.h"

namespace stacksnap::seal {

namespace {

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t get32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

constexpr size_t kChecksumOffset = 112;
constexpr size_t kKeyCheckOffset = 96;
constexpr std::string_view kPayloadInfo = "stacksnap v1 payload key";
constexpr std::string_view kKeyCheckInfo = "stacksnap v1 key check";

bool all_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != 0) return false;
  return true;
}

}  // namespace

HeaderBytes encode_header(const Header& h) {
  HeaderBytes b{};
  std::memcpy(b.data(), kMagic.data(), kMagic.size());
  put16(&b[8], h.version);
  put16(&b[10], static_cast<uint16_t>(kHeaderSize));
  b[12] = static_cast<uint8_t>(h.key_kind);
  b[13] = h.payload;
  put32(&b[16], h.segment_size);
  put32(&b[20], h.argon2.opslimit);
  put32(&b[24], h.argon2.memlimit_kib);
  put32(&b[28], h.argon2.parallelism);
  std::memcpy(&b[32], h.argon2.salt.data(), kArgon2SaltSize);
  std::memcpy(&b[48], h.hkdf_salt.data(), kHkdfSaltSize);
  std::memcpy(&b[80], h.nonce_prefix.data(), kNoncePrefixSize);
  std::memcpy(&b[kKeyCheckOffset], h.key_check.data(), kKeyCheckSize);
  Sha256Digest d = Sha256::of(byte_view(b.data(), kChecksumOffset));
  std::memcpy(&b[kChecksumOffset], d.data(), kHeaderSize - kChecksumOffset);
  return b;
}

Result<Header> parse_header(Bytes bytes) {
  if (bytes.size() < kHeaderSize) {
    return data_loss("archive header truncated: " + std::to_string(bytes.size()) + " of " +
                     std::to_string(kHeaderSize) + " bytes");
  }
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  if (std::memcmp(b, kMagic.data(), kMagic.size()) != 0) {
    return data_loss("not a StackSnap archive (bad magic at byte 0)");
  }
  const uint16_t version = get16(b + 8);
  const uint16_t length = get16(b + 10);
  Sha256Digest d = Sha256::of(byte_view(b, kChecksumOffset));
  if (std::memcmp(d.data(), b + kChecksumOffset, kHeaderSize - kChecksumOffset) != 0) {
    if (version > kFormatVersion && version < 256 && length != kHeaderSize) {
      return unimplemented("archive format version " + std::to_string(version) +
                           " was written by a newer StackSnap; this one reads version 1");
    }
    return data_loss("archive header corrupted: checksum mismatch in bytes 0-127");
  }
  if (version != kFormatVersion) {
    if (version > kFormatVersion) {
      return unimplemented("archive format version " + std::to_string(version) +
                           " was written by a newer StackSnap; this one reads version 1");
    }
    return data_loss("archive header: invalid format version " + std::to_string(version));
  }
  if (length != kHeaderSize) return data_loss("archive header: invalid header length " + std::to_string(length));
  Header h;
  h.version = version;
  if (b[12] != 1 && b[12] != 2) return data_loss("archive header: invalid key kind " + std::to_string(b[12]));
  h.key_kind = static_cast<KeyKind>(b[12]);
  h.payload = b[13];
  if (h.payload != kPayloadZstdTar) return data_loss("archive header: unknown payload type " + std::to_string(b[13]));
  if (!all_zero(b + 14, 2) || !all_zero(b + 87, 9)) return data_loss("archive header: reserved bytes are not zero");
  h.segment_size = get32(b + 16);
  if (h.segment_size < kMinSegment || h.segment_size > kMaxSegment) {
    return data_loss("archive header: segment size " + std::to_string(h.segment_size) + " is outside [" +
                     std::to_string(kMinSegment) + ", " + std::to_string(kMaxSegment) + "]");
  }
  h.argon2.opslimit = get32(b + 20);
  h.argon2.memlimit_kib = get32(b + 24);
  h.argon2.parallelism = get32(b + 28);
  std::memcpy(h.argon2.salt.data(), b + 32, kArgon2SaltSize);
  if (h.key_kind == KeyKind::kKeyFile) {
    if (!all_zero(b + 20, 28)) return data_loss("archive header: key-file archive with Argon2id parameters");
  } else {
    auto st = check_argon2_params(h.argon2);
    if (!st.ok()) return data_loss("archive header: " + st.error().message());
  }
  std::memcpy(h.hkdf_salt.data(), b + 48, kHkdfSaltSize);
  std::memcpy(h.nonce_prefix.data(), b + 80, kNoncePrefixSize);
  std::memcpy(h.key_check.data(), b + kKeyCheckOffset, kKeyCheckSize);
  return h;
}

Result<Header> read_header(Reader& in, HeaderBytes* raw) {
  HeaderBytes buf{};
  size_t got = 0;
  while (got < kHeaderSize) {
    size_t n = TRY(in.read(byte_view_mut(buf.data() + got, kHeaderSize - got)));
    if (n == 0) break;
    got += n;
  }
  if (got == 0) return data_loss("archive is empty (0 bytes)");
  Header h = TRY(parse_header(byte_view(buf.data(), got)));
  if (raw) *raw = buf;
  return h;
}

ArchiveKeys::~ArchiveKeys() {
  OPENSSL_cleanse(payload_key.data(), payload_key.size());
  OPENSSL_cleanse(key_check.data(), key_check.size());
}

Status derive_archive_keys(const MasterKey& master, const HeaderBytes& header, ArchiveKeys& out) {
  Bytes salt = byte_view(header.data() + 48, kHkdfSaltSize);
  std::array<uint8_t, kPayloadInfo.size() + kKeyCheckOffset> info{};
  std::memcpy(info.data(), kPayloadInfo.data(), kPayloadInfo.size());
  std::memcpy(info.data() + kPayloadInfo.size(), header.data(), kKeyCheckOffset);
  TRY(hkdf_sha256(master.bytes(), salt, byte_view(info.data(), info.size()),
                  byte_view_mut(out.payload_key.data(), out.payload_key.size())));
  TRY(hkdf_sha256(master.bytes(), salt, as_bytes(kKeyCheckInfo),
                  byte_view_mut(out.key_check.data(), out.key_check.size())));
  return {};
}

}  // namespace stacksnap::seal
