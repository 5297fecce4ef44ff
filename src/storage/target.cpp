#include "storage/target.h"

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
