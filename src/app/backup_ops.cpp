#include "app/backup_ops.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "backup/pipeline.h"
#include "catalog/catalog_admin.h"
#include "base/clock.h"
#include "base/fd.h"
#include "base/scope.h"
#include "app/repo_ops.h"
#include "repo/rebuild.h"
#include "repo/repo.h"
#include "repo/snapshot.h"
#include "repo/verify_stored.h"
#include "retention/apply.h"
#include "retention/policy.h"

namespace stacksnap::app {

restore::SafetyBackup safety_backup_by_pipeline(const std::string& data_dir, catalog::Catalog& cat,
                                                docker::Client& docker, const seal::KeySource& keys) {
  return [data_dir, &cat, &docker, &keys](const std::string& project, job::Context& ctx,
                                          int64_t job_id) -> Result<std::string> {
    const seal::MasterKey* key = TRY(keys.key_for_writing());
    backup::BackupEnv env{.data_dir = data_dir, .cat = cat, .docker = docker, .key = *key};
    auto b = TRY(backup::run_backup(env, {.project = project, .reason = "safety"}, ctx, job_id));
    return b.backup_id;
  };
}

TargetOpener default_target_opener() {
  return [](const catalog::TargetRecord& r) { return repo::open_target(r); };
}

std::string sidecar_for_blob(const std::string& blob_key) {
  constexpr std::string_view kExt = ".stsnap";
  if (blob_key.size() > kExt.size() && blob_key.ends_with(kExt)) {
    return blob_key.substr(0, blob_key.size() - kExt.size()) + ".json";
  }
  return blob_key + ".json";
}

nlohmann::json VerifySummary::copies_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : copies) {
    out.push_back({{"target", c.target}, {"key", c.key}, {"state", c.state}, {"detail", c.detail}});
  }
  return out;
}

nlohmann::json VerifySummary::to_json() const {
  using Json = nlohmann::json;
  Json j{{"backup_id", backup_id}, {"deep", deep}, {"copies", copies_json()}, {"failed_targets", Json::array()}};
  for (const auto& f : failed_targets) {
    j["failed_targets"].push_back({{"target", f.target}, {"code", f.code}, {"message", f.message}});
  }
  if (!target.empty()) {
    j.update(Json{{"target", target},
                  {"files", report.files},
                  {"entries", report.entries},
                  {"content_bytes", report.content_bytes},
                  {"sealed_bytes", report.sealed_bytes},
                  {"key_fingerprint", report.key_fingerprint}});
  }
  return j;
}

Result<VerifySummary> verify_stored_backup(catalog::Catalog& cat, const std::string& backup_id,
                                           const seal::KeySource* keys, job::Context& ctx) {
  auto b = TRY(cat.get_backup(backup_id));
  if (b.copies.empty()) return not_found("backup " + backup_id + " has no stored copy");
  VerifySummary out{.backup_id = backup_id, .deep = keys != nullptr};
  std::string damaged;
  std::optional<Error> last_error;
  for (const auto& copy : b.copies) {
    job::StepTimer step(ctx, "verify." + copy.target,
                        keys ? "Verify the copy on " + copy.target + " (authenticate, decompress, hash every entry)"
                             : "Check the size and SHA-256 of the copy on " + copy.target);
    auto check = repo::check_copy(cat, backup_id, copy, keys, ctx.stop());
    if (!check.ok()) {
      step.end(false, check.error().message());
      return std::move(check).error();
    }
    const auto& rep = check->report;
    const std::string state(catalog::copy_state_name(check->state));
    std::string detail = check->error ? check->error->message() : std::string();
    if (check->state == catalog::CopyState::kVerified) {
      detail = keys ? std::to_string(rep.files) + " files, " + human_bytes(rep.content_bytes)
                    : human_bytes(rep.sealed_bytes) + ", SHA-256 " + rep.sealed_sha256.substr(0, 12) + "…";
      if (out.target.empty()) {
        out.target = copy.target;
        out.report = rep;
      }
    } else if (check->state == catalog::CopyState::kDamaged) {
      damaged += (damaged.empty() ? "" : "; ") + detail;
    } else {
      out.failed_targets.push_back({copy.target, std::string(code_name(check->error->code())), detail});
    }
    step.end(check->state == catalog::CopyState::kVerified, state + (detail.empty() ? "" : ": " + detail));
    out.copies.push_back({copy.target, copy.key, state, detail});
    if (check->error) last_error = check->error;
  }
  const bool any_verified = !out.target.empty();
  (void)repo::record_backup_verdict(cat, backup_id, keys != nullptr && any_verified,
                                    unix_seconds(std::chrono::system_clock::now()));
  ctx.emit("verify_result", nlohmann::json{{"backup_id", backup_id}, {"deep", out.deep}, {"copies", out.copies_json()}});
  if (!damaged.empty()) return data_loss(damaged);
  if (!any_verified) return *last_error;
  return out;
}

nlohmann::json ExportSummary::to_json() const {
  return {{"backup_id", backup_id}, {"target", target}, {"path", path}, {"bytes", bytes}, {"files", files}};
}

Result<ExportSummary> export_backup(catalog::Catalog& cat, const std::string& backup_id, const seal::KeySource& keys,
                                    const std::string& out_path, const StopToken& stop) {
  if (out_path.empty()) return invalid_argument("--out names no file");
  if (::access(out_path.c_str(), F_OK) == 0) return already_exists(out_path + " exists: export never overwrites a file");
  TRY(repo::find_backup(cat, backup_id, keys, stop));
  repo::KeptCopy keep{.spool_path = out_path + ".partial"};
  auto verified = TRY(repo::verify_backup(cat, backup_id, keys, stop, &keep));
  auto drop_partial = on_scope_exit([&] { ::unlink(keep.spool_path.c_str()); });
  if (keep.snapshot) {
    // A repository snapshot, verified in place: exported chunk by chunk (each file checked
    // against its SHA-256 again) into the file, named once whole and on disk.
    UniqueFd out = TRY(open_file(keep.spool_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    FdWriter w(out.get(), keep.spool_path);
    TRY_CTX(keep.snapshot->export_to(w, stop), "export " + backup_id);
    if (::fsync(out.get()) != 0) return errno_error("fsync " + keep.spool_path, errno);
    struct stat st {};
    if (::fstat(out.get(), &st) != 0) return errno_error("stat " + keep.spool_path, errno);
    if (::rename(keep.spool_path.c_str(), out_path.c_str()) != 0) return errno_error("name " + out_path, errno);
    return ExportSummary{.backup_id = backup_id, .target = verified.target, .path = out_path,
                         .bytes = static_cast<uint64_t>(st.st_size), .files = verified.report.files};
  }
  if (keep.in_place || !keep.named) {
    // The local target's own file, or an unnamed copy: written out to the path.
    UniqueFd out = TRY(open_file(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    auto unlink_out = on_scope_exit([&] { ::unlink(out_path.c_str()); });
    if (::lseek(keep.fd.get(), 0, SEEK_SET) < 0) return errno_error("rewind the verified copy", errno);
    FdReader in(keep.fd.get(), "the verified copy");
    FdWriter w(out.get(), out_path);
    TRY(copy_stream(in, w));
    if (::fsync(out.get()) != 0) return errno_error("fsync " + out_path, errno);
    unlink_out.dismiss();
  } else {
    if (::fsync(keep.fd.get()) != 0) return errno_error("fsync " + keep.spool_path, errno);
    if (::rename(keep.spool_path.c_str(), out_path.c_str()) != 0) return errno_error("name " + out_path, errno);
  }
  return ExportSummary{.backup_id = backup_id, .target = verified.target, .path = out_path,
                       .bytes = verified.report.sealed_bytes, .files = verified.report.files};
}

Status delete_backup(catalog::Catalog& cat, const std::string& backup_id, const std::string& target,
                     const TargetOpener& open) {
  auto b = TRY(cat.get_backup(backup_id));
  bool any = false;
  for (const auto& copy : b.copies) {
    if (target != "*" && copy.target != target) continue;
    any = true;
    auto rec = cat.get_target(copy.target);
    if (rec.ok()) {
      auto t = TRY_CTX(open(*rec), "delete " + backup_id + " from target " + copy.target);
      // A repository snapshot is one object: its chunks go with the next garbage collection.
      if (repo::snapshot_id_of_key(copy.key).empty()) {
        TRY_CTX(t->remove(sidecar_for_blob(copy.key)), "delete " + backup_id + " from target " + copy.target);
      }
      TRY_CTX(t->remove(copy.key), "delete " + backup_id + " from target " + copy.target);
    }  // a target that no longer exists: only the record is left to forget
    TRY(cat.remove_copy(backup_id, copy.target));
  }
  if (!any && target != "*") return not_found("backup " + backup_id + " has no copy on target '" + target + "'");
  auto left = TRY(cat.get_backup(backup_id));
  if (left.copies.empty()) TRY(cat.remove_backup(backup_id));
  return {};
}

// Both go through retention::plan_prune (the same decisions `stacksnap prune` makes) and
// apply_prune (its safety re-check: never the newest verified backup, never a whole group).
Result<nlohmann::json> preview_retention(catalog::Catalog& cat, const std::string& project,
                                         const std::string& target, const nlohmann::json& policy_json) {
  auto policy = TRY(retention::Policy::from_json(policy_json));
  auto plan = TRY(retention::plan_prune(cat, {.project = project, .target = target, .policy = policy}));
  nlohmann::json out = nlohmann::json::array();
  for (const auto& g : plan.groups) {
    for (const auto& d : g.decisions) {
      out.push_back({{"id", d.id}, {"created", d.created}, {"keep", d.keep}, {"reasons", d.reasons}});
    }
  }
  return nlohmann::json{{"decisions", out}, {"description", policy.describe()}};
}

Result<nlohmann::json> apply_retention(catalog::Catalog& cat, const std::string& project, job::Context& ctx,
                                       const TargetOpener& open, const seal::KeySource* keys) {
  auto plan = TRY(retention::plan_prune(cat, {.project = project}));
  TRY(ctx.check_cancel("retention"));
  std::set<std::string> repositories;
  auto outcome = TRY(retention::apply_prune(cat, plan, [&](const std::string& id, const std::string& target) {
    const auto snaps = snapshot_targets(cat, id, target);
    auto st = delete_backup(cat, id, target, open);
    if (st.ok()) repositories.insert(snaps.begin(), snaps.end());
    return st;
  }));
  const nlohmann::json gc = collect_garbage_after_retention(cat, repositories, keys, open, ctx);
  auto where = [](const std::string& target) { return target == "*" ? std::string() : " from " + target; };
  std::set<std::string> pruned;
  for (const auto& d : outcome.deleted) {
    ctx.info("deleted " + d.id + where(d.target), "retention");
    pruned.insert(d.id);
  }
  for (const auto& f : outcome.failed) {
    ctx.warn("could not delete " + f.id + where(f.target) + ": " + f.error, "retention");
  }
  for (const auto& k : outcome.spared) ctx.info("kept " + k.id + where(k.target) + ": " + k.error, "retention");
  auto left = TRY(cat.list_backups({.project = project}));
  return nlohmann::json{{"pruned", std::vector<std::string>(pruned.begin(), pruned.end())},
                        {"kept", left.size()},
                        {"policies", plan.groups.size()},
                        {"failures", outcome.failed.size()},
                        {"gc", gc},
                        {"gc_pending", keys ? std::vector<std::string>() :
                                              std::vector<std::string>(repositories.begin(), repositories.end())}};
}

}  // namespace stacksnap::app
