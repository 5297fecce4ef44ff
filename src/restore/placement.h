// Where a backup's pieces land on this host: the target project name, its working dir,
// the Docker name of every volume, the host path of every bind mount and config file.
// Pure: computed from plan.json and the restore mode, before anything is changed.
//
//  - kInPlace: the original project name. Config files go back to their paths, or under
//    --to DIR (files under the original working dir keep their relative place; others
//    go to DIR/_host/<absolute path>); binds under the working dir follow it, others
//    stay at their host paths. Volumes keep their names (external ones stay external).
//  - kCopy (--as NEW) and kDrill: a new project beside the original that must never
//    touch it. Everything lives under the new working dir: binds under the original
//    working dir follow, others go to DIR/_binds/<index>; every volume becomes the
//    project volume NEW_<key> (also `name:` and external ones). Compose runs from a
//    generated file (sandbox_compose) that applies these renames.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace stacksnap::restore {

using Json = nlohmann::json;

enum class Mode { kInPlace, kCopy, kDrill };
std::string_view mode_name(Mode m);

struct VolumeTarget {
  std::string archive_dir;  // "volumes/<original name>"
  std::string source_name;  // the original Docker name
  std::string name;         // the Docker name it is restored under
  std::string key;          // compose key
  bool external = false;    // created without Compose labels
  std::string driver = "local";
  std::map<std::string, std::string> driver_opts;
  std::map<std::string, std::string> labels;  // user labels from the compose file
};

struct BindTarget {
  int index = 0;
  std::string archive_dir;       // "binds/<index>"
  std::string source_host_path;  // as backed up
  std::string host_path;         // where it goes now
};

struct ConfigTarget {
  std::string archive_path;  // "config/<path>"
  std::string source_path;
  std::string host_path;
  std::string role;
};

struct Placement {
  Mode mode = Mode::kInPlace;
  std::string source_project, project;
  std::string source_working_dir, working_dir;
  std::vector<VolumeTarget> volumes;
  std::vector<BindTarget> binds;
  std::vector<ConfigTarget> configs;
  std::vector<std::string> compose_files;  // kInPlace: the restored files, in order
  std::string env_file;                    // kInPlace: the restored --env-file, if any
  std::vector<std::string> warnings;

  const VolumeTarget* volume_for_dir(std::string_view dir) const;
  const BindTarget* bind_for_dir(std::string_view dir) const;
  const ConfigTarget* config_for(std::string_view archive_path) const;
};

// `working_dir` empty: the original one (kInPlace only; the others need a directory).
Result<Placement> make_placement(const Json& plan, Mode mode, const std::string& project,
                                 const std::string& working_dir);

// The project name as Compose v2 validates it: lowercase [a-z0-9_-], starting with a
// letter or digit. InvalidArgument otherwise.
Status check_project_name(const std::string& name);

// Rewrites the output of `compose config` (parsed to JSON) for a kCopy/kDrill project:
// drops container_name; renames volumes as `p` says (name: removed, external volumes
// made project volumes); binds whose source is a backed-up host path are redirected to
// their new place (file-based configs and secrets too); networks' `name:` removed.
// With strip_ports (drills) also: no published ports, external networks detached.
// Numbers Compose's schema wants as numbers (retries, published ports…) are converted
// back from libyaml's strings.
Result<Json> sandbox_compose(Json config, const Placement& p, bool strip_ports);

// "a/b" when `path` is `dir` + "/a/b"; "" when equal; nullopt when not below.
std::optional<std::string> relative_to(const std::string& path, const std::string& dir);

}  // namespace stacksnap::restore
