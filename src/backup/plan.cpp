#include "backup/plan.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "sqlite/detect.h"
#include "base/path.h"

namespace stacksnap::backup {

namespace {

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// Host paths a backup never captures: sockets, kernel and device trees, host identity.
bool system_path(const std::string& p) {
  static const std::vector<std::string> kPrefixes = {"/proc", "/sys", "/dev", "/run", "/var/run"};
  static const std::set<std::string> kExact = {"/", "/etc/localtime", "/etc/timezone", "/etc/hostname",
                                               "/etc/hosts", "/etc/resolv.conf", "/var/lib/docker"};
  if (kExact.count(p)) return true;
  for (const auto& pre : kPrefixes) {
    if (path_within(p, pre)) return true;
  }
  return path_within(p, "/var/lib/docker");
}

std::string first_container_id(const stack::Service& s, std::string* name) {
  for (const auto& c : s.containers) {
    if (c.state == "running" || c.state == "paused") {
      if (name) *name = c.name;
      return c.id;
    }
  }
  return {};
}

// The stacksnap.sqlite.exclude / .include patterns of the services that mount each tree.
void add_sqlite_exclusions(const stack::Project& p, BackupPlan& plan) {
  auto patterns_of = [&](const std::string& service, std::string_view label, std::vector<std::string>& out) {
    const stack::Service* s = p.find_service(service);
    if (!s) return;
    auto it = s->labels.find(std::string(label));
    if (it == s->labels.end()) return;
    for (auto& pat : sqlite::parse_patterns(it->second)) {
      if (!has(out, pat)) out.push_back(std::move(pat));
    }
  };
  for (auto& v : plan.volumes) {
    for (const auto& u : v.used_by) {
      patterns_of(u.service, sqlite::kLabelExclude, v.sqlite_exclude);
      patterns_of(u.service, sqlite::kLabelInclude, v.sqlite_include);
    }
  }
  for (auto& b : plan.binds) {
    for (const auto& svc : b.services) {
      patterns_of(svc, sqlite::kLabelExclude, b.sqlite_exclude);
      patterns_of(svc, sqlite::kLabelInclude, b.sqlite_include);
    }
  }
}

}  // namespace

bool is_database_data_path(const std::string& engine, const std::string& dest) {
  std::string d = dest;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  if (engine == "postgres") return path_within(d, "/var/lib/postgresql");
  if (engine == "mysql") return d == "/var/lib/mysql";
  if (engine == "redis") return d == "/data";
  return false;
}

namespace {

using EngineOf = std::map<std::string, std::string>;  // service → engine (dumped services only)

// Per service: its entry in plan.services, its dump (a database engine with a running
// container), the containers Safe Mode pauses, its hooks. Fills `engine_of`.
Status plan_services(const stack::Project& p, const BackupOptions& options, BackupPlan& plan, EngineOf& engine_of) {
  for (const auto& s : p.services) {
    Json containers = Json::array();
    for (const auto& c : s.containers) containers.push_back(c.name);
    plan.services[s.name] = {{"image", s.image},
                             {"engine", std::string(stack::engine_name(s.engine.engine))},
                             {"containers", containers},
                             {"running", s.running()},
                             {"excluded", s.excluded}};
    if (s.excluded) {
      plan.skipped.push_back({"service " + s.name, "label stacksnap.exclude=true"});
      continue;
    }
    std::string cname;
    std::string cid = first_container_id(s, &cname);
    if (s.engine.engine != stack::Engine::kNone) {
      if (cid.empty()) {
        plan.skipped.push_back({"database dump of " + s.name, "the service has no running container"});
        plan.warnings.push_back("database service " + s.name + " is not running: its data is not dumped");
      } else {
        plan.dumps.push_back({s.name, std::string(stack::engine_name(s.engine.engine)), cid, cname});
        engine_of[s.name] = std::string(stack::engine_name(s.engine.engine));
      }
    } else if (options.safe_mode) {
      for (const auto& c : s.containers) {
        if (c.state == "running") plan.pause.push_back({c.id, c.name, s.name});
      }
    }
    // stacksnap.hook.timeout=SECONDS on the service overrides the request's timeout for
    // its hooks, whoever starts the backup (CLI, dashboard, schedule).
    std::chrono::seconds hook_timeout = options.hook_timeout;
    if (auto t = s.hooks.find("timeout"); t != s.hooks.end()) {
      char* end = nullptr;
      const long v = std::strtol(t->second.c_str(), &end, 10);
      if (t->second.empty() || *end != '\0' || v < 1 || v > 86400) {
        return invalid_argument("label stacksnap.hook.timeout of service " + s.name + " must be whole seconds from 1 to 86400, not \"" +
                                t->second + "\"");
      }
      hook_timeout = std::chrono::seconds(v);
    }
    for (const auto& [hook, command] : s.hooks) {
      if (hook != "pre-backup" && hook != "post-backup") continue;
      if (cid.empty()) {
        plan.warnings.push_back("hook " + hook + " of " + s.name + " cannot run: no running container");
        if (hook == "pre-backup") {
          return failed_precondition("pre-backup hook of service " + s.name + " cannot run: the service has no running container");
        }
        continue;
      }
      plan.hooks.push_back({s.name, cid, cname, hook, command, hook_timeout});
    }
  }
  return {};
}

// The volumes to capture, and why the others are skipped.
void plan_volumes(const stack::Project& p, const BackupOptions& options, const EngineOf& engine_of, BackupPlan& plan) {
  for (const auto& v : p.volumes) {
    if (v.used_by.empty()) {
      plan.skipped.push_back({"volume " + v.name, "no service of the project mounts it"});
      continue;
    }
    bool excluded = v.excluded;
    bool included = false;
    bool db_data = false;
    std::string image;
    for (const auto& use : v.used_by) {
      const stack::Service* s = p.find_service(use.service);
      if (!s) continue;
      if (image.empty()) image = s->image;
      if (has(s->volume_exclude, v.key) || has(s->volume_exclude, v.name)) excluded = true;
      if (has(s->volume_include, v.key) || has(s->volume_include, v.name) || has(s->volume_include, "true")) included = true;
      auto e = engine_of.find(use.service);
      if (e != engine_of.end() && is_database_data_path(e->second, use.destination)) db_data = true;
    }
    if (excluded) {
      plan.skipped.push_back({"volume " + v.name, "label stacksnap.volume.exclude"});
      continue;
    }
    bool all_users_excluded = std::all_of(v.used_by.begin(), v.used_by.end(), [&](const stack::VolumeUse& u) {
      const stack::Service* s = p.find_service(u.service);
      return s && s->excluded;
    });
    if (all_users_excluded) {
      plan.skipped.push_back({"volume " + v.name, "only excluded services use it"});
      continue;
    }
    if (db_data && !options.include_db_volumes && !included) {
      plan.skipped.push_back({"volume " + v.name,
                              "data volume of a dumped database (the dump is the consistent copy; "
                              "--include-db-volumes or stacksnap.volume.include=true captures it too)"});
      continue;
    }
    if (image.empty()) {
      plan.skipped.push_back({"volume " + v.name, "no image available to read it"});
      continue;
    }
    VolumeTask t{.name = v.name, .key = v.key, .external = v.external, .driver = v.driver,
                 .driver_opts = v.driver_opts, .used_by = v.used_by, .helper_image = image,
                 .archive_dir = "volumes/" + v.name};
    for (const auto& [k, val] : v.labels) {
      if (k.rfind("com.docker.compose.", 0) != 0) t.labels[k] = val;
    }
    plan.volumes.push_back(std::move(t));
  }
}

// The bind mounts to capture (numbered from 1 in project order), and why the others are skipped.
void plan_binds(const stack::Project& p, const BackupOptions& options, const EngineOf& engine_of, BackupPlan& plan) {
  int index = 0;
  for (const auto& b : p.binds) {
    std::string image;
    bool db_data = false, all_excluded = true;
    for (const auto& svc : b.services) {
      const stack::Service* s = p.find_service(svc);
      if (!s) continue;
      if (!s->excluded) all_excluded = false;
      if (image.empty()) image = s->image;
      auto e = engine_of.find(svc);
      if (e != engine_of.end() && is_database_data_path(e->second, b.container_path)) db_data = true;
    }
    if (all_excluded) {
      plan.skipped.push_back({"bind mount " + b.host_path, "only excluded services use it"});
      continue;
    }
    if (system_path(b.host_path)) {
      plan.skipped.push_back({"bind mount " + b.host_path, "a host system path"});
      continue;
    }
    if (db_data && !options.include_db_volumes) {
      plan.skipped.push_back({"bind mount " + b.host_path, "data directory of a dumped database"});
      continue;
    }
    ++index;
    plan.binds.push_back({.index = index, .host_path = b.host_path, .container_path = b.container_path,
                          .read_only = b.read_only, .inside_project = path_within(b.host_path, p.working_dir),
                          .services = b.services, .helper_image = image,
                          .archive_dir = "binds/" + std::to_string(index)});
  }
}

// Compose files (the missing ones named), included files, .env and env_files.
void plan_config_files(const stack::Project& p, BackupPlan& plan) {
  std::set<std::string> seen;
  auto add_config = [&](const std::string& path, const std::string& role) {
    if (path.empty() || !seen.insert(path).second) return;
    std::string rel = path;
    while (!rel.empty() && rel.front() == '/') rel.erase(rel.begin());
    plan.configs.push_back({path, role, "config/" + rel});
  };
  const std::set<std::string> missing(p.missing_files.begin(), p.missing_files.end());
  for (const auto& f : p.config_files) {
    if (missing.count(f)) continue;
    add_config(f, "compose");
  }
  for (const auto& f : p.include_files) {
    if (!missing.count(f)) add_config(f, "include");
  }
  for (const auto& f : p.missing_files) {
    plan.missing_config.push_back(f);
    plan.skipped.push_back({"compose file " + f, "not on this host (a restore needs it put back)"});
  }
  for (const auto& f : p.env_files) {
    add_config(f, std::filesystem::path(f).filename() == ".env" ? "dotenv" : "env_file");
  }
  if (!p.environment_file.empty()) add_config(p.environment_file, "env_file");
}

}  // namespace

Result<BackupPlan> make_plan(const stack::Project& p, const BackupOptions& options) {
  BackupPlan plan;
  plan.project = p.name;
  plan.working_dir = p.working_dir;
  plan.config_files = p.config_files;
  plan.environment_file = p.environment_file;
  plan.compose_version = p.compose_version;
  for (const auto& n : p.networks) {
    if (n.external) plan.external_networks.push_back({n.name, n.driver, n.services});
  }
  plan.options = options;
  plan.warnings = p.warnings;
  plan.services = Json::object();

  EngineOf engine_of;
  TRY(plan_services(p, options, plan, engine_of));
  plan_volumes(p, options, engine_of, plan);
  plan_binds(p, options, engine_of, plan);
  plan_config_files(p, plan);

  add_sqlite_exclusions(p, plan);
  if (plan.dumps.empty() && plan.volumes.empty() && plan.binds.empty() && plan.configs.empty()) {
    return failed_precondition("nothing to back up in project " + p.name +
                               ": no running database, no volume or bind mount, no compose file found");
  }
  return plan;
}

Json BackupPlan::to_json(const std::string& backup_id, const std::string& created) const {
  Json j = {{"format", "stacksnap-plan"}, {"version", 1}, {"backup_id", backup_id}, {"created", created},
            {"project", project}, {"working_dir", working_dir}, {"config_files", config_files},
            {"environment_file", environment_file}, {"compose_version", compose_version},
            {"compose_flavour", stack::compose_flavour_of(compose_version)}, {"missing_config", missing_config},
            {"services", services}, {"safe_mode", options.safe_mode},
            {"include_db_volumes", options.include_db_volumes}};
  j["dumps"] = Json::array();
  for (const auto& d : dumps) {
    j["dumps"].push_back({{"service", d.service}, {"engine", d.engine}, {"container", d.container_name},
                          {"dir", "dumps/" + d.service}});
  }
  j["volumes"] = Json::array();
  for (const auto& v : volumes) {
    Json users = Json::array();
    for (const auto& u : v.used_by) users.push_back({{"service", u.service}, {"destination", u.destination}, {"read_only", u.read_only}});
    j["volumes"].push_back({{"name", v.name}, {"key", v.key}, {"external", v.external}, {"driver", v.driver},
                            {"driver_opts", v.driver_opts}, {"labels", v.labels}, {"used_by", users},
                            {"dir", v.archive_dir}});
  }
  j["binds"] = Json::array();
  for (const auto& b : binds) {
    j["binds"].push_back({{"index", b.index}, {"host_path", b.host_path}, {"container_path", b.container_path},
                          {"read_only", b.read_only}, {"inside_project", b.inside_project}, {"services", b.services},
                          {"dir", b.archive_dir}});
  }
  j["external_networks"] = Json::array();
  for (const auto& n : external_networks) {
    j["external_networks"].push_back({{"name", n.name}, {"driver", n.driver}, {"services", n.services}});
  }
  j["config"] = Json::array();
  for (const auto& c : configs) j["config"].push_back({{"path", c.path}, {"role", c.role}, {"archive_path", c.archive_path}});
  j["hooks"] = Json::array();
  for (const auto& h : hooks) j["hooks"].push_back({{"service", h.service}, {"phase", h.phase}, {"command", h.command}});
  j["pause"] = Json::array();
  for (const auto& x : pause) j["pause"].push_back({{"service", x.service}, {"container", x.container_name}});
  j["skipped"] = Json::array();
  for (const auto& s : skipped) j["skipped"].push_back({{"what", s.what}, {"reason", s.reason}});
  j["warnings"] = warnings;
  return j;
}

}  // namespace stacksnap::backup
