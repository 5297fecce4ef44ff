// Secrets on the wire: random tokens, their digests, constant-time comparison.
// Secrets never appear in logs or error messages; only their SHA-256 is stored.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/text.h"

namespace stacksnap::http {


// SHA-256 of `data`, lower-case hex (64 chars).
std::string sha256_hex(std::string_view data);

// true iff a == b. The time taken depends only on the lengths, not on the contents.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace stacksnap::http
