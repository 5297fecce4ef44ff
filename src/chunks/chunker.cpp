#include "chunks/chunker.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <string>

namespace stacksnap::chunks {

namespace {

constexpr uint64_t kMaskSmall = ~uint64_t{0} << (64 - kBitsSmall);
constexpr uint64_t kMaskLarge = ~uint64_t{0} << (64 - kBitsLarge);
constexpr size_t kReadAhead = 4 * 1024 * 1024;  // bytes read past a chunk at once

}  // namespace

Result<Chunker> Chunker::create(const ChunkerKey& key) {
  Chunker c;
  const std::string label = "stacksnap chunker gear";
  for (int i = 0; i < 256; ++i) {
    std::string msg = label;
    msg.push_back(static_cast<char>(i));
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(msg.data()),
             msg.size(), mac, &len) == nullptr ||
        len < 8) {
      return internal_error("chunker: HMAC-SHA-256 failed");
    }
    uint64_t g = 0;
    std::memcpy(&g, mac, 8);
    c.gear_[static_cast<size_t>(i)] = g;
  }
  return c;
}

size_t Chunker::cut(Bytes data, bool at_end) const {
  const size_t n = data.size();
  if (n <= kMinSize) return at_end ? n : 0;
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  const size_t limit = n < kMaxSize ? n : kMaxSize;
  const size_t normal = limit < kNormalSize ? limit : kNormalSize;
  uint64_t fp = 0;
  size_t i = kMinSize;
  for (; i < normal; ++i) {
    fp = (fp << 1) + gear_[p[i]];
    if ((fp & kMaskSmall) == 0) return i + 1;
  }
  for (; i < limit; ++i) {
    fp = (fp << 1) + gear_[p[i]];
    if ((fp & kMaskLarge) == 0) return i + 1;
  }
  if (limit == kMaxSize) return kMaxSize;
  return at_end ? n : 0;
}

ChunkReader::ChunkReader(const Chunker& chunker, Reader& in, std::vector<std::byte>* buffer)
    : chunker_(chunker), in_(in), buf_(buffer ? *buffer : own_) {
  if (buf_.size() < 2 * kMaxSize + kReadAhead) buf_.resize(2 * kMaxSize + kReadAhead);
}

Status ChunkReader::fill() {
  if (begin_ > 0 && buf_.size() - begin_ < kMaxSize + kReadAhead) {  // too little room after begin_
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  while (!eof_ && end_ < buf_.size()) {
    size_t got = TRY(in_.read(MutableBytes(buf_.data() + end_, buf_.size() - end_)));
    if (got == 0) eof_ = true;
    end_ += got;
  }
  return {};
}

Result<Bytes> ChunkReader::next() {
  if (end_ - begin_ < kMaxSize && !eof_) TRY(fill());
  if (begin_ == end_) return Bytes();
  const Bytes avail(buf_.data() + begin_, end_ - begin_);
  size_t len = chunker_.cut(avail, eof_);
  if (len == 0) len = avail.size();  // cannot happen: fill() left kMaxSize bytes or the end
  const Bytes chunk = avail.first(len);
  begin_ += len;
  return chunk;
}

}  // namespace stacksnap::chunks
