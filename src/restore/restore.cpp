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
#include "docker/host_view.h"
#include "repo/repo.h"
#include "repo/snapshot.h"
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
      snapshot_(std::move(o.snapshot_)),
      open_path_(std::move(o.open_path_)),
      target_(std::move(o.target_)),
      plan_(std::move(o.plan_)) {}

archive::SourceOpener FetchedArchive::opener(const seal::KeySource& keys, StopToken stop) const {
  if (snapshot_) {
    return [snap = snapshot_, stop]() { return snap->source(stop); };
  }
  return [path = open_path_, &keys]() { return archive::open_archive_file(path, keys); };
}

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
  const std::string spool = repo::spool_dir(env.data_dir);
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
    if (kept.snapshot) {
      fa.snapshot_ = std::move(kept.snapshot);
      ctx.info("snapshot " + fa.snapshot_->snapshot().id.substr(0, 12) + " read in place from the repository on target " +
                   v->target + (deep ? " (every file checked)" : " (every chunk authenticated; nothing copied)"),
               "verify");
      t.end(true, std::to_string(v->report.entries) + " entries, " + human_bytes(v->report.content_bytes) +
                      " from target " + v->target);
      fa.plan_ = fa.snapshot_->plan();
      return fa;
    }
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

// The failure of a step after the host was changed: says what was applied (always as a
// "restore_applied" event; in the message unless the caller removes it all) and, when a
// safety backup was taken, the one command that puts the project back as it was.
Error after_changes(Error e, const std::vector<std::string>& applied, const std::string& undo, job::Context& ctx,
                    bool removed_by_caller) {
  if (applied.empty()) return std::move(e).with_context("nothing was changed on this host");
  Json event = {{"applied", applied}};
  if (!undo.empty()) event["undo"] = undo;
  ctx.emit("restore_applied", event);
  if (removed_by_caller) return e;
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

// Run in a container (the StackSnap image), a restore writes its files where the Engine
// looks for them only through bind mounts at the same path (docker/host_view.h).
Status check_host_paths(docker::Client& docker, const Placement& p) {
  auto view = TRY(docker::HostView::detect(docker));
  std::vector<std::string> paths = {p.working_dir};
  for (const auto& b : p.binds) paths.push_back(b.host_path);
  for (const auto& c : p.configs) paths.push_back(c.host_path);
  return view.require_same_paths(paths, (p.mode == Mode::kDrill ? "the drill of " : "the restore of ") + p.source_project);
}

}  // namespace

namespace {

// One apply of a fetched archive, phase by phase (apply_backup reads them in order). What
// a phase learns for the next ones is kept here; `applied_` lists what changed the host.
class Applier {
 public:
  Applier(const RestoreEnv& env, const FetchedArchive& fa, const std::string& backup_id, const ApplyRequest& req,
          job::Context& ctx, int64_t job_id, std::vector<std::string>& applied)
      : env_(env), fa_(fa), backup_id_(backup_id), req_(req), ctx_(ctx), job_id_(job_id), applied_(applied) {}
  ~Applier() {
    if (resolver_.joinable()) resolver_.join();
  }
  Applier(const Applier&) = delete;
  Applier& operator=(const Applier&) = delete;

  // ---- preconditions: nothing on the host changes before all of them hold ----

  // Where everything goes, which Compose drives it, the images (pulled when missing).
  Status plan() {
    p_ = TRY(make_placement(fa_.plan(), req_.mode, req_.project, req_.working_dir));
    for (const auto& w : p_.warnings) ctx_.warn(w);
    TRY(check_compose_files(fa_.plan(), p_, backup_id_));
    const std::string created_by = fa_.plan().value("compose_version", "");
    std::string note;
    tool_ = TRY_CTX(choose_compose(req_.compose_tools.valid() ? req_.compose_tools.get() : find_compose_tools(),
                                   req_.compose, created_by, &note),
                    "nothing was changed on this host");
    if (!note.empty()) ctx_.warn(note);
    ctx_.info("using " + tool_.describe() + " for project " + p_.project +
              (created_by.empty() ? "" : " (created by Compose " + created_by + ")"));
    starting_ = services_to_start(fa_.plan());
    TRY_CTX(check_host_paths(env_.docker, p_), "nothing was changed on this host");
    TRY_CTX(job::run_step(ctx_, "images", "Check the images",
                          [&] { return ensure_images(env_.docker, fa_.plan(), ctx_, helper_image_); }),
            "nothing was changed on this host");
    existing_ = TRY(find_existing(env_.docker, p_));
    out_.backup_id = backup_id_;
    out_.project = p_.project;
    out_.source_project = p_.source_project;
    out_.mode = mode_name(p_.mode);
    out_.working_dir = p_.working_dir;
    out_.compose = tool_.describe();
    out_.compose_flavour = tool_.v2 ? "v2" : "v1";
    out_.target = fa_.target();
    return {};
  }

  // An existing project is replaced only with force; a copy needs an empty directory.
  Status refuse_conflicts() const {
    if (existing_.any() && !req_.force) {
      std::string what = std::to_string(existing_.containers.size()) + " container(s)";
      if (!existing_.volumes.empty()) what += ", volume(s) " + join(existing_.volumes, ", ");
      return already_exists("project " + p_.project + " already exists on this host (" + what +
                            "); restore over it with --force (a safety backup is taken first) or beside it with "
                            "--as NEWNAME. Nothing was changed.");
    }
    if (req_.mode == Mode::kCopy && !req_.force) {
      std::error_code ec;
      if (fs::exists(p_.working_dir, ec) && !fs::is_empty(p_.working_dir, ec)) {
        return already_exists("directory " + p_.working_dir +
                              " is not empty; choose another with --to or use --force. Nothing was changed.");
      }
    }
    return {};
  }

  // The project about to be replaced, backed up first (by the caller's function).
  Status safety_backup() {
    if (!existing_.any() || !req_.safety_backup || existing_.containers.empty()) return {};
    auto b = job::run_step(ctx_, "safety-backup", "Safety backup of " + p_.project + " before it is replaced",
                           [&]() -> Result<std::string> {
                             if (!env_.safety_backup) return failed_precondition("this restore cannot take safety backups");
                             return env_.safety_backup(p_.project, ctx_, job_id_);
                           });
    if (!b.ok()) {
      return std::move(b).error().with_context("safety backup of " + p_.project +
                                               " failed; nothing was changed (--no-safety-backup skips it)");
    }
    out_.safety_backup_id = *b;
    undo_ = "stacksnap restore " + *b + " --force --no-safety-backup";
    return {};
  }

  // ---- the host changes: every failure says what was applied (a copy or drill is
  // removed whole by its caller) ----

  Status take_down_existing() {
    if (existing_.containers.empty()) return {};
    return step("stop", "Stop and remove the containers of " + p_.project, [&]() -> Status {
      TRY(take_down(env_.docker, tool_, p_, ctx_));
      applied_.push_back("removed the containers of " + p_.project + " (compose down, volumes kept)");
      return {};
    });
  }

  Status prepare_paths() {
    return step("prepare", "Prepare volumes and bind-mount paths", [&]() -> Status {
      auto moved = TRY(prepare_binds(p_, ctx_));
      for (const auto& m : moved) applied_.push_back("moved existing bind-mount contents aside to " + m);
      auto created = TRY(prepare_volumes(env_.docker, p_, tool_.version, ctx_));
      if (!created.empty()) applied_.push_back("created empty volumes " + join(created, ", "));
      if (!req_.strip_ports) {  // drills detach external networks
        auto nets = TRY(ensure_external_networks(env_.docker, fa_.plan(), ctx_));
        if (!nets.empty()) applied_.push_back("created the external networks " + join(nets, ", "));
      }
      return {};
    });
  }

  // Config files, bind mounts and volumes in one pass. A copy's compose file comes from
  // `compose config` over the restored config files: it runs as soon as they are written
  // (they come first in the archive), beside the volumes.
  Status restore_files() {
    cp_ = ComposeProject{.name = p_.project, .working_dir = p_.working_dir, .files = p_.compose_files,
                         .env_file = p_.env_file};
    TRY(step("files", "Restore config files, bind mounts and volumes", [&]() -> Status {
      ApplyOptions options{.helper_image = helper_image_, .check_volumes = req_.check_volumes};
      if (p_.mode != Mode::kInPlace && !cp_.files.empty()) {
        options.on_config_restored = [&] { resolver_ = std::thread([&] { resolved_ = resolve(); }); };
      }
      auto r = apply_files(env_.docker, fa_.opener(env_.keys, ctx_.stop()), p_, options, ctx_);
      if (!r.ok()) {
        applied_.push_back("restored files partially (config files, bind mounts, volumes may be incomplete)");
        return std::move(r).error();
      }
      files_ = std::move(*r);
      applied_.push_back("restored " + std::to_string(files_.config_files) + " config file(s), " +
                         std::to_string(p_.binds.size()) + " bind mount(s), " + std::to_string(p_.volumes.size()) +
                         " volume(s)");
      return {};
    }));
    for (const auto& w : files_.warnings) ctx_.warn(w, "files");
    return {};
  }

  // Drills: every restored file against the archive, before any container can change one.
  Status check_files() {
    if (!req_.check_volumes) return {};
    job::StepTimer t(ctx_, "check-files", "Check every restored file against the archive");
    auto fc = check_restored_files(env_.docker, p_, files_, fa_.opener(env_.keys, ctx_.stop()), helper_image_, ctx_);
    if (!fc.ok()) {
      t.end(false, fc.error().message());
      return changed(std::move(fc).error());
    }
    for (const auto& line : fc->problems) out_.problems.push_back(line);
    out_.binds = std::move(fc->binds);
    t.end(fc->problems.empty(), fc->problems.empty() ? "every file matches"
                                                      : std::to_string(fc->problems.size()) + " difference(s)");
    return {};
  }

  // SQLite databases captured with a snapshot: checked where they were restored.
  Status check_sqlite() {
    if (!has_sqlite_records(files_.manifest)) return {};
    job::StepTimer t(ctx_, "check-sqlite", "Check the restored SQLite databases (integrity, row counts)");
    auto sc = check_restored_sqlite(env_.docker, p_, files_.manifest, ctx_);
    if (!sc.ok()) {
      t.end(false, sc.error().message());
      return changed(std::move(sc).error());
    }
    for (const auto& line : sc->problems) out_.problems.push_back(line);
    out_.sqlite = std::move(sc->databases);
    t.end(sc->problems.empty(), sc->problems.empty() ? std::to_string(out_.sqlite.size()) + " database(s)"
                                                      : std::to_string(sc->problems.size()) + " problem(s)");
    return {};
  }

  // The Compose invocation for the restored project: a copy's or drill's own compose file.
  Status write_compose_file() {
    if (cp_.files.empty()) return changed(data_loss("plan.json names no compose files"));
    if (p_.mode != Mode::kInPlace) {
      TRY(step("compose", "Write the compose file of " + p_.project, [&]() -> Status {
        if (resolver_.joinable()) resolver_.join();
        auto text = TRY(resolved_ ? std::move(*resolved_) : resolve());
        auto doc = TRY(stack::parse_yaml(text));
        auto sandboxed = TRY(sandbox_compose(std::move(doc), p_, req_.strip_ports));
        if (req_.no_ports) drop_published_ports(sandboxed);
        const std::string out = sandbox_compose_path(p_.working_dir);
        TRY(write_file_atomic(out, sandboxed.dump(2) + "\n", 0600));
        applied_.push_back("wrote " + out);
        cp_.files = {out};
        cp_.env_file.clear();
        return {};
      }));
    }
    compose_.emplace(tool_, cp_);
    compose_->set_line_sink([this](const std::string& line) { ctx_.log(job::Level::kDebug, line, "compose"); });
    out_.compose_files = cp_.files;
    return {};
  }

  // The database services started alone (healthy first), then each dump replayed.
  Status replay_dumps() {
    auto dumps = dumps_from_manifest(files_.manifest);  // every entry was checked against it
    if (!dumps.ok()) return changed(std::move(dumps).error());
    dumps_ = std::move(*dumps);
    if (dumps_.empty()) return {};
    std::vector<std::string> services;
    for (const auto& d : dumps_) services.push_back(d.service);
    TRY(step("start-db", "Start the database services " + join(services, ", "), [&]() -> Status {
      TRY(compose_->up(services, Compose::Deps::kLeave, ctx_.stop()));
      applied_.push_back("started " + join(services, ", "));
      // A healthcheck of the database's own (depends_on: service_healthy) is passed
      // before its dump goes in.
      return wait_until_healthy(env_.docker, p_.project, services,
                                std::set<std::string>(services.begin(), services.end()), kHealthTimeout, ctx_);
    }));
    for (const auto& d : dumps_) {
      TRY(step("replay:" + d.service, "Replay the " + d.info.engine + " dump of " + d.service, [&]() -> Status {
        TRY(replay_dump(env_.docker, p_.project, d, fa_.opener(env_.keys, ctx_.stop()), ctx_));
        applied_.push_back("replayed the dump of " + d.service);
        return {};
      }));
    }
    return {};
  }

  // Row counts against the manifest, before the apps start (they would change them).
  // Differences are problems, counts within a tolerance notes; neither stops the restore.
  void compare_rows() {
    for (const auto& d : dumps_) {
      job::StepTimer t(ctx_, "rows:" + d.service, "Compare row counts of " + d.service);
      auto o = check_rows(env_.docker, p_.project, d, ctx_);
      if (!o.ok()) {
        t.end(false, o.error().message());
        out_.problems.push_back("row counts of " + d.service + ": " + o.error().message());
        out_.databases.push_back({{"service", d.service}, {"engine", d.info.engine}, {"error", o.error().message()}});
        continue;
      }
      out_.row_count_differences += o->differences.size();
      for (const auto& line : o->differences) {
        ctx_.warn(d.service + ": " + line, "rows:" + d.service);
        out_.problems.push_back("rows of " + d.service + ": " + line);
      }
      for (const auto& line : o->notes) {
        ctx_.info(d.service + ": " + line, "rows:" + d.service);
        out_.info.push_back("rows of " + d.service + ": " + line);
      }
      t.end(o->differences.empty(),
            o->differences.empty() ? std::to_string(o->tables) + " table(s) match" +
                                         (o->notes.empty() ? "" : " (" + std::to_string(o->notes.size()) + " within tolerance)")
                                   : std::to_string(o->differences.size()) + " difference(s)");
      out_.databases.push_back(to_json(*o));
    }
  }

  // Each volume's restored tree against the manifest (and its read-back, for drills).
  void compare_volumes() {
    for (const auto& v : p_.volumes) {
      const TreeDigest& restored = files_.volume_digests[v.name];
      Json j = tree_json(v.name, restored);
      if (auto m = files_.manifest.volumes.find(v.source_name); m != files_.manifest.volumes.end()) {
        const uint64_t want_files = m->second.value("files", uint64_t{0});
        const uint64_t want_bytes = m->second.value("bytes", uint64_t{0});
        j["manifest_files"] = want_files;
        if (want_files != restored.files || want_bytes != restored.bytes) {
          out_.problems.push_back("volume " + v.name + ": " + std::to_string(restored.files) +
                              " files restored, manifest says " + std::to_string(want_files));
        }
      }
      if (req_.check_volumes) {
        const auto& back = files_.volume_readback[v.name];
        j["readback_files"] = back.files;
        j["readback_digest"] = back.hex();
        j["matches"] = back == restored;
      }
      out_.volumes.push_back(j);
    }
    if (!req_.check_volumes) {
      for (const auto& b : p_.binds) out_.binds.push_back({{"index", b.index}, {"host_path", b.host_path}});
    }
  }

  // Every service that had a container (that also enables their profiles; services of a
  // profile that was not active stay down), then running and healthy.
  Status start_project() {
    TRY(step("start", "Start project " + p_.project, [&]() -> Status {
      Status up = compose_->up(starting_.all, Compose::Deps::kStart, ctx_.stop());
      if (!up.ok()) {
        const std::string m = up.error().message();
        if (p_.mode == Mode::kCopy && !req_.no_ports &&
            (m.find("port is already allocated") != std::string::npos ||
             m.find("address already in use") != std::string::npos)) {
          return std::move(up).error().with_context(
              "a host port of the copy is taken (by the original?); restore the copy without published ports (dashboard: "
            "\"Publish no host ports\"; CLI: --no-ports; API: \"no_ports\": true)");
        }
        return up;
      }
      applied_.push_back("started project " + p_.project);
      return {};
    }));
    return step("health", "Wait until the services of " + p_.project + " run and are healthy", [&]() -> Status {
      return wait_until_healthy(env_.docker, p_.project, starting_.all, starting_.running, kHealthTimeout, ctx_);
    });
  }

  RestoreSummary summary(double t0) {
    out_.config_files = files_.config_files;
    out_.warnings = files_.warnings;
    out_.applied = applied_;
    out_.duration_ms = static_cast<int64_t>((monotonic_seconds() - t0) * 1000);
    return std::move(out_);
  }

 private:
  Error changed(Error e) { return after_changes(std::move(e), applied_, undo_, ctx_, req_.removed_on_failure); }

  // A step that changes the host: its failure says what was applied before it.
  template <class Fn>
  Status step(const std::string& id, const std::string& title, Fn&& fn) {
    Status st = job::run_step(ctx_, id, title, std::forward<Fn>(fn));
    if (!st.ok()) return changed(std::move(st).error());
    return {};
  }

  Result<std::string> resolve() {
    Compose original(tool_, cp_);
    return original.config(ctx_.stop(), starting_.all);  // their profiles enabled (v2)
  }

  void drop_published_ports(Json& compose_doc) {
    for (auto& [name, svc] : compose_doc["services"].items()) {
      if (svc.is_object() && svc.contains("ports")) {
        svc.erase("ports");
        ctx_.info("service " + name + ": published ports dropped (--no-ports)", "compose");
      }
    }
  }

  const RestoreEnv& env_;
  const FetchedArchive& fa_;
  const std::string& backup_id_;
  const ApplyRequest& req_;
  job::Context& ctx_;
  const int64_t job_id_;
  std::vector<std::string>& applied_;

  Placement p_;
  ComposeTool tool_;
  ServicesToStart starting_;
  std::string helper_image_;
  Existing existing_;
  RestoreSummary out_;
  std::string undo_;  // the command that puts the replaced project back (after a safety backup)
  ComposeProject cp_;
  std::optional<Result<std::string>> resolved_;
  std::thread resolver_;
  ApplySummary files_;
  std::optional<Compose> compose_;
  std::vector<DumpToReplay> dumps_;
};

}  // namespace

Result<RestoreSummary> apply_backup(const RestoreEnv& env, const FetchedArchive& fa, const std::string& backup_id,
                          const ApplyRequest& req, job::Context& ctx, int64_t job_id,
                          std::vector<std::string>& applied) {
  const double t0 = monotonic_seconds();
  Applier a(env, fa, backup_id, req, ctx, job_id, applied);
  // Nothing on the host changes before these hold.
  TRY(a.plan());
  TRY(a.refuse_conflicts());
  TRY(a.safety_backup());
  // The host changes: a failure from here on says what was applied.
  TRY(a.take_down_existing());
  TRY(a.prepare_paths());
  TRY(a.restore_files());
  TRY(a.check_files());
  TRY(a.check_sqlite());
  TRY(a.write_compose_file());
  TRY(a.replay_dumps());
  a.compare_rows();
  a.compare_volumes();
  TRY(a.start_project());
  return a.summary(t0);
}

Json RestoreSummary::to_json() const {
  Json j{{"backup_id", backup_id},
         {"project", project},
         {"source_project", source_project},
         {"mode", mode},
         {"working_dir", working_dir},
         {"compose", compose},
         {"compose_flavour", compose_flavour},
         {"target", target},
         {"compose_files", compose_files},
         {"volumes", volumes},
         {"binds", binds},
         {"config_files", config_files},
         {"databases", databases},
         {"sqlite", sqlite},
         {"row_count_differences", row_count_differences},
         {"problems", problems},
         {"info", info},
         {"warnings", warnings},
         {"applied", applied},
         {"duration_ms", duration_ms}};
  if (safety_backup_id) j["safety_backup_id"] = *safety_backup_id;
  return j;
}

std::shared_future<ComposeTools> compose_tools_for(const RestoreEnv& env) {
  if (env.compose_tools) {
    std::promise<ComposeTools> given;
    given.set_value(*env.compose_tools);
    return given.get_future().share();
  }
  return std::async(std::launch::async, find_compose_tools, compose_cache_file(env.data_dir)).share();
}

Result<RestoreSummary> run_restore(const RestoreEnv& env, const RestoreRequest& req, job::Context& ctx,
                                   int64_t job_id) {
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
  ar.compose_tools = compose_tools_for(env);
  ar.compose = req.compose;
  auto fa = TRY(fetch_and_verify(env, req.backup_id, ctx, req.from_target));
  // A copy that fails is removed whole (containers, volumes, networks, its directory): it
  // is a new project, so everything of it was made by this restore.
  std::optional<CopyCleanup> cleanup;
  if (ar.mode == Mode::kCopy && !ar.force) cleanup.emplace(ar.working_dir);
  ar.removed_on_failure = cleanup.has_value();
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
    return Error(summary.error().code(), summary.error().message() + " — the copy " + ar.project +
                                             " was removed again (nothing is left of it)");
  }
  summary->duration_ms = static_cast<int64_t>((monotonic_seconds() - t0) * 1000);
  return summary;
}

}  // namespace stacksnap::restore
