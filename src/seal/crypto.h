// Thin owning wrappers over the OpenSSL primitives the seal is built from:
// CSPRNG bytes, HKDF-SHA256, incremental SHA-256, hex. No crypto is invented here.
//
// Thread-safety: free functions are thread-safe; a Sha256 object is not.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/stream.h"

struct evp_md_ctx_st;

namespace stacksnap::seal {

inline constexpr size_t kSha256Size = 32;
using Sha256Digest = std::array<uint8_t, kSha256Size>;

// Fills `out` from the OS CSPRNG (OpenSSL RAND_bytes). Internal on failure.
Status random_bytes(MutableBytes out);

// HKDF-SHA256 (RFC 5869) extract-and-expand. Internal on library failure.
Status hkdf_sha256(Bytes ikm, Bytes salt, Bytes info, MutableBytes out);

// Incremental SHA-256. update() never fails (a library failure aborts: it cannot
// happen with the default provider loaded and silently wrong hashes are worse).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(Bytes data);
  void update(std::string_view s) { update(as_bytes(s)); }
  // Returns the digest and resets the object for reuse.
  Sha256Digest finish();
  static Sha256Digest of(Bytes data);

 private:
  evp_md_ctx_st* ctx_ = nullptr;
};

// Forwards everything to `out` and hashes it on the way (the archive's outer SHA-256).
class Sha256Writer final : public Writer {
 public:
  explicit Sha256Writer(Writer& out) : out_(out) {}
  Status write(Bytes data) override {
    hash_.update(data);
    bytes_ += data.size();
    return out_.write(data);
  }
  Sha256Digest finish() { return hash_.finish(); }
  uint64_t bytes() const { return bytes_; }

 private:
  Writer& out_;
  Sha256 hash_;
  uint64_t bytes_ = 0;
};

// Lowercase hex of bytes; hex_decode accepts upper or lower case, no separators.
std::string hex_encode(Bytes data);
template <size_t N>
std::string hex_encode(const std::array<uint8_t, N>& a) {
  return hex_encode(Bytes(reinterpret_cast<const std::byte*>(a.data()), N));
}
Result<std::string> hex_decode(std::string_view hex);

inline Bytes byte_view(const void* p, size_t n) { return {static_cast<const std::byte*>(p), n}; }
inline MutableBytes byte_view_mut(void* p, size_t n) { return {static_cast<std::byte*>(p), n}; }

}  // namespace stacksnap::seal
