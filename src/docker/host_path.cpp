#include "docker/host_path.h"

#include <sys/stat.h>

namespace stacksnap::docker {

HostPath host_path_of(Client& docker, MountSpec::Type type, const std::string& source) {
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
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) {
    return {"", (path.empty() ? std::string("the Engine names no host path") : path + " is not visible here") +
                    " (does StackSnap run in another mount namespace than the Engine?)"};
  }
  return {path, ""};
}

}  // namespace stacksnap::docker
