#include "docker/host_path.h"

#include <sys/stat.h>

namespace stacksnap::docker {

HostPath host_path_of(Client& docker, const HostView& view, MountSpec::Type type, const std::string& source) {
  if (docker.endpoint().kind != Endpoint::Kind::kUnix) {
    return {"", "the Docker Engine is reached over TCP (" + docker.endpoint().uri + "), its files are not on this host"};
  }
  std::string path = source;
  if (type == MountSpec::Type::kVolume) {
    auto info = docker.inspect_volume(source);
    if (!info.ok()) return {"", "inspect volume " + source + ": " + info.error().message()};
    if (info->driver != "local") return {"", "volume driver " + info->driver + " keeps its files elsewhere"};
    path = info->mountpoint;
  }
  if (path.empty()) return {"", "the Engine names no host path"};
  // In a container, a path is the host's file only under a same-path bind mount; anywhere
  // else it may exist here too and be another file (the container's own).
  switch (view.access(path)) {
    case PathAccess::kSame: break;
    case PathAccess::kElsewhere:
      return {"", path + " is mounted into this container from elsewhere, not at the same path (mount it with " +
                      same_path_mount_option(path) + ")"};
    case PathAccess::kPrivate:
      return {"", path + " is not mounted into this container (mount it with " + same_path_mount_option(path) + ")"};
    case PathAccess::kUnknown:
      return {"", "this process runs in a container the Engine does not know; " + path +
                      " here may not be the Engine's file"};
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return {"", path + " is not visible here (does StackSnap run in another mount namespace than the Engine?)"};
  }
  return {path, ""};
}

HostPaths::HostPaths(Client& docker) : docker_(docker) {
  auto view = HostView::detect(docker);
  if (view.ok()) {
    view_ = std::move(*view);
  } else {
    view_error_ = "find where this process runs: " + view.error().message();
  }
}

HostPath HostPaths::of(MountSpec::Type type, const std::string& source) const {
  if (!view_) return {"", view_error_};
  return host_path_of(docker_, *view_, type, source);
}

}  // namespace stacksnap::docker
