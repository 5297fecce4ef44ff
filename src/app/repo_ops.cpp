#include "app/repo_ops.h"

#include "base/text.h"
#include "chunks/lock.h"
#include "chunks/repository.h"
#include "repo/snapshot.h"

namespace stacksnap::app {

namespace {

Result<std::unique_ptr<storage::Target>> open_named(catalog::Catalog& cat, const std::string& name,
                                                    const TargetOpener& open) {
  auto rec = TRY(cat.get_target(name));
  auto target = TRY_CTX(open(rec), "target " + name);
  if (auto st = target->stat("config"); !st.ok()) {
    if (st.error().code() == Code::kNotFound) return not_found("target " + name + " holds no repository");
    return std::move(st).error().with_context("target " + name);
  }
  return target;
}

}  // namespace

Result<repo::CheckReport> check_target_repository(catalog::Catalog& cat, const std::string& name,
                                                  const seal::KeySource& keys, const repo::CheckOptions& options,
                                                  const TargetOpener& open, const StopToken& stop) {
  auto target = TRY(open_named(cat, name, open));
  auto key = TRY(chunks::Repository::master_key(*target, keys));
  // Shared, like a backup: no garbage collection changes the packs while they are checked.
  auto lock = TRY_CTX(chunks::acquire_shared(*target, key, {.owner = "check", .wait = std::chrono::minutes(10)}, stop),
                      "lock the repository on " + name);
  return TRY_CTX(repo::check_repository(*target, key, options, stop), "check the repository on " + name);
}

Result<repo::PruneReport> collect_target_garbage(catalog::Catalog& cat, const std::string& name,
                                                 const seal::KeySource& keys, repo::PruneOptions options,
                                                 const TargetOpener& open, const StopToken& stop) {
  auto target = TRY(open_named(cat, name, open));
  auto key = TRY(chunks::Repository::master_key(*target, keys));
  if (options.lock.wait.count() == 0) options.lock.wait = std::chrono::minutes(10);  // behind running backups
  return TRY_CTX(repo::prune_repository(*target, key, std::move(options), stop), "collect garbage on " + name);
}

std::set<std::string> snapshot_targets(catalog::Catalog& cat, const std::string& backup_id, const std::string& target) {
  std::set<std::string> out;
  auto b = cat.get_backup(backup_id);
  if (!b.ok()) return out;
  for (const auto& c : b->copies) {
    if ((target == "*" || c.target == target) && !repo::snapshot_id_of_key(c.key).empty()) out.insert(c.target);
  }
  return out;
}

nlohmann::json collect_garbage_after_retention(catalog::Catalog& cat, const std::set<std::string>& targets,
                                               const seal::KeySource* keys, const TargetOpener& open,
                                               job::Context& ctx) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& name : targets) {
    const std::string step_id = "gc." + name;
    if (keys == nullptr) continue;  // the caller queues a collection (apply_retention's "gc_pending")
    job::StepTimer step(ctx, step_id, "Free the space of deleted snapshots on " + name);
    auto r = collect_target_garbage(cat, name, *keys, {}, open, ctx.stop());
    if (!r.ok()) {
      step.end(false, r.error().message());
      ctx.warn("garbage collection on " + name + " failed (the space comes back with the next one): " +
                   r.error().message(),
               step_id);
      continue;
    }
    step.end(true, human_bytes(r->bytes_freed) + " freed");
    out[name] = r->to_json();
  }
  return out;
}

}  // namespace stacksnap::app
