// Removing what a copy restore or a drill created: its containers, volumes and networks
// (all carry its Compose project label), so that a failed copy restore or any drill
// leaves nothing behind on the host. Never used on an existing project: only on a
// project name that the restore itself brought to life.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "docker/client.h"
#include "job/context.h"

namespace stacksnap::restore {

// `compose down -v --remove-orphans` with the generated compose file when it exists (runs
// even after a cancel), then whatever still carries the project label: containers
// (forced, with anonymous volumes), volumes, networks. Returns one line per thing done
// or failed; never fails itself.
nlohmann::json remove_project(docker::Client& docker, const std::string& project, const std::string& working_dir,
                              const std::string& compose_cache, job::Context& ctx);

}  // namespace stacksnap::restore
