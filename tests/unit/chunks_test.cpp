// Repository format v2 building blocks (src/chunks): content-defined chunking, sealed
// blobs, packs and the index.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <zstd.h>

#include <map>
#include <set>

#include "archive_testutil.h"
#include "chunks/blob.h"
#include "chunks/chunker.h"
#include "chunks/index.h"
#include "chunks/pack.h"
#include "seal/crypto.h"

namespace stacksnap::chunks {
namespace {

ChunkerKey key_of(uint8_t b) {
  ChunkerKey k;
  k.fill(b);
  return k;
}

std::vector<std::string> chunks_of(const Chunker& c, const std::string& data) {
  std::vector<std::string> out;
  Bytes rest = as_bytes(data);
  while (!rest.empty()) {
    size_t n = c.cut(rest, true);
    out.emplace_back(reinterpret_cast<const char*>(rest.data()), n);
    rest = rest.subspan(n);
  }
  return out;
}

TEST(Chunker, SizesStayWithinTheBoundsAndAverageNearTheNormalSize) {
  auto c = Chunker::create(key_of(1));
  ASSERT_TRUE(c.ok());
  const std::string data = testutil::random_text(96 << 20, 7);
  auto chunks = chunks_of(*c, data);
  size_t total = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    total += chunks[i].size();
    if (i + 1 < chunks.size()) {
      EXPECT_GE(chunks[i].size(), kMinSize);
      EXPECT_LE(chunks[i].size(), kMaxSize);
    }
  }
  EXPECT_EQ(total, data.size());
  const double avg = static_cast<double>(data.size()) / static_cast<double>(chunks.size());
  EXPECT_GT(avg, 0.8 * kNormalSize) << chunks.size() << " chunks";
  EXPECT_LT(avg, 1.6 * kNormalSize) << chunks.size() << " chunks";
  // Deterministic.
  EXPECT_EQ(chunks_of(*c, data), chunks);
}

TEST(Chunker, AnInsertionChangesOnlyTheChunksAroundIt) {
  auto c = Chunker::create(key_of(2));
  ASSERT_TRUE(c.ok());
  const std::string before = testutil::random_text(48 << 20, 11);
  std::string after = before;
  after.insert(20 << 20, "a line appended to a log in the middle of a big file\n");
  auto a = chunks_of(*c, before), b = chunks_of(*c, after);
  std::set<std::string> old(a.begin(), a.end());
  size_t changed = 0;
  for (const auto& ch : b) changed += old.count(ch) ? 0 : 1;
  EXPECT_LE(changed, 2u) << "of " << b.size() << " chunks";
  EXPECT_GE(a.size(), 30u);
}

TEST(Chunker, TheKeyDecidesTheBoundaries) {
  auto c1 = Chunker::create(key_of(3)), c2 = Chunker::create(key_of(4));
  ASSERT_TRUE(c1.ok() && c2.ok());
  const std::string data = testutil::random_text(16 << 20, 5);
  EXPECT_NE(chunks_of(*c1, data), chunks_of(*c2, data));
}

TEST(Chunker, SmallInputsAndTheStreamReaderAgreeWithCut) {
  auto c = Chunker::create(key_of(5));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->cut(Bytes(), true), 0u);
  const std::string small = testutil::random_text(1000, 1);
  EXPECT_EQ(c->cut(as_bytes(small), true), small.size());
  EXPECT_EQ(c->cut(as_bytes(small), false), 0u);  // more may follow

  // A stream read in odd pieces gives the chunks the whole buffer gives: text, and a run
  // of zeros with no cut point (chunks forced at kMaxSize, longer than the reader's
  // read-ahead past a chunk).
  const std::string data = testutil::random_text(40 << 20, 9) + std::string(21u << 20, '\0') + testutil::random_text(3u << 20, 10);
  class Dribble final : public Reader {
   public:
    Dribble(const std::string& s, size_t cap) : s_(s), cap_(cap) {}
    Result<size_t> read(MutableBytes buf) override {
      size_t n = std::min({buf.size(), s_.size() - pos_, cap_});
      std::memcpy(buf.data(), s_.data() + pos_, n);
      pos_ += n;
      return n;
    }

   private:
    const std::string& s_;
    size_t cap_;
    size_t pos_ = 0;
  };
  const auto whole = chunks_of(*c, data);
  // Reads of 1 KiB, of odd sizes, of just under and over the longest chunk, of the reader's
  // whole buffer (kMaxSize + 1 MiB) and more.
  for (size_t cap : {size_t{1024}, size_t{777777}, kMaxSize - 1, kMaxSize + 1, kMaxSize + (1u << 20), size_t{64} << 20}) {
    SCOPED_TRACE(cap);
    Dribble in(data, cap);
    ChunkReader reader(*c, in);
    std::vector<std::string> streamed;
    for (;;) {
      auto ch = reader.next();
      ASSERT_TRUE(ch.ok());
      if (ch->empty()) break;
      streamed.emplace_back(reinterpret_cast<const char*>(ch->data()), ch->size());
    }
    EXPECT_EQ(streamed, whole);
  }
}

Key32 key32(uint8_t b) {
  Key32 k;
  k.fill(b);
  return k;
}

TEST(Blob, SealedCompressedOrRawAndBoundToItsIdAndType) {
  auto codec = BlobCodec::create(key32(9));
  ASSERT_TRUE(codec.ok());
  const Key32 id_key = key32(8);
  const std::string text(300000, 'x');
  const std::string noise = testutil::random_text(300000, 3);
  for (const std::string* plain : {&text, &noise}) {
    const ChunkId id = chunk_id(id_key, as_bytes(*plain));
    std::string sealed;
    auto n = (*codec)->seal(BlobType::kData, id, as_bytes(*plain), sealed);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, sealed.size());
    if (plain == &text) {
      EXPECT_LT(sealed.size(), 10000u);  // compressed
    } else {
      EXPECT_EQ(sealed.size(), plain->size() + kBlobOverhead);  // stored raw
    }
    auto back = (*codec)->open(BlobType::kData, id, as_bytes(sealed), 1 << 20);
    ASSERT_TRUE(back.ok()) << back.error().message();
    EXPECT_EQ(*back, *plain);
    // Another id, another type, a flipped bit, another key: DataLoss.
    ChunkId other = id;
    other[0] ^= 1;
    EXPECT_EQ((*codec)->open(BlobType::kData, other, as_bytes(sealed), 1 << 20).error().code(), Code::kDataLoss);
    EXPECT_EQ((*codec)->open(BlobType::kTree, id, as_bytes(sealed), 1 << 20).error().code(), Code::kDataLoss);
    std::string flipped = sealed;
    flipped[flipped.size() / 2] ^= 0x10;
    EXPECT_EQ((*codec)->open(BlobType::kData, id, as_bytes(flipped), 1 << 20).error().code(), Code::kDataLoss);
    auto stranger = BlobCodec::create(key32(10));
    ASSERT_TRUE(stranger.ok());
    EXPECT_EQ((*stranger)->open(BlobType::kData, id, as_bytes(sealed), 1 << 20).error().code(), Code::kDataLoss);
    // Bigger than the caller allows.
    EXPECT_EQ((*codec)->open(BlobType::kData, id, as_bytes(sealed), 1000).error().code(), Code::kDataLoss);
  }
  // The id is keyed: the same content under another id key has another id.
  EXPECT_NE(chunk_id(key32(1), as_bytes(text)), chunk_id(key32(2), as_bytes(text)));
}

// A blob as the format defines it (docs/FORMAT.md §v2.4), sealed by hand: nonce ‖
// AES-256-GCM(flag ‖ payload) ‖ tag, the AAD binding type and id. For blobs BlobCodec
// would never write: a zstd frame cut short, one with bytes after it, an unknown flag.
std::string seal_by_hand(const Key32& key, BlobType type, const ChunkId& id, uint8_t flag, const std::string& payload) {
  std::string aad = "stacksnap blob v2";
  aad.push_back(static_cast<char>(type));
  aad.append(reinterpret_cast<const char*>(id.data()), id.size());
  std::string out(kNonceSize, '\x5a');
  std::string body(1, static_cast<char>(flag));
  body += payload;
  std::string enc(body.size(), '\0');
  unsigned char tag[kTagSize];
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  const bool ok =
      EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), key.data(), reinterpret_cast<const unsigned char*>(out.data()), nullptr) == 1 &&
      EVP_EncryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()), static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(enc.data()), &len, reinterpret_cast<const unsigned char*>(body.data()),
                        static_cast<int>(body.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(enc.data()) + len, &len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagSize, tag) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return {};
  return out + enc + std::string(reinterpret_cast<const char*>(tag), kTagSize);
}

// The read-back of an uploaded pack (BlobCodec::check): a blob passes only when it
// authenticates and decodes to exactly the length its entry gives.
TEST(Blob, CheckAuthenticatesAndDecodesToExactlyItsLength) {
  const Key32 key = key32(11);
  auto codec = BlobCodec::create(key);
  ASSERT_TRUE(codec.ok());
  const std::string text = testutil::random_text(3u << 20, 4) + std::string(1u << 20, 'a');
  const ChunkId id = chunk_id(key32(12), as_bytes(text));
  // Both ways of checking (the blob in memory, decrypted in place; the blob read from a
  // stream in slices, as a spooled pack is read back) must agree on every blob.
  auto check = [&](std::string sealed, size_t raw_length, BlobType type = BlobType::kData) {
    const std::string trailer = "NEXT BLOB";
    const std::string framed = sealed + trailer;
    // Read in odd, short pieces, as a network stream may hand them over.
    class Odd final : public Reader {
     public:
      explicit Odd(const std::string& s) : s_(s) {}
      Result<size_t> read(MutableBytes buf) override {
        const size_t n = std::min({buf.size(), s_.size() - pos_, size_t{4093} + pos_ % 7});
        std::memcpy(buf.data(), s_.data() + pos_, n);
        pos_ += n;
        return n;
      }

     private:
      const std::string& s_;
      size_t pos_ = 0;
    } in(framed);
    Status streamed = (*codec)->check_stream(type, id, in, sealed.size(), raw_length);
    Status whole = (*codec)->check(type, id, MutableBytes(reinterpret_cast<std::byte*>(sealed.data()), sealed.size()), raw_length);
    EXPECT_EQ(streamed.ok(), whole.ok()) << (streamed.ok() ? whole.error().message() : streamed.error().message());
    if (!streamed.ok()) {
      EXPECT_EQ(streamed.error().code(), Code::kDataLoss) << streamed.error().message();
    }
    if (streamed.ok()) {  // exactly the blob was read: the next one starts where it ended
      std::string rest(trailer.size() + 1, '\0');
      auto n = in.read(MutableBytes(reinterpret_cast<std::byte*>(rest.data()), rest.size()));
      EXPECT_TRUE(n.ok() && rest.substr(0, *n) == trailer);
    }
    return whole;
  };
  // What seal() writes passes, compressed and raw; the wrong length, type or a flipped bit does not.
  for (const std::string& plain : {text, testutil::random_text(100000, 5)}) {
    std::string sealed;
    ASSERT_TRUE((*codec)->seal(BlobType::kData, id, as_bytes(plain), sealed).ok());
    EXPECT_TRUE(check(sealed, plain.size()).ok());
    EXPECT_EQ(check(sealed, plain.size() - 1).error().code(), Code::kDataLoss);
    EXPECT_EQ(check(sealed, plain.size() + 1).error().code(), Code::kDataLoss);
    EXPECT_EQ(check(sealed, plain.size(), BlobType::kTree).error().code(), Code::kDataLoss);
    std::string flipped = sealed;
    flipped[sealed.size() / 2] ^= 0x04;
    EXPECT_EQ(check(flipped, plain.size()).error().code(), Code::kDataLoss);
  }
  // Authentic blobs with bad content: a frame cut short, bytes after the frame, two frames,
  // not a frame, an unknown encoding, raw of the wrong length, too short to be a blob.
  std::string frame(ZSTD_compressBound(text.size()), '\0');
  frame.resize(ZSTD_compress(frame.data(), frame.size(), text.data(), text.size(), 3));
  ASSERT_GT(frame.size(), 100u);
  EXPECT_TRUE(check(seal_by_hand(key, BlobType::kData, id, 1, frame), text.size()).ok()) << "the hand-sealed control passes";
  EXPECT_EQ(check(seal_by_hand(key, BlobType::kData, id, 1, frame.substr(0, frame.size() - 40)), text.size()).error().code(),
            Code::kDataLoss);
  EXPECT_EQ(check(seal_by_hand(key, BlobType::kData, id, 1, frame + "xyz"), text.size()).error().code(), Code::kDataLoss);
  EXPECT_EQ(check(seal_by_hand(key, BlobType::kData, id, 1, frame + frame), text.size()).error().code(), Code::kDataLoss);
  EXPECT_EQ(check(seal_by_hand(key, BlobType::kData, id, 1, "not zstd at all"), 15).error().code(), Code::kDataLoss);
  {  // a frame that does not say its size (streamed), and one that asks for a 128 MiB window
    ZSTD_CCtx* z = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(z, ZSTD_c_contentSizeFlag, 0);
    std::string unsized(ZSTD_compressBound(text.size()), '\0');
    ZSTD_outBuffer out{unsized.data(), unsized.size(), 0};
    ZSTD_inBuffer zin{text.data(), text.size(), 0};
    ZSTD_compressStream2(z, &out, &zin, ZSTD_e_end);
    unsized.resize(out.pos);
    ZSTD_CCtx_reset(z, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(z, ZSTD_c_windowLog, 27);
    ZSTD_CCtx_setPledgedSrcSize(z, text.size());
    std::string wide(ZSTD_compressBound(text.size()), '\0');
    ZSTD_outBuffer out2{wide.data(), wide.size(), 0};
    ZSTD_inBuffer zin2{text.data(), text.size(), 0};
    ZSTD_compressStream2(z, &out2, &zin2, ZSTD_e_end);
    wide.resize(out2.pos);
    ZSTD_freeCCtx(z);
    EXPECT_EQ(check(seal_by_hand(key, BlobType::kData, id, 1, unsized), text.size()).error().code(), Code::kDataLoss);
    // A window that large for 4 MiB of content is shrunk by zstd itself; either way both
    // checks agree (the lambda asserts it) and the content decodes or is refused whole.
    (void)check(seal_by_hand(key, BlobType::kData, id, 1, wide), text.size());
  }
  EXPECT_EQ(check(seal_by_hand(key, BlobType::kData, id, 7, text), text.size()).error().code(), Code::kDataLoss);
  EXPECT_TRUE(check(seal_by_hand(key, BlobType::kData, id, 0, text), text.size()).ok()) << "raw of the right length";
  EXPECT_EQ(check(seal_by_hand(key, BlobType::kData, id, 0, text), text.size() + 1).error().code(), Code::kDataLoss);
  EXPECT_EQ(check(std::string(kBlobOverhead - 1, 'x'), 0).error().code(), Code::kDataLoss);
}

TEST(Pack, HeaderListsEveryBlobAndTheNameIsTheHashOfTheBytes) {
  auto codec = BlobCodec::create(key32(7));
  ASSERT_TRUE(codec.ok());
  PackWriter w(**codec);
  std::map<std::string, std::string> by_id;
  for (int i = 0; i < 5; ++i) {
    const std::string plain = i % 2 ? testutil::random_text(70000 + i, i) : std::string(50000 + i, static_cast<char>('a' + i));
    const ChunkId id = chunk_id(key32(1), as_bytes(plain));
    ASSERT_TRUE(w.add(i == 4 ? BlobType::kTree : BlobType::kData, id, as_bytes(plain)).ok());
    by_id[to_hex(id)] = plain;
  }
  auto pack = w.finish();
  ASSERT_TRUE(pack.ok());
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(pack->id, seal::Sha256::of(as_bytes(pack->bytes)));
  EXPECT_EQ(pack_name(pack->id).substr(0, 8), "data/" + seal::hex_encode(pack->id).substr(0, 2) + "/");
  auto entries = read_pack_header(**codec, as_bytes(pack->bytes), pack->bytes.size());
  ASSERT_TRUE(entries.ok()) << entries.error().message();
  EXPECT_EQ(*entries, pack->entries);
  for (const auto& e : *entries) {
    auto plain = (*codec)->open(e.type, e.id, as_bytes(pack->bytes).subspan(e.offset, e.length), 1 << 20);
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(*plain, by_id[to_hex(e.id)]);
    EXPECT_EQ(e.raw_length, plain->size());
  }
  // The tail alone (header + length) is enough.
  const size_t tail = 4 + kBlobOverhead + 4 + 5 * kPackEntrySize;
  auto from_tail = read_pack_header(**codec, as_bytes(pack->bytes).last(tail + 100), pack->bytes.size());
  ASSERT_TRUE(from_tail.ok()) << from_tail.error().message();
  // A damaged header or length is refused.
  std::string bad = pack->bytes;
  bad[bad.size() - 10] ^= 1;
  EXPECT_EQ(read_pack_header(**codec, as_bytes(bad), bad.size()).error().code(), Code::kDataLoss);
  bad = pack->bytes;
  bad[bad.size() - 1] = '\x7f';
  EXPECT_EQ(read_pack_header(**codec, as_bytes(bad), bad.size()).error().code(), Code::kDataLoss);
}

TEST(Index, RoundTripMergeAndDamage) {
  auto codec = BlobCodec::create(key32(6));
  ASSERT_TRUE(codec.ok());
  PackWriter w(**codec);
  std::vector<ChunkId> ids;
  for (int i = 0; i < 3; ++i) {
    const std::string plain = testutil::random_text(1000 + i, 40 + i);
    ids.push_back(chunk_id(key32(1), as_bytes(plain)));
    ASSERT_TRUE(w.add(BlobType::kData, ids.back(), as_bytes(plain)).ok());
  }
  auto p1 = w.finish();
  ASSERT_TRUE(p1.ok());
  ASSERT_TRUE(w.add(BlobType::kData, ids[0], as_bytes(std::string("again"))).ok());  // stored twice
  auto p2 = w.finish();
  ASSERT_TRUE(p2.ok());

  Index idx;
  idx.add_pack(p1->id, p1->entries);
  Index second;
  second.add_pack(p2->id, p2->entries);
  idx.merge(second);
  EXPECT_EQ(idx.blobs(), 3u);
  ASSERT_NE(idx.find(ids[0]), nullptr);
  EXPECT_EQ(idx.find(ids[0])->pack, p1->id);  // the first one named stays
  auto sealed = idx.seal(**codec);
  ASSERT_TRUE(sealed.ok());
  auto back = Index::open(**codec, as_bytes(*sealed));
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(back->blobs(), 3u);
  EXPECT_EQ(back->packs().size(), 2u);
  for (const auto& id : ids) {
    ASSERT_NE(back->find(id), nullptr);
    EXPECT_EQ(back->find(id)->offset, idx.find(id)->offset);
  }
  std::string bad = *sealed;
  bad[20] ^= 1;
  EXPECT_EQ(Index::open(**codec, as_bytes(bad)).error().code(), Code::kDataLoss);
  // An index is not a pack header (the type is part of what is authenticated).
  EXPECT_FALSE(read_pack_header(**codec, as_bytes(*sealed + std::string("\0\0\0\0", 4)), sealed->size() + 4).ok());
}

}  // namespace
}  // namespace stacksnap::chunks
