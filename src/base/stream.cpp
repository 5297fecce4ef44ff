#include "base/stream.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace stacksnap {

Status read_exact(Reader& r, MutableBytes buf) {
  size_t done = 0;
  while (done < buf.size()) {
    size_t n = TRY(r.read(buf.subspan(done)));
    if (n == 0) {
      return data_loss("unexpected end of stream after " + std::to_string(done) + " of " +
                       std::to_string(buf.size()) + " bytes");
    }
    done += n;
  }
  return {};
}

Result<std::string> read_all(Reader& r, size_t limit) {
  std::string out;
  char tmp[16384];
  for (;;) {
    size_t n = TRY(r.read(MutableBytes(reinterpret_cast<std::byte*>(tmp), sizeof tmp)));
    if (n == 0) break;
    if (out.size() + n > limit) {
      return invalid_argument("stream is larger than the " + std::to_string(limit) + "-byte limit");
    }
    out.append(tmp, n);
  }
  return out;
}

Result<uint64_t> copy_stream(Reader& r, Writer& w, size_t buffer) {
  std::vector<std::byte> buf(buffer);
  uint64_t total = 0;
  for (;;) {
    size_t n = TRY(r.read(buf));
    if (n == 0) break;
    TRY(w.write(Bytes(buf.data(), n)));
    total += n;
  }
  return total;
}

Result<size_t> TeeReader::read(MutableBytes buf) {
  size_t n = TRY(in_.read(buf));
  if (n) TRY(copy_.write(Bytes(buf.data(), n)));
  bytes_ += n;
  return n;
}

Result<size_t> MemoryReader::read(MutableBytes buf) {
  size_t n = std::min(buf.size(), data_.size() - pos_);
  if (n) std::memcpy(buf.data(), data_.data() + pos_, n);
  pos_ += n;
  return n;
}

Result<size_t> LimitedReader::read(MutableBytes buf) {
  if (left_ == 0 || buf.empty()) return size_t{0};
  const size_t want = static_cast<size_t>(std::min<uint64_t>(left_, buf.size()));
  size_t n = TRY(in_.read(buf.first(want)));
  left_ -= n;
  return n;
}

}  // namespace stacksnap
