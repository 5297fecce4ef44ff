#include "chunks/chunker.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <string>

namespace stacksnap::chunks {

namespace {

constexpr uint64_t kMaskSmall = ~uint64_t{0} << (64 - kBitsSmall);
constexpr uint64_t kMaskLarge = ~uint64_t{0} << (64 - kBitsLarge);
constexpr size_t kReadAhead = 1024 * 1024;  // room past the longest chunk: at least this much is read at once

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
  if (buf_.size() < kMaxSize + kReadAhead) buf_.resize(kMaxSize + kReadAhead);
}

// Called only when the bytes after begin_ hold no cut point (fewer than kMaxSize of them):
// those go to the front of the buffer, the rest of it is filled.
Status ChunkReader::fill() {
  if (begin_ > 0) {
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

// A cut point depends only on the bytes before it (cut() scans from the chunk's start),
// so cutting what is in the buffer first and reading only when no cut point is there
// gives the chunks a buffer of any size would.
Result<Bytes> ChunkReader::next() {
  for (;;) {
    const Bytes avail(buf_.data() + begin_, end_ - begin_);
    if (avail.empty() && eof_) return Bytes();
    const size_t len = chunker_.cut(avail, eof_);
    if (len > 0) {
      begin_ += len;
      return avail.first(len);
    }
    TRY(fill());  // fewer than kMaxSize bytes left, none a cut point, more to come
  }
}

}  // namespace stacksnap::chunks
