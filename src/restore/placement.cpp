#include "restore/placement.h"

#include <set>

namespace stacksnap::restore {

std::string_view mode_name(Mode m) {
  switch (m) {
    case Mode::kInPlace: return "in-place";
    case Mode::kCopy: return "copy";
    case Mode::kDrill: return "drill";
  }
  return "?";
}

std::optional<std::string> relative_to(const std::string& path, const std::string& dir) {
  if (dir.empty()) return std::nullopt;
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  if (path == d) return std::string();
  if (d == "/") return path.size() > 1 && path[0] == '/' ? std::optional(path.substr(1)) : std::nullopt;
  if (path.size() > d.size() && path.compare(0, d.size(), d) == 0 && path[d.size()] == '/') {
    return path.substr(d.size() + 1);
  }
  return std::nullopt;
}

const VolumeTarget* Placement::volume_for_dir(std::string_view dir) const {
  for (const auto& v : volumes) {
    if (v.archive_dir == dir) return &v;
  }
  return nullptr;
}
const BindTarget* Placement::bind_for_dir(std::string_view dir) const {
  for (const auto& b : binds) {
    if (b.archive_dir == dir) return &b;
  }
  return nullptr;
}
const ConfigTarget* Placement::config_for(std::string_view archive_path) const {
  for (const auto& c : configs) {
    if (c.archive_path == archive_path) return &c;
  }
  return nullptr;
}

Status check_project_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 63;
  for (size_t i = 0; ok && i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    ok = alnum || (i > 0 && (c == '-' || c == '_'));
  }
  if (!ok) {
    return invalid_argument("invalid project name \"" + name +
                            "\": use lowercase letters, digits, '-' and '_', starting with a letter or digit");
  }
  return {};
}

namespace {

std::string str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::map<std::string, std::string> str_map(const Json& j, const char* key) {
  std::map<std::string, std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return out;
  for (const auto& [k, v] : it->items()) out[k] = v.is_string() ? v.get<std::string>() : v.dump();
  return out;
}

std::string strip_slash(const std::string& p) { return p.empty() || p[0] != '/' ? p : p.substr(1); }

// Config files: where each goes (its old path, or under the new working dir), and the
// compose and env files among them.
Status place_configs(const Json& plan, bool moved, Placement& p) {
  if (plan.contains("config") && plan["config"].is_array()) {
    for (const auto& c : plan["config"]) {
      ConfigTarget t{.archive_path = str(c, "archive_path"), .source_path = str(c, "path"), .role = str(c, "role")};
      if (t.archive_path.empty() || t.source_path.empty() || t.source_path[0] != '/') {
        return data_loss("plan.json: config entry without an absolute path");
      }
      if (!moved) {
        t.host_path = t.source_path;
      } else if (auto rel = relative_to(t.source_path, p.source_working_dir); rel && !rel->empty()) {
        t.host_path = p.working_dir + "/" + *rel;
      } else {
        t.host_path = p.working_dir + "/_host/" + strip_slash(t.source_path);
        p.warnings.push_back("config file " + t.source_path + " lies outside the working dir; restored to " +
                             t.host_path + " (references to it in the compose files still name the old path)");
      }
      p.configs.push_back(std::move(t));
    }
  }
  auto mapped = [&](const std::string& path) {
    for (const auto& c : p.configs) {
      if (c.source_path == path) return c.host_path;
    }
    return path;
  };
  if (plan.contains("config_files") && plan["config_files"].is_array()) {
    for (const auto& f : plan["config_files"]) {
      if (f.is_string()) p.compose_files.push_back(mapped(f.get<std::string>()));
    }
  }
  if (std::string ef = str(plan, "environment_file"); !ef.empty()) p.env_file = mapped(ef);
  return {};
}

// Bind mounts: under the working dir they follow it; outside it a copy or drill keeps
// them in its own directory, an in-place restore at their old path.
Status place_binds(const Json& plan, Mode mode, bool moved, Placement& p) {
  if (!plan.contains("binds") || !plan["binds"].is_array()) return {};
  for (const auto& b : plan["binds"]) {
    BindTarget t{.index = b.value("index", -1), .archive_dir = str(b, "dir"), .source_host_path = str(b, "host_path")};
    if (t.archive_dir.empty() || t.source_host_path.empty() || t.source_host_path[0] != '/') {
      return data_loss("plan.json: bind entry without an absolute host path");
    }
    auto rel = relative_to(t.source_host_path, p.source_working_dir);
    if (!moved) {
      t.host_path = t.source_host_path;
    } else if (rel) {
      t.host_path = rel->empty() ? p.working_dir : p.working_dir + "/" + *rel;
    } else if (mode == Mode::kInPlace) {
      t.host_path = t.source_host_path;  // only binds under the working dir follow --to
    } else {
      t.host_path = p.working_dir + "/_binds/" + std::to_string(t.index);
    }
    p.binds.push_back(std::move(t));
  }
  return {};
}

// Named volumes: their own names in place, PROJECT_KEY for a copy or drill (never
// external there). Anonymous ones are not restored (Compose makes new ones).
Status place_volumes(const Json& plan, Mode mode, Placement& p) {
  if (!plan.contains("volumes") || !plan["volumes"].is_array()) return {};
  std::set<std::string> names;
  for (const auto& v : plan["volumes"]) {
    VolumeTarget t{.archive_dir = str(v, "dir"),
                   .source_name = str(v, "name"),
                   .key = str(v, "key"),
                   .external = v.value("external", false),
                   .driver = str(v, "driver"),
                   .driver_opts = str_map(v, "driver_opts"),
                   .labels = str_map(v, "labels")};
    if (t.driver.empty()) t.driver = "local";
    if (t.archive_dir.empty() || t.source_name.empty()) return data_loss("plan.json: volume entry without a name");
    if (t.key.empty()) {
      p.warnings.push_back("volume " + t.source_name +
                           " is anonymous: Compose creates a new one on `up`, so its contents are not restored");
      continue;
    }
    if (mode == Mode::kInPlace && p.project == p.source_project) {
      t.name = t.source_name;
    } else {
      t.name = p.project + "_" + t.key;
      t.external = false;
    }
    if (!names.insert(t.name).second) return data_loss("plan.json: volume " + t.name + " appears twice");
    p.volumes.push_back(std::move(t));
  }
  return {};
}

}  // namespace

Result<Placement> make_placement(const Json& plan, Mode mode, const std::string& project,
                                 const std::string& working_dir) {
  Placement p;
  p.mode = mode;
  p.source_project = str(plan, "project");
  p.source_working_dir = str(plan, "working_dir");
  p.project = project.empty() ? p.source_project : project;
  TRY(check_project_name(p.project));
  if (mode == Mode::kInPlace && p.project != p.source_project) {
    return invalid_argument("an in-place restore keeps the project name");
  }
  if (p.source_working_dir.empty() || p.source_working_dir[0] != '/') {
    return data_loss("plan.json has no absolute working_dir");
  }
  if (mode != Mode::kInPlace && working_dir.empty()) return invalid_argument("a copy or drill needs a directory");
  p.working_dir = working_dir.empty() ? p.source_working_dir : working_dir;
  while (p.working_dir.size() > 1 && p.working_dir.back() == '/') p.working_dir.pop_back();
  const bool moved = p.working_dir != p.source_working_dir;
  TRY(place_configs(plan, moved, p));
  TRY(place_binds(plan, mode, moved, p));
  TRY(place_volumes(plan, mode, p));
  return p;
}

// ---- sandbox_compose ----------------------------------------------------------------

namespace {

// libyaml hands every plain scalar back as a string; Compose v1's schema insists on
// numbers for these keys.
const std::set<std::string>& numeric_keys() {
  static const std::set<std::string> k = {"retries", "published", "target", "replicas", "cpu_shares",
                                          "cpu_count", "cpu_percent", "mem_swappiness", "oom_score_adj",
                                          "pids_limit", "scale", "uid", "gid", "cpus", "parallelism",
                                          "max_attempts", "max_replicas_per_node", "start_interval_count"};
  return k;
}

bool looks_integer(const std::string& s) {
  if (s.empty() || s.size() > 18) return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  if (s[i] == '0' && s.size() > i + 1) return false;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

bool looks_decimal(const std::string& s) {
  auto dot = s.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == s.size()) return false;
  return looks_integer(s.substr(0, dot)) && s.find_first_not_of("0123456789", dot + 1) == std::string::npos;
}

void fix_numbers(Json& j, const std::string& key) {
  if (j.is_string() && numeric_keys().count(key)) {
    std::string s = j.get<std::string>();
    if (looks_integer(s)) j = std::stoll(s);
    else if (key == "cpus" && looks_decimal(s)) j = std::stod(s);
    return;
  }
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) {
      if (k == "environment" || k == "labels" || k == "command" || k == "entrypoint" || k == "extra_hosts") continue;
      fix_numbers(v, k);
    }
  } else if (j.is_array()) {
    for (auto& v : j) fix_numbers(v, key);
  }
}

// "src:dst[:opts]" → parts; a Windows-free split on ':'.
std::vector<std::string> split_colon(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(':', start);
    out.push_back(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return out;
}

}  // namespace

namespace {

// Host paths of the backed-up bind mounts → where the restore puts them (paths inside a
// bind follow it; any other path stays).
class BindMap {
 public:
  explicit BindMap(const Placement& p) {
    for (const auto& b : p.binds) map_[b.source_host_path] = b.host_path;
  }
  std::string operator()(const std::string& src) const {
    if (auto it = map_.find(src); it != map_.end()) return it->second;
    for (const auto& [from, to] : map_) {
      if (auto rel = relative_to(src, from); rel && !rel->empty()) return to + "/" + *rel;
    }
    return src;
  }

 private:
  std::map<std::string, std::string> map_;
};

// Networks lose their fixed names (the copy's get its project prefix); external ones
// are dropped with strip_ports (a drill stays off the host's networks). Returns the keys
// of the external networks.
std::set<std::string> sandbox_networks(Json& config, bool strip_ports) {
  std::set<std::string> external;
  if (!config.contains("networks") || !config["networks"].is_object()) return external;
  for (auto& [key, n] : config["networks"].items()) {
    if (!n.is_object()) continue;
    bool ext = n.contains("external") && (n["external"].is_object() || n["external"] == true);
    if (ext) {
      external.insert(key);
    } else {
      n.erase("name");
    }
  }
  if (strip_ports) {
    for (const auto& k : external) config["networks"].erase(k);
    if (config["networks"].empty()) config.erase("networks");
  }
  return external;
}

// Volumes lose fixed names and externality: the copy's volumes are its own.
void sandbox_volumes(Json& config) {
  if (!config.contains("volumes") || !config["volumes"].is_object()) return;
  for (auto& [key, v] : config["volumes"].items()) {
    if (!v.is_object()) v = Json::object();
    v.erase("name");
    v.erase("external");
  }
}

// One service: no container_name; with strip_ports no published ports, no host network,
// no external networks; bind sources moved as the binds were.
void sandbox_service(Json& svc, bool strip_ports, const std::set<std::string>& external_networks,
                     const BindMap& map_bind) {
  svc.erase("container_name");
  if (strip_ports) {
    svc.erase("ports");
    if (svc.contains("network_mode") && svc["network_mode"].is_string() && svc["network_mode"] == "host") {
      svc.erase("network_mode");
    }
    if (svc.contains("networks")) {
      Json& nets = svc["networks"];
      if (nets.is_array()) {
        Json kept = Json::array();
        for (const auto& n : nets) {
          if (!(n.is_string() && external_networks.count(n.get<std::string>()))) kept.push_back(n);
        }
        nets = kept;
      } else if (nets.is_object()) {
        for (const auto& k : external_networks) nets.erase(k);
      }
      if (nets.empty()) svc.erase("networks");
    }
  }
  if (!svc.contains("volumes") || !svc["volumes"].is_array()) return;
  for (auto& m : svc["volumes"]) {
    if (m.is_string()) {
      auto parts = split_colon(m.get<std::string>());
      if (parts.size() >= 2 && !parts[0].empty() && parts[0][0] == '/') {
        parts[0] = map_bind(parts[0]);
        std::string joined;
        for (size_t i = 0; i < parts.size(); ++i) joined += (i ? ":" : "") + parts[i];
        m = joined;
      }
    } else if (m.is_object() && m.value("type", "") == "bind" && m.contains("source") && m["source"].is_string()) {
      m["source"] = map_bind(m["source"].get<std::string>());
    }
  }
}

}  // namespace

Result<Json> sandbox_compose(Json config, const Placement& p, bool strip_ports) {
  if (!config.is_object() || !config.contains("services") || !config["services"].is_object()) {
    return invalid_argument("compose config has no services");
  }
  const BindMap map_bind(p);
  const std::set<std::string> external_networks = sandbox_networks(config, strip_ports);
  sandbox_volumes(config);
  for (auto& [svc_name, svc] : config["services"].items()) {
    if (svc.is_object()) sandbox_service(svc, strip_ports, external_networks, map_bind);
  }
  // File-based configs and secrets are bind mounts of those files: they follow the binds.
  for (const char* section : {"configs", "secrets"}) {
    if (!config.contains(section) || !config[section].is_object()) continue;
    for (auto& [key, c] : config[section].items()) {
      if (c.is_object() && c.contains("file") && c["file"].is_string()) c["file"] = map_bind(c["file"].get<std::string>());
    }
  }
  for (auto& [k, v] : config.items()) fix_numbers(v, k);
  return config;
}

}  // namespace stacksnap::restore
