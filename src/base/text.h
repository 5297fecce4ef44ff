// Small text helpers every layer uses: one copy each.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stacksnap {

// "a, b, c" for join({"a","b","c"}, ", "); "" for an empty list.
std::string join(const std::vector<std::string>& parts, std::string_view sep);

// The comma-separated items of `s`, each without the characters of `trim` at either end;
// empty items are dropped ("a, b,,c" → {"a", "b", "c"}). Label values use it.
std::vector<std::string> split_list(std::string_view s, std::string_view trim = " ");

// `s` without spaces, tabs, CR and LF at either end.
std::string_view trim_space(std::string_view s);

// Binary units, one decimal: "512 B", "1.5 KiB", "3.0 GiB" (up to TiB).
// Strict UTF-8 (what JSON text may hold): no overlong forms, no surrogates, nothing above
// U+10FFFF, no truncated sequence.
bool is_valid_utf8(std::string_view s);

std::string human_bytes(uint64_t n);

// `bytes` random bytes from the kernel's CSPRNG (getrandom(2)) as lowercase hex (2 ×
// bytes characters): tokens, probe names, backup ID suffixes. Aborts when the kernel
// cannot give randomness (nothing sensible can continue without it).
std::string random_hex(size_t bytes);

}  // namespace stacksnap
