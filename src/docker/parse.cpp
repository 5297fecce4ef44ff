#include "docker/parse.h"

#include "base/base64.h"


#include <algorithm>

namespace stacksnap::docker {
namespace {

using nlohmann::json;

std::string str(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

int64_t num(const json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  if (it == j.end()) return 0;
  if (it->is_number_integer() || it->is_number_unsigned()) return it->get<int64_t>();
  if (it->is_number_float()) return static_cast<int64_t>(it->get<double>());
  return 0;
}

bool boolean(const json& j, const char* key) {
  if (!j.is_object()) return false;
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

const json& sub(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::vector<std::string> strings(const json& j) {
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const auto& e : j) {
      if (e.is_string()) out.push_back(e.get<std::string>());
    }
  } else if (j.is_string()) {  // Cmd/Entrypoint were strings in very old payloads
    out.push_back(j.get<std::string>());
  }
  return out;
}

std::map<std::string, std::string> string_map(const json& j) {
  std::map<std::string, std::string> out;
  if (!j.is_object()) return out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it->is_string()) out.emplace(it.key(), it->get<std::string>());
    else if (!it->is_null()) out.emplace(it.key(), it->dump());
  }
  return out;
}

MountPoint parse_mount(const json& m) {
  MountPoint p;
  p.type = str(m, "Type");
  p.name = str(m, "Name");
  p.source = str(m, "Source");
  p.destination = str(m, "Destination");
  p.driver = str(m, "Driver");
  p.mode = str(m, "Mode");
  p.rw = m.contains("RW") ? boolean(m, "RW") : true;
  p.propagation = str(m, "Propagation");
  if (p.type.empty()) p.type = p.name.empty() ? "bind" : "volume";  // API < 1.25 had no Type
  return p;
}

std::vector<MountPoint> parse_mounts(const json& j) {
  std::vector<MountPoint> out;
  if (j.is_array()) {
    for (const auto& m : j) out.push_back(parse_mount(m));
  }
  return out;
}

std::string strip_slash(std::string s) {
  if (!s.empty() && s[0] == '/') s.erase(0, 1);
  return s;
}

}  // namespace

Result<nlohmann::json> parse_json(std::string_view text, std::string_view what) {
  auto j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return invalid_argument("malformed JSON in " + std::string(what) + ": \"" +
                            std::string(text.substr(0, 80)) + (text.size() > 80 ? "…" : "") + "\"");
  }
  return j;
}

VersionInfo parse_version(const json& j) {
  VersionInfo v;
  v.version = str(j, "Version");
  v.api_version = str(j, "ApiVersion");
  v.min_api_version = str(j, "MinAPIVersion");
  v.os = str(j, "Os");
  v.arch = str(j, "Arch");
  v.kernel_version = str(j, "KernelVersion");
  // Newer engines also nest the values under Components[Engine].Details.
  if (v.api_version.empty() && sub(j, "Components").is_array()) {
    for (const auto& c : sub(j, "Components")) {
      if (str(c, "Name") != "Engine") continue;
      const auto& d = sub(c, "Details");
      v.api_version = str(d, "ApiVersion");
      v.min_api_version = str(d, "MinAPIVersion");
      if (v.version.empty()) v.version = str(c, "Version");
    }
  }
  return v;
}

ContainerSummary parse_container_summary(const json& j) {
  ContainerSummary c;
  c.id = str(j, "Id");
  auto names = strings(sub(j, "Names"));
  if (!names.empty()) c.name = strip_slash(names.front());
  c.image = str(j, "Image");
  c.image_id = str(j, "ImageID");
  c.command = str(j, "Command");
  c.created = num(j, "Created");
  c.state = str(j, "State");
  c.status = str(j, "Status");
  c.labels = string_map(sub(j, "Labels"));
  c.mounts = parse_mounts(sub(j, "Mounts"));
  return c;
}

ContainerInfo parse_container_info(const json& j) {
  ContainerInfo c;
  c.id = str(j, "Id");
  c.name = strip_slash(str(j, "Name"));
  c.image_id = str(j, "Image");
  c.created = str(j, "Created");
  const auto& st = sub(j, "State");
  c.state.status = str(st, "Status");
  c.state.running = boolean(st, "Running");
  c.state.paused = boolean(st, "Paused");
  c.state.restarting = boolean(st, "Restarting");
  c.state.exit_code = static_cast<int>(num(st, "ExitCode"));
  c.state.pid = num(st, "Pid");
  c.state.started_at = str(st, "StartedAt");
  c.state.finished_at = str(st, "FinishedAt");
  c.state.health = str(sub(st, "Health"), "Status");
  if (const auto& log = sub(sub(st, "Health"), "Log"); log.is_array() && !log.empty()) {
    c.state.health_output = str(log.back(), "Output");
  }
  if (c.state.status.empty()) {  // API < 1.21 had no Status
    c.state.status = c.state.paused ? "paused" : c.state.running ? "running" : "exited";
  }
  const auto& cfg = sub(j, "Config");
  c.image = str(cfg, "Image");
  c.labels = string_map(sub(cfg, "Labels"));
  c.env = strings(sub(cfg, "Env"));
  c.cmd = strings(sub(cfg, "Cmd"));
  c.entrypoint = strings(sub(cfg, "Entrypoint"));
  c.working_dir = str(cfg, "WorkingDir");
  c.user = str(cfg, "User");
  c.tty = boolean(cfg, "Tty");
  c.mounts = parse_mounts(sub(j, "Mounts"));
  const auto& hc = sub(j, "HostConfig");
  c.tmpfs = string_map(sub(hc, "Tmpfs"));
  c.network_mode = str(hc, "NetworkMode");
  // Volume subpaths (API 1.45+) are only in the mount specs, matched by target.
  if (const auto& specs = sub(hc, "Mounts"); specs.is_array()) {
    for (const auto& spec : specs) {
      const std::string subpath = str(sub(spec, "VolumeOptions"), "Subpath");
      if (subpath.empty() || str(spec, "Type") != "volume") continue;
      for (auto& m : c.mounts) {
        if (m.type == "volume" && m.destination == str(spec, "Target")) m.subpath = subpath;
      }
    }
  }
  if (const auto& nets = sub(sub(j, "NetworkSettings"), "Networks"); nets.is_object()) {
    for (auto it = nets.begin(); it != nets.end(); ++it) c.networks.push_back(it.key());
  }
  return c;
}

TopResult parse_top(const json& j) {
  TopResult t;
  t.titles = strings(sub(j, "Titles"));
  const auto& procs = sub(j, "Processes");
  if (procs.is_array()) {
    for (const auto& p : procs) t.processes.push_back(strings(p));
  }
  return t;
}

VolumeInfo parse_volume(const json& j) {
  VolumeInfo v;
  v.name = str(j, "Name");
  v.driver = str(j, "Driver");
  v.mountpoint = str(j, "Mountpoint");
  v.created_at = str(j, "CreatedAt");
  v.scope = str(j, "Scope");
  v.labels = string_map(sub(j, "Labels"));
  v.options = string_map(sub(j, "Options"));
  return v;
}

ImageSummary parse_image_summary(const json& j) {
  ImageSummary i;
  i.id = str(j, "Id");
  i.repo_tags = strings(sub(j, "RepoTags"));
  i.repo_digests = strings(sub(j, "RepoDigests"));
  // Before 1.43 untagged images said "<none>:<none>"; newer ones give empty arrays.
  std::erase(i.repo_tags, "<none>:<none>");
  std::erase(i.repo_digests, "<none>@<none>");
  i.created = num(j, "Created");
  i.size = num(j, "Size");
  i.labels = string_map(sub(j, "Labels"));
  return i;
}

ImageInfo parse_image_info(const json& j) {
  ImageInfo i;
  i.id = str(j, "Id");
  i.repo_tags = strings(sub(j, "RepoTags"));
  i.repo_digests = strings(sub(j, "RepoDigests"));
  i.created = str(j, "Created");
  i.size = num(j, "Size");
  i.os = str(j, "Os");
  i.architecture = str(j, "Architecture");
  const auto& cfg = sub(j, "Config");
  i.labels = string_map(sub(cfg, "Labels"));
  i.env = strings(sub(cfg, "Env"));
  i.cmd = strings(sub(cfg, "Cmd"));
  i.entrypoint = strings(sub(cfg, "Entrypoint"));
  i.user = str(cfg, "User");
  i.working_dir = str(cfg, "WorkingDir");
  const auto& vols = sub(cfg, "Volumes");
  if (vols.is_object()) {
    for (auto it = vols.begin(); it != vols.end(); ++it) i.volumes.push_back(it.key());
  }
  return i;
}

ExecInspect parse_exec_inspect(const json& j) {
  ExecInspect e;
  e.id = str(j, "ID");
  e.container_id = str(j, "ContainerID");
  e.running = boolean(j, "Running");
  e.pid = num(j, "Pid");
  auto it = j.is_object() ? j.find("ExitCode") : j.end();
  if (j.is_object() && it != j.end() && it->is_number()) e.exit_code = it->get<int>();
  return e;
}

Event parse_event(const json& j) {
  Event e;
  e.type = str(j, "Type");
  e.action = str(j, "Action");
  const auto& actor = sub(j, "Actor");
  e.actor_id = str(actor, "ID");
  e.attributes = string_map(sub(actor, "Attributes"));
  e.scope = str(j, "scope");
  e.time = num(j, "time");
  e.time_nano = num(j, "timeNano");
  if (e.type.empty()) e.type = str(j, "Type");
  if (e.action.empty()) e.action = str(j, "status");  // legacy (< 1.22) fields
  if (e.actor_id.empty()) e.actor_id = str(j, "id");
  return e;
}

uint32_t PathStat::posix_mode() const {
  // Go os.FileMode → st_mode (io/fs: ModeDir 1<<31, ModeSymlink 1<<27, ModeDevice 1<<26,
  // ModeNamedPipe 1<<25, ModeSocket 1<<24, ModeSetuid 1<<23, ModeSetgid 1<<22,
  // ModeCharDevice 1<<21, ModeSticky 1<<20).
  uint32_t m = mode & 0777;
  if (mode & (1u << 23)) m |= 04000;
  if (mode & (1u << 22)) m |= 02000;
  if (mode & (1u << 20)) m |= 01000;
  if (mode & kGoModeDir) m |= 0040000;
  else if (mode & kGoModeSymlink) m |= 0120000;
  else if (mode & (1u << 26)) m |= (mode & (1u << 21)) ? 0020000 : 0060000;
  else if (mode & (1u << 25)) m |= 0010000;
  else if (mode & (1u << 24)) m |= 0140000;
  else m |= 0100000;
  return m;
}

Result<PathStat> decode_path_stat(std::string_view value) {
  // Go's base64.StdEncoding (padded).
  auto out = base64_decode(value);
  if (!out.ok() || out->empty()) return invalid_argument("malformed X-Docker-Container-Path-Stat header");
  auto j = TRY_CTX(parse_json(*out, "X-Docker-Container-Path-Stat"), "stat");
  PathStat st;
  st.name = str(j, "name");
  st.size = num(j, "size");
  st.mode = static_cast<uint32_t>(num(j, "mode"));
  st.mtime = str(j, "mtime");
  st.link_target = str(j, "linkTarget");
  return st;
}

std::string engine_error_message(std::string_view body) {
  auto trimmed = [](std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
    while (!s.empty() && (s.front() == '\n' || s.front() == ' ')) s.remove_prefix(1);
    return std::string(s);
  };
  auto j = json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    std::string m = str(j, "message");
    if (!m.empty()) return trimmed(m);
  }
  return trimmed(body.substr(0, 2000));
}

std::pair<std::string, std::string> split_image_reference(std::string_view ref) {
  if (auto at = ref.find('@'); at != std::string_view::npos) {
    return {std::string(ref.substr(0, at)), std::string(ref.substr(at + 1))};
  }
  auto slash = ref.rfind('/');
  auto colon = ref.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    std::string tag(ref.substr(colon + 1));
    if (!tag.empty()) return {std::string(ref.substr(0, colon)), tag};
  }
  return {std::string(ref), "latest"};
}

std::string encode_filters(const EventFilters& filters) {
  json j = json::object();
  for (const auto& [k, vs] : filters) j[k] = vs;
  return j.dump();
}

}  // namespace stacksnap::docker
