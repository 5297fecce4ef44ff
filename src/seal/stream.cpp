#include "seal/stream.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace stacksnap::seal {

namespace {

const EVP_CIPHER* aes256gcm() {
  static EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return c;
}

std::string ossl_err(std::string_view what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "unknown error";
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return std::string(what) + ": " + buf;
}

std::string segment_where(uint64_t index, uint32_t segment_size) {
  uint64_t offset = kHeaderSize + index * (uint64_t{segment_size} + kTagSize);
  return "segment " + std::to_string(index) + " at byte offset " + std::to_string(offset);
}

}  // namespace

// ---- GcmContext -------------------------------------------------------------------

Result<GcmContext> GcmContext::create(Direction dir, Bytes key) {
  if (key.size() != 32) return internal_error("AES-256-GCM needs a 32-byte key");
  if (aes256gcm() == nullptr) return internal_error(ossl_err("AES-256-GCM unavailable"));
  GcmContext g;
  g.ctx_ = EVP_CIPHER_CTX_new();
  if (g.ctx_ == nullptr) return resource_exhausted("cannot allocate a cipher context");
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  int rc = dir == Direction::kSeal ? EVP_EncryptInit_ex2(g.ctx_, aes256gcm(), k, nullptr, nullptr)
                                   : EVP_DecryptInit_ex2(g.ctx_, aes256gcm(), k, nullptr, nullptr);
  if (rc != 1) return internal_error(ossl_err("AES-256-GCM init"));
  return g;
}

GcmContext::GcmContext(GcmContext&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)) {}
GcmContext& GcmContext::operator=(GcmContext&& o) noexcept {
  if (this != &o) {
    EVP_CIPHER_CTX_free(ctx_);
    ctx_ = std::exchange(o.ctx_, nullptr);
  }
  return *this;
}
GcmContext::~GcmContext() { EVP_CIPHER_CTX_free(ctx_); }  // cleanses the key schedule

Status GcmContext::seal(const std::array<uint8_t, 12>& nonce, Bytes in, MutableBytes out, MutableBytes tag) {
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  const auto* src = reinterpret_cast<const unsigned char*>(in.data());
  int len = 0;
  if (EVP_EncryptInit_ex2(ctx_, nullptr, nullptr, nonce.data(), nullptr) != 1) {
    return internal_error(ossl_err("AES-256-GCM nonce"));
  }
  if (!in.empty() && EVP_EncryptUpdate(ctx_, p, &len, src, static_cast<int>(in.size())) != 1) {
    return internal_error(ossl_err("AES-256-GCM encrypt"));
  }
  if (EVP_EncryptFinal_ex(ctx_, p + len, &len) != 1) return internal_error(ossl_err("AES-256-GCM final"));
  if (EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag.size()), tag.data()) != 1) {
    return internal_error(ossl_err("AES-256-GCM tag"));
  }
  return {};
}

Result<bool> GcmContext::open(const std::array<uint8_t, 12>& nonce, MutableBytes data, Bytes tag) {
  auto* p = reinterpret_cast<unsigned char*>(data.data());
  int len = 0;
  if (EVP_DecryptInit_ex2(ctx_, nullptr, nullptr, nonce.data(), nullptr) != 1) {
    return internal_error(ossl_err("AES-256-GCM nonce"));
  }
  if (!data.empty() && EVP_DecryptUpdate(ctx_, p, &len, p, static_cast<int>(data.size())) != 1) {
    return internal_error(ossl_err("AES-256-GCM decrypt"));
  }
  if (EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag.size()),
                          const_cast<std::byte*>(tag.data())) != 1) {
    return internal_error(ossl_err("AES-256-GCM set tag"));
  }
  int ok = EVP_DecryptFinal_ex(ctx_, p + len, &len);
  ERR_clear_error();
  return ok == 1;
}

std::array<uint8_t, 12> segment_nonce(const std::array<uint8_t, kNoncePrefixSize>& prefix, uint32_t counter,
                                      bool last) {
  std::array<uint8_t, 12> n{};
  std::memcpy(n.data(), prefix.data(), kNoncePrefixSize);
  n[7] = static_cast<uint8_t>(counter >> 24);
  n[8] = static_cast<uint8_t>(counter >> 16);
  n[9] = static_cast<uint8_t>(counter >> 8);
  n[10] = static_cast<uint8_t>(counter);
  n[11] = last ? 1 : 0;
  return n;
}

Result<std::array<uint8_t, 12>> checked_segment_nonce(const std::array<uint8_t, kNoncePrefixSize>& prefix,
                                                      uint64_t index, bool last) {
  if (index > UINT32_MAX) {
    return resource_exhausted("segment counter overflow: more than 2^32 segments (refusing to wrap)");
  }
  return segment_nonce(prefix, static_cast<uint32_t>(index), last);
}

// ---- SealWriter -------------------------------------------------------------------

Result<std::unique_ptr<SealWriter>> SealWriter::create(Writer& out, const MasterKey& key, SealParams params) {
  if (params.segment_size < kMinSegment || params.segment_size > kMaxSegment) {
    return invalid_argument("segment size " + std::to_string(params.segment_size) + " is outside [" +
                            std::to_string(kMinSegment) + ", " + std::to_string(kMaxSegment) + "]");
  }
  Header h;
  h.key_kind = key.kind();
  h.segment_size = params.segment_size;
  if (key.kind() == KeyKind::kPassphrase) {
    if (!key.argon2()) return invalid_argument("passphrase key without Argon2id parameters");
    h.argon2 = *key.argon2();
  }
  if (params.fixed_hkdf_salt) h.hkdf_salt = *params.fixed_hkdf_salt;
  else TRY(random_bytes(byte_view_mut(h.hkdf_salt.data(), h.hkdf_salt.size())));
  if (params.fixed_nonce_prefix) h.nonce_prefix = *params.fixed_nonce_prefix;
  else TRY(random_bytes(byte_view_mut(h.nonce_prefix.data(), h.nonce_prefix.size())));

  HeaderBytes raw = encode_header(h);
  ArchiveKeys keys;
  TRY(derive_archive_keys(key, raw, keys));
  h.key_check = keys.key_check;
  raw = encode_header(h);
  GcmContext gcm = TRY(GcmContext::create(GcmContext::Direction::kSeal,
                                          byte_view(keys.payload_key.data(), keys.payload_key.size())));
  std::unique_ptr<SealWriter> w(new SealWriter(out, std::move(gcm), h, params.segment_size));
  TRY_CTX(w->emit(byte_view(raw.data(), raw.size())), "write archive header");
  return w;
}

SealWriter::SealWriter(Writer& out, GcmContext gcm, Header header, uint32_t segment_size)
    : out_(out), gcm_(std::move(gcm)), header_(header), segment_size_(segment_size),
      buf_(size_t{segment_size} + kTagSize) {}

SealWriter::~SealWriter() { OPENSSL_cleanse(buf_.data(), buf_.size()); }

Status SealWriter::emit(Bytes data) {
  sealed_bytes_ += data.size();
  return out_.write(data);
}

Status SealWriter::seal_segment(Bytes plain, bool last) {
  auto nonce = TRY(checked_segment_nonce(header_.nonce_prefix, counter_, last));
  MutableBytes out(buf_.data(), plain.size());
  MutableBytes tag(buf_.data() + plain.size(), kTagSize);
  TRY(gcm_.seal(nonce, plain, out, tag));
  TRY(emit(Bytes(buf_.data(), plain.size() + kTagSize)));
  ++counter_;
  return {};
}

Status SealWriter::flush_segment(bool last) {
  TRY(seal_segment(Bytes(buf_.data(), fill_), last));
  fill_ = 0;
  return {};
}

Status SealWriter::write(Bytes data) {
  if (closed_) return failed_precondition("write after close of a sealed stream");
  if (failed_) return failed_precondition("sealed stream failed earlier");
  while (!data.empty()) {
    // Whole segments with more data behind them are sealed straight from the input.
    if (fill_ == 0 && data.size() > segment_size_) {
      if (auto st = seal_segment(data.first(segment_size_), false); !st.ok()) {
        failed_ = true;
        return st;
      }
      plaintext_bytes_ += segment_size_;
      data = data.subspan(segment_size_);
      continue;
    }
    if (fill_ == segment_size_) {
      // A full segment is sealed only once more data shows it is not the last.
      if (auto st = flush_segment(false); !st.ok()) {
        failed_ = true;
        return st;
      }
    }
    size_t n = std::min(data.size(), segment_size_ - fill_);
    std::memcpy(buf_.data() + fill_, data.data(), n);
    fill_ += n;
    plaintext_bytes_ += n;
    data = data.subspan(n);
  }
  return {};
}

Status SealWriter::close() {
  if (closed_) return {};
  if (failed_) return failed_precondition("sealed stream failed earlier");
  if (auto st = flush_segment(true); !st.ok()) {
    failed_ = true;
    return st;
  }
  closed_ = true;
  return {};
}

// ---- SealReader -------------------------------------------------------------------

Result<std::unique_ptr<SealReader>> SealReader::open(Reader& in, const KeySource& keys) {
  HeaderBytes raw{};
  Header h = TRY(read_header(in, &raw));
  return open_after_header(in, h, raw, keys);
}

Result<std::unique_ptr<SealReader>> SealReader::open_after_header(Reader& in, const Header& h,
                                                                  const HeaderBytes& raw, const KeySource& keys) {
  MasterKey master = TRY(keys.key_for(h.key_kind, h.key_kind == KeyKind::kPassphrase ? &h.argon2 : nullptr));
  ArchiveKeys ak;
  TRY(derive_archive_keys(master, raw, ak));
  if (CRYPTO_memcmp(ak.key_check.data(), h.key_check.data(), kKeyCheckSize) != 0) {
    if (h.key_kind == KeyKind::kPassphrase) {
      return unauthenticated("wrong passphrase: the archive's key check does not match");
    }
    return unauthenticated("wrong key: the archive's key check does not match key " + master.fingerprint());
  }
  GcmContext gcm = TRY(GcmContext::create(GcmContext::Direction::kOpen,
                                          byte_view(ak.payload_key.data(), ak.payload_key.size())));
  std::unique_ptr<SealReader> r(new SealReader(in, std::move(gcm), h, master.fingerprint()));
  r->outer_.update(byte_view(raw.data(), raw.size()));
  return r;
}

SealReader::SealReader(Reader& in, GcmContext gcm, Header header, std::string fingerprint)
    : in_(in), gcm_(std::move(gcm)), header_(header), fingerprint_(std::move(fingerprint)),
      buf_(size_t{header.segment_size} + kTagSize + 1) {}

SealReader::~SealReader() { OPENSSL_cleanse(buf_.data(), buf_.size()); }

Status SealReader::open_next_segment() {
  const size_t seg_full = size_t{header_.segment_size} + kTagSize;
  const size_t want = seg_full + 1;
  while (have_ < want) {
    size_t n = TRY_CTX(in_.read(MutableBytes(buf_.data() + have_, want - have_)),
                       "read " + segment_where(counter_, header_.segment_size));
    if (n == 0) break;
    have_ += n;
  }
  const bool last = have_ < want;
  const size_t seg_len = last ? have_ : seg_full;
  const std::string where = segment_where(counter_, header_.segment_size);
  if (seg_len == 0) return data_loss("archive truncated: no segment follows the header");
  if (seg_len < kTagSize) {
    return data_loss("archive truncated in " + where + ": " + std::to_string(seg_len) +
                     " bytes, fewer than a 16-byte tag");
  }
  auto nonce = checked_segment_nonce(header_.nonce_prefix, counter_, last);
  if (!nonce.ok()) return data_loss(where + ": " + nonce.error().message());
  if (hash_outer_) outer_.update(Bytes(buf_.data(), seg_len));
  MutableBytes data(buf_.data(), seg_len - kTagSize);
  Bytes tag(buf_.data() + seg_len - kTagSize, kTagSize);
  const auto counter = static_cast<uint32_t>(counter_);
  // The final segment is decrypted from a copy, so that a failure can be told apart:
  // a segment that opens as non-final means the real final segment was cut off.
  std::vector<std::byte> retry;
  if (last) retry.assign(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(seg_len));
  if (!TRY(gcm_.open(*nonce, data, tag))) {
    if (last) {
      MutableBytes again(retry.data(), seg_len - kTagSize);
      Bytes again_tag(retry.data() + seg_len - kTagSize, kTagSize);
      if (seg_len == seg_full && TRY(gcm_.open(segment_nonce(header_.nonce_prefix, counter, false), again, again_tag))) {
        return data_loss("archive truncated after " + where + ": that segment is not the final one and "
                         "nothing follows it (the final segment is missing)");
      }
      return data_loss(where + " failed authentication as the final segment (" + std::to_string(seg_len) +
                       " bytes): the archive is truncated inside a segment, or corrupted");
    }
    return data_loss(where + " failed authentication: the segment is corrupted, reordered, duplicated or "
                     "tampered with");
  }
  if (last && data.empty() && counter_ > 0) {
    return data_loss(where + ": empty final segment after full ones (not written by StackSnap)");
  }
  consumed_ += seg_len;
  ++counter_;
  plain_pos_ = 0;
  plain_end_ = data.size();
  if (last) {
    done_ = true;
    have_ = 0;
  } else {
    have_ = 1;  // the look-ahead byte; moved to the front when the next segment opens
  }
  return {};
}

Result<Bytes> SealReader::next_chunk() {
  if (error_) return Error(*error_);
  if (plain_pos_ == plain_end_) {
    if (done_) {
      if (!sealed_sha256_ && hash_outer_) sealed_sha256_ = outer_.finish();
      return Bytes{};
    }
    if (have_ == 1) buf_[0] = buf_[size_t{header_.segment_size} + kTagSize];
    if (auto st = open_next_segment(); !st.ok()) {
      error_ = st.error();
      return std::move(st).error();
    }
    if (plain_pos_ == plain_end_) {  // the only segment, and empty
      if (!sealed_sha256_ && hash_outer_) sealed_sha256_ = outer_.finish();
      return Bytes{};
    }
  }
  Bytes out(buf_.data() + plain_pos_, plain_end_ - plain_pos_);
  plain_pos_ = plain_end_;
  return out;
}

Result<size_t> SealReader::read(MutableBytes buf) {
  if (error_) return Error(*error_);
  if (plain_pos_ == plain_end_) {
    Bytes chunk = TRY(next_chunk());
    if (chunk.empty()) return size_t{0};
    plain_pos_ = static_cast<size_t>(chunk.data() - buf_.data());  // un-consume
  }
  size_t n = std::min(buf.size(), plain_end_ - plain_pos_);
  std::memcpy(buf.data(), buf_.data() + plain_pos_, n);
  plain_pos_ += n;
  return n;
}

}  // namespace stacksnap::seal
