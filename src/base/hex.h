// Hexadecimal digits and text: the one place that decodes them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace stacksnap {

// 0..15 for [0-9a-fA-F], -1 otherwise.
int hex_digit_value(char c);
// "6d7920646200" → bytes; nullopt for odd lengths or non-hex characters.
std::optional<std::string> hex_decode(std::string_view hex);

}  // namespace stacksnap
