#include "backup/promote.h"

#include <unistd.h>

#include <optional>

#include "archive/reader.h"
#include "base/clock.h"
#include "base/text.h"
#include "catalog/record_json.h"
#include "repo/repo.h"
#include "repo/snapshot.h"

namespace stacksnap::backup {

namespace {

// Uploads the spool as the blob under `key`; the sidecar is written by the caller after.
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

// The spool read from its first byte without moving the offset others use.
class SpoolReader final : public Reader {
 public:
  explicit SpoolReader(int fd) : fd_(fd) {}
  Result<size_t> read(MutableBytes buf) override {
    for (;;) {
      const ssize_t n = ::pread(fd_, buf.data(), buf.size(), static_cast<off_t>(offset_));
      if (n >= 0) {
        offset_ += static_cast<uint64_t>(n);
        return static_cast<size_t>(n);
      }
      if (errno != EINTR) return errno_error("read the spool", errno);
    }
  }

 private:
  int fd_;
  uint64_t offset_ = 0;
};

// A repository target: the verified archive stored as one snapshot (repo/snapshot.h),
// only the chunks the repository does not hold yet uploaded. The archive is read (and
// authenticated) again from the spool; the snapshot commits after its last byte.
Result<catalog::CopyRecord> store_in_repository(const catalog::TargetRecord& trec, const catalog::BackupRecord& rec,
                                                Spool& spool, const seal::MasterKey& key, job::Context& ctx,
                                                const std::string& step) {
  auto target = TRY(repo::open_target(trec));
  SpoolReader in(spool.fd());
  auto keys = seal::KeySource::from_key(TRY(key.clone()));
  auto reader = TRY(archive::ArchiveReader::open(in, keys, {.hash_sealed = false}));
  nlohmann::json doc = {{"backup_id", rec.id},
                        {"project", rec.project},
                        {"created", rec.created_at},
                        {"record", catalog::to_json(rec, {.copies = false})}};
  repo::IngestStats stats;
  auto snap = TRY(repo::store_archive(
      *target, key, *reader, std::move(doc),
      {.owner = "backup " + rec.project + " " + rec.id,
       .on_init = [&] { ctx.info("no repository on " + trec.name + " yet: creating one", step); },
       .on_warning = [&](const std::string& w) { ctx.warn(w, step); },
       .spool_dir = spool.dir()},
      ctx.stop(), &stats));
  return snapshot_copy(trec.name, snap, stats, ctx, step);
}

// One target: the blob (named if it followed the writer, else uploaded), then its sidecar.
Result<catalog::CopyRecord> store_on(const catalog::TargetRecord& trec, size_t index, const std::string& project,
                                     const catalog::BackupRecord& rec, Spool& spool, const seal::MasterKey& key,
                                     job::Context& ctx, const std::string& step) {
  if (repo::stores_repository(trec)) return store_in_repository(trec, rec, spool, key, ctx, step);
  auto target = TRY(repo::open_target(trec));
  const std::string dir = repo::readable_names(trec) ? project : std::string();
  const std::string blob = repo::blob_key(rec.id, dir);
  std::optional<catalog::CopyRecord> copy;
  if (spool.follows(index)) {
    Status named = spool.name_followed_copy();
    if (named.ok()) {
      ctx.info("stored while the archive was being written and verified", step);
      copy = TRY(stored_copy(*target, blob, rec.stored_bytes, rec.sha256));
    } else if (named.error().code() == Code::kCancelled) {
      return std::move(named).error();
    } else {
      ctx.warn("storing while the archive was being written failed (" + named.error().message() + "); storing again",
               step);
    }
  }
  if (!copy) copy = TRY(upload_blob(*target, spool.fd(), blob, rec.stored_bytes, rec.sha256, ctx, step));
  copy->target = trec.name;
  auto sidecar = TRY(repo::make_sidecar(rec, *copy, key));
  if (auto st = storage::put_small(*target, repo::sidecar_key(rec.id, dir), sidecar); !st.ok()) {
    (void)target->remove(copy->key);
    return std::move(st).error().with_context("write sidecar");
  }
  if (spool.follows(index)) spool.followed_copy_committed();
  return *copy;
}

}  // namespace

catalog::CopyRecord snapshot_copy(const std::string& target, const chunks::SnapshotInfo& snap,
                                  const repo::IngestStats& stats, job::Context& ctx, const std::string& step) {
  ctx.info("stored as snapshot " + snap.id.substr(0, 12) + ": " + std::to_string(stats.files) + " files, " +
               human_bytes(stats.content_bytes) + " in " + std::to_string(stats.chunks) + " chunks, " +
               std::to_string(stats.new_chunks) + " new (" + human_bytes(stats.new_bytes) + "); uploaded " +
               human_bytes(stats.uploaded_bytes),
           step);
  return catalog::CopyRecord{.target = target, .key = repo::snapshot_key(snap.id), .size = stats.uploaded_bytes,
                             .sha256 = snap.id, .uploaded_at = unix_seconds(std::chrono::system_clock::now())};
}

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

Result<Promotion> promote(const std::vector<catalog::TargetRecord>& targets, const std::string& project,
                          const catalog::BackupRecord& rec, Spool& spool, const seal::MasterKey& key,
                          job::Context& ctx) {
  Promotion out;
  for (size_t i = 0; i < targets.size(); ++i) {
    TRY(ctx.check_cancel("backup"));
    const auto& t = targets[i];
    const std::string step_id = "upload." + t.name;
    job::StepTimer step(ctx, step_id, "Store on " + t.name);
    auto copy = store_on(t, i, project, rec, spool, key, ctx, step_id);
    step.end(copy.ok(), copy.ok() ? "" : copy.error().message());
    if (copy.ok()) {
      out.copies.push_back(std::move(*copy));
      continue;
    }
    if (copy.error().code() == Code::kCancelled) return std::move(copy).error();
    ctx.warn("storing on " + t.name + " failed: " + copy.error().message(), step_id);
    out.failures.push_back({t.name, copy.error().code(), copy.error().message()});
  }
  return out;
}

}  // namespace stacksnap::backup
