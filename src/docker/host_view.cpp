#include "docker/host_view.h"

#include <filesystem>
#include <set>
#include <sstream>

#include "base/path.h"
#include "base/fd.h"
#include "docker/client.h"

namespace stacksnap::docker {

namespace {

std::string normal(const std::string& path) {
  std::string p = std::filesystem::path(path).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

namespace {

// mountinfo escapes ' ', '\t', '\n' and '\\' as \ooo.
std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out += static_cast<char>(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::vector<MountPoint> mounts_from_mountinfo(std::string_view mountinfo) {
  std::vector<MountPoint> out;
  std::istringstream in{std::string(mountinfo)};
  std::string line;
  while (std::getline(in, line)) {
    // "36 35 98:0 <root> <mount point> <options> [optional fields…] - <fstype> <source> <super options>"
    std::istringstream fields(line);
    std::string id, parent, dev, root, point, word;
    if (!(fields >> id >> parent >> dev >> root >> point)) continue;
    while (fields >> word && word != "-") {
    }
    std::string fstype;
    fields >> fstype;
    point = unescape(point);
    if (point == "/") continue;
    out.push_back(MountPoint{.type = fstype, .source = unescape(root), .destination = point});
  }
  return out;
}

std::string container_id_from_mountinfo(std::string_view mountinfo) {
  std::istringstream in{std::string(mountinfo)};
  std::string line;
  while (std::getline(in, line)) {
    // "36 35 98:0 <root> <mount point> <options> … - <fstype> <source> <super options>"
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    if (!(fields >> id >> parent >> dev >> root >> point)) continue;
    if (point != "/etc/hostname" && point != "/etc/hosts" && point != "/etc/resolv.conf") continue;
    const size_t at = root.find("/containers/");
    if (at == std::string::npos) continue;
    std::string_view rest = std::string_view(root).substr(at + 12);
    const size_t slash = rest.find('/');
    if (slash != std::string_view::npos && is_hex64(rest.substr(0, slash))) return std::string(rest.substr(0, slash));
  }
  return {};
}

std::string this_container_id() {
  auto text = read_small_file("/proc/self/mountinfo", 4 << 20);
  return text.ok() ? container_id_from_mountinfo(*text) : std::string();
}

std::string same_path_mount_option(const std::string& path) { return "-v " + path + ":" + path; }

HostView HostView::container(std::string id, std::string name, std::vector<MountPoint> mounts, bool known) {
  HostView v;
  v.in_container_ = true;
  v.known_ = known;
  v.id_ = std::move(id);
  v.name_ = std::move(name);
  v.mounts_ = std::move(mounts);
  return v;
}

namespace {

// This process's view from its mountinfo text (read once per detection).
HostView local_view(const Result<std::string>& mountinfo, const std::string& id) {
  if (!mountinfo.ok() || id.empty()) return HostView::host();
  return HostView::container(id, "", mounts_from_mountinfo(*mountinfo), /*known=*/false);
}

}  // namespace

HostView HostView::detect_local() {
  auto text = read_small_file("/proc/self/mountinfo", 4 << 20);
  return local_view(text, text.ok() ? container_id_from_mountinfo(*text) : std::string());
}

Result<HostView> HostView::detect(Client& docker) {
  auto text = read_small_file("/proc/self/mountinfo", 4 << 20);
  const std::string id = text.ok() ? container_id_from_mountinfo(*text) : std::string();
  if (id.empty()) return host();
  auto info = docker.inspect_container(id);
  if (!info.ok()) {
    if (info.error().code() == Code::kNotFound) return local_view(text, id);
    return std::move(info).error().with_context("find the mounts of this container");
  }
  return container(id, info->name, info->mounts, /*known=*/true);
}

const MountPoint* HostView::mount_of(const std::string& path) const {
  const MountPoint* best = nullptr;
  size_t best_len = 0;
  for (const auto& m : mounts_) {
    const std::string dest = normal(m.destination);
    if (!dest.empty() && path_within(path, dest) && (best == nullptr || dest.size() > best_len)) {
      best = &m;
      best_len = dest.size();
    }
  }
  return best;
}

PathAccess HostView::access(const std::string& path) const {
  if (!in_container_) return PathAccess::kSame;
  const std::string p = normal(path);
  const MountPoint* m = mount_of(p);
  if (m == nullptr) return PathAccess::kPrivate;
  if (!known_) {
    // mountinfo: a file system of the container's own (`--tmpfs`) is mounted from its
    // root; a bind mount from the host, even of a host tmpfs (/run), from a path in it.
    const bool own = (m->type == "tmpfs" || m->type == "overlay") && m->source == "/";
    return own ? PathAccess::kPrivate : PathAccess::kUnknown;
  }
  if (m->type == "tmpfs") return PathAccess::kPrivate;
  auto host = host_path(p);
  return host && *host == p ? PathAccess::kSame : PathAccess::kElsewhere;
}

std::optional<std::string> HostView::host_path(const std::string& path) const {
  if (!in_container_) return normal(path);
  if (!known_) return std::nullopt;
  const std::string p = normal(path);
  const MountPoint* m = mount_of(p);
  if (m == nullptr || m->source.empty() || m->type == "tmpfs") return std::nullopt;
  const std::string dest = normal(m->destination);
  return normal(m->source + (dest == "/" ? p : p.substr(dest.size())));
}

Status HostView::require_same_paths(const std::vector<std::string>& paths, std::string_view purpose) const {
  if (!in_container_) return {};
  std::string problems, options;
  std::set<std::string> seen;
  for (const auto& raw : paths) {
    if (raw.empty()) continue;
    const std::string p = normal(raw);
    const PathAccess a = access(p);
    if (a == PathAccess::kSame || a == PathAccess::kUnknown || !seen.insert(p).second) continue;
    auto host = host_path(p);
    problems += "\n  " + p + " " +
                (a == PathAccess::kPrivate ? std::string("exists only inside this container")
                                           : "is " + (host ? *host : std::string("a volume")) + " on the host");
    options += " " + same_path_mount_option(p);
  }
  if (problems.empty()) return {};
  return failed_precondition(std::string(purpose) + " needs paths that this container (" +
                             (name_.empty() ? id_.substr(0, 12) : name_) +
                             ") does not share with the Docker host at the same path:" + problems +
                             "\nRun the container with" + options +
                             " (or a parent directory, at the same path on both sides)");
}

}  // namespace stacksnap::docker
