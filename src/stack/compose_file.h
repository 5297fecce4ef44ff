// What discovery reads from a project's compose files, which the Engine's labels do
// not carry: each volume's compose key, `name:` and `external`, driver and options,
// each service's env_file entries (and which of them are `required: false`), and the
// top-level `include:` entries (Compose v2.20+; their files are not in the
// config_files label). Read "lightly": no schema validation, no profiles or extends;
// several files merge as Compose merges them (later files win per key; env_file lists
// are concatenated without duplicates).
//
// Interpolation (${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?msg}, $VAR, $$) uses
// the project's .env only: the shell environment Compose ran in is unknown to us.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace stacksnap::stack {

using EnvMap = std::map<std::string, std::string>;

struct ComposeVolume {
  std::string key;
  std::optional<std::string> name;  // `name:` (or external.name, the legacy form)
  bool external = false;
  std::string driver;
  std::map<std::string, std::string> driver_opts;
  std::map<std::string, std::string> labels;
};

struct ComposeService {
  std::vector<std::string> env_files;  // as written, interpolated (relative to the project dir)
  std::set<std::string> optional_env_files;  // those of env_files given with `required: false`
};

// One entry of the top-level `include:` (short form: one path).
struct ComposeInclude {
  std::vector<std::string> paths;      // as written, interpolated (relative to the including project's dir)
  std::string project_directory;       // "" = the directory of the first path
  std::vector<std::string> env_files;  // the entry's env_file, as written
};

struct ComposeFile {
  std::map<std::string, ComposeVolume> volumes;
  std::map<std::string, ComposeService> services;
  std::vector<ComposeInclude> includes;
};

// Parses a .env file: KEY=VALUE lines, `export ` prefixes, # comments, single and
// double quotes (double quotes understand \n, \t, \", \\).
EnvMap parse_dotenv(std::string_view text);

// Compose variable interpolation with `env`; unknown variables become "".
std::string interpolate(std::string_view s, const EnvMap& env);

// Extracts volumes and services' env_file from one parsed compose document.
Result<ComposeFile> read_compose_document(const nlohmann::json& doc, const EnvMap& env);

// Merges `next` over `base` (Compose override semantics, for the fields above).
void merge_compose(ComposeFile& base, const ComposeFile& next);

// The engine name Compose gives a declared volume: name: verbatim, else
// external → key, else "<project>_<key>" (project with leading '-'/'_' stripped, as v1 does).
std::string volume_engine_name(const ComposeVolume& v, std::string_view project);

}  // namespace stacksnap::stack
