#include "seal/scratch_cipher.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <memory>

#include "seal/crypto.h"

namespace stacksnap::seal {

namespace {

const EVP_CIPHER* aes256ctr() {
  static EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-256-CTR", nullptr);
  if (c == nullptr) std::abort();
  return c;
}

constexpr uint64_t kBlock = 16;

}  // namespace

Result<ScratchCipher> ScratchCipher::random() {
  ScratchCipher c;
  TRY(random_bytes(byte_view_mut(c.key_.data(), c.key_.size())));
  TRY(random_bytes(byte_view_mut(c.nonce_.data(), c.nonce_.size())));
  return c;
}

ScratchCipher::ScratchCipher(ScratchCipher&& o) noexcept : key_(o.key_), nonce_(o.nonce_) {
  OPENSSL_cleanse(o.key_.data(), o.key_.size());
}

ScratchCipher::~ScratchCipher() { OPENSSL_cleanse(key_.data(), key_.size()); }

Status ScratchCipher::apply(uint64_t offset, MutableBytes data) const {
  if (data.empty()) return {};
  // Counter block: nonce (8 bytes) || big-endian block number (8 bytes). OpenSSL's CTR
  // increments the whole 128-bit block; the low half never wraps for files < 2^68 bytes.
  std::array<uint8_t, 16> iv{};
  std::copy(nonce_.begin(), nonce_.end(), iv.begin());
  uint64_t block = offset / kBlock;
  for (int i = 15; i >= 8; --i, block >>= 8) iv[static_cast<size_t>(i)] = static_cast<uint8_t>(block & 0xff);
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  if (!ctx || EVP_EncryptInit_ex2(ctx.get(), aes256ctr(), key_.data(), iv.data(), nullptr) != 1) {
    return internal_error("AES-256-CTR: cannot initialise the scratch cipher");
  }
  int len = 0;
  // Skip into the first block: the keystream of the bytes before `offset` in its block.
  std::array<uint8_t, kBlock> skip{};
  const auto lead = static_cast<int>(offset % kBlock);
  if (lead > 0 && EVP_EncryptUpdate(ctx.get(), skip.data(), &len, skip.data(), lead) != 1) {
    return internal_error("AES-256-CTR: keystream");
  }
  auto* p = reinterpret_cast<unsigned char*>(data.data());
  size_t left = data.size();
  while (left > 0) {
    const int n = static_cast<int>(std::min<size_t>(left, 1u << 30));
    if (EVP_EncryptUpdate(ctx.get(), p, &len, p, n) != 1 || len != n) return internal_error("AES-256-CTR: keystream");
    p += n;
    left -= static_cast<size_t>(n);
  }
  return {};
}

}  // namespace stacksnap::seal
