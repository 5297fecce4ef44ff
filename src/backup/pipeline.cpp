#include "backup/pipeline.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <array>
#include <optional>

#include "archive/fs_source.h"
#include "archive/verify.h"
#include "archive/writer.h"
#include "backup/capture.h"
#include "backup/quiesce.h"
#include "backup/sqlite_capture.h"
#include "backup/spool.h"
#include "base/clock.h"
#include "base/fd.h"
#include "base/scope.h"
#include "base/text.h"
#include "catalog/catalog_admin.h"
#include "docker/helper_container.h"
#include "repo/repo.h"
#include "repo/snapshot.h"
#include "catalog/record_json.h"
#include "seal/crypto.h"
#include "stack/discovery.h"

namespace stacksnap::backup {

using Json = nlohmann::json;

namespace {

constexpr uint64_t kSpoolMargin = 64ull << 20;  // headroom kept free beyond the estimate
// How long a SQLite snapshot waits for its read lock (rollback-journal mode, a writer
// mid-commit). With Safe Mode the writer may be frozen holding it, when waiting only
// lengthens the pause; the plain files of a frozen app are consistent anyway.
constexpr std::chrono::milliseconds kSqliteLockWait{10000};
constexpr std::chrono::milliseconds kSqliteLockWaitPaused{100};


struct Estimate {
  uint64_t bytes = 0;
  std::map<std::string, uint64_t> per_item;  // volume name / bind host path → bytes
  uint64_t of(const std::string& item) const {
    auto it = per_item.find(item);
    return it == per_item.end() ? 0 : it->second;
  }
};

Estimate estimate_size(docker::Client& docker, const BackupPlan& plan) {
  Estimate e;
  for (const auto& v : plan.volumes) {
    auto info = docker.inspect_volume(v.name);
    if (!info.ok() || info->mountpoint.empty()) continue;
    uint64_t n = disk_usage(info->mountpoint);  // readable when the Engine runs on this host
    e.per_item[v.name] = n;
    e.bytes += n;
  }
  for (const auto& b : plan.binds) {
    uint64_t n = disk_usage(b.host_path);
    e.per_item[b.host_path] = n;
    e.bytes += n;
  }
  return e;
}

Status check_free_space(const std::string& dir, uint64_t need) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return errno_error("statvfs " + dir, errno);
  uint64_t free_bytes = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  if (need + kSpoolMargin > free_bytes) {
    return resource_exhausted("not enough free space in " + dir + " for the backup spool: about " +
                              human_bytes(need) + " of volumes and bind mounts to capture (before compression) plus " +
                              human_bytes(kSpoolMargin) + " headroom, but only " + human_bytes(free_bytes) +
                              " free");
  }
  return {};
}

// ---- the steps ---------------------------------------------------------------------------

// The requested targets (every configured one when none is named).
Result<std::vector<catalog::TargetRecord>> select_targets(catalog::Catalog& cat, const std::vector<std::string>& named) {
  std::vector<std::string> names = named;
  if (names.empty()) {
    for (auto& t : TRY(cat.list_targets())) names.push_back(t.name);
  }
  if (names.empty()) {
    return failed_precondition("no storage target is configured; add one with `stacksnap target add local NAME --path DIR`");
  }
  std::vector<catalog::TargetRecord> out;
  for (const auto& n : names) {
    auto rec = cat.get_target(n);
    if (!rec.ok()) return not_found("unknown storage target \"" + n + "\"");
    out.push_back(std::move(*rec));
  }
  return out;
}

// What a crashed run may have left: paused containers, helper containers, spool files.
void repair_leftovers(const BackupEnv& env, job::Context& ctx) {
  auto resumed = repair_paused(env.docker, env.cat, [&](const std::string& w) { ctx.warn(w); });
  if (resumed.ok() && *resumed > 0) {
    ctx.warn("resumed " + std::to_string(*resumed) + " container(s) left paused by an interrupted backup");
  }
  auto helpers = docker::remove_orphan_helpers(env.docker);
  if (helpers.ok() && *helpers > 0) {
    ctx.info("removed " + std::to_string(*helpers) + " helper container(s) left by an interrupted run");
  }
  ::mkdir(repo::spool_dir(env.data_dir).c_str(), 0700);
  int cleaned = clean_spool(repo::spool_dir(env.data_dir));
  if (cleaned > 0) ctx.info("removed " + std::to_string(cleaned) + " partial spool file(s) of an interrupted run");
}

Result<BackupPlan> plan_backup(docker::Client& docker, const BackupRequest& req, job::Context& ctx) {
  BackupPlan plan = TRY(job::run_step(ctx, "plan", "Discover " + req.project + " and plan the backup",
                                      [&]() -> Result<BackupPlan> {
                                        auto project = TRY(stack::discover_project(docker, req.project));
                                        return make_plan(project, req.options);
                                      }));
  for (const auto& w : plan.warnings) ctx.warn(w, "plan");
  for (const auto& s : plan.skipped) ctx.info("skipped " + s.what + ": " + s.reason, "plan");
  ctx.info(std::to_string(plan.dumps.size()) + " database dump(s), " + std::to_string(plan.volumes.size()) +
               " volume(s), " + std::to_string(plan.binds.size()) + " bind mount(s), " +
               std::to_string(plan.configs.size()) + " config file(s)" + (req.options.safe_mode ? ", Safe Mode on" : ""),
           "plan");
  return plan;
}

// The first target that keeps its files on this machine gets a copy that follows the
// writer (named only after the verify passed).
std::optional<Spool::Follower> follower_for(const std::vector<catalog::TargetRecord>& targets, const std::string& id,
                                            const std::string& project) {
  for (size_t i = 0; i < targets.size(); ++i) {
    if (repo::stores_repository(targets[i])) continue;  // its snapshot is made from the verified spool
    auto target = repo::open_target(targets[i]);
    if (!target.ok()) continue;  // promote reports it
    const std::string key = repo::blob_key(id, repo::readable_names(targets[i]) ? project : std::string());
    if (!(*target)->local_file(key)) continue;
    return Spool::Follower{.target_index = i, .key = key, .target = std::move(*target)};
  }
  return std::nullopt;
}

// Compose files, .env and env files with their original paths: first, so that a restore
// has them (and can resolve the project's compose config) while it fills the volumes.
Status write_config_files(archive::EntrySink& writer, const BackupPlan& plan, job::Context& ctx) {
  return job::run_step(
      ctx, "config", "Compose files and environment files",
      [&]() -> Status {
        for (const auto& c : plan.configs) {
          auto meta = TRY_CTX(archive::stat_entry(c.path, c.archive_path), "config file " + c.path);
          auto fd = TRY_CTX(open_file(c.path, O_RDONLY | O_CLOEXEC), "config file " + c.path);
          FdReader in(fd.get(), c.path);
          TRY_CTX(writer.add_file(meta, in), "config file " + c.path);
        }
        return {};
      },
      [&](const Status&) { return std::to_string(plan.configs.size()) + " file(s)"; });
}

// The hooks of one phase. Pre-backup hooks stop the backup when they fail; post-backup
// ones only warn, and run to their end (or timeout) also after a cancel.
Status run_hooks(docker::Client& docker, const BackupPlan& plan, const std::string& phase, job::Context& ctx) {
  const bool pre = phase == "pre-backup";
  for (const auto& h : plan.hooks) {
    if (h.phase != phase) continue;
    auto st = job::run_step(ctx, std::string(pre ? "hook.pre." : "hook.post.") + h.service,
                            std::string(pre ? "Pre" : "Post") + "-backup hook in " + h.container_name,
                            [&] { return run_hook(docker, h, ctx, pre ? HookCancel::kStop : HookCancel::kFinish); });
    if (st.ok()) continue;
    if (pre) return std::move(st).error().with_context("pre-backup hook failed");
    ctx.warn(ctx.redact(st.error().message()));
  }
  return {};
}

Status dump_databases(docker::Client& docker, archive::EntrySink& writer, const BackupPlan& plan,
                      job::Context& ctx) {
  for (const auto& d : plan.dumps) {
    TRY(ctx.check_cancel("backup"));
    const std::string step_id = "dump." + d.service;
    TRY(job::run_step(
        ctx, step_id, "Dump " + d.engine + " (" + d.service + ")",
        [&] { return capture_dump(docker, writer, d, ctx, step_id); },
        [](const auto& info) {
          uint64_t bytes = 0;
          for (const auto& f : info->files) bytes += f.bytes;
          return std::to_string(info->databases.size()) + " database(s), " + human_bytes(bytes);
        }));
  }
  return {};
}

// Volumes and bind mounts, with Safe Mode's pause around them only. Returns the pause's ms.
Result<int64_t> capture_mounts(const BackupEnv& env, const BackupRequest& req, const BackupPlan& plan,
                               archive::EntrySink& writer, const Estimate& est, job::Context& ctx, int64_t job_id) {
  std::optional<QuiesceGuard> quiesce;
  if (req.options.safe_mode && !plan.pause.empty()) {
    quiesce.emplace(TRY(job::run_step(ctx, "pause", "Safe Mode: pause " + std::to_string(plan.pause.size()) + " app container(s)",
                                      [&] { return QuiesceGuard::pause(env.docker, env.cat, job_id, plan.project, plan.pause, ctx); })));
  }
  const docker::HostPaths host_paths(env.docker);  // where this process runs: found once
  // SQLite databases are copied through the host path as the tree passes; under Safe Mode
  // their app may be frozen holding a lock, so the wait for it is short.
  auto capture = [&](const std::string& step_id, const std::string& title, const std::string& image,
                     docker::MountSpec::Type type, const std::string& source, const std::string& dir,
                     SqliteCaptureOptions lite) -> Result<Json> {
    TRY(ctx.check_cancel("backup"));
    return job::run_step(ctx, step_id, title, [&]() -> Result<Json> {
      lite.tree = host_paths.of(type, source);
      lite.scratch_dir = repo::spool_dir(env.data_dir);
      lite.busy_timeout = quiesce ? kSqliteLockWaitPaused : kSqliteLockWait;
      lite.apps_paused = quiesce.has_value();
      const std::string tree_path = lite.tree.path;
      const std::string why_not = lite.tree.reason;
      SqliteCapture databases(std::move(lite), ctx, title.substr(title.find(' ') + 1), step_id);
      Json how;
      if (!tree_path.empty()) {
        // On this host: read where the files are (no helper container, no tar stream; a
        // sink with a files cache takes unchanged files unread).
        auto sum = TRY(capture_tree(writer, tree_path, dir, est.of(source), ctx, step_id, &databases));
        ctx.info("read directly from " + tree_path + ": " + std::to_string(sum.files) + " file(s), " +
                     human_bytes(sum.bytes) +
                     (sum.unchanged_files > 0 ? "; " + std::to_string(sum.unchanged_files) + " unchanged (" +
                                                    human_bytes(sum.unchanged_bytes) + ") taken from the previous snapshot unread"
                                              : std::string()),
                 step_id);
        how = {{"read", "direct"}, {"unchanged_files", sum.unchanged_files}, {"changed_while_read", sum.changed}};
      } else {
        ctx.info("read through the Engine's archive stream: " + why_not, step_id);
        TRY(capture_mount(env.docker, writer, image, type, source, dir, est.of(source), ctx, step_id, &databases));
        how = {{"read", "engine-stream"}, {"why", why_not}};
      }
      Json extra = databases.manifest_extra();
      for (auto it = how.begin(); it != how.end(); ++it) extra[it.key()] = it.value();
      return extra;
    });
  };
  for (const auto& v : plan.volumes) {
    std::vector<std::string> roots;
    for (const auto& u : v.used_by) roots.push_back(u.destination);
    auto extra = TRY(capture("volume." + v.name, "Capture volume " + v.name, v.helper_image,
                             docker::MountSpec::Type::kVolume, v.name, v.archive_dir,
                             {.exclude = v.sqlite_exclude, .include = v.sqlite_include, .container_roots = roots}));
    TRY(writer.set_volume_info(v.name, extra));
  }
  for (const auto& b : plan.binds) {
    auto extra = TRY(capture("bind." + std::to_string(b.index), "Capture bind mount " + b.host_path, b.helper_image,
                             docker::MountSpec::Type::kBind, b.host_path, b.archive_dir,
                             {.exclude = b.sqlite_exclude, .include = b.sqlite_include, .container_roots = {b.container_path}}));
    TRY(writer.set_bind_info(std::to_string(b.index), extra));
  }
  if (!quiesce) return int64_t{0};
  job::StepTimer step(ctx, "resume", "Safe Mode: resume app containers");
  auto st = quiesce->resume();
  const int64_t pause_ms = quiesce->window_ms();
  step.end(st.ok(), st.ok() ? "paused for " + std::to_string(pause_ms) + " ms" : st.error().message());
  ctx.emit("pause_window", {{"ms", pause_ms}, {"containers", quiesce->paused_count()}});
  TRY(std::move(st));
  return pause_ms;
}

struct Written {
  archive::WriteSummary summary;
  int64_t pause_ms = 0;
};

// Everything a backup captures, into `sink`: plan.json, config files, pre-backup hooks,
// dumps, volumes and binds, post-backup hooks (also when a step fails). Returns the Safe
// Mode pause in ms.
Result<int64_t> capture_all(const BackupEnv& env, const BackupRequest& req, const BackupPlan& plan,
                            const std::string& id, const std::string& created, const Estimate& est,
                            archive::EntrySink& sink, job::Context& ctx, int64_t job_id) {
  TRY(sink.add_plan(plan.to_json(id, created)));
  TRY(write_config_files(sink, plan, ctx));
  auto post_hooks = on_scope_exit([&] { (void)run_hooks(env.docker, plan, "post-backup", ctx); });
  TRY(run_hooks(env.docker, plan, "pre-backup", ctx));
  TRY(dump_databases(env.docker, sink, plan, ctx));
  const int64_t pause_ms = TRY(capture_mounts(env, req, plan, sink, est, ctx, job_id));
  post_hooks.dismiss();
  (void)run_hooks(env.docker, plan, "post-backup", ctx);
  return pause_ms;
}

// The whole archive into the spool, then its manifest and seal.
Result<Written> write_archive(const BackupEnv& env, const BackupRequest& req, const BackupPlan& plan,
                              const std::string& id, const std::string& created, const Estimate& est, Spool& spool,
                              job::Context& ctx, int64_t job_id) {
  auto writer = TRY(archive::ArchiveWriter::create(spool.writer(), env.key, {.hash_sealed = false}));
  Written w;
  w.pause_ms = TRY(capture_all(env, req, plan, id, created, est, *writer, ctx, job_id));
  w.summary = TRY(job::run_step(ctx, "seal", "Finish the sealed archive", [&] { return writer->finish(); }));
  spool.finish();
  return w;
}

// The deep verify's verdict (it followed the writer): nothing becomes visible before it.
Result<archive::VerifyReport> verdict(Spool& spool, const archive::WriteSummary& written, job::Context& ctx) {
  return job::run_step(
      ctx, "verify", "Verify the archive (authenticate, decompress, hash every entry)",
      [&] { return spool.verified(written.sealed_bytes); },
      [&](const auto&) {
        return std::to_string(written.files) + " files, " + human_bytes(written.content_bytes) + " → " +
               human_bytes(written.sealed_bytes) + " sealed";
      });
}

// The catalog record (also sealed into every sidecar and snapshot).
catalog::BackupRecord make_record(const BackupRequest& req, const BackupPlan& plan, const std::string& id,
                                  std::chrono::system_clock::time_point created, int64_t pause_ms,
                                  const archive::Manifest& manifest, uint64_t files, uint64_t content_bytes,
                                  const std::string& key_fingerprint) {
  catalog::BackupRecord rec;
  rec.id = id;
  rec.project = plan.project;
  rec.created_at = unix_seconds(created);
  rec.summary = {{"reason", req.reason},
                 {"safe_mode", req.options.safe_mode},
                 {"pause_ms", pause_ms},
                 {"services", plan.services},
                 {"dumps", manifest.dumps},
                 {"volumes", manifest.volumes},
                 {"binds", manifest.binds},
                 {"files", files},
                 {"content_bytes", content_bytes},
                 {"key_fingerprint", key_fingerprint},
                 {"working_dir", plan.working_dir},
                 {"warnings", plan.warnings}};
  rec.verified_at = unix_seconds(std::chrono::system_clock::now());
  rec.verify_result = "ok";
  return rec;
}

catalog::BackupRecord make_record(const BackupRequest& req, const BackupPlan& plan, const std::string& id,
                                  std::chrono::system_clock::time_point created, const Written& w,
                                  const archive::VerifyReport& report) {
  catalog::BackupRecord rec = make_record(req, plan, id, created, w.pause_ms, report.manifest, w.summary.files,
                                          w.summary.content_bytes, w.summary.key_fingerprint);
  rec.plaintext_bytes = w.summary.tar_bytes;
  rec.stored_bytes = w.summary.sealed_bytes;
  rec.sha256 = report.sealed_sha256;
  return rec;
}

// The record with its copies into the catalog, and every target's outcome for the
// project (the dashboard's badge, the metrics). No copy at all: Unavailable, nothing recorded.
// A catalog that cannot be written fails the job and says where the copies are.
Status record_backup(catalog::Catalog& cat, catalog::BackupRecord& rec, const Promotion& stored, double t0) {
  for (const auto& f : stored.failures) {
    (void)catalog::record_target_failure(cat, rec.project, f.target, unix_seconds(std::chrono::system_clock::now()),
                                         f.message);
  }
  if (stored.copies.empty()) {
    std::string why;
    for (const auto& f : stored.failures) why += (why.empty() ? "" : "; ") + f.target + ": " + f.message;
    return unavailable("the backup could not be stored on any target: " + why);
  }
  rec.copies = stored.copies;
  rec.duration_ms = static_cast<int64_t>((monotonic_seconds() - t0) * 1000);
  if (auto st = cat.put_backup(rec); !st.ok()) {
    // The copies are whole and verified, each with its sealed sidecar: they stay, and the
    // catalog can learn them again from the targets. The job fails: nothing lists them yet.
    std::string where;
    for (const auto& c : rec.copies) where += (where.empty() ? "" : ", ") + c.target + " (" + c.key + ")";
    return Error(st.error().code(), "backup " + rec.id + " is stored and verified on " + where +
                                        " but the catalog could not record it: " + st.error().message() +
                                        ". `stacksnap backups --target " + rec.copies.front().target +
                                        "` records it from the target once the catalog can be written");
  }
  for (const auto& c : rec.copies) (void)catalog::record_target_success(cat, rec.project, c.target, c.uploaded_at);
  return {};
}

// The previous snapshot of `project` on the target (the files cache), or nullopt: the
// newest catalogued backup with a snapshot there that still loads.
std::optional<chunks::SnapshotInfo> parent_snapshot(catalog::Catalog& cat, const std::string& project,
                                                    const std::string& target, const chunks::Repository& repository,
                                                    job::Context& ctx, const std::string& step) {
  auto backups = cat.list_backups({.project = project, .target = target, .limit = 5});
  if (!backups.ok()) return std::nullopt;
  for (const auto& b : *backups) {
    for (const auto& c : b.copies) {
      if (c.target != target) continue;
      const std::string sid = repo::snapshot_id_of_key(c.key);
      if (sid.empty()) continue;
      auto snap = repo::load_snapshot(repository, sid);
      if (snap.ok()) {
        ctx.info("files cache: backup " + b.id + " (snapshot " + sid.substr(0, 12) + ")", step);
        return std::move(*snap);
      }
      ctx.info("files cache: backup " + b.id + " cannot be read (" + snap.error().message() + "); every file is read",
               step);
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// A backup whose one target is a repository: captured straight into a snapshot (no
// archive, no spool), files unchanged since the previous snapshot taken from it unread.
// The new packs are read back and authenticated before the snapshot commits; the record
// is sealed into the snapshot, then the catalog learns it.
Result<BackupSummary> run_snapshot_backup(const BackupEnv& env, const BackupRequest& req,
                                          const catalog::TargetRecord& trec, const BackupPlan& plan,
                                          const std::string& id, std::chrono::system_clock::time_point created,
                                          const Estimate& est, job::Context& ctx, int64_t job_id, double t0) {
  const std::string step_id = "upload." + trec.name;
  auto fail = [&](Error e) -> Error {
    if (e.code() != Code::kCancelled) {
      (void)catalog::record_target_failure(env.cat, plan.project, trec.name,
                                           unix_seconds(std::chrono::system_clock::now()), e.message());
    }
    return std::move(e).with_context("store on " + trec.name);
  };
  auto target = repo::open_target(trec);
  if (!target.ok()) return fail(std::move(target).error());
  auto session = job::run_step(ctx, "open", "Open the repository on " + trec.name, [&] {
    return repo::open_for_backup(**target, env.key,
                                 {.owner = "backup " + plan.project + " " + id,
                                  .on_init = [&] { ctx.info("no repository on " + trec.name + " yet: creating one", "open"); },
                                  .on_warning = [&](const std::string& w) { ctx.warn(w, "open"); }},
                                 ctx.stop());
  });
  if (!session.ok()) return fail(std::move(session).error());
  auto parent = parent_snapshot(env.cat, plan.project, trec.name, *session->repository, ctx, "open");
  auto sink = repo::SnapshotSink::create(*session->repository, std::move(parent), ctx.stop(),
                                         {.spool_dir = repo::spool_dir(env.data_dir)});
  if (!sink.ok()) return fail(std::move(sink).error());
  const std::string created_text = format_rfc3339(created);
  const int64_t pause_ms = TRY(capture_all(env, req, plan, id, created_text, est, **sink, ctx, job_id));
  const repo::IngestStats& stats = (*sink)->stats();
  auto verified = job::run_step(
      ctx, "verify", "Verify what was stored (read back and authenticate every new pack)",
      [&] { return (*sink)->verify_uploaded(); },
      [&](const Status&) {
        return std::to_string(stats.files) + " files, " + human_bytes(stats.content_bytes) + "; " +
               std::to_string(stats.unchanged_files) + " unchanged files (" + human_bytes(stats.unchanged_bytes) +
               ") taken unread";
      });
  if (!verified.ok()) return fail(std::move(verified).error());

  const archive::Manifest manifest = (*sink)->manifest(created_text);
  catalog::BackupRecord rec = make_record(req, plan, id, created, pause_ms, manifest, stats.files,
                                          stats.content_bytes, env.key.fingerprint());
  rec.plaintext_bytes = stats.content_bytes;
  nlohmann::json doc = {{"backup_id", id},
                        {"project", plan.project},
                        {"created", rec.created_at},
                        {"record", catalog::to_json(rec, {.copies = false})}};
  job::StepTimer step(ctx, step_id, "Commit the snapshot on " + trec.name);
  auto snap = (*sink)->commit(std::move(doc), created_text, [&] { return session->still_locked(); });
  if (snap.ok()) {
    // The commit point read back: the snapshot object as stored opens and matches its name.
    if (auto back = repo::load_snapshot(*session->repository, snap->id); !back.ok()) {
      snap = std::move(back).error().with_context("read back the snapshot just stored");
    }
  }
  step.end(snap.ok(), snap.ok() ? "" : snap.error().message());
  if (!snap.ok()) return fail(std::move(snap).error());
  rec.stored_bytes = stats.uploaded_bytes;
  rec.sha256 = snap->id;
  Promotion stored;
  stored.copies.push_back(snapshot_copy(trec.name, *snap, stats, ctx, step_id));
  TRY(record_backup(env.cat, rec, stored, t0));
  return BackupSummary{.backup_id = id,
                       .project = plan.project,
                       .stored_bytes = stats.uploaded_bytes,
                       .plaintext_bytes = stats.content_bytes,
                       .content_bytes = stats.content_bytes,
                       .files = stats.files,
                       .duration_ms = rec.duration_ms,
                       .pause_ms = pause_ms,
                       .targets = {trec.name},
                       .failed_targets = {}};
}

}  // namespace

std::string new_backup_id() { return format_compact_utc(std::chrono::system_clock::now()) + "-" + random_hex(4); }

Json BackupSummary::to_json() const {
  Json failed = Json::array();
  for (const auto& f : failed_targets) {
    failed.push_back({{"target", f.target}, {"code", std::string(code_name(f.code))}, {"message", f.message}});
  }
  return {{"backup_id", backup_id},     {"project", project},         {"stored_bytes", stored_bytes},
          {"plaintext_bytes", plaintext_bytes}, {"content_bytes", content_bytes}, {"files", files},
          {"duration_ms", duration_ms}, {"pause_ms", pause_ms},       {"targets", targets},
          {"failed_targets", failed}};
}

Result<BackupSummary> run_backup(const BackupEnv& env, const BackupRequest& req, job::Context& ctx, int64_t job_id) {
  const double t0 = monotonic_seconds();
  auto targets = TRY(select_targets(env.cat, req.targets));
  repair_leftovers(env, ctx);
  const BackupPlan plan = TRY(plan_backup(env.docker, req, ctx));
  TRY(ctx.check_cancel("backup"));

  const std::string id = new_backup_id();
  const auto created = std::chrono::system_clock::now();
  const Estimate est = estimate_size(env.docker, plan);
  if (targets.size() == 1 && repo::stores_repository(targets.front())) {
    return run_snapshot_backup(env, req, targets.front(), plan, id, created, est, ctx, job_id, t0);
  }
  TRY(check_free_space(repo::spool_dir(env.data_dir), est.bytes));
  auto spool = TRY(Spool::open(repo::spool_dir(env.data_dir), id, env.key, follower_for(targets, id, plan.project), ctx));
  const Written written =
      TRY(write_archive(env, req, plan, id, format_rfc3339(created), est, *spool, ctx, job_id));
  const archive::VerifyReport report = TRY(verdict(*spool, written.summary, ctx));

  catalog::BackupRecord rec = make_record(req, plan, id, created, written, report);
  const Promotion stored = TRY(promote(targets, plan.project, rec, *spool, env.key, ctx));
  TRY(record_backup(env.cat, rec, stored, t0));

  BackupSummary out{.backup_id = id,
                    .project = plan.project,
                    .stored_bytes = written.summary.sealed_bytes,
                    .plaintext_bytes = written.summary.tar_bytes,
                    .content_bytes = written.summary.content_bytes,
                    .files = written.summary.files,
                    .duration_ms = rec.duration_ms,
                    .pause_ms = written.pause_ms,
                    .failed_targets = stored.failures};
  for (const auto& c : rec.copies) out.targets.push_back(c.target);
  return out;
}

}  // namespace stacksnap::backup
