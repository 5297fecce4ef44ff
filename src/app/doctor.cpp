#include "app/doctor.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "archive/verify.h"
#include "base/path.h"
#include "base/build_info.h"
#include "base/text.h"
#include "docker/host_view.h"
#include "repo/repo.h"
#include "seal/key.h"
#include "stack/discovery.h"
#include "storage/s3/s3_target.h"

namespace stacksnap::app {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string_view check_state_name(CheckState s) {
  switch (s) {
    case CheckState::kOk: return "ok";
    case CheckState::kWarn: return "warn";
    case CheckState::kFail: return "fail";
  }
  return "fail";
}

int DoctorReport::failed() const {
  return static_cast<int>(std::count_if(checks.begin(), checks.end(), [](const Check& c) { return c.state == CheckState::kFail; }));
}

int DoctorReport::warnings() const {
  return static_cast<int>(std::count_if(checks.begin(), checks.end(), [](const Check& c) { return c.state == CheckState::kWarn; }));
}

Json DoctorReport::to_json() const {
  const BuildInfo& b = build_info();
  Json list = Json::array();
  for (const auto& c : checks) {
    list.push_back({{"id", c.id}, {"state", check_state_name(c.state)}, {"summary", c.summary}, {"fix", c.fix}});
  }
  return {{"ok", ok()},           {"failed", failed()}, {"warnings", warnings()}, {"version", b.version},
          {"commit", b.commit},   {"build_date", b.date}, {"checks", list}};
}

namespace {

std::string octal_mode(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

Check ok(std::string id, std::string summary) { return {std::move(id), CheckState::kOk, std::move(summary), ""}; }
Check warn(std::string id, std::string summary, std::string fix) {
  return {std::move(id), CheckState::kWarn, std::move(summary), std::move(fix)};
}
Check fail(std::string id, std::string summary, std::string fix) {
  return {std::move(id), CheckState::kFail, std::move(summary), std::move(fix)};
}

Check check_build(const DoctorEnv& env) {
  std::string s = version_line();
  if (env.cat) {
    const catalog::SchemaInfo& schema = env.cat->schema();
    s += "; state database schema " + std::to_string(schema.version);
    if (schema.migrated()) s += " (upgraded from " + std::to_string(schema.found) + ", copy kept: " + schema.backup_path + ")";
  }
  return ok("build", s);
}

Check check_engine(docker::Client* client, const Error* error, bool in_container) {
  if (error) {
    if (error->code() == Code::kFailedPrecondition) {
      return fail("engine", error->message(), "upgrade the Docker Engine (20.10 or newer; API 1.41)");
    }
    return fail("engine", error->message(),
                in_container ? "run the container with -v /var/run/docker.sock:/var/run/docker.sock"
                             : "start the Docker Engine (systemctl start docker), or point DOCKER_HOST at it");
  }
  const docker::VersionInfo v = client->engine_version();
  return ok("engine", "Docker Engine " + v.version + " at " + client->endpoint().uri + " (API " +
                          client->api_version().to_string() + " spoken, the Engine's newest is " + v.api_version + ")");
}

Check check_container(const docker::HostView& view, const std::string& data_dir, bool engine_reachable) {
  const std::string who = "container " + (view.container_name().empty() ? view.container_id().substr(0, 12)
                                                                        : view.container_name());
  const std::string option = docker::same_path_mount_option(data_dir);
  const docker::PathAccess access = view.access(data_dir);
  if (access == docker::PathAccess::kPrivate) {
    return fail("container",
                who + ": the data dir " + data_dir + " is inside the container: the catalog and the key are lost "
                      "with it",
                "run the container with " + option);
  }
  if (!view.known()) {
    return warn("container",
                who + ": " + (engine_reachable ? "not a container of this Docker Engine" : "the Docker Engine cannot be reached") +
                    ", so whether the data dir and the compose working dirs are the host's, at the same path, cannot "
                    "be checked",
                engine_reachable ? "run StackSnap's container on the Engine it backs up"
                                 : "run the container with -v /var/run/docker.sock:/var/run/docker.sock");
  }
  if (access == docker::PathAccess::kElsewhere) {
    return warn("container",
                who + ": the data dir " + data_dir + " is " + view.host_path(data_dir).value_or("a volume") +
                    " on the host; drills and restores beside a project put bind mounts under it, which the "
                    "Engine looks for at " + data_dir + " on the host",
                "run the container with " + option);
  }
  return ok("container", who + "; the data dir " + data_dir + " is the host's, at the same path");
}

// Of `paths` (sorted), those not below another one.
std::vector<std::string> outermost(std::vector<std::string> paths) {
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> out;
  for (const auto& p : paths) {
    if (!out.empty() && path_within(p, out.back())) continue;
    out.push_back(p);
  }
  return out;
}

void check_project_paths(docker::Client& client, const docker::HostView& view, std::vector<Check>& out) {
  auto projects = stack::discover_projects(client, {.detect_by_process = false, .read_compose_files = false});
  if (!projects.ok()) {
    out.push_back(warn("paths", "could not list the Compose projects: " + projects.error().message(), ""));
    return;
  }
  for (const auto& p : *projects) {
    std::vector<std::string> paths = {p.working_dir};
    for (const auto& f : p.config_files) paths.push_back(f);
    for (const auto& b : p.binds) paths.push_back(b.host_path);
    std::vector<std::string> missing;
    for (const auto& path : paths) {
      const docker::PathAccess a = view.access(path);
      if (!path.empty() && a != docker::PathAccess::kSame && a != docker::PathAccess::kUnknown) missing.push_back(path);
    }
    if (missing.empty()) {
      out.push_back(ok("paths:" + p.name, "working dir " + p.working_dir + " and bind mounts shared at the same path"));
      continue;
    }
    const std::vector<std::string> roots = outermost(missing);
    std::string fix = "run the container with";
    for (const auto& m : roots) fix += " " + docker::same_path_mount_option(m);
    const std::string list = join(roots, ", ");
    out.push_back(fail("paths:" + p.name,
                       "this container does not see " + list + " as the host does: its backups lack the compose "
                       "files and restores of " + p.name + " would write where the Engine does not look",
                       fix));
  }
}

Check check_compose(const DoctorEnv& env) {
  auto tool = env.find_compose ? env.find_compose() : restore::find_compose(restore::compose_cache_file(env.data_dir));
  const std::string install =
      "install Compose v2: the docker-compose-plugin package (Docker's repository), or docker-compose from Debian 13";
  if (!tool.ok()) return fail("compose", tool.error().message() + ": restores cannot start stacks", install);
  if (!tool->v2) {
    return warn("compose", tool->describe() + " (Compose v1, end of life since 2023): restores work, new compose file "
                           "features do not",
                install);
  }
  return ok("compose", tool->describe() + " (Compose v2)");
}

// Entries of the data dir and of its secrets/ that group or others may use (symlinks
// aside): the key, the catalog and its copies, credentials. They matter once the data
// dir itself lets others in.
void loose_files(const std::string& dir, std::vector<std::string>& found) {
  for (const std::string& d : {dir, dir + "/secrets"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(d, ec)) {
      struct stat st {};
      if (::lstat(e.path().c_str(), &st) == 0 && !S_ISLNK(st.st_mode) && (st.st_mode & 077) != 0) {
        found.push_back(e.path().string() + " (" + octal_mode(st.st_mode) + ")");
      }
    }
  }
}

Check check_data_dir(const DoctorEnv& env) {
  const std::string& dir = env.data_dir;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    return fail("data-dir", dir + " does not exist", "install -d -m 0700 " + dir + " (stacksnap key init creates it)");
  }
  if (!S_ISDIR(st.st_mode)) return fail("data-dir", dir + " is not a directory", "move it away; the data dir is a directory");
  if (!env.cat) return fail("data-dir", "the state database cannot be opened: " + env.catalog_error, "");
  if (st.st_uid != ::geteuid()) {
    return warn("data-dir", dir + " belongs to uid " + std::to_string(st.st_uid) + ", StackSnap runs as uid " +
                                std::to_string(::geteuid()),
                "chown -R " + std::to_string(::geteuid()) + " " + dir);
  }
  std::vector<std::string> loose;
  if ((st.st_mode & 077) != 0) {
    loose.push_back(dir + " (" + octal_mode(st.st_mode) + ")");
    loose_files(dir, loose);
  }
  if (!loose.empty()) {
    return fail("data-dir", "other users can read StackSnap's state and keys: " + join(loose, ", "),
                "chmod -R go-rwx " + dir);
  }
  return ok("data-dir", dir + " (mode 0700: the key and the state are private)");
}

Check check_key(const DoctorEnv& env) {
  const Json& k = env.key_status;
  const std::string source = k.value("source", Json()).is_string() ? k["source"].get<std::string>() : "";
  const std::string fp = k.value("fingerprint", Json()).is_string() ? k["fingerprint"].get<std::string>() : "";
  if (!k.value("configured", false)) {
    return fail("key", "no master key in " + env.data_dir + ": nothing can be backed up",
                "stacksnap key init (or create the key in the dashboard), then keep a copy of it off this host");
  }
  const bool unlocked = k.value("unlocked", false);
  if (source == "key-file" && !unlocked) {
    return fail("key", "the key file " + seal::key_file_path(env.data_dir) + " cannot be read",
                "put back the key file from your copy (64 hex digits, mode 0600)");
  }
  if (source == "passphrase" && !unlocked && env.key_holder == KeyHolder::kServer) {
    return warn("key", "the passphrase key (fingerprint " + fp + ") is locked: jobs fail until it is unlocked",
                "unlock it in the dashboard, or start the server with STACKSNAP_PASSPHRASE set");
  }
  return ok("key", (source == "passphrase" ? "passphrase key" : "key file") + std::string(fp.empty() ? "" : ", fingerprint " + fp));
}

void check_targets(const DoctorEnv& env, const Clock& clock, std::vector<Check>& out) {
  auto targets = env.cat->list_targets();
  if (!targets.ok()) {
    out.push_back(fail("targets", "cannot read the targets: " + targets.error().message(), ""));
    return;
  }
  if (targets->empty()) {
    out.push_back(warn("targets", "no storage target: backups have nowhere to go",
                       "stacksnap target add local NAME --path DIR (or s3 …)"));
    return;
  }
  const TargetOpener open = env.open_target ? env.open_target : default_target_opener();
  for (const auto& rec : *targets) {
    const std::string id = "target:" + rec.name;
    if (rec.kind == "local") {
      const std::string path = rec.config.value("path", "");
      std::error_code ec;
      if (!fs::is_directory(path, ec)) {
        out.push_back(fail(id, "local " + path + " is missing (a backup disk not mounted?)",
                           "mount it, or create it: install -d -m 0700 " + path));
        continue;
      }
      if (::access(path.c_str(), W_OK) != 0) {
        out.push_back(fail(id, "local " + path + " is not writable", "check its owner and mode"));
        continue;
      }
    }
    auto target = open(rec);
    if (!target.ok()) {
      out.push_back(fail(id, target.error().message(), "fix the target: stacksnap target remove/add " + rec.name));
      continue;
    }
    auto* s3 = dynamic_cast<storage::s3::S3Target*>(target->get());
    if (!s3) {
      Status listed = (*target)->list(repo::kBackupsPrefix, [](const storage::ObjectInfo&) { return cancelled(""); });
      if (!listed.ok() && listed.error().code() != Code::kCancelled) {
        out.push_back(fail(id, (*target)->describe() + ": " + listed.error().message(), ""));
      } else {
        out.push_back(ok(id, (*target)->describe()));
      }
      continue;
    }
    const auto sent = clock.now();
    auto server_time = s3->check_once();
    if (!server_time.ok()) {
      out.push_back(fail(id, server_time.error().message(),
                         "check the endpoint, bucket and credentials: stacksnap target test " + rec.name));
      continue;
    }
    out.push_back(ok(id, (*target)->describe()));
    if (!*server_time) continue;
    // The server stamped its answer between sending and now: compare with the midpoint.
    const auto local = sent + (clock.now() - sent) / 2;
    const int64_t skew = std::chrono::duration_cast<std::chrono::seconds>(local - **server_time).count();
    const std::string what = "this clock is " + std::to_string(std::llabs(skew)) + " s " +
                             (skew >= 0 ? "ahead of" : "behind") + " " + rec.name + "'s";
    const std::string sync = "synchronise the clock (systemd-timesyncd, chrony)";
    if (std::llabs(skew) > kSkewFail) {
      out.push_back(fail("clock:" + rec.name, what + ": requests are refused beyond 15 min (SigV4)", sync));
    } else if (std::llabs(skew) > kSkewWarn) {
      out.push_back(warn("clock:" + rec.name, what, sync));
    } else {
      out.push_back(ok("clock:" + rec.name, what));
    }
  }
}

Check check_spool(const DoctorEnv& env) {
  // The spool, or the directory it will be created in.
  fs::path dir = repo::spool_dir(env.data_dir);
  std::error_code ec;
  while (!fs::is_directory(dir, ec) && dir.has_parent_path() && dir != dir.parent_path()) dir = dir.parent_path();
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return fail("spool", "cannot read the free space of " + dir.string(), "");
  const uint64_t free_bytes = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  uint64_t largest = 0;
  if (env.cat) {
    auto backups = env.cat->list_backups();
    if (backups.ok()) {
      for (const auto& b : *backups) largest = std::max(largest, b.stored_bytes);
    }
  }
  const std::string s = human_bytes(free_bytes) + " free in " + dir.string() +
                        (largest ? "; the largest backup is " + human_bytes(largest) : "");
  const std::string fix = "free space on that file system, or move the data dir to a larger one";
  if (free_bytes < largest) return fail("spool", s + ": restoring it would not fit", fix);
  if (free_bytes < 2 * largest || free_bytes < kSpoolWarnBytes) return warn("spool", s, fix);
  return ok("spool", s);
}

Result<docker::Client*> connect(const DoctorEnv& env) {
  return env.docker ? env.docker() : Result<docker::Client*>(unavailable("no Docker client"));
}

void add_container_checks(const DoctorEnv& env, const Result<docker::Client*>& client, std::vector<Check>& out) {
  if (docker::this_container_id().empty()) return;
  auto view = client.ok() ? docker::HostView::detect(**client) : Result<docker::HostView>(docker::HostView::detect_local());
  if (!view.ok()) {
    out.push_back(warn("container", view.error().message(), ""));
    return;
  }
  out.push_back(check_container(*view, env.data_dir, client.ok()));
  if (view->known()) check_project_paths(**client, *view, out);
}

}  // namespace

std::vector<Check> container_checks(const DoctorEnv& env) {
  std::vector<Check> out;
  add_container_checks(env, connect(env), out);
  return out;
}

DoctorReport run_doctor(const DoctorEnv& env) {
  SystemClock system_clock;
  const Clock& clock = env.clock ? *env.clock : system_clock;
  DoctorReport r;
  r.checks.push_back(check_build(env));
  auto client = connect(env);
  const bool in_container = !docker::this_container_id().empty();
  r.checks.push_back(check_engine(client.ok() ? *client : nullptr, client.ok() ? nullptr : &client.error(), in_container));
  add_container_checks(env, client, r.checks);
  r.checks.push_back(check_compose(env));
  r.checks.push_back(check_data_dir(env));
  r.checks.push_back(check_key(env));
  if (env.cat) check_targets(env, clock, r.checks);
  r.checks.push_back(check_spool(env));
  return r;
}

}  // namespace stacksnap::app
