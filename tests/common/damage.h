// Test helper: damages a stored file the way a bad disk or a tampering provider would.
#pragma once

#include <fstream>
#include <string>

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

}  // namespace stacksnap::testing_damage
