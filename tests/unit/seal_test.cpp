#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "archive_testutil.h"
#include "base/fd.h"
#include "base/temp_dir.h"
#include "seal/crypto.h"
#include "seal/header.h"
#include "seal/key.h"
#include "seal/stream.h"

namespace stacksnap::seal {
namespace {

using testutil::random_text;
using testutil::test_key;

constexpr uint32_t kSmall = kMinSegment;  // 1 KiB segments keep the tables fast

Result<std::string> seal_string(std::string_view plain, const MasterKey& key, SealParams p = {}) {
  StringWriter out;
  auto w = TRY(SealWriter::create(out, key, p));
  // Odd write sizes exercise the buffering.
  size_t i = 0, step = 1;
  while (i < plain.size()) {
    size_t n = std::min(step, plain.size() - i);
    TRY(w->write(as_bytes(plain.substr(i, n))));
    i += n;
    step = step * 3 + 1;
  }
  TRY(w->close());
  return out.take();
}

Result<std::string> open_string(const std::string& sealed, const KeySource& keys) {
  MemoryReader in(sealed);
  auto r = TRY(SealReader::open(in, keys));
  return testutil::read_all_odd(*r);
}

TEST(SealKey, FingerprintIsStableAndShort) {
  auto k = test_key();
  EXPECT_EQ(k.fingerprint().size(), 16u);
  EXPECT_EQ(k.fingerprint(), test_key().fingerprint());
  EXPECT_NE(k.fingerprint(), test_key(1).fingerprint());
  auto g = MasterKey::generate();
  ASSERT_TRUE(g.ok());
  EXPECT_NE(g->fingerprint(), k.fingerprint());
}

TEST(SealKey, KeyFileRoundTripAndModeChecks) {
  auto dir = TempDir::create("/tmp");
  ASSERT_TRUE(dir.ok());
  std::string path = dir->path() + "/key";
  auto key = MasterKey::generate();
  ASSERT_TRUE(key.ok());
  ASSERT_OK(write_key_file(path, *key, Overwrite::kRefuse));
  struct stat st{};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = write_key_file(path, *key, Overwrite::kRefuse);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), Code::kAlreadyExists);
  auto back = read_key_file(path);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->fingerprint(), key->fingerprint());
  auto text = read_small_file(path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->size(), 65u);  // 64 hex + newline, never anything else
  ::chmod(path.c_str(), 0644);
  auto loose = read_key_file(path);
  ASSERT_FALSE(loose.ok());
  EXPECT_EQ(loose.error().code(), Code::kPermissionDenied);
  ASSERT_OK(write_file_atomic(path, "not a key\n", 0600));
  EXPECT_EQ(read_key_file(path).error().code(), Code::kInvalidArgument);
}

TEST(SealKey, PassphraseRecordRejectsWrongPassphrase) {
  auto dir = TempDir::create("/tmp");
  ASSERT_TRUE(dir.ok());
  std::string path = dir->path() + "/key.json";
  auto key = MasterKey::from_passphrase("correct horse", testutil::fast_argon2());
  ASSERT_TRUE(key.ok());
  ASSERT_OK(write_passphrase_record(path, *key, Overwrite::kRefuse));
  auto text = read_small_file(path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->find("correct horse"), std::string::npos);
  EXPECT_EQ(text->find(hex_encode(key->bytes())), std::string::npos);
  auto rec = read_passphrase_record(path);
  ASSERT_TRUE(rec.ok()) << rec.error().to_string();
  EXPECT_EQ(rec->fingerprint, key->fingerprint());
  auto good = unlock_passphrase_record(*rec, "correct horse");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->fingerprint(), key->fingerprint());
  auto bad = unlock_passphrase_record(*rec, "wrong horse");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Code::kUnauthenticated);
}

TEST(SealKey, ResolveOrder) {
  auto dir = TempDir::create("/tmp");
  ASSERT_TRUE(dir.ok());
  KeyFlags flags{.data_dir = dir->path(), .passphrase_env = "STACKSNAP_TEST_PASSPHRASE_UNSET"};
  auto none = resolve_key_source(flags);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), Code::kNotFound);
  auto key = MasterKey::generate();
  ASSERT_OK(write_key_file(key_file_path(dir->path()), *key, Overwrite::kRefuse));
  auto ks = resolve_key_source(flags);
  ASSERT_TRUE(ks.ok()) << ks.error().to_string();
  auto w = ks->key_for_writing();
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->fingerprint(), key->fingerprint());
}

TEST(SealHeader, RoundTripAndChecks) {
  Header h;
  h.key_kind = KeyKind::kPassphrase;
  h.argon2 = testutil::fast_argon2();
  h.segment_size = 4096;
  h.hkdf_salt.fill(0x11);
  h.nonce_prefix.fill(0x22);
  h.key_check.fill(0x33);
  HeaderBytes b = encode_header(h);
  auto back = parse_header(Bytes(reinterpret_cast<const std::byte*>(b.data()), b.size()));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->segment_size, 4096u);
  EXPECT_EQ(back->argon2, h.argon2);
  EXPECT_EQ(back->nonce_prefix, h.nonce_prefix);
  for (size_t i = 0; i < kHeaderSize; ++i) {
    HeaderBytes c = b;
    c[i] ^= 0x01;
    auto r = parse_header(Bytes(reinterpret_cast<const std::byte*>(c.data()), c.size()));
    ASSERT_FALSE(r.ok()) << "flip at " << i;
    EXPECT_EQ(r.error().code(), Code::kDataLoss) << "flip at " << i << ": " << r.error().to_string();
  }
}

TEST(SealHeader, NewerVersionIsUnimplemented) {
  Header h;
  HeaderBytes b = encode_header(h);
  b[9] = 2;  // version 2, checksum fixed up as a v2 writer would
  Sha256Digest d = Sha256::of(Bytes(reinterpret_cast<const std::byte*>(b.data()), 112));
  std::memcpy(&b[112], d.data(), 16);
  auto r = parse_header(Bytes(reinterpret_cast<const std::byte*>(b.data()), b.size()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kUnimplemented);
}

TEST(SealStream, CounterNeverWraps) {
  std::array<uint8_t, kNoncePrefixSize> prefix{};
  EXPECT_TRUE(checked_segment_nonce(prefix, UINT32_MAX, true).ok());
  auto r = checked_segment_nonce(prefix, uint64_t{UINT32_MAX} + 1, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kResourceExhausted);
  auto n = segment_nonce(prefix, 0x01020304, true);
  EXPECT_EQ(n[7], 1);
  EXPECT_EQ(n[10], 4);
  EXPECT_EQ(n[11], 1);
}

// Fixed key, salt and prefix → known bytes. Cross-checked with an independent Python
// implementation of FORMAT.md (hmac/hashlib + cryptography's AESGCM, docs/FORMAT.md
// appendix A): if these change, every archive written so far becomes unreadable.
TEST(SealStream, TestVector) {
  SealParams p{.segment_size = kSmall};
  p.fixed_hkdf_salt.emplace();
  p.fixed_hkdf_salt->fill(0x11);
  p.fixed_nonce_prefix.emplace();
  p.fixed_nonce_prefix->fill(0x22);
  std::string plain = "StackSnap seal test vector v1";
  auto sealed = seal_string(plain, test_key(), p);
  ASSERT_TRUE(sealed.ok());
  ASSERT_EQ(sealed->size(), kHeaderSize + plain.size() + kTagSize);
  std::string hex = hex_encode(as_bytes(*sealed));
  EXPECT_EQ(hex.substr(0, 32), "8953534e41500d0a0001008001010000");
  EXPECT_EQ(hex.substr(2 * 96, 32), "4a23b7e4154957c962c0affe540c1650");
  EXPECT_EQ(hex.substr(2 * kHeaderSize),
            "1d39dc293fef43cdefc3f37cfe7bf900b3f0aa9d23771f42127ce0ac4155dc35"  // ciphertext
            "bcd5a9e8dca6116a1272b04499");                                     // ...and tag
}

class SealRoundTrip : public ::testing::TestWithParam<size_t> {};

TEST_P(SealRoundTrip, Sizes) {
  const size_t n = GetParam();
  std::string plain = random_text(n, static_cast<uint32_t>(n));
  auto sealed = seal_string(plain, test_key(), {.segment_size = kSmall});
  ASSERT_TRUE(sealed.ok()) << sealed.error().to_string();
  size_t segments = n == 0 ? 1 : (n + kSmall - 1) / kSmall;
  EXPECT_EQ(sealed->size(), kHeaderSize + n + segments * kTagSize);
  auto back = open_string(*sealed, KeySource::from_key(test_key()));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(*back, plain);
}

INSTANTIATE_TEST_SUITE_P(Seal, SealRoundTrip,
                         ::testing::Values(0, 1, kSmall - 1, kSmall, kSmall + 1, 2 * kSmall, 37 * kSmall + 5));

TEST(SealStream, DefaultSegmentRoundTrip) {
  for (size_t n : {size_t{kSealSegment} - 1, size_t{kSealSegment}, size_t{kSealSegment} + 1, 3 * size_t{kSealSegment}}) {
    std::string plain = random_text(n, 9);
    auto sealed = seal_string(plain, test_key());
    ASSERT_TRUE(sealed.ok());
    auto back = open_string(*sealed, KeySource::from_key(test_key()));
    ASSERT_TRUE(back.ok()) << n << ": " << back.error().to_string();
    EXPECT_TRUE(*back == plain) << n;
  }
}

TEST(SealStream, DestroyedWithoutCloseNeverAuthenticates) {
  StringWriter out;
  {
    auto w = SealWriter::create(out, test_key(), {.segment_size = kSmall});
    ASSERT_TRUE(w.ok());
    ASSERT_OK((*w)->write(as_bytes(random_text(5 * kSmall + 3, 1))));
  }
  auto r = open_string(out.str(), KeySource::from_key(test_key()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kDataLoss);
}

TEST(SealStream, PassphraseKeys) {
  auto key = MasterKey::from_passphrase("hunter2", testutil::fast_argon2());
  ASSERT_TRUE(key.ok());
  auto sealed = seal_string("secret data", *key, {.segment_size = kSmall});
  ASSERT_TRUE(sealed.ok());
  auto ok = open_string(*sealed, KeySource::from_passphrase(std::move(SecretString::from("hunter2")).value()));
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ(*ok, "secret data");
  auto bad = open_string(*sealed, KeySource::from_passphrase(std::move(SecretString::from("hunter3")).value()));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Code::kUnauthenticated);
  EXPECT_NE(bad.error().message().find("wrong passphrase"), std::string::npos);
  auto kf = open_string(*sealed, KeySource::from_key(test_key()));
  ASSERT_FALSE(kf.ok());
  EXPECT_EQ(kf.error().code(), Code::kUnauthenticated);
}

// ---- corruption table -------------------------------------------------------------

struct Corruption {
  std::string name;
  std::function<std::string(const std::string&)> mutate;
  Code code;
  std::string message;  // substring the error must contain
};

std::string segment_at(const std::string& s, size_t i) {
  return s.substr(kHeaderSize + i * (kSmall + kTagSize), kSmall + kTagSize);
}

TEST(SealStream, CorruptionTable) {
  const size_t kSegs = 5;
  std::string plain = random_text(kSegs * kSmall - 100, 42);  // 5 segments, the last short
  auto sealed_r = seal_string(plain, test_key(), {.segment_size = kSmall});
  ASSERT_TRUE(sealed_r.ok());
  const std::string sealed = *sealed_r;
  const size_t seg = kSmall + kTagSize;
  auto off = [&](size_t i) { return kHeaderSize + i * seg; };
  auto flip = [](size_t at) {
    return [at](const std::string& s) {
      std::string c = s;
      c[at] = static_cast<char>(c[at] ^ 0x40);
      return c;
    };
  };
  std::vector<Corruption> table = {
      {"empty file", [](const std::string&) { return std::string(); }, Code::kDataLoss, "empty"},
      {"header only", [](const std::string& s) { return s.substr(0, kHeaderSize); }, Code::kDataLoss,
       "no segment follows the header"},
      {"cut inside header", [](const std::string& s) { return s.substr(0, 60); }, Code::kDataLoss, "header truncated"},
      {"flip magic", flip(0), Code::kDataLoss, "not a StackSnap archive"},
      {"flip header salt", flip(50), Code::kDataLoss, "checksum"},
      {"flip key check", flip(100), Code::kDataLoss, "checksum"},
      {"flip body of segment 2", flip(off(2) + 10), Code::kDataLoss, "segment 2 at byte offset " + std::to_string(off(2))},
      {"flip tag of segment 1", flip(off(1) + seg - 3), Code::kDataLoss, "segment 1 at byte offset"},
      {"flip tag of final segment", flip(sealed.size() - 1), Code::kDataLoss, "segment 4"},
      {"drop final segment", [&](const std::string& s) { return s.substr(0, off(4)); }, Code::kDataLoss,
       "final segment is missing"},
      {"swap segments 1 and 2",
       [&](const std::string& s) {
         return s.substr(0, off(1)) + segment_at(s, 2) + segment_at(s, 1) + s.substr(off(3));
       },
       Code::kDataLoss, "segment 1 at byte offset"},
      {"duplicate segment 0",
       [&](const std::string& s) { return s.substr(0, off(1)) + segment_at(s, 0) + s.substr(off(1)); },
       Code::kDataLoss, "segment 1"},
      {"drop segment 2", [&](const std::string& s) { return s.substr(0, off(2)) + s.substr(off(3)); },
       Code::kDataLoss, "segment 2"},
      {"trailing garbage", [](const std::string& s) { return s + "x"; }, Code::kDataLoss, "segment 4"},
  };
  for (size_t i = 1; i <= kSegs - 1; ++i) {
    table.push_back({"cut at boundary " + std::to_string(i), [&, i](const std::string& s) { return s.substr(0, off(i)); },
                     Code::kDataLoss, "archive truncated after segment " + std::to_string(i - 1)});
  }
  for (size_t i = 0; i < kSegs; ++i) {
    table.push_back({"cut mid segment " + std::to_string(i),
                     [&, i](const std::string& s) { return s.substr(0, off(i) + 300); }, Code::kDataLoss,
                     "segment " + std::to_string(i)});
    table.push_back({"cut 5 bytes into segment " + std::to_string(i),
                     [&, i](const std::string& s) { return s.substr(0, off(i) + 5); }, Code::kDataLoss,
                     "fewer than a 16-byte tag"});
  }
  for (const auto& c : table) {
    SCOPED_TRACE(c.name);
    auto r = open_string(c.mutate(sealed), KeySource::from_key(test_key()));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), c.code) << r.error().to_string();
    EXPECT_NE(r.error().message().find(c.message), std::string::npos) << r.error().to_string();
  }
  auto wrong = open_string(sealed, KeySource::from_key(test_key(1)));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code(), Code::kUnauthenticated);
  EXPECT_NE(wrong.error().message().find("wrong key"), std::string::npos);
}

}  // namespace
}  // namespace stacksnap::seal
