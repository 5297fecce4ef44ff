#include "http/secret.h"

#include <sodium.h>

#include <cstdlib>
#include <vector>

namespace stacksnap::http {
namespace {

void ensure_sodium() {
  // sodium_init is idempotent and thread-safe; a failure means no usable CSPRNG.
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();
}

std::string to_hex(const unsigned char* p, size_t n) {
  std::string out(n * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), p, n);
  out.pop_back();
  return out;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  ensure_sodium();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return to_hex(digest, sizeof digest);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace stacksnap::http
