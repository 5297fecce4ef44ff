#include "storage/target.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace stacksnap::storage {

Status validate_key(const std::string& key) {
  if (key.empty()) return invalid_argument("empty object key");
  if (key.front() == '/') return invalid_argument("object key must be relative: " + key);
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string::npos) end = key.size();
    std::string_view seg(key.data() + start, end - start);
    if (seg.empty() || seg == "." || seg == "..") return invalid_argument("bad object key: " + key);
    start = end + 1;
  }
  for (unsigned char c : key) {
    if (c < 0x20 || c == 0x7f) return invalid_argument("object key has a control character: " + key);
  }
  return {};
}

Status Target::put_file(const std::string& key, int fd, uint64_t size, const PutFileOptions& opts) {
  constexpr size_t kChunk = 1 << 20;
  auto up = TRY(put(key, size));
  std::stop_callback on_stop(opts.stop, [&up] { up->request_cancel(); });
  std::vector<std::byte> buf(static_cast<size_t>(std::min<uint64_t>(kChunk, std::max<uint64_t>(size, 1))));
  uint64_t off = 0;
  while (off < size) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - off));
    ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read the file to store as " + key, errno);  // `up` aborts
    if (n == 0) {
      return data_loss("the file to store as " + key + " ended at " + std::to_string(off) + " bytes, " +
                       std::to_string(size) + " were announced (was it changed meanwhile?)");
    }
    TRY(up->write(Bytes(buf.data(), static_cast<size_t>(n))));
    off += static_cast<uint64_t>(n);
    if (opts.progress) TRY(opts.progress(off));
  }
  Status st = up->commit();
  if (!st.ok() && opts.stop.stop_requested()) return cancelled("upload of " + key + " cancelled");
  return st;
}

Status put_small(Target& t, const std::string& key, std::string_view content) {
  auto up = TRY(t.put(key, content.size()));
  TRY(up->write(as_bytes(content)));
  return up->commit();
}

Result<std::string> get_small(Target& t, const std::string& key, size_t limit) {
  auto r = TRY(t.get(key));
  return TRY_CTX(read_all(*r, limit), "read " + key);
}

}  // namespace stacksnap::storage
