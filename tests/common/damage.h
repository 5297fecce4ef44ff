// Test helper: damages a stored file the way a bad disk or a tampering provider would.
#pragma once

#include <fstream>
#include <string>
#include <string_view>

#include "storage/target.h"

namespace stacksnap::testing_damage {

// Flips one bit (0x20) of the byte in the middle of the file at `path`.
inline void flip_middle_byte(const std::string& path) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(0, std::ios::end);
  const auto middle = f.tellg() / 2;
  f.seekg(middle);
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x20);
  f.seekp(middle);
  f.write(&c, 1);
}

// Flips the bits `mask` of the byte at size / `divisor` of the largest object under `prefix`
// on `target` ("data/": a pack). Returns its key, "" when there is none or it cannot be
// rewritten.
inline std::string flip_byte_of_largest(storage::Target& target, std::string_view prefix, size_t divisor = 2,
                                        char mask = 0x20) {
  std::string largest;
  uint64_t size = 0;
  auto listed = target.list(std::string(prefix), [&](const storage::ObjectInfo& o) -> Status {
    if (o.size > size) largest = o.key, size = o.size;
    return {};
  });
  if (!listed.ok() || largest.empty()) return "";
  auto bytes = storage::get_small(target, largest, 1u << 30);
  if (!bytes.ok() || bytes->empty()) return "";
  std::string damaged = std::move(*bytes);
  damaged[damaged.size() / divisor] ^= mask;
  return storage::put_small(target, largest, damaged).ok() ? largest : "";
}

}  // namespace stacksnap::testing_damage
