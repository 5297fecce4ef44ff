// Where this process sees the files of the Docker Engine's host.
//
// StackSnap hands host paths to the Engine (bind-mount sources of restored projects and of
// drill sandboxes under <data-dir>/drills) and reads and writes the same paths itself
// (compose files, restored config files and bind mounts). That only works where a path
// names the same file for both:
//  - on the Engine's host, every path does;
//  - in a container of that Engine (the StackSnap image), only paths under a bind mount
//    whose host source is the same path (`-v /srv/shop:/srv/shop`). Anything else is the
//    container's own file system, gone with it, or a mount the Engine knows under another
//    path: written there, a restore would never reach the project it restores.
//
// HostView::detect(): this process is in a container when /proc/self/mountinfo shows the
// files the Engine bind-mounts into each of its containers (/etc/hostname, /etc/hosts,
// /etc/resolv.conf from <docker-root>/containers/<id>/); the Engine then reports that
// container's mounts. Without them (the Engine unreachable, or a container of another
// Engine) mountinfo still tells which paths are the container's own (kPrivate); whether
// the others are the host's at the same path cannot be known (kUnknown).
//
// Thread-safety: a HostView is an immutable value.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "docker/types.h"

namespace stacksnap::docker {

class Client;

enum class PathAccess {
  kSame,       // the Engine's host has this path as this process sees it
  kElsewhere,  // under a mount the host has at another path (a volume, `-v /a:/b`)
  kPrivate,    // only in this container's own file system (or a tmpfs)
  kUnknown,    // in a container the Engine does not know
};
std::string_view path_access_name(PathAccess a);  // "same" | "elsewhere" | "private" | "unknown"

class HostView {
 public:
  // This process runs on the Engine's host.
  static HostView host() { return HostView(); }
  // In container `id` (name without '/'), with the mounts the Engine reports for it
  // (known), or those of mountinfo (!known: mounts_from_mountinfo).
  static HostView container(std::string id, std::string name, std::vector<MountPoint> mounts, bool known);
  // Reads /proc/self/mountinfo; in a container, inspects it through `docker` (NotFound:
  // detect_local()). Other errors of the Engine are returned.
  static Result<HostView> detect(Client& docker);
  // /proc/self/mountinfo alone.
  static HostView detect_local();

  bool in_container() const { return in_container_; }
  bool known() const { return known_; }
  const std::string& container_id() const { return id_; }
  const std::string& container_name() const { return name_; }
  const std::vector<MountPoint>& mounts() const { return mounts_; }

  // `path` is absolute, as this process sees it.
  PathAccess access(const std::string& path) const;
  // Where the host has `path` (kSame: the path itself), when a mount tells.
  std::optional<std::string> host_path(const std::string& path) const;

  // OK on the host, or when every path is kSame (or kUnknown). Else FailedPrecondition
  // naming each other path, where it is instead, and the `docker run` option that
  // mounts it at the same path; `purpose` says what needs them ("restore shop").
  Status require_same_paths(const std::vector<std::string>& paths, std::string_view purpose) const;

 private:
  HostView() = default;
  const MountPoint* mount_of(const std::string& path) const;

  bool in_container_ = false;
  bool known_ = false;
  std::string id_, name_;
  std::vector<MountPoint> mounts_;
};

// The id of the container whose per-container files /proc/self/mountinfo shows ("" when
// there is none, i.e. not in a container of a Docker Engine).
std::string container_id_from_mountinfo(std::string_view mountinfo);
// The mounts in mountinfo text other than "/": type = file system type, destination =
// mount point, source = the mounted path inside its file system.
std::vector<MountPoint> mounts_from_mountinfo(std::string_view mountinfo);
// container_id_from_mountinfo of this process.
std::string this_container_id();

// The `docker run` option that mounts `path` at the same path: "-v /srv/shop:/srv/shop".
std::string same_path_mount_option(const std::string& path);

}  // namespace stacksnap::docker
