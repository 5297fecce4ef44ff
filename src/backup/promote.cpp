#include "backup/promote.h"

#include <optional>

#include "base/clock.h"
#include "repo/repo.h"

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

// One target: the blob (named if it followed the writer, else uploaded), then its sidecar.
Result<catalog::CopyRecord> store_on(const catalog::TargetRecord& trec, size_t index, const std::string& project,
                                     const catalog::BackupRecord& rec, Spool& spool, const seal::MasterKey& key,
                                     job::Context& ctx, const std::string& step) {
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
