#include "restore/restore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <optional>
#include <set>
#include <thread>

#include "archive/reader.h"
#include "archive/verify.h"
#include "base/clock.h"
#include "base/fd.h"
#include "base/scope.h"
#include "base/text.h"
#include "repo/repo.h"
#include "repo/verify_stored.h"
#include "restore/apply.h"
#include "restore/bring_up.h"
#include "restore/compose.h"
#include "restore/databases.h"
#include "restore/file_check.h"
#include "restore/sqlite_check.h"
#include "restore/teardown.h"
#include "repo/rebuild.h"
#include "stack/discovery.h"
#include "stack/yaml.h"

namespace stacksnap::restore {

namespace fs = std::filesystem;

std::string sandbox_compose_path(const std::string& working_dir) {
  return working_dir + "/docker-compose.stacksnap.yml";
}

// ---- fetch + verify -------------------------------------------------------------------

FetchedArchive::FetchedArchive(FetchedArchive&& o) noexcept
    : spool_path_(std::exchange(o.spool_path_, {})),
      fd_(std::move(o.fd_)),
      open_path_(std::move(o.open_path_)),
      target_(std::move(o.target_)),
      plan_(std::move(o.plan_)) {}

FetchedArchive::~FetchedArchive() {
  if (!spool_path_.empty()) ::unlink(spool_path_.c_str());
}

Result<FetchedArchive> fetch_and_verify(const RestoreEnv& env, const std::string& backup_id, job::Context& ctx,
                                        const std::string& from_target) {
  auto rec = TRY(env.cat.get_backup(backup_id));
  // A backup whose record says it was deep-verified (every backup is, before it is
  // stored; the record is sealed into its sidecar) only needs authenticating: every
  // segment's tag proves the file is bit for bit what was verified. The restore's own
  // pass over the archive still hashes every entry against the manifest as it applies.
  const bool deep = rec.verify_result != "ok";
  const std::string spool = env.data_dir + "/spool";
  if (::mkdir(spool.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("create " + spool, errno);
  FetchedArchive fa;
  repo::KeptCopy kept{.spool_path = spool + "/restore-" + backup_id + "-" + std::to_string(::getpid()) + ".stsnap"};
  {
    // One pass: stream the copy from its target into the spool while authenticating
    // every segment, decompressing and hashing every entry; what is applied later is
    // exactly the file that verified.
    job::StepTimer t(ctx, "verify",
                     "Fetch backup " + backup_id +
                         (deep ? ", authenticate and check the whole archive"
                               : ", authenticate every segment (the backup was deep-verified when made)"));
    auto v = repo::verify_backup(env.cat, backup_id, env.keys, ctx.stop(), &kept,
                                 deep ? archive::VerifyDepth::kDeep : archive::VerifyDepth::kAuthenticate, from_target);
    if (!v.ok()) {
      t.end(false, v.error().message());
      if (v.error().code() == Code::kCancelled) return std::move(v).error();
      return std::move(v).error().with_context("backup " + backup_id +
                                               " could not be fetched and verified; nothing was changed on this host");
    }
    fa.target_ = v->target;
    if (kept.named) fa.spool_path_ = kept.spool_path;
    fa.fd_ = std::move(kept.fd);
    fa.open_path_ = "/proc/self/fd/" + std::to_string(fa.fd_.get());
    if (kept.in_place) ctx.info("read in place on target " + v->target + " (nothing copied)", "verify");
    if (deep) {
      t.end(true, std::to_string(v->report.entries) + " entries, " + human_bytes(v->report.content_bytes) +
                      " from target " + v->target);
      fa.plan_ = std::move(v->report.plan);
    } else {
      t.end(true, std::to_string(v->report.segments) + " segments, " + human_bytes(v->report.sealed_bytes) +
                      " from target " + v->target);
      // The plan is the archive's first entry.
      auto fd = TRY(open_file(fa.open_path_, O_RDONLY | O_CLOEXEC));
      FdReader in(fd.get(), fa.open_path_);
      auto reader = TRY_CTX(archive::ArchiveReader::open(in, env.keys, {.prefetch = false}), "read the plan");
      fa.plan_ = reader->plan();
    }
  }
  return fa;
}

// ---- apply --------------------------------------------------------------------------

namespace {

// The failure of a step after the host was changed: says what was applied and, when a
// safety backup was taken, the one command that puts the project back as it was.
Error after_changes(Error e, const std::vector<std::string>& applied, const std::string& undo, job::Context& ctx) {
  if (applied.empty()) return std::move(e).with_context("nothing was changed on this host");
  Json event = {{"applied", applied}};
  if (!undo.empty()) event["undo"] = undo;
  ctx.emit("restore_applied", event);
  std::string msg = e.message() + " — applied before the failure: " + join(applied, "; ");
  if (!undo.empty()) msg += ". To put the project back as it was before: " + undo;
  return Error(e.code(), msg);
}

struct ImageNeed {
  std::string image;
  std::string service;
};

Status ensure_images(docker::Client& docker, const Json& plan, job::Context& ctx, std::string& helper_image) {
  std::vector<ImageNeed> needs;
  std::set<std::string> seen;
  if (plan.contains("services") && plan["services"].is_object()) {
    for (const auto& [name, s] : plan["services"].items()) {
      std::string image = s.is_object() ? s.value("image", "") : "";
      if (image.empty() || !seen.insert(image).second) continue;
      needs.push_back({image, name});
    }
  }
  for (const auto& n : needs) {
    auto have = docker.inspect_image(n.image);
    if (have.ok()) {
      if (helper_image.empty()) helper_image = n.image;
      continue;
    }
    if (have.error().code() != Code::kNotFound) return std::move(have).error();
    ctx.info("pulling " + n.image + " (service " + n.service + ")", "images");
    auto st = docker.pull_image(n.image, {}, ctx.stop());
    if (!st.ok()) {
      return failed_precondition("image " + n.image + " of service " + n.service +
                                 " is not on this host and could not be pulled: " + st.error().message());
    }
    if (helper_image.empty()) helper_image = n.image;
  }
  return {};
}

struct Existing {
  std::vector<docker::ContainerSummary> containers;
  std::vector<std::string> volumes;
  bool any() const { return !containers.empty() || !volumes.empty(); }
};

Result<Existing> find_existing(docker::Client& docker, const Placement& p) {
  Existing ex;
  ex.containers = TRY(docker.list_containers({.all = true, .labels = {"com.docker.compose.project=" + p.project}}));
  for (const auto& v : p.volumes) {
    auto info = docker.inspect_volume(v.name);
    if (info.ok()) ex.volumes.push_back(v.name);
    else if (info.error().code() != Code::kNotFound) return std::move(info).error();
  }
  return ex;
}

// compose down of the existing project with its own files when they are still there;
// otherwise its containers are removed through the Engine.
Status take_down(docker::Client& docker, const ComposeTool& tool, const Placement& p, job::Context& ctx) {
  auto proj = stack::discover_project(docker, p.project);
  bool files_ok = proj.ok() && !proj->config_files.empty();
  if (files_ok) {
    for (const auto& f : proj->config_files) files_ok = files_ok && fs::exists(f);
  }
  if (files_ok) {
    Compose c(tool, {.name = p.project,
                     .working_dir = proj->working_dir,
                     .files = proj->config_files,
                     .env_file = proj->environment_file});
    c.set_line_sink([&ctx](const std::string& line) { ctx.log(job::Level::kDebug, line, "stop"); });
    auto st = c.down(ctx.stop());
    if (!st.ok()) {
      ctx.warn("compose down failed (" + st.error().message() + "); removing the containers through the Engine",
               "stop");
    }
  }
  // Whatever is left (Compose gone, or a Compose that leaves some behind).
  auto left = TRY(docker.list_containers({.all = true, .labels = {"com.docker.compose.project=" + p.project}}));
  for (const auto& c : left) {
    auto st = docker.remove_container(c.id, {.force = true});
    if (!st.ok() && st.error().code() != Code::kNotFound) return std::move(st).error().with_context("remove container " + c.name);
  }
  return {};
}

// The working directory of a copy: removed when the copy fails, if this restore created
// it (else only emptied: the user gave an empty directory with --to).
class CopyCleanup {
 public:
  explicit CopyCleanup(std::string dir) : dir_(std::move(dir)) {
    std::error_code ec;
    existed_ = fs::exists(dir_, ec);
  }
  // What was done, for the log ("" when nothing).
  std::string remove() {
    std::error_code ec;
    if (!fs::exists(dir_, ec)) return "";
    if (!existed_) {
      fs::remove_all(dir_, ec);
      return ec ? "remove " + dir_ + ": " + ec.message() : "removed " + dir_;
    }
    for (const auto& entry : fs::directory_iterator(dir_, ec)) fs::remove_all(entry.path(), ec);
    return ec ? "empty " + dir_ + ": " + ec.message() : "emptied " + dir_;
  }

 private:
  std::string dir_;
  bool existed_ = false;
};

Json tree_json(const std::string& name, const TreeDigest& d) {
  return {{"name", name}, {"files", d.files}, {"bytes", d.bytes}, {"digest", d.hex()}};
}

}  // namespace

Result<Json> apply_backup(const RestoreEnv& env, const FetchedArchive& fa, const std::string& backup_id,
                          const ApplyRequest& req, job::Context& ctx, int64_t job_id,
                          std::vector<std::string>& applied) {
  const double t0 = monotonic_seconds();
  auto p = TRY(make_placement(fa.plan(), req.mode, req.project, req.working_dir));
  for (const auto& w : p.warnings) ctx.warn(w);
  TRY(check_compose_files(fa.plan(), p, backup_id));
  const std::string created_by = fa.plan().value("compose_version", "");
  std::string compose_note;
  auto tool = TRY_CTX(choose_compose(req.compose_tools.valid() ? req.compose_tools.get() : find_compose_tools(),
                                     req.compose, created_by, &compose_note),
                      "nothing was changed on this host");
  if (!compose_note.empty()) ctx.warn(compose_note);
  ctx.info("using " + tool.describe() + " for project " + p.project +
           (created_by.empty() ? "" : " (created by Compose " + created_by + ")"));
  const ServicesToStart starting = services_to_start(fa.plan());

  // Preconditions: nothing changes before all of them hold.
  std::string helper_image;
  {
    job::StepTimer t(ctx, "images", "Check the images");
    auto st = ensure_images(env.docker, fa.plan(), ctx, helper_image);
    t.end_with(st);
    TRY_CTX(st, "nothing was changed on this host");
  }
  auto existing = TRY(find_existing(env.docker, p));
  if (existing.any() && !req.force) {
    std::string what = std::to_string(existing.containers.size()) + " container(s)";
    if (!existing.volumes.empty()) what += ", volume(s) " + join(existing.volumes, ", ");
    return already_exists("project " + p.project + " already exists on this host (" + what +
                          "); restore over it with --force (a safety backup is taken first) or beside it with "
                          "--as NEWNAME. Nothing was changed.");
  }
  if (req.mode == Mode::kCopy && !req.force) {
    std::error_code ec;
    if (fs::exists(p.working_dir, ec) && !fs::is_empty(p.working_dir, ec)) {
      return already_exists("directory " + p.working_dir + " is not empty; choose another with --to or use --force. "
                            "Nothing was changed.");
    }
  }
  Json summary = {{"backup_id", backup_id}, {"project", p.project}, {"source_project", p.source_project},
                  {"mode", mode_name(p.mode)}, {"working_dir", p.working_dir}, {"compose", tool.describe()},
                  {"compose_flavour", tool.v2 ? "v2" : "v1"},
                  {"target", fa.target()}};
  if (existing.any() && req.safety_backup && !existing.containers.empty()) {
    job::StepTimer t(ctx, "safety-backup", "Safety backup of " + p.project + " before it is replaced");
    Result<std::string> b = env.safety_backup
                                ? env.safety_backup(p.project, ctx, job_id)
                                : Result<std::string>(failed_precondition("this restore cannot take safety backups"));
    t.end_with(b);
    if (!b.ok()) {
      return std::move(b).error().with_context("safety backup of " + p.project +
                                               " failed; nothing was changed (--no-safety-backup skips it)");
    }
    summary["safety_backup_id"] = *b;
  }

  // From here on the host changes; every failure says what was applied (a copy or drill
  // is removed whole by its caller).
  std::string undo;
  if (summary.contains("safety_backup_id")) {
    undo = "stacksnap restore " + summary["safety_backup_id"].get<std::string>() + " --force --no-safety-backup";
  }
  auto changed = [&](Error e) { return after_changes(std::move(e), applied, undo, ctx); };
  auto step = [&](const std::string& id, const std::string& title, auto&& fn) -> Status {
    Status st = job::run_step(ctx, id, title, fn);
    if (!st.ok()) return changed(std::move(st).error());
    return {};
  };

  if (!existing.containers.empty()) {
    TRY(step("stop", "Stop and remove the containers of " + p.project, [&]() -> Status {
      TRY(take_down(env.docker, tool, p, ctx));
      applied.push_back("removed the containers of " + p.project + " (compose down, volumes kept)");
      return {};
    }));
  }
  TRY(step("prepare", "Prepare volumes and bind-mount paths", [&]() -> Status {
    auto moved = TRY(prepare_binds(p, ctx));
    for (const auto& m : moved) applied.push_back("moved existing bind-mount contents aside to " + m);
    auto created = prepare_volumes(env.docker, p, tool.version, ctx);
    if (!created.ok()) return std::move(created).error();
    if (!created->empty()) applied.push_back("created empty volumes " + join(*created, ", "));
    if (!req.strip_ports) {  // drills detach external networks
      auto nets = TRY(ensure_external_networks(env.docker, fa.plan(), ctx));
      if (!nets.empty()) applied.push_back("created the external networks " + join(nets, ", "));
    }
    return {};
  }));

  // A copy's compose file comes from `compose config` over the restored config files: it
  // runs as soon as they are written (they come first in the archive), beside the volumes.
  ComposeProject cp{.name = p.project, .working_dir = p.working_dir, .files = p.compose_files, .env_file = p.env_file};
  std::optional<Result<std::string>> resolved;
  std::thread resolver;
  auto join_resolver = on_scope_exit([&] {
    if (resolver.joinable()) resolver.join();
  });
  auto resolve = [&] {
    Compose original(tool, cp);
    return original.config(ctx.stop(), starting.all);  // their profiles enabled (v2)
  };
  ApplySummary files;
  TRY(step("files", "Restore config files, bind mounts and volumes", [&]() -> Status {
    ApplyOptions options{.helper_image = helper_image, .check_volumes = req.check_volumes};
    if (p.mode != Mode::kInPlace && !cp.files.empty()) {
      options.on_config_restored = [&] { resolver = std::thread([&] { resolved = resolve(); }); };
    }
    auto r = apply_files(env.docker, fa.path(), env.keys, p, options, ctx);
    if (!r.ok()) {
      applied.push_back("restored files partially (config files, bind mounts, volumes may be incomplete)");
      return std::move(r).error();
    }
    files = std::move(*r);
    applied.push_back("restored " + std::to_string(files.config_files) + " config file(s), " +
                      std::to_string(p.binds.size()) + " bind mount(s), " + std::to_string(p.volumes.size()) +
                      " volume(s)");
    return {};
  }));
  for (const auto& w : files.warnings) ctx.warn(w, "files");

  // Drills: every restored file against the archive, before any container can change one.
  Json problems = Json::array(), info = Json::array();
  Json binds = Json::array();
  if (req.check_volumes) {
    job::StepTimer t(ctx, "check-files", "Check every restored file against the archive");
    auto fc = check_restored_files(env.docker, p, files, fa.path(), env.keys, helper_image, ctx);
    if (!fc.ok()) {
      t.end(false, fc.error().message());
      return changed(std::move(fc).error());
    }
    for (const auto& line : fc->problems) problems.push_back(line);
    binds = std::move(fc->binds);
    t.end(fc->problems.empty(), fc->problems.empty() ? "every file matches"
                                                      : std::to_string(fc->problems.size()) + " difference(s)");
  }

  // SQLite databases captured with a snapshot: checked where they were restored.
  Json sqlite_dbs = Json::array();
  if (has_sqlite_records(files.manifest)) {
    job::StepTimer t(ctx, "check-sqlite", "Check the restored SQLite databases (integrity, row counts)");
    auto sc = check_restored_sqlite(env.docker, p, files.manifest, ctx);
    if (!sc.ok()) {
      t.end(false, sc.error().message());
      return changed(std::move(sc).error());
    }
    for (const auto& line : sc->problems) problems.push_back(line);
    sqlite_dbs = std::move(sc->databases);
    t.end(sc->problems.empty(), sc->problems.empty() ? std::to_string(sqlite_dbs.size()) + " database(s)"
                                                      : std::to_string(sc->problems.size()) + " problem(s)");
  }

  // The Compose invocation for the restored project.
  if (cp.files.empty()) return changed(data_loss("plan.json names no compose files"));
  if (p.mode != Mode::kInPlace) {
    TRY(step("compose", "Write the compose file of " + p.project, [&]() -> Status {
      if (resolver.joinable()) resolver.join();
      auto text = TRY(resolved ? std::move(*resolved) : resolve());
      auto doc = TRY(stack::parse_yaml(text));
      auto sandboxed = TRY(sandbox_compose(std::move(doc), p, req.strip_ports));
      if (req.no_ports) {
        for (auto& [name, svc] : sandboxed["services"].items()) {
          if (svc.is_object() && svc.contains("ports")) {
            svc.erase("ports");
            ctx.info("service " + name + ": published ports dropped (--no-ports)", "compose");
          }
        }
      }
      const std::string out = sandbox_compose_path(p.working_dir);
      TRY(write_file_atomic(out, sandboxed.dump(2) + "\n", 0600));
      applied.push_back("wrote " + out);
      cp.files = {out};
      cp.env_file.clear();
      return {};
    }));
  }
  Compose compose(tool, cp);
  compose.set_line_sink([&ctx](const std::string& line) { ctx.log(job::Level::kDebug, line, "compose"); });
  summary["compose_files"] = cp.files;

  // The manifest as the files pass read it (every entry was checked against it).
  const archive::Manifest& manifest = files.manifest;
  auto dumps_r = dumps_from_manifest(manifest);
  if (!dumps_r.ok()) return changed(std::move(dumps_r).error());
  auto dumps = std::move(*dumps_r);
  if (!dumps.empty()) {
    std::vector<std::string> services;
    for (const auto& d : dumps) services.push_back(d.service);
    TRY(step("start-db", "Start the database services " + join(services, ", "), [&]() -> Status {
      TRY(compose.up(services, Compose::Deps::kLeave, ctx.stop()));
      applied.push_back("started " + join(services, ", "));
      // A healthcheck of the database's own (depends_on: service_healthy) is passed
      // before its dump goes in.
      return wait_until_healthy(env.docker, p.project, services, std::set<std::string>(services.begin(), services.end()),
                                kHealthTimeout, ctx);
    }));
    for (const auto& d : dumps) {
      TRY(step("replay:" + d.service, "Replay the " + d.info.engine + " dump of " + d.service, [&]() -> Status {
        TRY(replay_dump(env.docker, p.project, d, fa.path(), env.keys, ctx));
        applied.push_back("replayed the dump of " + d.service);
        return {};
      }));
    }
  }
  // Row counts, before the apps start (they would change them).
  Json dbs = Json::array();
  size_t row_diffs = 0;
  for (const auto& d : dumps) {
    job::StepTimer t(ctx, "rows:" + d.service, "Compare row counts of " + d.service);
    auto o = check_rows(env.docker, p.project, d, ctx);
    if (!o.ok()) {
      t.end(false, o.error().message());
      problems.push_back("row counts of " + d.service + ": " + o.error().message());
      dbs.push_back({{"service", d.service}, {"engine", d.info.engine}, {"error", o.error().message()}});
      continue;
    }
    row_diffs += o->differences.size();
    for (const auto& line : o->differences) {
      ctx.warn(d.service + ": " + line, "rows:" + d.service);
      problems.push_back("rows of " + d.service + ": " + line);
    }
    for (const auto& line : o->notes) {
      ctx.info(d.service + ": " + line, "rows:" + d.service);
      info.push_back("rows of " + d.service + ": " + line);
    }
    t.end(o->differences.empty(), o->differences.empty()
                                      ? std::to_string(o->tables) + " table(s) match" +
                                            (o->notes.empty() ? "" : " (" + std::to_string(o->notes.size()) + " within tolerance)")
                                      : std::to_string(o->differences.size()) + " difference(s)");
    dbs.push_back(to_json(*o));
  }
  Json vols = Json::array();
  for (const auto& v : p.volumes) {
    Json j = tree_json(v.name, files.volume_digests[v.name]);
    auto m = manifest.volumes.find(v.source_name);
    if (m != manifest.volumes.end()) {
      uint64_t want_files = m->second.value("files", uint64_t{0}), want_bytes = m->second.value("bytes", uint64_t{0});
      j["manifest_files"] = want_files;
      if (want_files != files.volume_digests[v.name].files || want_bytes != files.volume_digests[v.name].bytes) {
        problems.push_back("volume " + v.name + ": " + std::to_string(files.volume_digests[v.name].files) +
                           " files restored, manifest says " + std::to_string(want_files));
      }
    }
    if (req.check_volumes) {
      const auto& back = files.volume_readback[v.name];
      j["readback_files"] = back.files;
      j["readback_digest"] = back.hex();
      j["matches"] = back == files.volume_digests[v.name];
    }
    vols.push_back(j);
  }
  if (!req.check_volumes) {
    for (const auto& b : p.binds) binds.push_back({{"index", b.index}, {"host_path", b.host_path}});
  }

  TRY(step("start", "Start project " + p.project, [&]() -> Status {
    // The services that had containers, by name: that also enables their profiles;
    // services of a profile that was not active stay down.
    Status up = compose.up(starting.all, Compose::Deps::kStart, ctx.stop());
    if (!up.ok()) {
      const std::string m = up.error().message();
      if (p.mode == Mode::kCopy && !req.no_ports &&
          (m.find("port is already allocated") != std::string::npos || m.find("address already in use") != std::string::npos)) {
        return std::move(up).error().with_context(
            "a host port of the copy is taken (by the original?); restore the copy without published ports (dashboard: "
            "\"Publish no host ports\"; CLI: --no-ports; API: \"no_ports\": true)");
      }
      return up;
    }
    applied.push_back("started project " + p.project);
    return {};
  }));
  TRY(step("health", "Wait until the services of " + p.project + " run and are healthy", [&]() -> Status {
    return wait_until_healthy(env.docker, p.project, starting.all, starting.running, kHealthTimeout, ctx);
  }));

  summary["volumes"] = vols;
  summary["binds"] = binds;
  summary["config_files"] = files.config_files;
  summary["databases"] = dbs;
  summary["sqlite"] = sqlite_dbs;
  summary["row_count_differences"] = row_diffs;
  summary["problems"] = problems;
  summary["info"] = info;
  summary["warnings"] = files.warnings;
  summary["applied"] = applied;
  summary["duration_ms"] = static_cast<int64_t>((monotonic_seconds() - t0) * 1000);
  return summary;
}

Result<Json> run_restore(const RestoreEnv& env, const RestoreRequest& req, job::Context& ctx, int64_t job_id) {
  const double t0 = monotonic_seconds();
  auto rec = TRY(repo::find_backup(env.cat, req.backup_id, env.keys, ctx.stop()));
  ApplyRequest ar;
  if (!req.as_name.empty() && req.as_name != rec.project) {
    TRY(check_project_name(req.as_name));
    ar.mode = Mode::kCopy;
    ar.project = req.as_name;
    ar.working_dir = req.to_dir.empty() ? env.data_dir + "/restores/" + req.as_name : req.to_dir;
    if (req.to_dir.empty()) TRY(make_private_dirs(env.data_dir, env.data_dir + "/restores"));
  } else {
    ar.mode = Mode::kInPlace;
    ar.project = rec.project;
    ar.working_dir = req.to_dir;
  }
  if (!ar.working_dir.empty()) {
    std::error_code ec;
    ar.working_dir = fs::absolute(ar.working_dir, ec).lexically_normal().string();
    while (ar.working_dir.size() > 1 && ar.working_dir.back() == '/') ar.working_dir.pop_back();
  }
  if (req.no_ports && ar.mode != Mode::kCopy) {
    return invalid_argument("--no-ports applies to a copy only: give --as NAME (a name other than " + rec.project + ")");
  }
  ar.force = req.force;
  ar.safety_backup = !req.no_safety_backup;
  ar.no_ports = req.no_ports;
  ar.compose_tools = std::async(std::launch::async, find_compose_tools, compose_cache_file(env.data_dir)).share();
  ar.compose = req.compose;
  auto fa = TRY(fetch_and_verify(env, req.backup_id, ctx, req.from_target));
  // A copy that fails is removed whole (containers, volumes, networks, its directory): it
  // is a new project, so everything of it was made by this restore.
  std::optional<CopyCleanup> cleanup;
  if (ar.mode == Mode::kCopy && !ar.force) cleanup.emplace(ar.working_dir);
  std::vector<std::string> applied;
  auto summary = apply_backup(env, fa, req.backup_id, ar, ctx, job_id, applied);
  if (!summary.ok()) {
    if (!cleanup || applied.empty()) return std::move(summary).error();
    job::StepTimer t(ctx, "cleanup", "Remove the failed copy " + ar.project);
    auto log = remove_project(env.docker, ar.project, ar.working_dir, compose_cache_file(env.data_dir), ctx);
    std::string dir = cleanup->remove();
    if (!dir.empty()) log.push_back(dir);
    ctx.emit("restore_cleanup", {{"project", ar.project}, {"removed", log}});
    t.end(true, std::to_string(log.size()) + " item(s)");
    const std::string m = summary.error().message();
    const size_t cut = m.find(" — applied before the failure: ");
    return Error(summary.error().code(), (cut == std::string::npos ? m : m.substr(0, cut)) +
                                             " — the copy " + ar.project + " was removed again (nothing is left of it)");
  }
  (*summary)["duration_ms"] = static_cast<int64_t>((monotonic_seconds() - t0) * 1000);
  return summary;
}

}  // namespace stacksnap::restore
