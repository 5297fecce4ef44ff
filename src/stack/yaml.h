// YAML → nlohmann::json, for reading compose files (libyaml's event parser).
//
// The first document only. Mappings become objects (keys as their text), sequences
// arrays. Scalars: quoted → string; plain true/false (any case), yes/no/on/off →
// booleans (YAML 1.1, as Compose v1 reads them); plain null/~/empty → null;
// everything else a string (numbers included, verbatim). Anchors, aliases and merge
// keys (<<) are resolved. InvalidArgument with line:column on a syntax error.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace stacksnap::stack {

inline constexpr size_t kMaxYamlBytes = 4 << 20;

Result<nlohmann::json> parse_yaml(std::string_view text);

}  // namespace stacksnap::stack
