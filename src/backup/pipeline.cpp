#include "backup/pipeline.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <array>
#include <optional>
#include <thread>


#include "archive/fs_source.h"
#include "archive/verify.h"
#include "archive/writer.h"
#include "backup/capture.h"
#include "backup/quiesce.h"
#include "backup/spool_tail.h"
#include "base/clock.h"
#include "base/fd.h"
#include "base/scope.h"
#include "catalog/catalog_admin.h"
#include "repo/repo.h"
#include "seal/crypto.h"
#include "stack/discovery.h"

namespace stacksnap::backup {

using Json = nlohmann::json;

namespace {

constexpr uint64_t kSpoolMargin = 64ull << 20;  // headroom kept free beyond the estimate
constexpr int kVerifyNice = 19;                    // niceness of the threads following the writer (relative)
constexpr size_t kStoreBuffer = 1 << 20;           // the following store's read/write size

// For a thread following the writer: below the capture's threads, so that it takes only the
// CPU the capture leaves idle and never stretches a Safe Mode pause. Threads it starts
// inherit the priority.
void follow_at_low_priority() {
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), ::getpriority(PRIO_PROCESS, 0) + kVerifyNice);
}

std::string hex8() {
  std::array<uint8_t, 4> b{};
  // The OS CSPRNG failing is not survivable; an ID from zeros would still be unique by time.
  (void)seal::random_bytes(MutableBytes(reinterpret_cast<std::byte*>(b.data()), b.size()));
  return seal::hex_encode(b);
}

// Removes *.partial spool files no running process holds (their owner died).
int clean_spool(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return 0;
  int removed = 0;
  while (auto* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() < 9 || name.substr(name.size() - 8) != ".partial") continue;
    std::string path = dir + "/" + name;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      ::unlink(path.c_str());
      ++removed;
    }
    ::close(fd);
  }
  ::closedir(d);
  return removed;
}

struct Estimate {
  uint64_t bytes = 0;
  std::map<std::string, uint64_t> per_item;  // volume name / bind host path → bytes
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
                              archive::human_bytes(need) + " of volumes and bind mounts to capture (before compression) plus " +
                              archive::human_bytes(kSpoolMargin) + " headroom, but only " + archive::human_bytes(free_bytes) +
                              " free");
  }
  return {};
}

struct TargetCopy {
  catalog::TargetRecord rec;
  std::unique_ptr<storage::Target> target;
};

// The copy record of a blob stored under `key`, once the target reports its full size.
Result<catalog::CopyRecord> stored_copy(storage::Target& target, const std::string& key, uint64_t size,
                                        const std::string& sha256) {
  auto st = TRY_CTX(target.stat(key), "check uploaded blob");
  if (st.size != size) {
    (void)target.remove(key);
    return data_loss("uploaded blob has " + std::to_string(st.size) + " bytes, expected " + std::to_string(size));
  }
  return catalog::CopyRecord{.target = "", .key = key, .size = size, .sha256 = sha256,
                             .uploaded_at = unix_seconds(std::chrono::system_clock::now())};
}

// Uploads the spool as the blob under `key`; the sidecar is written by the caller after.
// put_file: S3 sends it as one PutObject read from the spool (its SHA-256, known from
// writing it, is signed, so the server checks the blob end to end) up to the target's
// multipart threshold, else multipart; other targets stream it.
Result<catalog::CopyRecord> upload_blob(storage::Target& target, int spool_fd, const std::string& key, uint64_t size,
                                        const std::string& sha256, job::Context& ctx, const std::string& step) {
  job::Progress progress(ctx, step, size);
  uint64_t reported = 0;
  TRY(target.put_file(key, spool_fd, size,
                      {.sha256 = sha256,
                       .progress = [&](uint64_t done) -> Status {
                         progress.add(done - reported);
                         reported = done;
                         return ctx.check_cancel("upload");
                       },
                       .stop = ctx.stop()}));
  progress.finish();
  return stored_copy(target, key, size, sha256);
}

}  // namespace

std::string spool_dir(const std::string& data_dir) { return data_dir + "/spool"; }

std::string new_backup_id() { return format_compact_utc(std::chrono::system_clock::now()) + "-" + hex8(); }

Result<Json> run_backup(const BackupEnv& env, const BackupRequest& req, job::Context& ctx, int64_t job_id) {
  const double t0 = monotonic_seconds();
  auto& docker = env.docker;
  auto& cat = env.cat;

  // Targets first: a typo fails before anything is touched.
  std::vector<TargetCopy> targets;
  {
    std::vector<std::string> names = req.targets;
    if (names.empty()) {
      for (auto& t : TRY(cat.list_targets())) names.push_back(t.name);
    }
    if (names.empty()) {
      return failed_precondition("no storage target is configured; add one with `stacksnap target add local NAME --path DIR`");
    }
    for (const auto& n : names) {
      auto rec = cat.get_target(n);
      if (!rec.ok()) return not_found("unknown storage target \"" + n + "\"");
      targets.push_back({std::move(*rec), nullptr});
    }
  }

  // Repair what a crashed run may have left.
  {
    auto resumed = repair_paused(docker, cat, [&](const std::string& w) { ctx.warn(w); });
    if (resumed.ok() && *resumed > 0) ctx.warn("resumed " + std::to_string(*resumed) + " container(s) left paused by an interrupted backup");
    auto helpers = remove_orphan_helpers(docker);
    if (helpers.ok() && *helpers > 0) ctx.info("removed " + std::to_string(*helpers) + " helper container(s) left by an interrupted run");
    ::mkdir(spool_dir(env.data_dir).c_str(), 0700);
    int cleaned = clean_spool(spool_dir(env.data_dir));
    if (cleaned > 0) ctx.info("removed " + std::to_string(cleaned) + " partial spool file(s) of an interrupted run");
  }

  // Discover and plan.
  BackupPlan plan;
  {
    job::StepTimer step(ctx, "plan", "Discover " + req.project + " and plan the backup");
    auto project = stack::discover_project(docker, req.project);
    if (!project.ok()) {
      step.end(false, project.error().message());
      return std::move(project).error();
    }
    auto p = make_plan(*project, req.options);
    step.end_with(p, "");
    plan = TRY(std::move(p));
    for (const auto& w : plan.warnings) ctx.warn(w, "plan");
    for (const auto& s : plan.skipped) ctx.info("skipped " + s.what + ": " + s.reason, "plan");
    ctx.info(std::to_string(plan.dumps.size()) + " database dump(s), " + std::to_string(plan.volumes.size()) +
                 " volume(s), " + std::to_string(plan.binds.size()) + " bind mount(s), " +
                 std::to_string(plan.configs.size()) + " config file(s)" + (req.options.safe_mode ? ", Safe Mode on" : ""),
             "plan");
  }
  TRY(ctx.check_cancel("backup"));

  const std::string id = new_backup_id();
  const auto created_tp = std::chrono::system_clock::now();
  const std::string created = format_rfc3339(created_tp);

  // Free space, estimated from what will be captured.
  Estimate est = estimate_size(docker, plan);
  TRY(check_free_space(spool_dir(env.data_dir), est.bytes));

  // The spool: encrypted from the first byte and never named where the file system allows
  // (a killed run leaves nothing); else `<id>.partial`, locked while we own it, always
  // removed, and removed by the next run when its owner died.
  const std::string spool_path = spool_dir(env.data_dir) + "/" + id + ".partial";
  std::string spool_named;
  auto spool = TRY(create_scratch_file(spool_dir(env.data_dir), spool_path, 0600, &spool_named));
  auto remove_spool = on_scope_exit([&] {
    if (!spool_named.empty()) ::unlink(spool_named.c_str());
  });
  if (!spool_named.empty() && ::flock(spool.get(), LOCK_EX | LOCK_NB) != 0) return errno_error("lock " + spool_path, errno);

  // The deep verify follows the writer through the spool: a thread reads back, decrypts,
  // decompresses and hashes every byte as soon as it is written (the capture leaves CPU
  // idle while it waits on the Engine), so little is left to verify when the capture ends.
  // It reads the file itself, exactly as before, only earlier; the verdict is still taken
  // after the last byte, and nothing becomes visible before it. The archive's SHA-256 is
  // that of the bytes the verify read back.
  GrowingFile spool_file(spool.get(), spool_path);
  auto writer = TRY(archive::ArchiveWriter::create(spool_file.writer(), env.key, {.hash_sealed = false}));
  auto verify_keys = seal::KeySource::from_key(TRY(env.key.clone()));
  std::optional<Result<archive::VerifyReport>> verified;
  std::thread verifier([&] {
    follow_at_low_priority();
    GrowingFile::TailReader in(spool_file, ctx.stop());
    verified = archive::verify_archive(in, &verify_keys, {.depth = archive::VerifyDepth::kDeep, .stop = ctx.stop()});
  });

  // The first local target's blob follows the writer the same way: copied out of the spool
  // as it grows into an unnamed file (LocalUpload), its writeback started as it goes and
  // fsynced when the archive ends. It gets its name only after the verify passed, and the
  // sidecar after it stays the commit point; a blob named but without a sidecar (the
  // sidecar failed, or a crash right between the two) is an unfinished upload, never
  // listed, and removed when the backup ends without its sidecar.
  struct EarlyStore {
    size_t index = 0;
    std::string key;
    std::unique_ptr<storage::Target> target;
    std::unique_ptr<storage::Upload> upload;  // written and fsynced, unnamed until commit
    Status status;
    std::thread thread;
    bool named = false;      // the blob was committed under its key
    bool committed = false;  // its sidecar was written
  };
  std::optional<EarlyStore> early;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (targets[i].rec.kind != "local") continue;
    auto target = repo::open_target(targets[i].rec);
    if (!target.ok()) break;  // the normal path reports it
    const std::string dir = repo::readable_names(targets[i].rec) ? plan.project : std::string();
    EarlyStore& e = early.emplace();
    e.index = i;
    e.key = repo::blob_key(id, dir);
    e.target = std::move(*target);
    e.thread = std::thread([&e, &ctx, &spool_file] {
      follow_at_low_priority();
      // Everything but the commit itself (the blob's name), which waits for the verify:
      // until then a local target holds no file of this backup at all, whatever happens.
      e.status = [&]() -> Status {
        e.upload = TRY(e.target->put(e.key));
        GrowingFile::TailReader in(spool_file, ctx.stop());
        TRY(copy_stream(in, *e.upload, kStoreBuffer));
        return e.upload->prepare_commit();
      }();
    });
    break;
  }
  auto followers_guard = on_scope_exit([&] {
    const bool running = verifier.joinable() || (early && early->thread.joinable());
    if (running) spool_file.fail(cancelled("the backup ended before its archive was complete"));
    if (verifier.joinable()) verifier.join();
    if (!early) return;
    if (early->thread.joinable()) early->thread.join();
    if (early->named && !early->committed) (void)early->target->remove(early->key);
    early->upload.reset();  // an unnamed upload just disappears
  });
  TRY(writer->add_plan(plan.to_json(id, created)));

  // Compose files, .env and env files, with their original paths: first, so that a restore
  // has them (and can resolve the project's compose config) while it fills the volumes.
  {
    job::StepTimer step(ctx, "config", "Compose files and environment files");
    for (const auto& c : plan.configs) {
      auto meta = archive::stat_entry(c.path, c.archive_path);
      if (!meta.ok()) {
        step.end(false, meta.error().message());
        return std::move(meta).error().with_context("config file " + c.path);
      }
      auto fd = TRY_CTX(open_file(c.path, O_RDONLY | O_CLOEXEC), "config file " + c.path);
      FdReader in(fd.get(), c.path);
      TRY_CTX(writer->add_file(*meta, in), "config file " + c.path);
    }
    step.end(true, std::to_string(plan.configs.size()) + " file(s)");
  }

  // Hooks: pre-backup before anything is read; post-backup always, once.
  bool post_hooks_done = false;
  auto run_post_hooks = [&] {
    if (post_hooks_done) return;
    post_hooks_done = true;
    for (const auto& h : plan.hooks) {
      if (h.phase != "post-backup") continue;
      job::StepTimer step(ctx, "hook.post." + h.service, "Post-backup hook in " + h.container_name);
      auto st = run_hook(docker, h, ctx);
      step.end(st.ok(), st.ok() ? "" : st.error().message());
      if (!st.ok()) ctx.warn(ctx.redact(st.error().message()));
    }
  };
  auto post_guard = on_scope_exit(run_post_hooks);
  for (const auto& h : plan.hooks) {
    if (h.phase != "pre-backup") continue;
    job::StepTimer step(ctx, "hook.pre." + h.service, "Pre-backup hook in " + h.container_name);
    auto st = run_hook(docker, h, ctx);
    step.end(st.ok(), st.ok() ? "" : st.error().message());
    if (!st.ok()) return std::move(st).error().with_context("pre-backup hook failed");
  }

  // Database dumps, streamed.
  Json dumps_summary = Json::object();
  for (const auto& d : plan.dumps) {
    TRY(ctx.check_cancel("backup"));
    const std::string step_id = "dump." + d.service;
    job::StepTimer step(ctx, step_id, "Dump " + d.engine + " (" + d.service + ")");
    auto info = capture_dump(docker, *writer, d, ctx, step_id);
    if (!info.ok()) {
      step.end(false, ctx.redact(info.error().message()));
      return std::move(info).error();
    }
    uint64_t bytes = 0;
    for (const auto& f : info->files) bytes += f.bytes;
    step.end(true, std::to_string(info->databases.size()) + " database(s), " + archive::human_bytes(bytes));
  }

  // Volumes and bind mounts, Safe Mode around them only.
  int64_t pause_ms = 0;
  {
    std::optional<QuiesceGuard> quiesce;
    if (req.options.safe_mode && !plan.pause.empty()) {
      job::StepTimer step(ctx, "pause", "Safe Mode: pause " + std::to_string(plan.pause.size()) + " app container(s)");
      auto g = QuiesceGuard::pause(docker, cat, job_id, plan.project, plan.pause, ctx);
      step.end_with(g, "");
      quiesce.emplace(TRY(std::move(g)));
    }
    for (const auto& v : plan.volumes) {
      TRY(ctx.check_cancel("backup"));
      const std::string step_id = "volume." + v.name;
      job::StepTimer step(ctx, step_id, "Capture volume " + v.name);
      uint64_t e = est.per_item.count(v.name) ? est.per_item[v.name] : 0;
      auto st = capture_mount(docker, *writer, v.helper_image, docker::MountSpec::Type::kVolume, v.name, v.archive_dir,
                              e, ctx, step_id);
      step.end(st.ok(), st.ok() ? "" : st.error().message());
      TRY(std::move(st));
    }
    for (const auto& b : plan.binds) {
      TRY(ctx.check_cancel("backup"));
      const std::string step_id = "bind." + std::to_string(b.index);
      job::StepTimer step(ctx, step_id, "Capture bind mount " + b.host_path);
      uint64_t e = est.per_item.count(b.host_path) ? est.per_item[b.host_path] : 0;
      auto st = capture_mount(docker, *writer, b.helper_image, docker::MountSpec::Type::kBind, b.host_path,
                              b.archive_dir, e, ctx, step_id);
      step.end(st.ok(), st.ok() ? "" : st.error().message());
      TRY(std::move(st));
    }
    if (quiesce) {
      job::StepTimer step(ctx, "resume", "Safe Mode: resume app containers");
      auto st = quiesce->resume();
      pause_ms = quiesce->window_ms();
      step.end(st.ok(), st.ok() ? "paused for " + std::to_string(pause_ms) + " ms" : st.error().message());
      ctx.emit("pause_window", {{"ms", pause_ms}, {"containers", quiesce->paused_count()}});
      TRY(std::move(st));
    }
  }
  post_guard.dismiss();
  run_post_hooks();

  archive::WriteSummary written;
  {
    job::StepTimer step(ctx, "seal", "Finish the sealed archive");
    auto s = writer->finish();
    step.end_with(s, "");
    written = TRY(std::move(s));
    spool_file.finish();
    // No fsync of the spool: it is never the durable copy (a crash makes it an orphan that
    // is removed), verification reads it from the page cache either way, and a spool that
    // is gone before writeback never costs a disk write. Each target's copy is fsynced
    // before its sidecar commits it.
  }

  // Deep verification of the spool before anything becomes visible.
  archive::VerifyReport report;
  {
    job::StepTimer step(ctx, "verify", "Verify the archive (authenticate, decompress, hash every entry)");
    verifier.join();
    Result<archive::VerifyReport> r = std::move(*verified);
    if (r.ok() && r->sealed_bytes != written.sealed_bytes) {
      r = data_loss("the verify read " + std::to_string(r->sealed_bytes) + " bytes of the spool, " +
                    std::to_string(written.sealed_bytes) + " were written");
    }
    step.end_with(r, std::to_string(written.files) + " files, " + archive::human_bytes(written.content_bytes) + " → " +
                         archive::human_bytes(written.sealed_bytes) + " sealed");
    report = TRY(std::move(r));
  }

  // The catalog record (also sealed into every sidecar).
  catalog::BackupRecord rec;
  rec.id = id;
  rec.project = plan.project;
  rec.created_at = unix_seconds(created_tp);
  rec.plaintext_bytes = written.tar_bytes;
  rec.stored_bytes = written.sealed_bytes;
  rec.sha256 = report.sealed_sha256;
  rec.summary = {{"reason", req.reason},
                 {"safe_mode", req.options.safe_mode},
                 {"pause_ms", pause_ms},
                 {"services", plan.services},
                 {"dumps", report.manifest.dumps},
                 {"volumes", report.manifest.volumes},
                 {"binds", report.manifest.binds},
                 {"files", written.files},
                 {"content_bytes", written.content_bytes},
                 {"key_fingerprint", written.key_fingerprint},
                 {"working_dir", plan.working_dir},
                 {"warnings", plan.warnings}};
  rec.verified_at = unix_seconds(std::chrono::system_clock::now());
  rec.verify_result = "ok";

  // Promote to every target: blob, then sidecar (the commit point on storage).
  Json failed = Json::array();
  Json ok_targets = Json::array();
  for (auto& t : targets) {
    TRY(ctx.check_cancel("backup"));
    const std::string step_id = "upload." + t.rec.name;
    job::StepTimer step(ctx, step_id, "Store on " + t.rec.name);
    const bool stored_early = early && early->index == static_cast<size_t>(&t - targets.data());
    auto attempt = [&]() -> Result<catalog::CopyRecord> {
      auto target = TRY(repo::open_target(t.rec));
      // Object names reveal the project only when the target opted in (--readable-names).
      const std::string dir = repo::readable_names(t.rec) ? plan.project : std::string();
      std::optional<catalog::CopyRecord> early_copy;
      if (stored_early) {
        if (early->thread.joinable()) early->thread.join();
        if (early->status.ok()) early->status = early->upload->commit();
        if (early->status.ok()) {
          early->named = true;
          ctx.info("stored while the archive was being written and verified", step_id);
          early_copy = TRY(stored_copy(*target, early->key, written.sealed_bytes, report.sealed_sha256));
        } else if (early->status.error().code() == Code::kCancelled) {
          return early->status.error();
        } else {
          ctx.warn("storing while the archive was being written failed (" + early->status.error().message() + "); storing again", step_id);
        }
      }
      auto copy = early_copy ? *early_copy
                             : TRY(upload_blob(*target, spool.get(), repo::blob_key(id, dir), written.sealed_bytes,
                                               report.sealed_sha256, ctx, step_id));
      copy.target = t.rec.name;
      auto sidecar = TRY(repo::make_sidecar(rec, copy, env.key));
      auto st = storage::put_small(*target, repo::sidecar_key(id, dir), sidecar);
      if (!st.ok()) {
        (void)target->remove(copy.key);
        return std::move(st).error().with_context("write sidecar");
      }
      if (stored_early) early->committed = true;
      return copy;
    };
    auto copy = attempt();
    step.end(copy.ok(), copy.ok() ? "" : copy.error().message());
    if (!copy.ok()) {
      if (copy.error().code() == Code::kCancelled) return std::move(copy).error();
      ctx.warn("storing on " + t.rec.name + " failed: " + copy.error().message(), step_id);
      failed.push_back({{"target", t.rec.name}, {"code", std::string(code_name(copy.error().code()))},
                        {"message", copy.error().message()}});
      continue;
    }
    rec.copies.push_back(*copy);
    ok_targets.push_back(t.rec.name);
  }
  // Where this project's backups fail to be stored, and since when (the dashboard's
  // badge, metrics); where they are stored is recorded once the backup is.
  for (const auto& f : failed) {
    (void)catalog::record_target_failure(cat, plan.project, f["target"].get<std::string>(),
                                         unix_seconds(std::chrono::system_clock::now()), f["message"].get<std::string>());
  }
  if (rec.copies.empty()) {
    std::string why;
    for (const auto& f : failed) why += (why.empty() ? "" : "; ") + f["target"].get<std::string>() + ": " + f["message"].get<std::string>();
    return unavailable("the backup could not be stored on any target: " + why);
  }
  rec.duration_ms = static_cast<int64_t>((monotonic_seconds() - t0) * 1000);
  TRY_CTX(cat.put_backup(rec), "record backup " + id);
  for (const auto& c : rec.copies) (void)catalog::record_target_success(cat, plan.project, c.target, c.uploaded_at);

  return Json{{"backup_id", id},
              {"project", plan.project},
              {"stored_bytes", written.sealed_bytes},
              {"plaintext_bytes", written.tar_bytes},
              {"content_bytes", written.content_bytes},
              {"files", written.files},
              {"duration_ms", rec.duration_ms},
              {"pause_ms", pause_ms},
              {"targets", ok_targets},
              {"failed_targets", failed}};
}

}  // namespace stacksnap::backup
