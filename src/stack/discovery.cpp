#include "stack/discovery.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "base/fd.h"
#include "base/text.h"
#include "stack/engine_detect.h"
#include "stack/yaml.h"

namespace stacksnap::stack {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kProjectLabel = "com.docker.compose.project";
constexpr std::string_view kServiceLabel = "com.docker.compose.service";
constexpr std::string_view kOneoffLabel = "com.docker.compose.oneoff";
constexpr std::string_view kConfigHashLabel = "com.docker.compose.config-hash";
constexpr std::string_view kNumberLabel = "com.docker.compose.container-number";
constexpr std::string_view kWorkingDirLabel = "com.docker.compose.project.working_dir";
constexpr std::string_view kConfigFilesLabel = "com.docker.compose.project.config_files";
constexpr std::string_view kEnvFileLabel = "com.docker.compose.project.environment_file";
constexpr std::string_view kVersionLabel = "com.docker.compose.version";
constexpr std::string_view kVolumeLabel = "com.docker.compose.volume";
constexpr std::string_view kNetworkLabel = "com.docker.compose.network";

std::string label(const Labels& labels, std::string_view key) {
  auto it = labels.find(std::string(key));
  return it == labels.end() ? std::string() : it->second;
}


bool is_anonymous_name(std::string_view n) {
  return n.size() == 64 && std::all_of(n.begin(), n.end(), [](char c) {
           return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
         });
}

bool is_true(std::string_view v) { return v == "true" || v == "True" || v == "1" || v == "yes"; }

int container_number(const Container& c) {
  std::string n = label(c.labels, kNumberLabel);
  return n.empty() ? 0 : std::atoi(n.c_str());
}

Mount to_mount(const docker::MountPoint& m) {
  Mount out;
  out.destination = m.destination;
  out.read_only = !m.rw;
  if (m.type == "volume") {
    out.type = MountType::kVolume;
    out.source = m.name;
    out.subpath = m.subpath;
  } else if (m.type == "bind") {
    out.type = MountType::kBind;
    out.source = m.source;
  } else if (m.type == "tmpfs") {
    out.type = MountType::kTmpfs;
  } else {
    out.type = MountType::kOther;
    out.source = m.source;
  }
  return out;
}

// Reads one compose file; problems become warnings (discovery still works from labels).
std::optional<ComposeFile> read_one_compose_file(const std::string& path, const EnvMap& env,
                                                 std::vector<std::string>& warnings) {
  auto text = read_small_file(path, kMaxYamlBytes);
  if (!text.ok()) {
    warnings.push_back("cannot read compose file: " + text.error().message());
    return std::nullopt;
  }
  auto doc = parse_yaml(*text);
  if (!doc.ok()) {
    warnings.push_back("cannot parse compose file " + path + ": " + doc.error().message());
    return std::nullopt;
  }
  auto f = read_compose_document(*doc, env);
  if (!f.ok()) {
    warnings.push_back("cannot read compose file " + path + ": " + f.error().message());
    return std::nullopt;
  }
  return std::move(*f);
}

// Env files as written in `f` made absolute against `dir` (includes resolve theirs
// against their own project directory).
void absolutize_env_files(ComposeFile& f, const std::string& dir) {
  for (auto& [name, svc] : f.services) {
    std::set<std::string> optional;
    for (auto& e : svc.env_files) {
      const bool opt = svc.optional_env_files.count(e) > 0;
      e = resolve_path(e, dir);
      if (opt) optional.insert(e);
    }
    svc.optional_env_files = std::move(optional);
  }
}

// The project's compose files merged, with the files their `include:` entries pull in
// (recursively; paths relative to the including project's directory), which are
// recorded in p.include_files. Env files come out absolute.
ComposeFile read_compose_files(Project& p, const EnvMap& env, size_t& parsed) {
  ComposeFile merged;
  parsed = 0;
  std::set<std::string> seen;
  constexpr int kMaxIncludeDepth = 8;
  std::function<void(const std::string&, const std::string&, int)> read = [&](const std::string& path,
                                                                               const std::string& project_dir,
                                                                               int depth) {
    if (!seen.insert(path).second) return;
    auto f = read_one_compose_file(path, env, p.warnings);
    if (!f) return;
    ++parsed;
    absolutize_env_files(*f, project_dir);
    std::vector<ComposeInclude> includes = std::move(f->includes);
    f->includes.clear();
    merge_compose(merged, *f);
    for (const auto& inc : includes) {
      if (depth >= kMaxIncludeDepth) {
        p.warnings.push_back("include: nested deeper than " + std::to_string(kMaxIncludeDepth) + " levels in " + path);
        break;
      }
      std::vector<std::string> files;
      for (const auto& ip : inc.paths) files.push_back(resolve_path(ip, project_dir));
      const std::string dir = inc.project_directory.empty() ? fs::path(files.front()).parent_path().string()
                                                            : resolve_path(inc.project_directory, project_dir);
      for (const auto& ef : inc.env_files) {
        const std::string abs = resolve_path(ef, project_dir);
        if (std::find(p.env_files.begin(), p.env_files.end(), abs) == p.env_files.end()) p.env_files.push_back(abs);
      }
      for (const auto& file : files) {
        std::error_code ec;
        if (!fs::is_regular_file(file, ec)) {
          p.warnings.push_back("included compose file " + file + " (from " + path + ") is not on this host");
          p.missing_files.push_back(file);
          continue;
        }
        if (std::find(p.include_files.begin(), p.include_files.end(), file) == p.include_files.end() &&
            std::find(p.config_files.begin(), p.config_files.end(), file) == p.config_files.end()) {
          p.include_files.push_back(file);
        }
        read(file, dir, depth + 1);
      }
    }
  };
  for (const auto& path : p.config_files) read(path, p.working_dir, 0);
  return merged;
}

Result<Project> build_project(docker::Client& docker, const std::string& name,
                              const std::vector<docker::ContainerSummary>& summaries,
                              const std::vector<docker::VolumeInfo>& labelled_volumes, const DiscoverOptions& options) {
  Project p;
  p.name = name;

  std::vector<docker::ContainerInfo> infos;
  for (const auto& s : summaries) {
    auto info = docker.inspect_container(s.id);
    if (!info.ok()) {
      if (info.error().code() == Code::kNotFound) continue;  // removed meanwhile
      return std::move(info).error().with_context("discover project " + name);
    }
    infos.push_back(std::move(*info));
  }
  if (infos.empty()) return not_found("no Compose project named '" + name + "' (its containers are gone)");

  // Project-level labels: from the most recently created container (they describe the
  // invocation that created it; containers may disagree after partial re-creations).
  const docker::ContainerInfo* newest = &infos.front();
  for (const auto& c : infos) {
    if (c.created > newest->created) newest = &c;
  }
  p.working_dir = resolve_path(label(newest->labels, kWorkingDirLabel), "/");
  p.compose_version = label(newest->labels, kVersionLabel);
  p.config_files = resolve_config_files(label(newest->labels, kConfigFilesLabel), p.working_dir,
                                        [](const std::string& f) {
                                          std::error_code ec;
                                          return fs::is_regular_file(f, ec);
                                        });
  for (const auto& c : infos) {
    if (label(c.labels, kConfigFilesLabel) != label(newest->labels, kConfigFilesLabel) ||
        label(c.labels, kWorkingDirLabel) != label(newest->labels, kWorkingDirLabel)) {
      p.warnings.push_back("containers of this project were created from different compose files or directories; "
                           "using those of " + newest->name);
      break;
    }
  }
  if (std::string ef = label(newest->labels, kEnvFileLabel); !ef.empty()) {
    p.environment_file = resolve_path(split_list(ef).empty() ? ef : split_list(ef).front(), p.working_dir);
  }

  // The environment Compose interpolated with, as far as we can know it: --env-file or .env.
  EnvMap env;
  std::string dotenv = p.environment_file.empty() ? resolve_path(".env", p.working_dir) : p.environment_file;
  std::error_code ec;
  if (!p.working_dir.empty() && fs::is_regular_file(dotenv, ec)) {
    p.env_files.push_back(dotenv);
    if (auto text = read_small_file(dotenv, 1 << 20); text.ok()) env = parse_dotenv(*text);
  }
  for (const auto& f : p.config_files) {
    if (!p.working_dir.empty() && !fs::is_regular_file(f, ec)) {
      p.missing_files.push_back(f);
      p.warnings.push_back("compose file " + f + " is not on this host: volumes and dumps are backed up, but a "
                           "restore needs the file back");
    }
  }
  ComposeFile compose;
  bool have_compose = false;
  if (options.read_compose_files && !p.config_files.empty() && p.missing_files.size() < p.config_files.size()) {
    size_t parsed = 0;
    compose = read_compose_files(p, env, parsed);
    have_compose = parsed > 0;
  }

  // Services.
  std::map<std::string, Service> services;
  std::map<std::string, std::vector<const docker::ContainerInfo*>> members;
  for (const auto& c : infos) members[label(c.labels, kServiceLabel)].push_back(&c);
  for (auto& [svc_name, list] : members) {
    Service s;
    s.name = svc_name;
    for (const auto* c : list) {
      s.containers.push_back(Container{.id = c->id, .name = c->name, .state = c->state.status, .image = c->image,
                                       .image_id = c->image_id, .health = c->state.health, .labels = c->labels});
    }
    std::sort(s.containers.begin(), s.containers.end(), [](const Container& a, const Container& b) {
      return std::pair(container_number(a), a.name) < std::pair(container_number(b), b.name);
    });
    const docker::ContainerInfo* first = list.front();
    for (const auto* c : list) {
      if (c->id == s.containers.front().id) first = c;
    }
    s.image = first->image;
    s.labels = first->labels;
    for (const auto& m : first->mounts) s.mounts.push_back(to_mount(m));
    for (const auto& [path, opts] : first->tmpfs) {
      (void)opts;
      if (std::none_of(s.mounts.begin(), s.mounts.end(), [&](const Mount& m) { return m.destination == path; })) {
        s.mounts.push_back(Mount{.type = MountType::kTmpfs, .destination = path});
      }
    }
    std::sort(s.mounts.begin(), s.mounts.end(),
              [](const Mount& a, const Mount& b) { return a.destination < b.destination; });
    for (const auto& [k, v] : s.labels) {
      if (k.starts_with(kLabelHookPrefix)) s.hooks[k.substr(kLabelHookPrefix.size())] = v;
    }
    s.excluded = is_true(label(s.labels, kLabelExclude));
    s.volume_exclude = split_list(label(s.labels, kLabelVolumeExclude));
    s.volume_include = split_list(label(s.labels, kLabelVolumeInclude));
    if (auto it = compose.services.find(svc_name); it != compose.services.end()) {
      for (const auto& abs : it->second.env_files) {
        if (fs::is_regular_file(abs, ec)) {
          s.env_files.push_back(abs);
          if (std::find(p.env_files.begin(), p.env_files.end(), abs) == p.env_files.end()) p.env_files.push_back(abs);
        } else if (!it->second.optional_env_files.count(abs)) {  // `required: false` may be absent
          p.warnings.push_back("env_file " + abs + " of service " + svc_name + " does not exist");
        }
      }
    }

    // Engine: label, then image, then the server process of a running container.
    const docker::ContainerInfo* live = nullptr;
    for (const auto* c : list) {
      if (!live && (c->state.running || c->state.paused)) live = c;
    }
    std::function<std::optional<docker::TopResult>()> top;
    if (options.detect_by_process && live) {
      top = [&docker, live, &p]() -> std::optional<docker::TopResult> {
        auto t = docker.top(live->id, kTopPsArgs);
        if (!t.ok()) {
          p.warnings.push_back("cannot list the processes of " + live->name + ": " + t.error().message());
          return std::nullopt;
        }
        return std::move(*t);
      };
    }
    s.engine = detect_engine(s.labels, s.image, top, &p.warnings);
    services.emplace(svc_name, std::move(s));
  }
  for (auto& [n, s] : services) p.services.push_back(std::move(s));
  p.state = project_state(p.services);

  // Volumes: labelled with the project, plus whatever the containers mount.
  std::map<std::string, Volume> volumes;  // by engine name
  auto add_volume = [&](const docker::VolumeInfo& vi) {
    VolumeIdentity id = identify_volume(vi.name, vi.labels, p.name, have_compose ? &compose : nullptr);
    Volume v;
    v.key = id.key;
    v.name = vi.name;
    v.external = id.external;
    v.anonymous = id.anonymous;
    v.driver = vi.driver;
    v.driver_opts = vi.options;
    v.labels = vi.labels;
    if (id.key_guessed) {
      p.warnings.push_back("volume " + vi.name + ": compose key unknown (Compose v1 labels carry its custom name); "
                           "using the name as the key");
    }
    volumes[vi.name] = std::move(v);
  };
  for (const auto& vi : labelled_volumes) add_volume(vi);
  for (const auto& s : p.services) {
    for (const auto& m : s.mounts) {
      if (m.type != MountType::kVolume || m.source.empty() || volumes.count(m.source)) continue;
      auto vi = docker.inspect_volume(m.source);
      if (!vi.ok()) {
        if (vi.error().code() != Code::kNotFound) return std::move(vi).error().with_context("discover project " + name);
        p.warnings.push_back("volume " + m.source + " mounted by " + s.name + " does not exist");
        continue;
      }
      add_volume(*vi);
    }
  }
  for (const auto& s : p.services) {
    for (const auto& m : s.mounts) {
      if (m.type == MountType::kVolume) {
        auto it = volumes.find(m.source);
        if (it == volumes.end()) continue;
        it->second.used_by.push_back({s.name, m.destination, m.read_only, m.subpath});
        auto named = [&](const std::vector<std::string>& list) {
          return std::find(list.begin(), list.end(), it->second.name) != list.end() ||
                 (!it->second.key.empty() && std::find(list.begin(), list.end(), it->second.key) != list.end());
        };
        if (named(s.volume_exclude)) it->second.excluded = true;
      } else if (m.type == MountType::kBind) {
        auto bit = std::find_if(p.binds.begin(), p.binds.end(), [&](const Bind& b) {
          return b.host_path == m.source && b.container_path == m.destination && b.read_only == m.read_only;
        });
        if (bit == p.binds.end()) {
          p.binds.push_back(Bind{m.source, m.destination, m.read_only, {s.name}});
        } else if (std::find(bit->services.begin(), bit->services.end(), s.name) == bit->services.end()) {
          bit->services.push_back(s.name);
        }
      }
    }
  }
  for (auto& [n, v] : volumes) p.volumes.push_back(std::move(v));

  // Networks: what the containers are attached to; external = not made by Compose for
  // this project (a restore on a new host has to create those itself).
  std::map<std::string, Network> networks;
  for (const auto& c : infos) {
    for (const auto& net : c.networks) {
      if (net == "bridge" || net == "host" || net == "none") continue;  // the Engine's own
      auto it = networks.find(net);
      if (it == networks.end()) {
        Network n{.name = net};
        auto info = docker.inspect_network(net);
        if (info.ok()) {
          n.driver = info->driver;
          n.external = label(info->labels, kProjectLabel) != p.name;
          if (!n.external) n.key = label(info->labels, kNetworkLabel);
        } else if (info.error().code() == Code::kNotFound) {
          n.external = true;  // gone meanwhile; still what the container expects
        } else {
          return std::move(info).error().with_context("discover project " + name);
        }
        it = networks.emplace(net, std::move(n)).first;
      }
      const std::string svc = label(c.labels, kServiceLabel);
      auto& users = it->second.services;
      if (std::find(users.begin(), users.end(), svc) == users.end()) users.push_back(svc);
    }
  }
  for (auto& [n, net] : networks) {
    std::sort(net.services.begin(), net.services.end());
    p.networks.push_back(std::move(net));
  }
  std::sort(p.volumes.begin(), p.volumes.end(), [](const Volume& a, const Volume& b) {
    return std::tuple(a.anonymous, a.key, a.name) < std::tuple(b.anonymous, b.key, b.name);
  });
  std::sort(p.binds.begin(), p.binds.end(), [](const Bind& a, const Bind& b) {
    return std::pair(a.host_path, a.container_path) < std::pair(b.host_path, b.container_path);
  });
  return p;
}

struct Inventory {
  std::map<std::string, std::vector<docker::ContainerSummary>> containers;  // by project
};

Result<Inventory> list_compose_containers(docker::Client& docker) {
  Inventory inv;
  auto list = TRY_CTX(docker.list_containers({.all = true, .labels = {std::string(kProjectLabel)}}),
                      "discover Compose projects");
  for (auto& c : list) {
    if (label(c.labels, kOneoffLabel) == "True") continue;
    if (!c.labels.count(std::string(kConfigHashLabel))) continue;
    std::string project = label(c.labels, kProjectLabel);
    if (project.empty()) continue;
    inv.containers[project].push_back(std::move(c));
  }
  return inv;
}

std::vector<docker::VolumeInfo> volumes_of(const std::vector<docker::VolumeInfo>& all, const std::string& project) {
  std::vector<docker::VolumeInfo> out;
  for (const auto& v : all) {
    if (label(v.labels, kProjectLabel) == project) out.push_back(v);
  }
  return out;
}

}  // namespace

std::string resolve_path(std::string_view path, std::string_view base) {
  if (path.empty()) return {};
  fs::path p(path);
  if (p.is_relative()) p = fs::path(base) / p;
  std::string out = p.lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

namespace {

// `f` (relative, as v1 wrote it) resolved against the directory v1 ran in, which is
// derived from the first file `f0` (see resolve_config_files); nullopt when it cannot be.
std::optional<std::string> relative_to_invocation_dir(const std::string& f, const std::string& f0,
                                                      const std::string& working_dir) {
  const fs::path d0 = fs::path(f0).lexically_normal().parent_path();
  size_t ups = 0;  // unknown directories between the known base and the invocation dir
  std::vector<std::string> down;
  for (const auto& part : d0) {
    const std::string s = part.string();
    if (s == "..") {
      if (!down.empty()) return std::nullopt;  // normalised paths have ".." only in front
      ++ups;
    } else if (s != "." && !s.empty()) {
      down.push_back(s);
    }
  }
  // The invocation dir is base/<ups unknown dirs>, with base = working dir less `down`.
  fs::path base = fs::path(working_dir).lexically_normal();
  for (auto it = down.rbegin(); it != down.rend(); ++it) {
    if (base.filename().string() != *it) return std::nullopt;
    base = base.parent_path();
  }
  fs::path rel = fs::path(f).lexically_normal();
  fs::path rest;
  size_t leading = 0;
  for (const auto& part : rel) {
    if (part == ".." && rest.empty() && leading < ups) {
      ++leading;
      continue;
    }
    rest /= part;
  }
  if (leading < ups) return std::nullopt;  // climbs out of the unknown dirs: unknowable
  return resolve_path(rest.string(), base.string());
}

}  // namespace

std::vector<std::string> resolve_config_files(std::string_view label_value, std::string_view working_dir,
                                              const std::function<bool(const std::string&)>& exists) {
  std::vector<std::string> out;
  const auto files = split_list(label_value);
  std::string first;
  for (const auto& f : files) {
    if (f != "-") {
      first = f;
      break;
    }
  }
  const bool elsewhere = !first.empty() && first[0] != '/' && fs::path(first).lexically_normal().has_parent_path();
  for (const auto& f : files) {
    if (f == "-") continue;
    std::string abs = resolve_path(f, working_dir);
    if (elsewhere && f[0] != '/') {
      auto other = relative_to_invocation_dir(f, first, std::string(working_dir));
      if (other && !(exists && exists(abs) && !exists(*other))) abs = *other;
    }
    if (std::find(out.begin(), out.end(), abs) == out.end()) out.push_back(abs);
  }
  return out;
}

VolumeIdentity identify_volume(std::string_view engine_name, const Labels& volume_labels, std::string_view project,
                               const ComposeFile* compose) {
  if (compose) {
    for (const auto& [key, decl] : compose->volumes) {
      if (volume_engine_name(decl, project) == engine_name) return {key, decl.external, false, false};
    }
  }
  std::string vlabel = label(volume_labels, kVolumeLabel);
  if (!vlabel.empty() && label(volume_labels, kProjectLabel) == project) {
    std::string_view stripped = project;
    while (!stripped.empty() && (stripped.front() == '-' || stripped.front() == '_')) stripped.remove_prefix(1);
    bool custom_name_label = vlabel == engine_name && engine_name != std::string(stripped) + "_" + vlabel;
    return {vlabel, false, false, custom_name_label};
  }
  if (is_anonymous_name(engine_name)) return {"", false, true, false};
  return {std::string(engine_name), true, false, false};
}

ProjectState project_state(const std::vector<Service>& services) {
  size_t total = 0, up = 0;
  for (const auto& s : services) {
    for (const auto& c : s.containers) {
      ++total;
      if (c.state == "running" || c.state == "paused" || c.state == "restarting") ++up;
    }
  }
  if (total > 0 && up == total) return ProjectState::kRunning;
  if (up == 0) return ProjectState::kStopped;
  return ProjectState::kPartial;
}

Result<std::vector<Project>> discover_projects(docker::Client& docker, const DiscoverOptions& options) {
  auto inv = TRY(list_compose_containers(docker));
  auto volumes = TRY_CTX(docker.list_volumes({std::string(kProjectLabel)}), "discover Compose projects");
  std::vector<Project> out;
  for (const auto& [name, containers] : inv.containers) {
    auto p = build_project(docker, name, containers, volumes_of(volumes, name), options);
    if (!p.ok()) {
      if (p.error().code() == Code::kNotFound) continue;
      return std::move(p).error();
    }
    out.push_back(std::move(*p));
  }
  return out;
}

Result<Project> discover_project(docker::Client& docker, std::string_view name, const DiscoverOptions& options) {
  auto inv = TRY(list_compose_containers(docker));
  auto it = inv.containers.find(std::string(name));
  if (it == inv.containers.end()) {
    std::string names;
    for (const auto& [n, c] : inv.containers) names += (names.empty() ? "" : ", ") + n;
    return not_found("no Compose project named '" + std::string(name) + "'; " +
                     (names.empty() ? std::string("there are no Compose projects on this engine")
                                    : "projects on this engine: " + names));
  }
  auto volumes = TRY_CTX(docker.list_volumes({std::string(kProjectLabel) + "=" + std::string(name)}),
                         "discover project " + std::string(name));
  return build_project(docker, it->first, it->second, volumes, options);
}

}  // namespace stacksnap::stack
