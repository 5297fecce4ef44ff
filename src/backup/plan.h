// What one backup of a Compose project will contain, decided before anything runs:
// database dumps, volumes and bind mounts to capture, config files, hooks, and the
// containers Safe Mode pauses. Pure: built from the discovered stack::Project.
// Its JSON is stacksnap/plan.json, the first entry of the archive, and carries no
// secrets (no environment values).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "stack/model.h"

namespace stacksnap::backup {

using Json = nlohmann::json;

struct BackupOptions {
  bool safe_mode = false;
  bool include_db_volumes = false;
  std::chrono::seconds hook_timeout{60};
};

struct DumpTask {
  std::string service;
  std::string engine;  // postgres | mysql | redis
  std::string container_id;
  std::string container_name;
};

struct VolumeTask {
  std::string name;  // engine name
  std::string key;   // compose key
  bool external = false;
  std::string driver;
  std::map<std::string, std::string> driver_opts;
  std::map<std::string, std::string> labels;  // user labels (Compose's own stripped)
  std::vector<stack::VolumeUse> used_by;
  std::string helper_image;  // an image on this engine to create the capture helper from
  std::string archive_dir;   // "volumes/<name>"
};

struct BindTask {
  int index = 0;
  std::string host_path;
  std::string container_path;
  bool read_only = false;
  bool inside_project = false;  // under the project's working dir
  std::vector<std::string> services;
  std::string helper_image;
  std::string archive_dir;  // "binds/<index>"
};

struct ConfigFile {
  std::string path;  // absolute host path
  std::string role;  // compose | include | dotenv | env_file
  std::string archive_path;  // "config/<path without leading slash>"
};

struct HookTask {
  std::string service;
  std::string container_id;
  std::string container_name;
  std::string phase;  // pre-backup | post-backup
  std::string command;
  std::chrono::seconds timeout{60};
};

struct PauseTarget {
  std::string container_id;
  std::string container_name;
  std::string service;
};

struct Skipped {
  std::string what;
  std::string reason;
};

// A network the restored project needs that Compose does not create (external).
struct NetworkNeed {
  std::string name;
  std::string driver;
  std::vector<std::string> services;
};

struct BackupPlan {
  std::string project;
  std::string working_dir;
  std::vector<std::string> config_files;  // compose files, in order
  std::vector<std::string> missing_config;  // compose files (labels, include:) not on the host: not in the archive
  std::string environment_file;
  std::string compose_version;
  std::vector<NetworkNeed> external_networks;
  std::vector<DumpTask> dumps;
  std::vector<VolumeTask> volumes;
  std::vector<BindTask> binds;
  std::vector<ConfigFile> configs;
  std::vector<HookTask> hooks;
  std::vector<PauseTarget> pause;  // Safe Mode only
  std::vector<Skipped> skipped;
  std::vector<std::string> warnings;
  Json services;  // name → {image, engine, containers:[names], running}
  BackupOptions options;

  Json to_json(const std::string& backup_id, const std::string& created) const;
};

// Decides the plan. FailedPrecondition when there is nothing to back up.
Result<BackupPlan> make_plan(const stack::Project& project, const BackupOptions& options);

// True when `mount_destination` is where `engine` keeps its data files, given the
// service's environment-independent defaults (postgres: /var/lib/postgresql[/data],
// mysql: /var/lib/mysql, redis: /data).
bool is_database_data_path(const std::string& engine, const std::string& mount_destination);

}  // namespace stacksnap::backup
