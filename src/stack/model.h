// The Compose model StackSnap works from: what one Compose project on this Engine is
// made of, as discovered from container and volume labels (stack/discovery.h) plus a
// light reading of the project's compose files.
//
// Values only; no behaviour beyond small lookups. Names and paths are as the Engine
// and the host know them: engine volume names, absolute host paths.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stacksnap::stack {

using Labels = std::map<std::string, std::string>;

// Labels StackSnap reads from services (compose `labels:`).
inline constexpr std::string_view kLabelEngine = "stacksnap.engine";                  // postgres|mysql|redis|none
inline constexpr std::string_view kLabelExclude = "stacksnap.exclude";                // "true": skip the service
inline constexpr std::string_view kLabelVolumeExclude = "stacksnap.volume.exclude";   // "key1,key2"
inline constexpr std::string_view kLabelVolumeInclude = "stacksnap.volume.include";   // "key1,key2"
inline constexpr std::string_view kLabelHookPrefix = "stacksnap.hook.";               // stacksnap.hook.pre-backup …

enum class Engine { kNone, kPostgres, kMysql, kRedis };
// How the engine was decided: the stacksnap.engine label, the image name, the server
// process seen by `top`, or nothing matched (kDefault, engine none).
enum class EngineSource { kDefault, kLabel, kImage, kProcess };

std::string_view engine_name(Engine e);            // "none", "postgres", "mysql", "redis"
std::optional<Engine> parse_engine(std::string_view s);
std::string_view engine_source_name(EngineSource s);  // "default", "label", "image", "process"

struct EngineDetection {
  Engine engine = Engine::kNone;
  EngineSource source = EngineSource::kDefault;
  std::string evidence;  // "label stacksnap.engine=postgres", "image postgres:16", "process redis-server"
};

enum class MountType { kVolume, kBind, kTmpfs, kOther };
std::string_view mount_type_name(MountType t);

struct Mount {
  MountType type = MountType::kOther;
  std::string source;       // volume: engine volume name; bind: host path; tmpfs: ""
  std::string destination;  // path inside the container
  bool read_only = false;
  std::string subpath;      // volume: the directory of it that is mounted (API 1.45+); "" = all
};

struct Container {
  std::string id;
  std::string name;
  std::string state;  // created|running|paused|restarting|removing|exited|dead
  std::string image;  // the reference it was created from
  std::string image_id;
  std::string health;  // "", starting, healthy, unhealthy
  Labels labels;
};

struct Service {
  std::string name;  // compose service key
  std::string image;
  EngineDetection engine;
  std::vector<Container> containers;  // ordered by container number, then name
  std::vector<Mount> mounts;          // of the first container (replicas share the spec)
  Labels labels;                      // of the first container (compose + user labels)
  std::map<std::string, std::string> hooks;  // "pre-backup" → command, from stacksnap.hook.*
  bool excluded = false;                     // stacksnap.exclude=true
  std::vector<std::string> volume_exclude;   // stacksnap.volume.exclude, split on ','
  std::vector<std::string> volume_include;   // stacksnap.volume.include, split on ','
  std::vector<std::string> env_files;        // absolute, from the compose files' env_file

  bool running() const;  // at least one container running or paused
};

struct VolumeUse {
  std::string service;
  std::string destination;
  bool read_only = false;
  std::string subpath;  // the directory of the volume mounted there (API 1.45+ `subpath`); "" = all of it
};

struct Volume {
  std::string key;   // compose key ("archive"); "" for an anonymous volume
  std::string name;  // engine name ("files-archive", "shop_dbdata")
  bool external = false;
  bool anonymous = false;
  std::string driver;
  std::map<std::string, std::string> driver_opts;
  Labels labels;
  std::vector<VolumeUse> used_by;
  bool excluded = false;  // named by a using service's stacksnap.volume.exclude
};

struct Bind {
  std::string host_path;
  std::string container_path;
  bool read_only = false;
  std::vector<std::string> services;
};

// A network the project's containers are attached to (network_mode host/none/container
// aside). `external`: not created by Compose for this project (`external: true`, or
// made by hand); a restore on a new host creates it when it is missing.
struct Network {
  std::string name;  // engine name ("shop_default", "proxy")
  std::string key;   // compose key (label com.docker.compose.network); "" for external ones
  bool external = false;
  std::string driver;
  std::vector<std::string> services;
};

enum class ProjectState { kRunning, kPartial, kStopped };
std::string_view project_state_name(ProjectState s);  // "running", "partial", "stopped"
// "v1" for a Compose version 1.x, "v2" for 2.x and later, "" when it is not a version.
std::string compose_flavour_of(std::string_view compose_version);

struct Project {
  std::string name;         // com.docker.compose.project, exactly
  std::string working_dir;  // absolute
  std::vector<std::string> config_files;  // absolute, in the order Compose was given them
  std::vector<std::string> env_files;     // absolute: the project's .env (if it exists), then services' env_file
  std::string environment_file;           // --env-file used at `up` (label), absolute, or ""
  std::vector<std::string> include_files;  // absolute: files pulled in by `include:` (not in the label)
  std::vector<std::string> missing_files;  // compose files the labels name that are not on this host
  std::string compose_version;            // "1.29.2", "2.29.1"
  ProjectState state = ProjectState::kStopped;
  std::vector<Service> services;  // sorted by name
  std::vector<Volume> volumes;    // sorted by key, then name
  std::vector<Bind> binds;        // sorted by host path, then container path
  std::vector<Network> networks;  // sorted by name
  std::vector<std::string> warnings;  // things discovery could not establish

  // Which Compose created the project, from compose_version: "v1" (1.x, the Python
  // docker-compose), "v2" (2.x and its renumbered successors 5.x…), "" when unknown.
  std::string compose_flavour() const;

  const Service* find_service(std::string_view name) const;
  const Volume* find_volume(std::string_view key_or_name) const;
};

}  // namespace stacksnap::stack
