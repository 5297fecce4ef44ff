// Where the files of a volume or bind mount are on this host, when this process can open
// them there directly (the SQLite snapshots need the very inode the containers use).
#pragma once

#include <string>

#include "docker/client.h"

namespace stacksnap::docker {

struct HostPath {
  std::string path;    // "" when not reachable here
  std::string reason;  // why not
};

// Volumes: the local driver, the Engine on a unix socket, its Mountpoint visible here.
// Bind mounts: the Engine on a unix socket, the host path visible here.
HostPath host_path_of(Client& docker, MountSpec::Type type, const std::string& source);

}  // namespace stacksnap::docker
