// Typed values the Engine API client returns and accepts. Parsed defensively: a
// field missing in some API version keeps its default (engine-api-notes §1.3).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace stacksnap::docker {

using Labels = std::map<std::string, std::string>;

struct VersionInfo {
  std::string version;          // "20.10.24+dfsg1"
  std::string api_version;      // the daemon's maximum, "1.41"
  std::string min_api_version;  // "1.12"
  std::string os, arch, kernel_version;
};

// One mount of a container, as inspect/list report it.
struct MountPoint {
  std::string type;         // "volume", "bind", "tmpfs", "npipe", …
  std::string name;         // volume name (type volume)
  std::string source;       // host path (bind; for volumes the volume's _data dir)
  std::string destination;  // path inside the container
  std::string driver;       // volume driver
  std::string mode;         // "rw", "ro", "z", "" …
  bool rw = true;
  std::string propagation;
  // API 1.45+ (Engine 26): the directory inside the volume that is mounted, from
  // HostConfig.Mounts[].VolumeOptions.Subpath (inspect only); "" = the whole volume.
  std::string subpath;
};

struct ContainerSummary {
  std::string id;
  std::string name;  // first name, without the leading '/'
  std::string image;
  std::string image_id;
  std::string command;
  int64_t created = 0;  // unix seconds
  std::string state;    // created|running|paused|restarting|removing|exited|dead
  std::string status;   // "Up 3 minutes"
  Labels labels;
  std::vector<MountPoint> mounts;
};

struct ContainerState {
  std::string status;  // as ContainerSummary::state
  bool running = false;
  bool paused = false;
  bool restarting = false;
  int exit_code = 0;
  int64_t pid = 0;
  std::string started_at, finished_at;  // RFC 3339
  std::string health;                   // "", "starting", "healthy", "unhealthy"
  std::string health_output;            // output of the last healthcheck run (State.Health.Log)
};

struct ContainerInfo {
  std::string id;
  std::string name;      // without the leading '/'
  std::string image;     // Config.Image: the reference it was created from
  std::string image_id;  // Image: "sha256:…"
  std::string created;   // RFC 3339
  ContainerState state;
  Labels labels;
  std::vector<std::string> env;
  std::vector<std::string> cmd;
  std::vector<std::string> entrypoint;
  std::string working_dir;
  std::string user;
  std::vector<MountPoint> mounts;
  std::map<std::string, std::string> tmpfs;  // HostConfig.Tmpfs: path → options
  std::string network_mode;
  std::vector<std::string> networks;  // NetworkSettings.Networks keys (network names), sorted
  bool tty = false;
};

struct TopResult {
  std::vector<std::string> titles;
  std::vector<std::vector<std::string>> processes;
};

struct VolumeInfo {
  std::string name;
  std::string driver;
  std::string mountpoint;
  std::string created_at;
  std::string scope;
  Labels labels;
  std::map<std::string, std::string> options;
};

struct NetworkSummary {
  std::string id;
  std::string name;
  Labels labels;
  std::string driver;
};

struct CreateNetworkOptions {
  std::string name;
  std::string driver;  // "" = the Engine's default (bridge)
  Labels labels;
};

struct ImageSummary {
  std::string id;
  std::vector<std::string> repo_tags;
  std::vector<std::string> repo_digests;
  int64_t created = 0;
  int64_t size = 0;
  Labels labels;
};

struct ImageInfo {
  std::string id;
  std::vector<std::string> repo_tags;
  std::vector<std::string> repo_digests;
  std::string created;  // RFC 3339
  int64_t size = 0;
  std::string os, architecture;
  Labels labels;
  std::vector<std::string> env;
  std::vector<std::string> cmd;
  std::vector<std::string> entrypoint;
  std::string user;
  std::string working_dir;
  std::vector<std::string> volumes;  // Config.Volumes keys
};

struct ExecInspect {
  std::string id;
  std::string container_id;
  bool running = false;
  std::optional<int> exit_code;  // null until the process exited
  int64_t pid = 0;
};

// X-Docker-Container-Path-Stat, decoded. `mode` keeps Go's os.FileMode bits.
struct PathStat {
  std::string name;
  int64_t size = 0;
  uint32_t mode = 0;
  std::string mtime;        // RFC 3339
  std::string link_target;  // resolved absolute path inside the container, for symlinks

  static constexpr uint32_t kGoModeDir = 1u << 31;
  static constexpr uint32_t kGoModeSymlink = 1u << 27;
  bool is_dir() const { return (mode & kGoModeDir) != 0; }
  bool is_symlink() const { return (mode & kGoModeSymlink) != 0; }
  // POSIX st_mode (type bits + permission/setuid/setgid/sticky bits).
  uint32_t posix_mode() const;
};

struct Event {
  std::string type;    // "container", "volume", "image", …
  std::string action;  // "pause", "exec_die", "exec_start: sh -c …"
  std::string actor_id;
  std::map<std::string, std::string> attributes;
  std::string scope;
  int64_t time = 0;       // unix seconds
  int64_t time_nano = 0;  // unix nanoseconds
};

// ---- requests --------------------------------------------------------------

// label filters: "key" (present) or "key=value"; AND-ed by the Engine.
struct ListContainersOptions {
  bool all = true;  // include stopped containers
  std::vector<std::string> labels;
  std::vector<std::string> names;  // substring filters, as the Engine does them
};

struct MountSpec {
  enum class Type { kVolume, kBind, kTmpfs };
  Type type = Type::kVolume;
  std::string source;  // volume name or host path (ignored for tmpfs)
  std::string target;
  bool read_only = false;
  bool no_copy = true;  // volume: never pre-fill an empty volume from the image (notes §4.5)
};

struct CreateContainerOptions {
  std::string name;  // empty: the Engine picks one
  std::string image;
  std::vector<std::string> cmd;
  std::optional<std::vector<std::string>> entrypoint;  // set to override the image's
  std::vector<std::string> env;
  Labels labels;
  std::string user;
  std::string working_dir;
  std::vector<MountSpec> mounts;
  std::string network_mode = "none";
  bool open_stdin = false;
};

struct RemoveContainerOptions {
  bool force = true;
  bool remove_volumes = false;  // anonymous volumes only, as the Engine does it
};

struct CreateVolumeOptions {
  std::string name;
  std::string driver = "local";
  std::map<std::string, std::string> driver_opts;
  Labels labels;
};

struct ExecOptions {
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "K=V", added to the container's environment
  std::string user;              // default: the container's user
  std::string working_dir;       // default: the container's working dir
  // After the output ended, how long to poll for the exit code (notes §2.5).
  std::chrono::milliseconds exit_code_deadline{30000};
};

struct ExecOutput {
  int exit_code = 0;
  std::string out;
  std::string err;
};

using EventFilters = std::map<std::string, std::vector<std::string>>;

}  // namespace stacksnap::docker
