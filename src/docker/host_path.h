// Where the files of a volume or bind mount are on this host, when this process can open
// them there directly (the SQLite snapshots need the very inode the containers use).
#pragma once

#include <optional>
#include <string>

#include "docker/client.h"
#include "docker/host_view.h"

namespace stacksnap::docker {

struct HostPath {
  std::string path;    // "" when not reachable here
  std::string reason;  // why not
};

// Volumes: the local driver, the Engine on a unix socket, its Mountpoint visible here.
// Bind mounts: the Engine on a unix socket, the host path visible here. In a container
// (HostView), only a path the host has at the same path (PathAccess::kSame) counts.
HostPath host_path_of(Client& docker, const HostView& view, MountSpec::Type type, const std::string& source);
// host_path_of() for several sources, with this process's HostView::detect() done once.
class HostPaths {
 public:
  explicit HostPaths(Client& docker);
  HostPath of(MountSpec::Type type, const std::string& source) const;

 private:
  Client& docker_;
  std::optional<HostView> view_;
  std::string view_error_;  // when view_ is empty
};

}  // namespace stacksnap::docker
