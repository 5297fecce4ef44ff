// Helpers shared by the seal_/codec_/archive_ unit tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

#include "base/error.h"
#include "base/stream.h"
#include "seal/key.h"

namespace stacksnap::testutil {

#define ASSERT_OK(expr)                                                       \
  do {                                                                        \
    auto&& assert_ok_r_ = (expr);                                             \
    ASSERT_TRUE(assert_ok_r_.ok()) << assert_ok_r_.error().to_string();       \
  } while (0)

#define ASSERT_OK_AND_ASSIGN(lhs, expr)                                       \
  auto lhs##_result_ = (expr);                                                \
  ASSERT_TRUE(lhs##_result_.ok()) << lhs##_result_.error().to_string();       \
  auto lhs = std::move(lhs##_result_).value()

template <class R>
Code code_of(const R& r) {
  return r.ok() ? Code::kOk : r.error().code();
}

inline std::string random_text(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// A fixed test key: bytes 0, 1, ..., 31.
inline seal::MasterKey test_key(uint8_t base = 0) {
  std::array<uint8_t, 32> raw{};
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<uint8_t>(base + i);
  return std::move(seal::MasterKey::from_bytes(Bytes(reinterpret_cast<const std::byte*>(raw.data()), 32))).value();
}

// Fast Argon2id parameters for tests (the minimum memory).
inline seal::Argon2Params fast_argon2(uint8_t salt_byte = 7) {
  seal::Argon2Params p;
  p.opslimit = 1;
  p.memlimit_kib = 8;
  p.salt.fill(salt_byte);
  return p;
}

// Reads a Reader in odd-sized pieces to exercise partial reads.
inline Result<std::string> read_all_odd(Reader& r, size_t limit = 1ull << 32) {
  std::string out;
  std::string buf(7919, '\0');
  for (;;) {
    size_t n = TRY(r.read(MutableBytes(reinterpret_cast<std::byte*>(buf.data()), buf.size())));
    if (n == 0) break;
    out.append(buf.data(), n);
    if (out.size() > limit) return invalid_argument("too much");
  }
  return out;
}

}  // namespace stacksnap::testutil
