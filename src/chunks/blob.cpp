#include "chunks/blob.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>

#include "seal/crypto.h"

namespace stacksnap::chunks {

namespace {

constexpr std::string_view kAadLabel = "stacksnap blob v2";
constexpr uint8_t kRaw = 0, kZstd = 1;

std::string aad_of(BlobType type, const ChunkId& id) {
  std::string aad(kAadLabel);
  aad.push_back(static_cast<char>(type));
  aad.append(reinterpret_cast<const char*>(id.data()), id.size());
  return aad;
}

}  // namespace

std::string to_hex(const ChunkId& id) { return seal::hex_encode(id); }

Result<ChunkId> id_from_hex(std::string_view hex) {
  auto raw = TRY(seal::hex_decode(hex));
  if (raw.size() != kIdSize) return invalid_argument("not a chunk id: " + std::string(hex));
  ChunkId id;
  std::memcpy(id.data(), raw.data(), kIdSize);
  return id;
}

ChunkId chunk_id(const Key32& id_key, Bytes data) {
  ChunkId id{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), id_key.data(), static_cast<int>(id_key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), id.data(), &len) == nullptr ||
      len != kIdSize) {
    std::abort();  // cannot happen with the default provider; a wrong id would be worse
  }
  return id;
}

struct BlobCodec::Impl {
  EVP_CIPHER_CTX* enc = nullptr;
  EVP_CIPHER_CTX* dec = nullptr;
  ZSTD_CCtx* cctx = nullptr;
  ZSTD_DCtx* dctx = nullptr;
  int level = 3;
  std::string scratch;
  std::string plain;  // check()'s decompressed blob
  ~Impl() {
    EVP_CIPHER_CTX_free(enc);
    EVP_CIPHER_CTX_free(dec);
    ZSTD_freeCCtx(cctx);
    ZSTD_freeDCtx(dctx);
  }
};

BlobCodec::~BlobCodec() = default;

Result<std::unique_ptr<BlobCodec>> BlobCodec::create(const Key32& data_key, int zstd_level) {
  std::unique_ptr<BlobCodec> c(new BlobCodec());
  c->impl_ = std::make_unique<Impl>();
  Impl& m = *c->impl_;
  m.level = zstd_level;
  m.enc = EVP_CIPHER_CTX_new();
  m.dec = EVP_CIPHER_CTX_new();
  m.cctx = ZSTD_createCCtx();
  m.dctx = ZSTD_createDCtx();
  if (!m.enc || !m.dec || !m.cctx || !m.dctx) return resource_exhausted("blob codec: out of memory");
  // No blob is larger than 16 MiB (chunks 8 MiB, entry lists less): a frame that asks for a
  // larger window (a damaged one, decoded before its tag is checked) is refused, not obeyed.
  if (ZSTD_isError(ZSTD_DCtx_setParameter(m.dctx, ZSTD_d_windowLogMax, 24))) {
    return internal_error("blob codec: zstd window limit");
  }
  if (EVP_EncryptInit_ex2(m.enc, EVP_aes_256_gcm(), data_key.data(), nullptr, nullptr) != 1 ||
      EVP_DecryptInit_ex2(m.dec, EVP_aes_256_gcm(), data_key.data(), nullptr, nullptr) != 1) {
    return internal_error("blob codec: AES-256-GCM init failed");
  }
  return c;
}

Result<size_t> BlobCodec::seal(BlobType type, const ChunkId& id, Bytes plaintext, std::string& out) {
  const size_t start = out.size();
  out.resize(start + plaintext.size() + kBlobOverhead);
  auto n = seal_into(type, id, plaintext, reinterpret_cast<unsigned char*>(out.data() + start));
  out.resize(n.ok() ? start + *n : start);
  return n;
}

Result<size_t> BlobCodec::seal_into(BlobType type, const ChunkId& id, Bytes plaintext, unsigned char* p) {
  Impl& m = *impl_;
  // Compressed straight into place; kept when it saves at least 3 % (a frame that would not
  // fit in that is a zstd error: the plaintext goes in raw). Then encrypted in place.
  unsigned char* payload = p + kNonceSize + 1;
  const size_t room = plaintext.size() - plaintext.size() / 33;
  size_t z = room == 0 ? 0 : ZSTD_compressCCtx(m.cctx, payload, room - 1, plaintext.data(), plaintext.size(), m.level);
  const bool compressed = room != 0 && !ZSTD_isError(z);
  if (!compressed) {
    std::memcpy(payload, plaintext.data(), plaintext.size());
    z = plaintext.size();
  }
  const uint8_t flag = compressed ? kZstd : kRaw;
  const size_t payload_size = z;

  const size_t total = kBlobOverhead + payload_size;
  TRY(seal::random_bytes(seal::byte_view_mut(p, kNonceSize)));
  const std::string aad = aad_of(type, id);
  int len = 0;
  if (EVP_EncryptInit_ex2(m.enc, nullptr, nullptr, p, nullptr) != 1 ||
      EVP_EncryptUpdate(m.enc, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(m.enc, p + kNonceSize, &len, &flag, 1) != 1 ||
      EVP_EncryptUpdate(m.enc, payload, &len, payload, static_cast<int>(payload_size)) != 1 ||
      EVP_EncryptFinal_ex(m.enc, payload + payload_size, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(m.enc, EVP_CTRL_GCM_GET_TAG, kTagSize, payload + payload_size) != 1) {
    return internal_error("blob codec: AES-256-GCM failed");
  }
  return total;
}

Result<std::string> BlobCodec::open(BlobType type, const ChunkId& id, Bytes sealed, size_t max_size) {
  Impl& m = *impl_;
  if (sealed.size() < kBlobOverhead) return data_loss("blob " + to_hex(id) + ": too short to be a sealed blob");
  const auto* p = reinterpret_cast<const unsigned char*>(sealed.data());
  const size_t body = sealed.size() - kNonceSize - kTagSize;
  m.scratch.resize(body);
  auto* plain = reinterpret_cast<unsigned char*>(m.scratch.data());
  const std::string aad = aad_of(type, id);
  int len = 0;
  unsigned char tag[kTagSize];
  std::memcpy(tag, p + sealed.size() - kTagSize, kTagSize);
  if (EVP_DecryptInit_ex2(m.dec, nullptr, nullptr, p, nullptr) != 1 ||
      EVP_DecryptUpdate(m.dec, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(m.dec, plain, &len, p + kNonceSize, static_cast<int>(body)) != 1 ||
      EVP_CIPHER_CTX_ctrl(m.dec, EVP_CTRL_GCM_SET_TAG, kTagSize, tag) != 1 ||
      EVP_DecryptFinal_ex(m.dec, plain + len, &len) != 1) {
    return data_loss("blob " + to_hex(id) + ": does not authenticate (damaged, or not this blob)");
  }
  const uint8_t flag = plain[0];
  if (flag == kRaw) {
    if (body - 1 > max_size) return data_loss("blob " + to_hex(id) + ": larger than " + std::to_string(max_size) + " bytes");
    return std::string(m.scratch.data() + 1, body - 1);
  }
  if (flag != kZstd) return data_loss("blob " + to_hex(id) + ": unknown encoding " + std::to_string(flag));
  const unsigned long long n = ZSTD_getFrameContentSize(m.scratch.data() + 1, body - 1);
  if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN || n > max_size) {
    return data_loss("blob " + to_hex(id) + ": not a zstd frame of at most " + std::to_string(max_size) + " bytes");
  }
  std::string out(static_cast<size_t>(n), '\0');
  const size_t got = ZSTD_decompressDCtx(m.dctx, out.data(), out.size(), m.scratch.data() + 1, body - 1);
  if (ZSTD_isError(got) || got != n) return data_loss("blob " + to_hex(id) + ": zstd frame does not decompress");
  return out;
}

Status BlobCodec::check(BlobType type, const ChunkId& id, MutableBytes sealed, size_t raw_length) {
  Impl& m = *impl_;
  if (sealed.size() < kBlobOverhead) return data_loss("blob " + to_hex(id) + ": too short to be a sealed blob");
  auto* p = reinterpret_cast<unsigned char*>(sealed.data());
  const size_t body = sealed.size() - kNonceSize - kTagSize;
  unsigned char* plain = p + kNonceSize;  // decrypted in place
  const std::string aad = aad_of(type, id);
  int len = 0;
  if (EVP_DecryptInit_ex2(m.dec, nullptr, nullptr, p, nullptr) != 1 ||
      EVP_DecryptUpdate(m.dec, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(m.dec, plain, &len, plain, static_cast<int>(body)) != 1 ||
      EVP_CIPHER_CTX_ctrl(m.dec, EVP_CTRL_GCM_SET_TAG, kTagSize, p + sealed.size() - kTagSize) != 1 ||
      EVP_DecryptFinal_ex(m.dec, plain + len, &len) != 1) {
    return data_loss("blob " + to_hex(id) + ": does not authenticate (damaged, or not this blob)");
  }
  const uint8_t flag = plain[0];
  if (flag == kRaw) {
    if (body - 1 != raw_length) return data_loss("blob " + to_hex(id) + ": holds " + std::to_string(body - 1) + " bytes, not " + std::to_string(raw_length));
    return {};
  }
  if (flag != kZstd) return data_loss("blob " + to_hex(id) + ": unknown encoding " + std::to_string(flag));
  if (ZSTD_getFrameContentSize(plain + 1, body - 1) != raw_length) {
    return data_loss("blob " + to_hex(id) + ": not a zstd frame of " + std::to_string(raw_length) + " bytes");
  }
  // Decoded in slices into a small buffer: only that it decodes, and to how many bytes, matters.
  constexpr size_t kSlice = 256u << 10;
  m.plain.resize(kSlice);
  ZSTD_DCtx_reset(m.dctx, ZSTD_reset_session_only);
  ZSTD_inBuffer in{plain + 1, body - 1, 0};
  size_t produced = 0, left = 1;
  while (left != 0) {
    ZSTD_outBuffer out{m.plain.data(), m.plain.size(), 0};
    left = ZSTD_decompressStream(m.dctx, &out, &in);
    if (ZSTD_isError(left) || (out.pos == 0 && left != 0 && in.pos == in.size)) {
      return data_loss("blob " + to_hex(id) + ": zstd frame does not decompress");
    }
    produced += out.pos;
    if (produced > raw_length) break;
  }
  if (produced != raw_length || in.pos != in.size) return data_loss("blob " + to_hex(id) + ": zstd frame does not decode to its length");
  return {};
}

namespace {

Status read_exact(Reader& in, unsigned char* p, size_t n, const ChunkId& id) {
  size_t got = 0;
  while (got < n) {
    const size_t k = TRY(in.read(MutableBytes(reinterpret_cast<std::byte*>(p + got), n - got)));
    if (k == 0) return data_loss("blob " + to_hex(id) + ": ends early");
    got += k;
  }
  return {};
}

}  // namespace

Status BlobCodec::check_stream(BlobType type, const ChunkId& id, Reader& in, size_t length, size_t raw_length) {
  Impl& m = *impl_;
  if (length < kBlobOverhead) return data_loss("blob " + to_hex(id) + ": too short to be a sealed blob");
  unsigned char nonce[kNonceSize];
  TRY(read_exact(in, nonce, kNonceSize, id));
  const std::string aad = aad_of(type, id);
  int len = 0;
  if (EVP_DecryptInit_ex2(m.dec, nullptr, nullptr, nonce, nullptr) != 1 ||
      EVP_DecryptUpdate(m.dec, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1) {
    return internal_error("blob codec: AES-256-GCM init failed");
  }
  constexpr size_t kSlice = 256u << 10;
  m.scratch.resize(kSlice);
  m.plain.resize(kSlice);
  ZSTD_DCtx_reset(m.dctx, ZSTD_reset_session_only);
  // The content is judged as it is decrypted; the verdict on it waits for the tag (a damaged
  // blob says "does not authenticate", not whatever its garbage decoded to).
  std::string bad;
  int flag = -1;
  size_t produced = 0;
  bool frame_done = false;
  bool header_seen = false;
  auto decode = [&](const unsigned char* p, size_t k) {
    if (!header_seen) {  // as check(): a frame that says it holds exactly raw_length bytes
      header_seen = true;
      if (ZSTD_getFrameContentSize(p, k) != raw_length) {  // the header is in the first slice
        bad = "not a zstd frame of " + std::to_string(raw_length) + " bytes";
        return;
      }
    }
    ZSTD_inBuffer zin{p, k, 0};
    while (bad.empty() && zin.pos < zin.size) {
      if (frame_done) {
        bad = "bytes after its zstd frame";
        break;
      }
      ZSTD_outBuffer out{m.plain.data(), m.plain.size(), 0};
      const size_t ret = ZSTD_decompressStream(m.dctx, &out, &zin);
      if (ZSTD_isError(ret)) bad = "zstd frame does not decompress";
      produced += out.pos;
      if (produced > raw_length) bad = "zstd frame decodes to more than " + std::to_string(raw_length) + " bytes";
      if (ret == 0) frame_done = true;
    }
  };
  const size_t body = length - kNonceSize - kTagSize;
  for (size_t done = 0; done < body;) {
    const size_t n = std::min(kSlice, body - done);
    auto* buf = reinterpret_cast<unsigned char*>(m.scratch.data());
    TRY(read_exact(in, buf, n, id));
    if (EVP_DecryptUpdate(m.dec, buf, &len, buf, static_cast<int>(n)) != 1 || static_cast<size_t>(len) != n) {
      return internal_error("blob codec: AES-256-GCM failed");
    }
    done += n;
    const unsigned char* p = buf;
    size_t k = n;
    if (flag < 0) {
      flag = p[0];
      ++p;
      --k;
      if (flag != kRaw && flag != kZstd) bad = "unknown encoding " + std::to_string(flag);
    }
    if (!bad.empty()) continue;
    if (flag == kRaw) {
      produced += k;
    } else {
      decode(p, k);
    }
  }
  unsigned char tag[kTagSize];
  TRY(read_exact(in, tag, kTagSize, id));
  if (EVP_CIPHER_CTX_ctrl(m.dec, EVP_CTRL_GCM_SET_TAG, kTagSize, tag) != 1 || EVP_DecryptFinal_ex(m.dec, tag, &len) != 1) {
    return data_loss("blob " + to_hex(id) + ": does not authenticate (damaged, or not this blob)");
  }
  if (flag < 0) return data_loss("blob " + to_hex(id) + ": empty");
  // What the decoder still holds once the input is in.
  while (bad.empty() && flag == kZstd && !frame_done) {
    ZSTD_inBuffer zin{nullptr, 0, 0};
    ZSTD_outBuffer out{m.plain.data(), m.plain.size(), 0};
    const size_t ret = ZSTD_decompressStream(m.dctx, &out, &zin);
    if (ZSTD_isError(ret)) {
      bad = "zstd frame does not decompress";
    } else if (ret == 0) {
      frame_done = true;
    } else if (out.pos == 0) {
      bad = "zstd frame cut short";
    }
    produced += out.pos;
  }
  if (!bad.empty()) return data_loss("blob " + to_hex(id) + ": " + bad);
  if (produced != raw_length) {
    return data_loss("blob " + to_hex(id) + ": decodes to " + std::to_string(produced) + " bytes, not " + std::to_string(raw_length));
  }
  return {};
}

}  // namespace stacksnap::chunks
