// Lexical path relations (no file system access, no symlinks resolved): one rule for
// every layer that asks whether a path lies inside a directory.
#pragma once

#include <string_view>

namespace stacksnap {

// `path` is `dir` itself or lies below it ("/srv/app" and "/srv/app/data" are within
// "/srv/app", "/srv/application" is not). Trailing slashes of `dir` do not matter; every
// absolute path is within "/"; nothing is within "".
bool path_within(std::string_view path, std::string_view dir);

}  // namespace stacksnap
