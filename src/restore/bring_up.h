// Bringing a restored project up the way it ran when it was backed up: what has to be
// on the host first (its compose files, its external networks), which services start
// (exactly those that had containers: services of a profile that was not active stay
// down, and are not missed), and waiting until they are healthy.
//
// Compose v2 shapes this covers (compose-notes §5): `up -d SVC…` naming services also
// enables their profiles; depends_on `condition: service_healthy` makes Compose wait
// for a dependency's healthcheck, but nothing waits for the services at the top of the
// graph, nor for a database service started on its own before its dump is replayed.
#pragma once

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "docker/client.h"
#include "job/context.h"
#include "restore/placement.h"

namespace stacksnap::restore {

// FailedPrecondition naming every compose file the restore needs (the project's
// config_files and the files of its `include:` entries) that is neither in the backup
// (it was not on the host when the backup was made) nor on this host now, what to do
// about it, and that nothing was changed. OK when every file is in the backup or on
// the host (in place: at its original path).
Status check_compose_files(const nlohmann::json& plan, const Placement& placement, const std::string& backup_id);

// Creates each external network the plan names (networks the project's containers were
// attached to that Compose did not create for it) that this host lacks, with the same
// driver. Returns the names created.
Result<std::vector<std::string>> ensure_external_networks(docker::Client& docker, const nlohmann::json& plan,
                                                          job::Context& ctx);

// The services that had containers when the backup was made (all of them are named to
// `compose up`: that also enables their profiles), and those of them that were running.
struct ServicesToStart {
  std::vector<std::string> all;
  std::set<std::string> running;
};
ServicesToStart services_to_start(const nlohmann::json& plan);

inline constexpr std::chrono::seconds kHealthTimeout{300};

// Waits until every service in `must_run` has a running container and every running
// container of `services` whose image or service defines a healthcheck reports
// healthy. FailedPrecondition at once when a container of a service in `must_run` has
// exited (naming it and its exit code); DeadlineExceeded after `timeout`, naming each
// service that is not there yet with its state and its last healthcheck output;
// Cancelled on a stop request.
Status wait_until_healthy(docker::Client& docker, const std::string& project, const std::vector<std::string>& services,
                          const std::set<std::string>& must_run, std::chrono::seconds timeout, job::Context& ctx);

}  // namespace stacksnap::restore
