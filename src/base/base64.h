// Standard base64 (RFC 4648, padded), as Go's base64.StdEncoding writes it.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace stacksnap {

std::string base64_encode(std::string_view in);
// Whitespace is ignored. InvalidArgument "not valid base64" otherwise.
Result<std::string> base64_decode(std::string_view in);

}  // namespace stacksnap
