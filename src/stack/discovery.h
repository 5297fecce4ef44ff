// Compose discovery: the projects on this Engine, built from labels.
//
// Sources, in order of trust:
//  - containers labelled com.docker.compose.project (one-off `run` containers and
//    containers without com.docker.compose.config-hash are ignored, as Compose v2
//    does); stopped and never-started containers count: stopped projects are listed;
//  - container inspect: image, state, mounts (tmpfs is recorded on the service but
//    never becomes a volume or bind), labels (hooks, exclusions, stacksnap.engine);
//  - volumes labelled with the project, and every volume a container mounts
//    (external and anonymous ones included);
//  - the compose files named by com.docker.compose.project.config_files (v1: relative
//    to working_dir; v2: absolute), read lightly for what labels lack: each volume's
//    compose key when v1 wrote a `name:` into com.docker.compose.volume, `external`,
//    and services' env_file. A file that cannot be read becomes a project warning.
//
// Volume key strategy (identify_volume): a declared volume whose Compose-derived engine
// name matches wins; else the com.docker.compose.volume label (v2, and v1 without
// `name:`); else a 64-hex name is anonymous; else the volume is external, keyed by its
// name. When only a v1 label holding the custom name is left, that name is the key and
// a warning says so.
//
// Files (compose files, .env, env_file) are read from the local filesystem: with a
// remote DOCKER_HOST they are usually absent and discovery reports warnings instead.
//
// Thread-safety: stateless functions; the Client is used from the calling thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "docker/client.h"
#include "stack/compose_file.h"
#include "stack/model.h"

namespace stacksnap::stack {

struct DiscoverOptions {
  bool detect_by_process = true;   // GET top on running containers when label and image are silent
  bool read_compose_files = true;  // read config files (volume keys, external, env_file)
};

// Every Compose project with at least one container, sorted by name.
Result<std::vector<Project>> discover_projects(docker::Client& docker, const DiscoverOptions& options = {});

// One project. NotFound: "no Compose project named 'x'; projects on this engine: files, shop, wiki".
Result<Project> discover_project(docker::Client& docker, std::string_view name,
                                 const DiscoverOptions& options = {});

// ---- pure parts (unit-tested) ---------------------------------------------------

// "a.yml,b.yml" relative to working_dir (v1) or absolute (v2) → absolute, normalised,
// in order, without duplicates; "-" (stdin) is dropped.
//
// v1 writes the paths relative to the directory it ran in, which is not the working dir
// when it ran elsewhere (`cd .. && docker-compose -p x -f stack/docker-compose.yml up`):
// its working dir is then the first file's directory, so that file's directory part
// tells where it ran ("stack/…": in the working dir's parent; "../stack/…": in a
// sibling). Each relative path is resolved both ways; `exists` (when given) picks the
// one on disk, else the "ran elsewhere" reading wins for paths with a directory part.
std::vector<std::string> resolve_config_files(std::string_view label, std::string_view working_dir,
                                              const std::function<bool(const std::string&)>& exists = {});
// Absolute paths normalised; relative ones joined onto base first.
std::string resolve_path(std::string_view path, std::string_view base);

struct VolumeIdentity {
  std::string key;
  bool external = false;
  bool anonymous = false;
  bool key_guessed = false;  // v1 custom-name label without a readable compose file
};
VolumeIdentity identify_volume(std::string_view engine_name, const Labels& volume_labels, std::string_view project,
                               const ComposeFile* compose);

ProjectState project_state(const std::vector<Service>& services);

}  // namespace stacksnap::stack
