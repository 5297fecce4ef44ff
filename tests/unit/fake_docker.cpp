#include "fake_docker.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "archive/fs_source.h"
#include "archive/tar_io.h"
#include "base/fd.h"
#include "docker/helper_container.h"

namespace stacksnap::fake {

namespace fs = std::filesystem;

namespace {

bool labels_match(const docker::Labels& labels, const std::vector<std::string>& filters) {
  for (const auto& f : filters) {
    const size_t eq = f.find('=');
    auto it = labels.find(eq == std::string::npos ? f : f.substr(0, eq));
    if (it == labels.end()) return false;
    if (eq != std::string::npos && it->second != f.substr(eq + 1)) return false;
  }
  return true;
}

docker::ContainerSummary summary_of(const docker::ContainerInfo& c) {
  return {.id = c.id,
          .name = c.name,
          .image = c.image,
          .image_id = c.image_id,
          .command = c.cmd.empty() ? "" : c.cmd.front(),
          .created = 0,
          .state = c.state.status,
          .status = c.state.status,
          .labels = c.labels,
          .mounts = c.mounts};
}

// The tar of host directory `dir` with every path under `root` ("" for "/d/." requests).
Result<std::string> tar_of(const std::string& dir, const std::string& root) {
  StringWriter out;
  auto tar = TRY(archive::TarWriter::create(out));
  std::function<Status(const fs::path&, const std::string&)> add = [&](const fs::path& p,
                                                                      const std::string& name) -> Status {
    if (!name.empty()) {
      auto meta = TRY(archive::stat_entry(p.string(), name));
      TRY(tar->begin_entry(meta));
      if (meta.type == archive::EntryType::kFile) {
        auto fd = TRY(open_file(p.string(), O_RDONLY | O_CLOEXEC));
        FdReader in(fd.get(), p.string());
        std::vector<std::byte> buf(64 * 1024);
        for (;;) {
          size_t n = TRY(in.read(buf));
          if (n == 0) break;
          TRY(tar->write_data(Bytes(buf.data(), n)));
        }
      }
      TRY(tar->end_entry());
    }
    std::error_code ec;
    if (!fs::is_directory(fs::symlink_status(p, ec))) return {};
    std::vector<fs::path> children;
    for (const auto& e : fs::directory_iterator(p, ec)) children.push_back(e.path());
    std::sort(children.begin(), children.end());
    for (const auto& c : children) {
      TRY(add(c, name.empty() ? c.filename().string() : name + "/" + c.filename().string()));
    }
    return {};
  };
  TRY(add(dir, root));
  TRY(tar->finish());
  return out.take();
}

class FakeArchiveReader final : public docker::ArchiveReader {
 public:
  FakeArchiveReader(std::string tar, docker::PathStat stat, StopToken stop, std::function<Status(uint64_t)> watch,
                    std::string op)
      : tar_(std::move(tar)), stat_(std::move(stat)), stop_(std::move(stop)), watch_(std::move(watch)),
        op_(std::move(op)) {}
  const docker::PathStat& stat() const override { return stat_; }
  Result<size_t> read(MutableBytes buf) override {
    TRY(check_cancel(stop_, op_));
    if (watch_) TRY(watch_(pos_));
    const size_t n = std::min({buf.size(), tar_.size() - pos_, size_t{64 * 1024}});
    std::memcpy(buf.data(), tar_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string tar_;
  docker::PathStat stat_;
  StopToken stop_;
  std::function<Status(uint64_t)> watch_;
  std::string op_;
  size_t pos_ = 0;
};

// Extracts a tar, each entry to the host path `host_of` gives for its path inside the
// container (docker cp rules: entries are relative to the directory PUT names).
Status extract_into(const std::string& tar, const std::function<Result<std::string>(const std::string&)>& host_of) {
  struct archive* in = archive_read_new();
  struct archive* out = archive_write_disk_new();
  archive_read_support_format_tar(in);
  archive_write_disk_set_options(out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                          ARCHIVE_EXTRACT_SECURE_SYMLINKS);
  Status st;
  if (archive_read_open_memory(in, tar.data(), tar.size()) != ARCHIVE_OK) {
    st = invalid_argument(std::string("put archive: ") + archive_error_string(in));
  }
  struct archive_entry* e = nullptr;
  for (;;) {
    if (!st.ok()) break;
    const int r = archive_read_next_header(in, &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {  // a warning (a name not in this locale's charset) is fine
      st = invalid_argument(std::string("put archive: ") + archive_error_string(in));
      break;
    }
    const char* utf8 = archive_entry_pathname_utf8(e);
    auto host = host_of(utf8 ? utf8 : archive_entry_pathname(e));
    if (!host.ok()) {
      st = std::move(host).error();
      break;
    }
    archive_entry_copy_pathname(e, host->c_str());
    if (const char* hl = archive_entry_hardlink(e)) {
      auto target = host_of(hl);
      if (!target.ok()) {
        st = std::move(target).error();
        break;
      }
      archive_entry_set_hardlink(e, target->c_str());
    }
    if (archive_write_header(out, e) != ARCHIVE_OK) {
      st = internal_error(std::string("put archive: ") + archive_error_string(out));
      break;
    }
    const void* block;
    size_t size;
    la_int64_t offset;
    while (archive_read_data_block(in, &block, &size, &offset) == ARCHIVE_OK) {
      if (archive_write_data_block(out, block, size, offset) != ARCHIVE_OK) {
        st = internal_error(std::string("put archive: ") + archive_error_string(out));
        break;
      }
    }
    archive_write_finish_entry(out);
  }
  archive_write_close(out);
  archive_write_free(out);
  archive_read_free(in);
  return st;
}

std::string join_args(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s += (s.empty() ? "" : " ") + a;
  return s;
}

}  // namespace

// ---- ExecCall, ComposeContainer ----------------------------------------------------------

std::string ExecCall::command_line() const { return join_args(options.cmd); }

bool ExecCall::has(std::string_view arg) const {
  return std::find(options.cmd.begin(), options.cmd.end(), arg) != options.cmd.end();
}

ComposeContainer::ComposeContainer(std::string project, std::string service, std::string image) {
  info_.name = project + "-" + service + "-1";
  info_.image = std::move(image);
  info_.image_id = "sha256:" + std::string(64, 'a');
  info_.created = "2026-12-01T10:00:00.000000000Z";
  info_.state = {.status = "running", .running = true, .pid = 4242};
  info_.labels = {{"com.docker.compose.project", project},
                  {"com.docker.compose.service", service},
                  {"com.docker.compose.container-number", "1"},
                  {"com.docker.compose.oneoff", "False"},
                  {"com.docker.compose.config-hash", std::string(64, 'c')},
                  {"com.docker.compose.version", "2.26.1"}};
  info_.network_mode = project + "_default";
  info_.networks = {project + "_default"};
}

ComposeContainer& ComposeContainer::volume(const docker::VolumeInfo& v, std::string destination, bool read_only) {
  info_.mounts.push_back({.type = "volume", .name = v.name, .source = v.mountpoint, .destination = std::move(destination),
                          .driver = v.driver, .mode = read_only ? "ro" : "z", .rw = !read_only});
  return *this;
}

ComposeContainer& ComposeContainer::bind(std::string host_path, std::string destination, bool read_only) {
  info_.mounts.push_back({.type = "bind", .source = std::move(host_path), .destination = std::move(destination),
                          .mode = read_only ? "ro" : "rw", .rw = !read_only, .propagation = "rprivate"});
  return *this;
}

ComposeContainer& ComposeContainer::working_dir(std::string dir, std::vector<std::string> config_files) {
  info_.labels["com.docker.compose.project.working_dir"] = std::move(dir);
  info_.labels["com.docker.compose.project.config_files"] = join_args(config_files).empty() ? "" : [&] {
    std::string s;
    for (const auto& f : config_files) s += (s.empty() ? "" : ",") + f;
    return s;
  }();
  return *this;
}

ComposeContainer& ComposeContainer::label(std::string key, std::string value) {
  info_.labels[std::move(key)] = std::move(value);
  return *this;
}

ComposeContainer& ComposeContainer::env(std::string kv) {
  info_.env.push_back(std::move(kv));
  return *this;
}

ComposeContainer& ComposeContainer::cmd(std::vector<std::string> cmd) {
  info_.cmd = std::move(cmd);
  return *this;
}

// ---- FakeDocker: set-up and inspection ----------------------------------------------------

FakeDocker::FakeDocker(std::string root) : root_(std::move(root)) {
  endpoint_ = {.kind = docker::Endpoint::Kind::kUnix, .path = root_ + "/docker.sock", .uri = "unix://" + root_ + "/docker.sock"};
  fs::create_directories(root_ + "/volumes");
}

FakeDocker::~FakeDocker() = default;

std::string FakeDocker::add_container(docker::ContainerInfo info) {
  std::lock_guard lock(mu_);
  if (info.id.empty()) {
    char id[65];
    std::snprintf(id, sizeof id, "%064d", next_id_++);
    info.id = id;
  }
  if (std::find(images_.begin(), images_.end(), info.image) == images_.end()) images_.push_back(info.image);
  // The networks Compose made for the project (PROJECT_KEY), as Compose labels them.
  auto project = info.labels.find("com.docker.compose.project");
  for (const auto& net : info.networks) {
    if (networks_.count(net) || project == info.labels.end() || net.rfind(project->second + "_", 0) != 0) continue;
    networks_[net] = {.id = "net" + std::to_string(next_id_++),
                      .name = net,
                      .labels = {{"com.docker.compose.project", project->second},
                                 {"com.docker.compose.network", net.substr(project->second.size() + 1)}},
                      .driver = "bridge"};
  }
  std::string id = info.id;
  containers_[id] = std::move(info);
  return id;
}

docker::VolumeInfo FakeDocker::add_volume(const std::string& name, const std::string& project) {
  docker::VolumeInfo v{.name = name, .driver = "local", .mountpoint = root_ + "/volumes/" + name + "/_data",
                       .created_at = "2026-12-01T10:00:00Z", .scope = "local"};
  if (!project.empty()) {
    v.labels = {{"com.docker.compose.project", project},
                {"com.docker.compose.volume", name.substr(name.find('_') + 1)},
                {"com.docker.compose.version", "2.26.1"}};
  }
  fs::create_directories(v.mountpoint);
  std::lock_guard lock(mu_);
  volumes_[name] = v;
  return v;
}

void FakeDocker::add_image(const std::string& reference) {
  std::lock_guard lock(mu_);
  images_.push_back(reference);
}

void FakeDocker::on_exec(ExecHandler handler) {
  std::lock_guard lock(mu_);
  exec_ = std::move(handler);
}

void FakeDocker::on_call(std::function<Status(const std::string&)> fault) {
  std::lock_guard lock(mu_);
  fault_ = std::move(fault);
}

void FakeDocker::on_archive_read(std::function<Status(uint64_t)> watch) {
  std::lock_guard lock(mu_);
  archive_watch_ = std::move(watch);
}

std::vector<std::string> FakeDocker::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

std::vector<std::string> FakeDocker::calls_starting(std::string_view prefix) const {
  std::vector<std::string> out;
  for (auto& c : calls()) {
    if (c.rfind(prefix, 0) == 0) out.push_back(c);
  }
  return out;
}

std::vector<docker::ContainerInfo> FakeDocker::containers() const {
  std::lock_guard lock(mu_);
  std::vector<docker::ContainerInfo> out;
  for (const auto& [id, c] : containers_) out.push_back(c);
  return out;
}

Result<docker::ContainerInfo> FakeDocker::container(std::string_view id_or_name) const {
  std::lock_guard lock(mu_);
  auto* c = const_cast<FakeDocker*>(this)->find_locked(id_or_name);
  if (!c) return not_found("No such container: " + std::string(id_or_name));
  return *c;
}

std::string FakeDocker::name_of(std::string_view id) {
  std::lock_guard lock(mu_);
  auto* c = find_locked(id);
  return c ? c->name : std::string(id);
}

Status FakeDocker::enter(const std::string& call) {
  std::function<Status(const std::string&)> fault;
  {
    std::lock_guard lock(mu_);
    calls_.push_back(call);
    fault = fault_;
  }
  return fault ? fault(call) : Status{};
}

docker::ContainerInfo* FakeDocker::find_locked(std::string_view id_or_name) {
  if (id_or_name.empty()) return nullptr;
  for (auto& [id, c] : containers_) {
    if (c.name == id_or_name || id == id_or_name || id.rfind(id_or_name, 0) == 0) return &c;
  }
  return nullptr;
}

Result<std::string> FakeDocker::host_dir_locked(const docker::ContainerInfo& c, std::string_view path) {
  for (const auto& m : c.mounts) {
    if (path != m.destination && path.rfind(m.destination + "/", 0) != 0) continue;
    std::string base = m.type == "volume" && volumes_.count(m.name) ? volumes_[m.name].mountpoint : m.source;
    return base + std::string(path.substr(m.destination.size()));
  }
  return not_found("Could not find the file " + std::string(path) + " in container " + c.name);
}

// ---- docker::Client: system ---------------------------------------------------------------

docker::VersionInfo FakeDocker::engine_version() const {
  return {.version = "26.1.5+dfsg1", .api_version = "1.45", .min_api_version = "1.24", .os = "linux",
          .arch = "amd64", .kernel_version = "6.1.0"};
}
docker::ApiVersion FakeDocker::api_version() const { return {1, 45}; }
Status FakeDocker::ping() { return enter("ping"); }
Result<docker::VersionInfo> FakeDocker::version() {
  TRY(enter("version"));
  return engine_version();
}
Status FakeDocker::renegotiate() { return enter("renegotiate"); }

// ---- containers ---------------------------------------------------------------------------

Result<std::vector<docker::ContainerSummary>> FakeDocker::list_containers(const docker::ListContainersOptions& o) {
  TRY(enter("list containers"));
  std::lock_guard lock(mu_);
  std::vector<docker::ContainerSummary> out;
  for (const auto& [id, c] : containers_) {
    if (!o.all && !c.state.running) continue;
    if (!labels_match(c.labels, o.labels)) continue;
    bool named = o.names.empty();
    for (const auto& n : o.names) named = named || c.name.find(n) != std::string::npos;
    if (named) out.push_back(summary_of(c));
  }
  return out;
}

Result<docker::ContainerInfo> FakeDocker::inspect_container(std::string_view id) {
  TRY(enter("inspect " + name_of(id)));
  return container(id);
}

Result<docker::TopResult> FakeDocker::top(std::string_view id, std::string_view) {
  TRY(enter("top " + name_of(id)));
  auto c = TRY(container(id));
  if (!c.state.running) return failed_precondition("Container " + c.id + " is not running");
  std::vector<std::string> argv = c.entrypoint;
  argv.insert(argv.end(), c.cmd.begin(), c.cmd.end());
  if (argv.empty()) argv = {"sleep", "infinity"};
  return docker::TopResult{{"PID", "COMMAND", "COMMAND"}, {{"1", fs::path(argv[0]).filename().string(), join_args(argv)}}};
}

Status FakeDocker::start_container(std::string_view id) {
  TRY(enter("start " + name_of(id)));
  std::lock_guard lock(mu_);
  auto* c = find_locked(id);
  if (!c) return not_found("No such container: " + std::string(id));
  c->state.running = true;
  c->state.status = c->state.paused ? "paused" : "running";
  return {};
}

Status FakeDocker::stop_container(std::string_view id, int) {
  TRY(enter("stop " + name_of(id)));
  std::lock_guard lock(mu_);
  auto* c = find_locked(id);
  if (!c) return not_found("No such container: " + std::string(id));
  c->state = {.status = "exited", .exit_code = 0};
  return {};
}

Status FakeDocker::pause_container(std::string_view id) {
  TRY(enter("pause " + name_of(id)));
  std::lock_guard lock(mu_);
  auto* c = find_locked(id);
  if (!c) return not_found("No such container: " + std::string(id));
  if (!c->state.running) return failed_precondition("Container " + c->id + " is not running");
  if (c->state.paused) return failed_precondition("Container " + c->id + " is already paused");
  c->state.paused = true;
  c->state.status = "paused";
  return {};
}

Status FakeDocker::unpause_container(std::string_view id) {
  TRY(enter("unpause " + name_of(id)));
  std::lock_guard lock(mu_);
  auto* c = find_locked(id);
  if (!c) return not_found("No such container: " + std::string(id));
  if (!c->state.paused) return internal_error("Container " + c->id + " is not paused");
  c->state.paused = false;
  c->state.status = "running";
  return {};
}

Result<std::string> FakeDocker::create_container(const docker::CreateContainerOptions& o) {
  auto purpose = o.labels.find(docker::kHelperLabel);
  TRY(enter("create " + (purpose != o.labels.end() ? "helper " + purpose->second : o.name) + " " + o.image));
  docker::ContainerInfo c;
  {
    std::lock_guard lock(mu_);
    bool known = std::find(images_.begin(), images_.end(), o.image) != images_.end();
    if (!known) return not_found("No such image: " + o.image);
    if (!o.name.empty() && find_locked(o.name)) {
      return failed_precondition("Conflict. The container name \"/" + o.name + "\" is already in use");
    }
    c.name = o.name.empty() ? "fake_" + std::to_string(next_id_) : o.name;
    c.image = o.image;
    c.state = {.status = "created"};
    c.labels = o.labels;
    c.env = o.env;
    c.cmd = o.cmd;
    c.entrypoint = o.entrypoint.value_or(std::vector<std::string>{});
    c.user = o.user;
    c.working_dir = o.working_dir;
    c.network_mode = o.network_mode;
    for (const auto& m : o.mounts) {
      docker::MountPoint mp{.destination = m.target, .rw = !m.read_only};
      if (m.type == docker::MountSpec::Type::kVolume) {
        if (!volumes_.count(m.source)) {
          volumes_[m.source] = {.name = m.source, .driver = "local",
                                .mountpoint = root_ + "/volumes/" + m.source + "/_data", .scope = "local"};
          fs::create_directories(volumes_[m.source].mountpoint);
        }
        mp.type = "volume";
        mp.name = m.source;
        mp.source = volumes_[m.source].mountpoint;
        mp.driver = "local";
      } else if (m.type == docker::MountSpec::Type::kBind) {
        std::error_code ec;
        if (!fs::exists(m.source, ec)) {
          return invalid_argument("invalid mount config for type \"bind\": bind source path does not exist: " +
                                  m.source);
        }
        mp.type = "bind";
        mp.source = m.source;
      } else {
        mp.type = "tmpfs";
      }
      c.mounts.push_back(std::move(mp));
    }
  }
  return add_container(std::move(c));
}

Status FakeDocker::remove_container(std::string_view id, const docker::RemoveContainerOptions& o) {
  TRY(enter("remove " + name_of(id)));
  std::lock_guard lock(mu_);
  auto* c = find_locked(id);
  if (!c) return not_found("No such container: " + std::string(id));
  if (c->state.running && !o.force) {
    return failed_precondition("You cannot remove a running container " + c->id + ". Stop the container before "
                               "attempting removal or force remove");
  }
  containers_.erase(c->id);
  return {};
}

Result<int> FakeDocker::wait_container(std::string_view id, const StopToken& stop) {
  TRY(enter("wait " + name_of(id)));
  for (;;) {
    auto c = TRY(container(id));
    if (!c.state.running) return c.state.exit_code;
    TRY(check_cancel(stop, "wait for container " + std::string(id)));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// ---- exec ---------------------------------------------------------------------------------

Result<int> FakeDocker::exec(std::string_view container_id, const docker::ExecOptions& options, Reader* stdin,
                             Writer& out, Writer& err, const StopToken& stop) {
  auto c = TRY(container(container_id));
  TRY(enter("exec " + c.name + " " + join_args(options.cmd)));
  TRY(check_cancel(stop, "exec in " + c.name));
  c = TRY(container(container_id));  // the state after the fault hook
  if (c.state.paused) {
    return failed_precondition("Container " + c.id + " is paused, unpause the container before exec");
  }
  if (!c.state.running) return failed_precondition("Container " + c.id + " is not running");
  ExecHandler handler;
  {
    std::lock_guard lock(mu_);
    handler = exec_;
  }
  if (!handler) {
    TRY(out.write(as_bytes("OCI runtime exec failed: exec: \"" + (options.cmd.empty() ? "" : options.cmd[0]) +
                           "\": executable file not found in $PATH\r\n")));
    return 127;
  }
  return handler(ExecCall{.container = std::move(c), .options = options}, stdin, out, err);
}

Result<docker::ExecInspect> FakeDocker::inspect_exec(std::string_view exec_id) {
  TRY(enter("inspect exec " + std::string(exec_id)));
  return not_found("No such exec instance: " + std::string(exec_id));
}

// ---- archive ------------------------------------------------------------------------------

Result<docker::PathStat> FakeDocker::stat_path(std::string_view id, std::string_view path) {
  auto c = TRY(container(id));
  TRY(enter("stat " + c.name + " " + std::string(path)));
  std::string host;
  {
    std::lock_guard lock(mu_);
    host = TRY(host_dir_locked(c, path));
  }
  struct stat st {};
  if (::lstat(host.c_str(), &st) != 0) return not_found("stat " + std::string(path) + ": no such container or path");
  docker::PathStat ps{.name = fs::path(std::string(path)).filename().string(), .size = st.st_size,
                      .mode = static_cast<uint32_t>(st.st_mode & 07777)};
  if (S_ISDIR(st.st_mode)) ps.mode |= docker::PathStat::kGoModeDir;
  if (S_ISLNK(st.st_mode)) ps.mode |= docker::PathStat::kGoModeSymlink;
  return ps;
}

Result<std::unique_ptr<docker::ArchiveReader>> FakeDocker::open_archive(std::string_view id, std::string_view path,
                                                                        const StopToken& stop) {
  auto c = TRY(container(id));
  const std::string op = "read " + std::string(path) + " of " + c.name;
  TRY(enter("archive " + c.name + " " + std::string(path)));
  auto ps = TRY_CTX(stat_path(id, path), op);
  std::string host, root = ps.name;
  {
    std::lock_guard lock(mu_);
    host = TRY(host_dir_locked(c, path));
  }
  if (path.size() >= 2 && path.substr(path.size() - 2) == "/.") root.clear();
  auto tar = TRY_CTX(tar_of(host, root), op);
  std::function<Status(uint64_t)> watch;
  {
    std::lock_guard lock(mu_);
    watch = archive_watch_;
  }
  return std::unique_ptr<docker::ArchiveReader>(
      new FakeArchiveReader(std::move(tar), std::move(ps), stop, std::move(watch), op));
}

Status FakeDocker::put_archive(std::string_view id, std::string_view path, Reader& tar_in, Overwrite,
                               const StopToken& stop) {
  auto c = TRY(container(id));
  TRY(enter("put archive " + c.name + " " + std::string(path)));
  auto tar = TRY(read_all(tar_in, 1ull << 30));
  TRY(check_cancel(stop, "put archive into " + c.name));
  const std::string base = path == "/" ? "" : std::string(path);
  return extract_into(tar, [&](const std::string& entry) -> Result<std::string> {
    std::string inside = base + "/" + entry;
    while (inside.size() > 1 && inside.back() == '/') inside.pop_back();
    std::lock_guard lock(mu_);
    return host_dir_locked(c, inside);
  });
}

// ---- volumes, networks, images, events ----------------------------------------------------

Result<std::vector<docker::VolumeInfo>> FakeDocker::list_volumes(const std::vector<std::string>& label_filters) {
  TRY(enter("list volumes"));
  std::lock_guard lock(mu_);
  std::vector<docker::VolumeInfo> out;
  for (const auto& [name, v] : volumes_) {
    if (labels_match(v.labels, label_filters)) out.push_back(v);
  }
  return out;
}

Result<docker::VolumeInfo> FakeDocker::inspect_volume(std::string_view name) {
  TRY(enter("inspect volume " + std::string(name)));
  std::lock_guard lock(mu_);
  auto it = volumes_.find(std::string(name));
  if (it == volumes_.end()) return not_found("get " + std::string(name) + ": no such volume");
  return it->second;
}

Result<docker::VolumeInfo> FakeDocker::create_volume(const docker::CreateVolumeOptions& o) {
  TRY(enter("create volume " + o.name));
  {
    std::lock_guard lock(mu_);
    auto it = volumes_.find(o.name);
    if (it != volumes_.end()) return it->second;
  }
  auto v = add_volume(o.name);
  std::lock_guard lock(mu_);
  volumes_[o.name].labels = o.labels;
  return volumes_[o.name];
}

Status FakeDocker::remove_volume(std::string_view name, bool) {
  TRY(enter("remove volume " + std::string(name)));
  std::lock_guard lock(mu_);
  auto it = volumes_.find(std::string(name));
  if (it == volumes_.end()) return not_found("get " + std::string(name) + ": no such volume");
  for (const auto& [id, c] : containers_) {
    for (const auto& m : c.mounts) {
      if (m.type == "volume" && m.name == name) {
        return failed_precondition("remove " + std::string(name) + ": volume is in use - [" + id + "]");
      }
    }
  }
  std::error_code ec;
  fs::remove_all(fs::path(it->second.mountpoint).parent_path(), ec);
  volumes_.erase(it);
  return {};
}

Result<std::vector<docker::NetworkSummary>> FakeDocker::list_networks(const std::vector<std::string>& label_filters) {
  TRY(enter("list networks"));
  std::lock_guard lock(mu_);
  std::vector<docker::NetworkSummary> out;
  for (const auto& [name, n] : networks_) {
    if (labels_match(n.labels, label_filters)) out.push_back(n);
  }
  return out;
}

Result<docker::NetworkSummary> FakeDocker::inspect_network(std::string_view name) {
  TRY(enter("inspect network " + std::string(name)));
  std::lock_guard lock(mu_);
  for (const auto& [n, net] : networks_) {
    if (n == name || net.id == name) return net;
  }
  return not_found("network " + std::string(name) + " not found");
}

Result<std::string> FakeDocker::create_network(const docker::CreateNetworkOptions& o) {
  TRY(enter("create network " + o.name));
  std::lock_guard lock(mu_);
  if (networks_.count(o.name)) return already_exists("network with name " + o.name + " already exists");
  std::string id = "net" + std::to_string(next_id_++);
  networks_[o.name] = {.id = id, .name = o.name, .labels = o.labels, .driver = o.driver.empty() ? "bridge" : o.driver};
  return id;
}

Status FakeDocker::remove_network(std::string_view id) {
  TRY(enter("remove network " + std::string(id)));
  std::lock_guard lock(mu_);
  for (auto it = networks_.begin(); it != networks_.end(); ++it) {
    if (it->first == id || it->second.id == id) {
      networks_.erase(it);
      return {};
    }
  }
  return not_found("network " + std::string(id) + " not found");
}

Result<std::vector<docker::ImageSummary>> FakeDocker::list_images(const std::vector<std::string>&) {
  TRY(enter("list images"));
  std::lock_guard lock(mu_);
  std::vector<docker::ImageSummary> out;
  for (const auto& i : images_) out.push_back({.id = "sha256:" + i, .repo_tags = {i}});
  return out;
}

Result<docker::ImageInfo> FakeDocker::inspect_image(std::string_view reference) {
  TRY(enter("inspect image " + std::string(reference)));
  std::lock_guard lock(mu_);
  if (std::find(images_.begin(), images_.end(), reference) == images_.end()) {
    return not_found("No such image: " + std::string(reference));
  }
  return docker::ImageInfo{.id = "sha256:" + std::string(reference), .repo_tags = {std::string(reference)},
                           .os = "linux", .architecture = "amd64"};
}

Status FakeDocker::pull_image(std::string_view reference, const std::function<void(std::string_view)>&,
                              const StopToken&) {
  TRY(enter("pull " + std::string(reference)));
  return unavailable("pull " + std::string(reference) + ": no registry is reachable from a unit test");
}

Status FakeDocker::events(const docker::EventFilters&, int64_t, int64_t,
                          const std::function<Result<bool>(const docker::Event&)>&, const StopToken&) {
  return enter("events");  // no events happen in the fake
}

}  // namespace stacksnap::fake
