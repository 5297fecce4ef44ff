// The stable JSON form of the Compose model (documented in docs/CLI.md, "projects").
// Field names never change meaning; new fields may be added.
#pragma once

#include <nlohmann/json.hpp>

#include "stack/model.h"

namespace stacksnap::stack {

inline constexpr const char* kProjectsSchema = "stacksnap.projects/v1";

nlohmann::ordered_json to_json(const Project& p);

}  // namespace stacksnap::stack
